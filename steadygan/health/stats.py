"""Statistics the detectors need beyond what the training step measures."""
from __future__ import annotations

import numpy as np


def mean_pairwise_distance(samples: np.ndarray) -> float:
    """Mean Euclidean distance between all pairs of samples (any shape per sample)."""
    x = samples.reshape(len(samples), -1).astype(np.float64)
    sq = (x * x).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    n = len(x)
    return float(np.sqrt(d2).sum() / (n * (n - 1))) if n > 1 else 0.0


def diversity_ratio(fake: np.ndarray, real: np.ndarray) -> float:
    """Spread of G's samples for different z relative to the spread of real data.

    Near 1 for a healthy generator; near 0 when G maps every z to (almost) the same output.
    """
    real_spread = mean_pairwise_distance(real)
    return mean_pairwise_distance(fake) / real_spread if real_spread > 0 else float("nan")


def rms_spread(samples: np.ndarray) -> float:
    """Root mean square distance of the samples from their mean."""
    x = samples.reshape(len(samples), -1).astype(np.float64)
    return float(np.sqrt(((x - x.mean(axis=0)) ** 2).sum(axis=1).mean()))


def motion(before: np.ndarray, after: np.ndarray, real: np.ndarray) -> float:
    """RMS displacement of G's outputs for the same z between two reads, relative to the real
    data's RMS spread: near 0 when G hardly learns, of order 1 when it jumps across the data."""
    moved = (after.astype(np.float64) - before).reshape(len(after), -1)
    spread = rms_spread(real)
    return float(np.sqrt((moved ** 2).sum(axis=1).mean()) / spread) if spread > 0 else float("nan")
