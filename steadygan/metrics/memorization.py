"""Does G copy its training images? Distances to the nearest training image, in the classifier's
feature space, against the same distances to real digits G never trained on.

A G that generalises puts its samples as near the held-out digits as the training digits (ratio
near 1, whatever its quality: poor samples are far from both); one that memorised puts them
nearer the training digits (ratio under 1), many as "near copies". A small training set, like
the bundled 10,000 digits or a folder of a few hundred images, is where this happens first.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from steadygan.metrics.inputs import MetricInputError

# A near copy lies closer to a training image than 99 % of the held-out real digits do, so that
# held-out digits themselves count 1 % as near copies: the share to compare with.
COPY_QUANTILE = 0.01
CLOSEST_SHOWN = 8  # the samples nearest a training image that `closest_pairs` names


class Memorization(NamedTuple):
    # median distance of the samples to the nearest training image / to the nearest held-out
    # image, in pools of equal size (nearest distances shrink as a pool grows)
    nn_ratio: float
    copy_share: float  # share of samples nearer a training image than 99 % of held-out digits
    # (sample index, index of its nearest training image) of the CLOSEST_SHOWN samples nearest
    # a training image, nearest first: what a person looks at to judge the figures above
    closest_pairs: list[tuple[int, int]]


def nearest(queries: np.ndarray, pool: np.ndarray, device: str = "cpu",
            chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `queries`, the Euclidean distance to its nearest row of `pool` (float64)
    and that row's index (int64). `chunk` queries at a time: 512 x 60,000 distances are 123 MB."""
    if len(queries) == 0 or len(pool) == 0:
        raise MetricInputError(f"nearest distances need rows on both sides, got {len(queries)} "
                               f"queries and {len(pool)} in the pool")
    if queries.shape[1:] != pool.shape[1:]:
        raise MetricInputError(f"features of different sizes: {queries.shape[1:]} and "
                               f"{pool.shape[1:]}")
    pool_t = torch.as_tensor(pool, dtype=torch.float32, device=device)
    distances, indices = [], []
    for start in range(0, len(queries), chunk):
        q = torch.as_tensor(queries[start:start + chunk], dtype=torch.float32, device=device)
        closest = torch.cdist(q, pool_t).min(dim=1)
        distances.append(closest.values.double().cpu())
        indices.append(closest.indices.cpu())
    return torch.cat(distances).numpy(), torch.cat(indices).numpy()


def memorization(generated: np.ndarray, training: np.ndarray, held_out: np.ndarray,
                 device: str = "cpu") -> Memorization:
    """Features (N, D) of the samples, of the training images and of held-out real images."""
    to_training, neighbour = nearest(generated, training, device)
    baseline, _ = nearest(held_out, training, device)  # how near unseen real digits come
    if np.median(baseline) <= 0:
        raise MetricInputError("half or more of the held-out images are training images (their "
                               "nearest training distance is zero): nothing to compare with")
    size = min(len(training), len(held_out))
    seen = _subset(training, size)  # the whole set when it is no larger: measured just above
    to_seen = to_training if seen is training else nearest(generated, seen, device)[0]
    to_unseen, _ = nearest(generated, _subset(held_out, size), device)
    closest = np.argsort(to_training, kind="stable")[:CLOSEST_SHOWN]
    copy_line = np.quantile(baseline, COPY_QUANTILE)
    return Memorization(nn_ratio=float(np.median(to_seen) / max(np.median(to_unseen), 1e-12)),
                        copy_share=float(np.mean(to_training < copy_line)),
                        closest_pairs=[(int(i), int(neighbour[i])) for i in closest])


def _subset(rows: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """`size` rows drawn without replacement (all of them, in order, when there are no more)."""
    if size >= len(rows):
        return rows
    return rows[np.sort(np.random.default_rng(seed).choice(len(rows), size, replace=False))]
