"""Frechet distance between Gaussian fits of features, and the kernel inception distance.

Both take features (N, D) from any embedding; domain.py feeds them the
penultimate layer of the project's MNIST classifier.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import torch

from steadygan.metrics.inputs import MetricInputError, check_same_dim, validate_features


class SmallSampleWarning(UserWarning):
    """A metric ran on fewer samples than it needs to mean much."""


class KID(NamedTuple):
    mean: float
    std: float


def gaussian_fit(features: np.ndarray, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D).

    Refuses N < 2 (no covariance at all) and warns when N <= D: the
    covariance is then singular and FID is biased upwards by the missing rank.
    """
    x = validate_features(features, name, min_n=2)
    n, d = x.shape
    if n <= d:
        warnings.warn(
            f"{name}: {n} samples for {d}-d features leaves the covariance singular; "
            f"FID needs well over {d} samples (10,000 is the published setting)",
            SmallSampleWarning,
            stacklevel=2,
        )
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(d, d)


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix; rounding negatives clipped to 0."""
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Tr((S1 S2)^(1/2)) is computed as the sum of square roots of the
    eigenvalues of the symmetric PSD matrix S1^(1/2) S2 S1^(1/2), which has the
    same spectrum as S1 S2. Unlike scipy.linalg.sqrtm of the non-symmetric
    product, this never produces imaginary parts, and it stays exact when a
    covariance is singular.
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, np.float64)) for s in (sigma1, sigma2))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise MetricInputError(
            f"Gaussian shapes disagree: mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {sigma1.shape} vs {sigma2.shape}"
        )
    root1 = _psd_sqrt(sigma1)
    cross = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    tr_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt
    return float(max(value, 0.0))  # rounding can dip a hair below 0 for identical fits


def fid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    names: tuple[str, str] = ("features_a", "features_b"),
) -> float:
    """Frechet distance between Gaussian fits of two feature sets (N, D); names go in messages."""
    mu_a, sigma_a = gaussian_fit(features_a, names[0])
    mu_b, sigma_b = gaussian_fit(features_b, names[1])
    if mu_a.shape != mu_b.shape:
        raise MetricInputError(
            f"{names[0]} has {mu_a.shape[0]}-d features but {names[1]} has {mu_b.shape[0]}-d"
        )
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    names: tuple[str, str] = ("features_a", "features_b"),
    device: str = "cpu",
) -> KID:
    """Kernel inception distance (Binkowski et al. 2018): unbiased MMD^2, cubic polynomial kernel.

    k(x, y) = (x.y / D + 1)^3. The estimate is averaged over `subsets` random
    subsets of `subset_size` drawn without replacement from each set; std is
    over subsets. A subset_size larger than either set is cut to the smaller
    set's size, with a SmallSampleWarning. The kernels run in float64 torch on
    `device` (on a GPU when the evaluation is there); the subsets come from numpy's
    seeded generator on every device.
    """
    a = validate_features(features_a, names[0], min_n=2)
    b = validate_features(features_b, names[1], min_n=2)
    check_same_dim(a, b, names)
    if subsets < 1 or subset_size < 2:
        raise MetricInputError(
            f"subsets={subsets}, subset_size={subset_size}: need subsets >= 1 and subset_size >= 2"
        )
    m = min(subset_size, len(a), len(b))
    if m < subset_size:
        warnings.warn(
            f"KID subset_size {subset_size} cut to {m}: only {len(a)} and {len(b)} samples",
            SmallSampleWarning,
            stacklevel=2,
        )
    d = a.shape[1]
    rng = np.random.default_rng(seed)
    picks = [(rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False))
             for _ in range(subsets)]
    a_t, b_t = (torch.as_tensor(f, dtype=torch.float64, device=device) for f in (a, b))
    mmds = torch.empty(subsets, dtype=torch.float64, device=device)
    for i, (pick_a, pick_b) in enumerate(picks):
        x = a_t[torch.as_tensor(pick_a, device=device)]
        y = b_t[torch.as_tensor(pick_b, device=device)]
        k_xx = (x @ x.T / d + 1) ** 3
        k_yy = (y @ y.T / d + 1) ** 3
        k_xy = (x @ y.T / d + 1) ** 3
        # Off-diagonal means of k_xx and k_yy make the estimate unbiased.
        within = (k_xx.sum() - k_xx.trace() + k_yy.sum() - k_yy.trace()) / (m * (m - 1))
        mmds[i] = within - 2 * k_xy.mean()
    return KID(mmds.mean().item(), mmds.std(correction=0).item())
