"""Mode coverage and sample quality on the 2-D mixtures, as in the PacGAN paper and code.

Rules (the same everywhere the project counts 2-D successes):

- each sample is assigned to its nearest mode (Euclidean distance);
- a sample is high quality when that distance is at most 3 std of the mixture;
- a mode is covered when at least one high-quality sample is nearest to it;
- high_quality: share of all samples that are high quality;
- reverse_kl: KL(p_gen || uniform over the K modes), where p_gen is the histogram of
  nearest modes of the high-quality samples only. 0 for a perfectly balanced generator,
  ln(K) when every high-quality sample sits at one mode. With no high-quality sample at
  all p_gen does not exist; reverse_kl is then inf, worse than any collapse to a mode
  (JSON writers must allow Infinity or map it to null).
"""

from __future__ import annotations

import numpy as np

from steadygan.data.toy2d import mixture_modes, mixture_std
from steadygan.metrics.inputs import MetricInputError, validate_features

QUALITY_STDS = 3.0
_CHUNK = 65536  # rows per distance block: bounds memory at chunk x K floats


def validate_points(points: object, name: str = "points") -> np.ndarray:
    """Return points as a finite float64 (N, 2) array with N >= 1, or raise MetricInputError."""
    points = validate_features(points, name)
    if points.shape[1] != 2:
        raise MetricInputError(f"{name}: expected 2-D points shaped (N, 2), got {points.shape}")
    return points


def nearest_modes(points: np.ndarray, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest mode (N,) and the distance to it (N,) for each point."""
    index = np.empty(len(points), dtype=np.int64)
    dist = np.empty(len(points), dtype=np.float64)
    modes = modes.astype(np.float64)
    for start in range(0, len(points), _CHUNK):
        block = points[start:start + _CHUNK]
        d2 = ((block[:, None, :] - modes[None, :, :]) ** 2).sum(axis=2)
        nearest = d2.argmin(axis=1)
        index[start:start + len(block)] = nearest
        dist[start:start + len(block)] = np.sqrt(d2[np.arange(len(block)), nearest])
    return index, dist


def mixture_metrics(points: object, name: str) -> dict[str, int | float]:
    """modes_covered, n_modes, high_quality, reverse_kl and n for generated 2-D points.

    An unknown mixture name raises DataError; bad points raise MetricInputError.
    """
    modes = mixture_modes(name)
    points = validate_points(points)
    index, dist = nearest_modes(points, modes)
    good = dist <= QUALITY_STDS * mixture_std(name)
    counts = np.bincount(index[good], minlength=len(modes))
    n_good = int(good.sum())
    if n_good == 0:
        reverse_kl = float("inf")
    else:
        p = counts[counts > 0] / n_good  # empty modes add 0 * log 0 = 0
        reverse_kl = float(np.sum(p * np.log(p * len(modes))))
    return {
        "modes_covered": int((counts > 0).sum()),
        "n_modes": len(modes),
        "high_quality": n_good / len(points),
        "reverse_kl": max(reverse_kl, 0.0),  # clamp float round-off below 0
        "n": len(points),
    }
