"""A cheap domain FID for use during training, from statistics shipped with the package.

The full evaluation (`steadygan eval`) needs the MNIST test set; during training we only need the
mean and covariance of its features, which are small (128 + 128 x 128 floats) and ship with the
classifier weights, so the bundled offline run can pick its best checkpoint by FID, not by loss.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from steadygan.atomic import atomic_writer
from steadygan.metrics.classes import class_metrics, share_list
from steadygan.metrics.classifier import WEIGHTS_PATH, embed, load_classifier, weights_hash
from steadygan.metrics.fid import frechet_distance, gaussian_fit
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.reference import Embedding

STATS_PATH = WEIGHTS_PATH.with_name("mnist_test_stats.npz")


def write_reference_stats(reference: Embedding, path: Path = STATS_PATH) -> None:
    mu, cov = reference.gaussian()
    with atomic_writer(path) as f:
        np.savez_compressed(f, mu=mu, cov=cov, weights_sha256=np.array(reference.weights_sha256),
                            n=np.array(len(reference)))


def load_reference_stats(path: Path = STATS_PATH) -> tuple[np.ndarray, np.ndarray]:
    """(mu, cov) of the MNIST test features; refuses statistics of other classifier weights."""
    try:
        with np.load(path) as data:
            mu, cov, sha = data["mu"], data["cov"], str(data["weights_sha256"])
    except (OSError, KeyError, ValueError) as exc:
        raise MetricInputError(f"{path}: cannot read reference statistics ({exc})") from None
    if sha != weights_hash():
        raise MetricInputError(f"{path}: statistics belong to other classifier weights; "
                               "rebuild them with tools/make_reference_stats.py")
    return mu, cov


class LiveFid:
    """FID and class coverage of a fixed set of generated digits against the shipped statistics."""

    def __init__(self, device: str = "cpu") -> None:
        self.classifier = load_classifier(device)
        self.mu, self.cov = load_reference_stats()

    def __call__(self, images: np.ndarray) -> dict[str, Any]:
        features, proba = embed(self.classifier, images)
        mu, cov = gaussian_fit(features, "generated images")
        classes = class_metrics(proba)
        return {"fid_live": frechet_distance(mu, cov, self.mu, self.cov),
                "classes_live": classes.classes_covered, "class_kl_live": classes.class_kl,
                "digit_shares_live": share_list(classes.histogram)}
