"""Domain metrics of generated MNIST-like images against the MNIST test set, in one call.

Every metric works in the feature space of the project's own MNIST
classifier (never Inception). The registry maps a metric name to a function
of (generated, reference) embeddings returning named figures, so callers can
ask for a subset and new metrics slot in without touching evaluate_images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from steadygan.metrics.classes import class_metrics, share_list
from steadygan.metrics.classifier import WEIGHTS_PATH, embed, load_classifier, weights_hash
from steadygan.metrics.fid import fid, kid
from steadygan.metrics.inputs import MetricInputError, validate_images
from steadygan.metrics.memorization import memorization
from steadygan.metrics.prdc import prdc
from steadygan.metrics.reference import Embedding, mnist_reference

NAMES = ("generated images", "reference images")  # how messages name the two sets
Metric = Callable[[Embedding, Embedding, str], dict[str, Any]]  # generated, reference, device


def _fid(gen: Embedding, ref: Embedding, device: str) -> dict[str, float]:
    return {"fid": fid(gen.features, ref.features, NAMES)}


def _kid(gen: Embedding, ref: Embedding, device: str) -> dict[str, float]:
    size = min(1000, len(gen), len(ref))
    result = kid(gen.features, ref.features, subset_size=size, names=NAMES, device=device)
    return {"kid_mean": result.mean, "kid_std": result.std}


def _prdc(gen: Embedding, ref: Embedding, device: str) -> dict[str, float]:
    return prdc(ref.features, gen.features, names=NAMES[::-1], device=device)._asdict()


def _classes(gen: Embedding, ref: Embedding, device: str) -> dict[str, Any]:
    c = class_metrics(gen.proba)
    return {
        "classes_covered": c.classes_covered,
        "class_kl": c.class_kl,
        "mean_confidence": c.mean_confidence,
        "class_shares": share_list(c.histogram),
    }


METRICS: dict[str, Metric] = {"fid": _fid, "kid": _kid, "prdc": _prdc, "classes": _classes}


def evaluate_images(
    images: np.ndarray,
    data_dir: str | Path | None = None,
    reference: Embedding | None = None,
    n_ref: int = 10000,
    metrics: Iterable[str] = tuple(METRICS),
    weights_path: str | Path = WEIGHTS_PATH,
    device: str = "cpu",
    training_images: np.ndarray | None = None,
) -> dict[str, Any]:
    """All domain metrics of uint8 images (N, 28, 28) or (N, 1, 28, 28).

    Returns fid, kid_mean, kid_std, precision, recall, density, coverage,
    classes_covered, class_kl, mean_confidence, class_shares (the share of the
    samples read as each digit) and n (the number of images).
    reference defaults to the cached MNIST test-set features (data_dir is read
    only to build that cache) and must come from the classifier at
    weights_path; n_ref < 10000 uses a seeded random subset of it.
    Publish figures with n = n_ref = 10000: FID is biased upwards at small N.
    training_images: what G trained on; adds nn_ratio and copy_share (metrics.memorization),
    with the reference images as the held-out real digits.
    """
    images = validate_images(images)
    if training_images is not None:  # refused before any work, like the images
        training_images = validate_images(training_images, "training images")
    names = list(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise MetricInputError(f"unknown metric(s) {unknown}; known: {sorted(METRICS)}")
    sha = weights_hash(weights_path)
    if reference is None:
        reference = mnist_reference(data_dir, weights_path, device)
    elif reference.weights_sha256 != sha:
        # Features of two different networks are not comparable at all.
        raise MetricInputError(
            f"reference was computed with classifier {reference.weights_sha256[:16]}, "
            f"not with {weights_path} ({sha[:16]})"
        )
    reference = reference.subset(n_ref)
    classifier = load_classifier(device, weights_path)
    feats, proba = embed(classifier, images)
    generated = Embedding(feats, proba, reference.weights_sha256)

    out: dict[str, Any] = {}
    for name in names:
        out.update(METRICS[name](generated, reference, device))
    if training_images is not None:
        training, _ = embed(classifier, training_images)
        out.update(memorization(feats, training, reference.features, device)._asdict())
    out["n"] = len(images)
    return out
