"""Build steadygan/data/bundled/mnist_subset.npz from the official MNIST training files.

Deterministic: the first BUNDLED_PER_CLASS digits of each class in file order,
shuffled with BUNDLED_SEED. Prints the content md5s that
steadygan/data/mnist.py checks; update its constants if they change.

    python tools/make_bundled_subset.py [--data-dir DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so the script runs from a plain checkout

from steadygan.atomic import atomic_writer  # noqa: E402
from steadygan.data.errors import DataError  # noqa: E402
from steadygan.data.mnist import (  # noqa: E402
    BUNDLED_PATH,
    BUNDLED_PER_CLASS,
    BUNDLED_SEED,
    load_mnist,
)


def build_subset(
    images: np.ndarray, labels: np.ndarray, per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """per_class digits of each class, in file order, then shuffled with seed."""
    picks = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)[:per_class]
        if len(idx) < per_class:
            raise DataError(f"digit {digit}: only {len(idx)} examples, need {per_class}")
        picks.append(idx)
    order = np.concatenate(picks)
    order = order[np.random.default_rng(seed).permutation(order.size)]
    return np.ascontiguousarray(images[order]), np.ascontiguousarray(labels[order])


def save_npz(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """np.savez_compressed through a temp file, so a crash never leaves half an npz."""
    with atomic_writer(path) as out:
        np.savez_compressed(out, images=images, labels=labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "mnist",
        help="folder with the official MNIST files (default: ../shared/data/mnist)",
    )
    parser.add_argument("--out", type=Path, default=BUNDLED_PATH, help="npz to write")
    args = parser.parse_args(argv)

    try:
        images, labels = load_mnist(args.data_dir, "train", verify=True, download=False)
        sub_images, sub_labels = build_subset(images, labels, BUNDLED_PER_CLASS, BUNDLED_SEED)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_npz(args.out, sub_images, sub_labels)

    md5 = {k: hashlib.md5(a.tobytes()).hexdigest() for k, a in
           (("images", sub_images), ("labels", sub_labels))}
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {len(sub_images)} digits)")
    print(f'BUNDLED_IMAGES_MD5 = "{md5["images"]}"')
    print(f'BUNDLED_LABELS_MD5 = "{md5["labels"]}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
