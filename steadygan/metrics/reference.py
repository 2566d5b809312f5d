"""Classifier features of the 10,000 MNIST test images: what every domain metric compares to.

Computed once per classifier and cached as
($XDG_CACHE_HOME or ~/.cache)/steadygan/reference/mnist-test-<weights sha256[:16]>.npz,
so new weights never meet stale statistics.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steadygan.atomic import atomic_writer
from steadygan.data.mnist import load_mnist
from steadygan.metrics.classifier import WEIGHTS_PATH, embed, load_classifier, weights_hash
from steadygan.metrics.inputs import MetricInputError


@dataclass(frozen=True)
class Embedding:
    """Classifier features (N, 128) and class probabilities (N, 10), float64, of a set of images."""

    features: np.ndarray
    proba: np.ndarray
    weights_sha256: str

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, n: int, seed: int = 0) -> "Embedding":
        """n rows drawn without replacement (the MNIST test file is ordered easy half first)."""
        if not 1 <= n <= len(self):
            raise MetricInputError(f"n_ref={n}: must be between 1 and {len(self)}")
        if n == len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False))
        return Embedding(self.features[idx], self.proba[idx], self.weights_sha256)

    def gaussian(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the features."""
        return self.features.mean(axis=0), np.cov(self.features, rowvar=False)


def cache_dir() -> Path:
    """($XDG_CACHE_HOME or ~/.cache)/steadygan; a relative XDG_CACHE_HOME is ignored (XDG spec)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "steadygan"


def cache_path(sha256: str, root: Path | None = None) -> Path:
    return (root or cache_dir()) / "reference" / f"mnist-test-{sha256[:16]}.npz"


def _read_cache(path: Path, sha256: str) -> Embedding | None:
    """The cached reference, or None when absent, unreadable or for other weights."""
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
            if str(npz["weights_sha256"]) != sha256:
                return None
            feats, proba = npz["features"], npz["proba"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    if feats.ndim != 2 or proba.shape != (len(feats), 10):
        return None
    return Embedding(feats.astype(np.float64), proba.astype(np.float64), sha256)


def _write_cache(path: Path, ref: Embedding) -> None:
    """Atomic write; a failure to cache is not a failure to measure, so it is swallowed."""
    with contextlib.suppress(OSError), atomic_writer(path) as out:
        # The network computes in float32, so storing float32 loses nothing.
        np.savez(out, features=ref.features.astype(np.float32),
                 proba=ref.proba.astype(np.float32), weights_sha256=np.array(ref.weights_sha256))


def mnist_reference(
    data_dir: str | Path | None = None,
    weights_path: str | Path = WEIGHTS_PATH,
    device: str = "cpu",
    use_cache: bool = True,
) -> Embedding:
    """Embedding features of the MNIST test set under the classifier at weights_path.

    data_dir is only read on a cache miss (None means the default MNIST folder,
    downloading if needed).
    """
    sha = weights_hash(weights_path)
    path = cache_path(sha)
    if use_cache and (ref := _read_cache(path, sha)) is not None:
        return ref
    images, _ = load_mnist(data_dir, "test")
    feats, proba = embed(load_classifier(device, weights_path), images)
    # Round through float32 so a fresh result equals what the cache returns later.
    ref = Embedding(
        feats.astype(np.float32).astype(np.float64),
        proba.astype(np.float32).astype(np.float64),
        sha,
    )
    if use_cache:
        _write_cache(path, ref)
    return ref
