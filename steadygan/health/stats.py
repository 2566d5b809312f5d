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
