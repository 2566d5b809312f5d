"""Does G copy its training images? Distances to the nearest training image, in the classifier's
feature space, against the same distances to real digits G never trained on.

A G that generalises puts its samples as near the held-out digits as the training digits (ratio
near 1, whatever its quality: poor samples are far from both); one that memorised puts them
nearer the training digits (ratio under 1), many as "near copies". A small training set, like
the bundled 10,000 digits or a folder of a few hundred images, is where this happens first.

Images without a classifier or held-out images (a folder trained on whole) get
`memorization_within`: in pixel space, how much each sample's nearest training image stands out
from its second nearest, against the same for the training images among themselves.
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
# training images `memorization_within` needs: its copy line is their 1 % quantile, and 16 put it
# at their smallest ratio (their 6th percentile, in expectation), reading 40 % of a 16-image
# run's noisy samples as copies
MIN_DISTINCT = round(1 / COPY_QUANTILE)


class Memorization(NamedTuple):
    # median distance of the samples to the nearest training image / to the nearest held-out
    # image, in pools of equal size (nearest distances shrink as a pool grows)
    nn_ratio: float
    copy_share: float  # share of samples nearer a training image than 99 % of held-out digits
    # (sample index, index of its nearest training image) of the CLOSEST_SHOWN samples nearest
    # a training image, nearest first: what a person looks at to judge the figures above
    closest_pairs: list[tuple[int, int]]


def nearest(queries: np.ndarray, pool: np.ndarray, device: str = "cpu", chunk: int = 512,
            skip: np.ndarray | None = None, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `queries`, the Euclidean distance to its nearest row of `pool` (float64)
    and that row's index (int64); with k > 1, the k nearest, nearest first, as (N, k) arrays.
    `chunk` queries at a time: 512 x 60,000 distances are 123 MB. skip: for each query, a row of
    `pool` it may not choose (itself, when the queries are drawn from the pool)."""
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
        distance, rows = torch.cdist(q, pool_t), torch.arange(len(q), device=device)
        if skip is not None:
            distance[rows, torch.as_tensor(skip[start:start + chunk], device=device)] = torch.inf
        values, positions = [], []
        for rank in range(k):  # k passes of min, each masking what it found (k is 1 or 2 here)
            closest = distance.min(dim=1)
            values.append(closest.values.double().cpu())
            positions.append(closest.indices.cpu())
            if rank < k - 1:
                distance[rows, closest.indices] = torch.inf
        distances.append(torch.stack(values, 1))
        indices.append(torch.stack(positions, 1))
    found, index = torch.cat(distances).numpy(), torch.cat(indices).numpy()
    return (found[:, 0], index[:, 0]) if k == 1 else (found, index)


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


def memorization_within(generated: np.ndarray, training: np.ndarray, device: str = "cpu",
                        baseline_size: int = 10_000) -> Memorization:
    """The same question without held-out images (a folder of images, all of them trained on),
    asked of each sample's nearest-neighbour distance ratio: its distance to its nearest
    training image over that to its second nearest. A copy sits by one training image (ratio
    near 0); a new image, however poor or blurred, lies about as far from its nearest as from
    the next ones (near 1). The baseline is the same ratio of the training images among
    themselves (leave-one-out, exact duplicates counted once; at most `baseline_size` of them,
    seeded). Features (N, D), e.g. `pixel_features`.

    nn_ratio: the samples' median ratio over the training images' (1: a sample's nearest
    training image stands out no more than a training image's nearest other one does; under 1:
    more, as it does for copies). copy_share: the samples whose ratio is under the training
    images' 1 % quantile. Plain nearest distances would not do here: with no held-out set to
    compare, a blurred image can lie nearer the training images than those lie to each other
    (the mean of a few high-dimensional points lies nearer each of them than they lie to one
    another, by up to a factor of the square root of 2) and would read as a copy: a 64-image
    folder's own mean image did."""
    distinct, first = np.unique(training, axis=0, return_index=True)
    if len(distinct) < MIN_DISTINCT:
        raise MetricInputError(f"it needs at least {MIN_DISTINCT} distinct training images to "
                               f"know how near they lie to one another, got {len(distinct)}")
    to_training, neighbours = nearest(generated, distinct, device, k=2)
    queries = np.sort(np.random.default_rng(0).permutation(len(distinct))[:baseline_size])
    among, _ = nearest(distinct[queries], distinct, device, skip=queries, k=2)
    sample_ratio, baseline = _nn_distance_ratio(to_training), _nn_distance_ratio(among)
    closest = np.argsort(sample_ratio, kind="stable")[:CLOSEST_SHOWN]
    copy_line = np.quantile(baseline, COPY_QUANTILE)
    return Memorization(nn_ratio=float(np.median(sample_ratio) / np.median(baseline)),
                        copy_share=float(np.mean(sample_ratio < copy_line)),
                        closest_pairs=[(int(i), int(first[neighbours[i, 0]])) for i in closest])


def _nn_distance_ratio(two_nearest: np.ndarray) -> np.ndarray:
    """Nearest over second-nearest distance, per row of (N, 2) distances to distinct images."""
    return two_nearest[:, 0] / np.maximum(two_nearest[:, 1], 1e-12)


PIXEL_SIDE = 32  # larger images are averaged down to this: copies stay copies, cdist 4-16x faster


def pixel_features(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, C, H, W) as float32 rows in [0, 1], averaged down to at most
    PIXEL_SIDE x PIXEL_SIDE: the feature space of the near-copy check where no classifier knows
    the images."""
    pixels = torch.as_tensor(images).float().div_(255)
    if max(pixels.shape[2:]) > PIXEL_SIDE:
        pixels = torch.nn.functional.adaptive_avg_pool2d(pixels, PIXEL_SIDE)
    return pixels.flatten(1).numpy()


def _subset(rows: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """`size` rows drawn without replacement (all of them, in order, when there are no more)."""
    if size >= len(rows):
        return rows
    return rows[np.sort(np.random.default_rng(seed).choice(len(rows), size, replace=False))]
