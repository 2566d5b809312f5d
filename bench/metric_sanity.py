"""The published sanity figures of steadygan's metrics, measured on real data and on known failures.

    python bench/metric_sanity.py --data-dir ../shared/data/mnist > docs/metric_sanity.md

Each row is a set whose right answer is known: real MNIST must score like the test set, a single
digit must cover one class, noise must be far away, unseen real digits must not read as near
copies of the training images and the training images themselves must (in the classifier's space
against held-out digits, and in pixel space against the training images' own spacing, as for a
folder), real Stacked MNIST must
cover 1000 modes, real mixture samples every mode. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image

from steadygan.data.folder import resize_center_crop
from steadygan.data.mnist import load_mnist
from steadygan.data.sources import mnist_to_nchw
from steadygan.data.stacked import make_stacked_mnist
from steadygan.data.toy2d import mixture_modes, mixture_std, sample_mixture
from steadygan.metrics.classifier import accuracy, load_classifier
from steadygan.metrics.domain import evaluate_images
from steadygan.metrics.memorization import memorization_within, pixel_features
from steadygan.metrics.stacked import stacked_modes
from steadygan.metrics.toy2d import mixture_metrics

DIGIT_COLUMNS = ("fid", "kid_mean", "precision", "recall", "density", "coverage",
                 "classes_covered", "class_kl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train_x, train_y = load_mnist(args.data_dir, "train")
    test_x, test_y = load_mnist(args.data_dir, "test")
    started = time.time()

    print(f"Classifier accuracy on the 10,000 MNIST test images: "
          f"{100 * accuracy(load_classifier(), test_x, test_y):.2f} %\n")

    digit_sets = {
        "10,000 real training images": train_x[:10_000],
        # what a folder of 28x28 digits trained at --image-size 32 / 64 is, measured at 28 again
        **{f"the same, made {side} pixels (as a folder's are), measured at 28":
           np.stack([np.asarray(resize_center_crop(Image.fromarray(a), side))
                     for a in train_x[:10_000]]) for side in (32, 64)},
        # and what --data mnist / bundled make at those sizes (bilinear, blurrier)
        **{f"the same, made {side} pixels (as --data mnist makes them), measured at 28":
           mnist_to_nchw(train_x[:10_000], side, 1) for side in (32, 64)},
        "2,000 images of the digit 1": train_x[train_y == 1][:2000],
        "10,000 uniform-noise images": rng.integers(0, 256, (10_000, 28, 28), dtype=np.uint8),
    }
    print("| set (against the 10,000 test images) | " + " | ".join(DIGIT_COLUMNS) + " |")
    print("|---" * (len(DIGIT_COLUMNS) + 1) + "|")
    for name, images in digit_sets.items():
        r = evaluate_images(images, data_dir=args.data_dir)
        print(f"| {name} | " + " | ".join(_fmt(r[c]) for c in DIGIT_COLUMNS) + " |")

    # near copies: 10,000 training images as the training set (as many as the bundled subset
    # and the test set, the held-out digits), 10,000 others as a G that generalises perfectly
    pool = train_x[:10_000]
    copy_sets = {
        "10,000 other training images": train_x[10_000:20_000],
        "the 10,000 training images themselves": pool,
        "the same, each shifted one pixel right": np.roll(pool[:10_000], 1, axis=2),
        "the same, each pixel +-8 levels of noise": np.clip(
            pool[:10_000].astype(int) + rng.integers(-8, 9, (10_000, 28, 28)), 0, 255
        ).astype(np.uint8),
    }
    print("\n| set (training set: 10,000 training images) | nn_ratio | copy_share |")
    print("|---|---|---|")
    for name, images in copy_sets.items():
        r = evaluate_images(images, data_dir=args.data_dir, metrics=["classes"],
                            training_images=pool)
        print(f"| {name} | {r['nn_ratio']:.4f} | {r['copy_share']:.4f} |")

    # the same question for a folder (no held-out images, no classifier): pixel space, against
    # the training images' own spacing; on digits and on Stacked MNIST as an RGB folder
    stacks, _ = make_stacked_mnist(train_x, train_y, 20_000, seed=1)
    for what, images, others in (("digits", pool[:, None], train_x[10_000:20_000, None]),
                                 ("Stacked MNIST (RGB)", stacks[:10_000], stacks[10_000:])):
        print(f"\n| set (folder of 10,000 {what}; pixel space) | pixel_nn_ratio "
              "| pixel_copy_share |")
        print("|---|---|---|")
        for name, samples in _copy_cases(images, others, rng).items():
            r = memorization_within(pixel_features(samples), pixel_features(images))
            print(f"| {name} | {r.nn_ratio:.4f} | {r.copy_share:.4f} |")

    print("\n| Stacked MNIST, 26,000 samples | modes covered (of 1000) | KL to uniform |")
    print("|---|---|---|")
    for split, (x, y) in {"from the training set": (train_x, train_y),
                          "from the test set": (test_x, test_y)}.items():
        stacks, _ = make_stacked_mnist(x, y, 26_000, seed=0)
        r = stacked_modes(stacks)
        print(f"| real, {split} | {r['modes_covered']} | {r['kl']:.4f} |")
    for side in (32, 64):  # each plane made `side` pixels as the data source does, measured at 28
        planes = mnist_to_nchw(stacks.reshape(-1, 28, 28), side, 1)
        r = stacked_modes(planes.reshape(len(stacks), 3, side, side))
        print(f"| the test-set stacks made {side} pixels | {r['modes_covered']} | {r['kl']:.4f} |")
    single = np.repeat(make_stacked_mnist(test_x, test_y, 1, seed=0)[0], 26_000, axis=0)
    r = stacked_modes(single)
    print(f"| one stack repeated | {r['modes_covered']} | {r['kl']:.4f} |")

    print("\n| 2-D mixture, 10,000 samples | modes covered | high-quality share | reverse KL |")
    print("|---|---|---|---|")
    for name in ("ring8", "grid25"):
        r = mixture_metrics(sample_mixture(name, 10_000, seed=0), name)
        print(f"| real {name} | {r['modes_covered']}/{r['n_modes']} | {r['high_quality']:.4f} | "
              f"{r['reverse_kl']:.4f} |")
        one = mixture_modes(name)[0] + rng.normal(0, mixture_std(name), (10_000, 2))
        r = mixture_metrics(one, name)
        print(f"| one Gaussian at a {name} mode | {r['modes_covered']}/{r['n_modes']} | "
              f"{r['high_quality']:.4f} | {r['reverse_kl']:.4f} |")
    print(f"\nMeasured in {time.time() - started:.0f} s on {torch.get_num_threads()} CPU thread(s), "
          f"{time.strftime('%Y-%m-%d')}.")


def _copy_cases(images: np.ndarray, others: np.ndarray,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sets whose near-copy answer is known, for a training set of uint8 images (N, C, H, W)."""
    def noisy(levels: int) -> np.ndarray:
        noise = rng.integers(-levels, levels + 1, images.shape)
        return np.clip(images.astype(int) + noise, 0, 255).astype(np.uint8)

    return {"10,000 other real images": others, "the training images themselves": images,
            "the same, shifted one pixel right": np.roll(images, 1, axis=3),
            "the same, each pixel +-8 levels of noise": noisy(8),
            "the same, each pixel +-32 levels of noise": noisy(32),
            "uniform noise": rng.integers(0, 256, images.shape, dtype=np.uint8),
            "the folder's mean image (100 times)": np.repeat(
                images.mean(0, keepdims=True).round().astype(np.uint8), 100, axis=0),
            "blends: each the mean of 4 random training images": (sum(
                images[rng.permutation(len(images))].astype(int) for _ in range(4)) // 4
            ).astype(np.uint8)}


def _fmt(value: float) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
