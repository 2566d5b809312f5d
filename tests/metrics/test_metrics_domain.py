from functools import lru_cache

import numpy as np
import pytest

from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from steadygan.data.mnist import load_mnist
from steadygan.metrics.classifier import embed, load_classifier, weights_hash
from steadygan.metrics.domain import METRICS, evaluate_images
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.reference import Embedding

N = 2000
KEYS = {
    "fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage",
    "classes_covered", "class_kl", "mean_confidence", "class_shares", "n",
}


@lru_cache(maxsize=1)
def _reference(mnist_dir) -> Embedding:
    images, _ = load_mnist(mnist_dir, "test")
    feats, proba = embed(load_classifier(), images[:N])
    return Embedding(feats, proba, weights_hash())


@pytest.fixture
def reference(mnist_dir) -> Embedding:
    return _reference(mnist_dir)


def test_real_training_images_score_like_the_test_set(reference, mnist_dir):
    images, _ = load_mnist(mnist_dir, "train")
    r = evaluate_images(images[:N], reference=reference, n_ref=N)
    assert set(r) == KEYS and r["n"] == N
    # FID is biased upwards at small N: about 1.7 here, 0.2 at 10k vs 10k;
    # a single digit scores about 150 and uniform noise about 370.
    assert r["fid"] < 3.0
    assert abs(r["kid_mean"]) < 0.05  # about 0.016 +- 0.01 here; a single digit scores 3.6
    assert r["classes_covered"] == 10 and r["class_kl"] < 0.01
    # MNIST's training digits: 9.0 % (5) to 11.2 % (1) of them each
    assert len(r["class_shares"]) == 10 and sum(r["class_shares"]) == pytest.approx(1, abs=1e-3)
    assert all(0.08 < share < 0.125 for share in r["class_shares"])
    assert r["precision"] > 0.8 and r["recall"] > 0.8
    assert r["coverage"] > 0.9 and r["mean_confidence"] > 0.97


@pytest.mark.parametrize("side", [32, 64])
def test_real_digits_made_32_or_64_pixels_score_as_they_do_at_28(reference, mnist_dir, side):
    from PIL import Image
    from steadygan.data.folder import resize_center_crop

    images, _ = load_mnist(mnist_dir, "train")
    images = images[:N]
    at_28 = evaluate_images(images, reference=reference, n_ref=N, metrics=["fid", "classes"])
    big = np.stack([np.asarray(resize_center_crop(Image.fromarray(a), side)) for a in images])
    resized = evaluate_images(big[:, None], reference=reference, n_ref=N, metrics=["fid", "classes"])
    # 10,000 against 10,000: 0.20 at 28, 0.59 / 0.58 made 32 / 64 and measured at 28 (Lanczos)
    assert resized["classes_covered"] == 10 and resized["n"] == N
    assert at_28["fid"] < resized["fid"] < at_28["fid"] + 1.0


def test_uniform_noise_scores_badly(reference):
    noise = np.random.default_rng(0).integers(0, 256, (500, 28, 28), dtype=np.uint8)
    r = evaluate_images(noise, reference=reference, n_ref=N, metrics=["fid", "prdc", "classes"])
    assert r["fid"] > 100 and r["precision"] < 0.05 and r["coverage"] < 0.05
    assert r["classes_covered"] <= 1


def test_metrics_can_be_chosen_by_name(reference, mnist_dir):
    images, _ = load_mnist(mnist_dir, "train")
    r = evaluate_images(images[:300], reference=reference, n_ref=N, metrics=["classes"])
    assert set(r) == {"classes_covered", "class_kl", "mean_confidence", "class_shares", "n"}
    assert set(METRICS) == {"fid", "kid", "prdc", "classes"}
    with pytest.raises(MetricInputError, match=r"unknown metric\(s\) \['is'\]"):
        evaluate_images(images[:10], reference=reference, metrics=["is"])


def test_reference_from_other_weights_is_refused(reference):
    foreign = Embedding(reference.features, reference.proba, "0" * 64)
    with pytest.raises(MetricInputError, match="reference was computed with classifier 0000"):
        evaluate_images(np.zeros((10, 28, 28), np.uint8), reference=foreign)


def test_too_few_images_are_named_in_the_message(reference):
    with pytest.raises(MetricInputError, match="generated images: 1 samples"):
        evaluate_images(np.zeros((1, 28, 28), np.uint8), reference=reference, n_ref=N)
