"""Stacked MNIST: three MNIST digits as the R, G and B channels, 1000 modes.

The benchmark of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al.,
2018): each sample's channels are three digits drawn independently and
uniformly from a source set, so its mode is the triple of their classes,
label = 100 * d_R + 10 * d_G + d_B in 0..999.

For training (data=stacked-mnist) the dataset is STACKED_TRAIN_SIZE samples
stacked with STACKED_SEED from the MNIST training set in data.dir, or from the
bundled 10,000-digit subset when data.dir is empty (so it works offline; the
modes are the same, only the pool of handwriting is smaller).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from steadygan.data.errors import DataError
from steadygan.data.mnist import load_bundled_mnist, load_mnist

STACKED_TRAIN_SIZE = 60_000
# A fixed seed makes data=stacked-mnist one dataset, like a file on disk,
# rather than a new draw per run.
STACKED_SEED = 0
NUM_MODES = 1000


def make_stacked_mnist(
    images: np.ndarray, labels: np.ndarray, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """n samples uint8 (n, 3, H, W) and their modes int64 (n,) from digits (N, H, W).

    Every channel of every sample is an independent uniform draw (with
    replacement) from the source, from numpy's default_rng(seed): the same
    seed and source give the same samples.
    """
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 3:
        shape = getattr(images, "shape", type(images).__name__)
        dtype = getattr(images, "dtype", "")
        raise DataError(f"stacked MNIST: expected uint8 digits (N, H, W), got {dtype}{shape}")
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise DataError(
            f"stacked MNIST: {len(images)} digits but labels have shape {labels.shape}"
        )
    if len(images) == 0:
        raise DataError("stacked MNIST: no source digits (N == 0)")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise DataError("stacked MNIST: labels must be integers 0-9")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"stacked MNIST: n={n!r}: expected a positive number of samples")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(images), size=(int(n), 3))
    stacked = np.ascontiguousarray(images[idx])  # (n, 3, H, W): fancy indexing copies
    digits = labels[idx].astype(np.int64)
    modes = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
    return stacked, modes


def load_stacked_mnist(
    data_dir: str | Path | None, n: int | None = None, seed: int = STACKED_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """The training set for data=stacked-mnist: uint8 (n, 3, 28, 28) and modes (n,).

    Source: the MNIST training split in data_dir, or the bundled subset when
    data_dir is None or empty. n None means STACKED_TRAIN_SIZE (read at call
    time, so tests can shrink it).
    """
    source = load_mnist(data_dir, "train") if data_dir else load_bundled_mnist()
    return make_stacked_mnist(*source, n=STACKED_TRAIN_SIZE if n is None else n, seed=seed)
