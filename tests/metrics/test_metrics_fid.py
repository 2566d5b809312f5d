import warnings

import numpy as np
import pytest
import torch

from steadygan.metrics.fid import (
    SmallSampleWarning,
    fid,
    frechet_distance,
    gaussian_fit,
    kid,
)
from steadygan.metrics.inputs import MetricInputError


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    s1, s2 = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    expected = ((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2 * np.sqrt(s1 * s2)).sum()
    got = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_closed_form_for_full_2x2_covariances():
    # For a 2x2 matrix M with positive eigenvalues, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
    s1 = np.array([[2.0, 0.8], [0.8, 1.0]])
    s2 = np.array([[1.0, -0.3], [-0.3, 0.5]])
    m = s1 @ s2
    tr_sqrt = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m)))
    mu1, mu2 = np.array([1.0, 2.0]), np.array([0.0, -1.0])
    expected = 10.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)


def test_singular_covariances_stay_real_and_exact():
    s = np.diag([1.0, 0.0, 4.0])
    assert frechet_distance(np.zeros(3), s, np.zeros(3), s) == pytest.approx(0, abs=1e-12)
    assert frechet_distance(np.zeros(3), s, np.ones(3), np.zeros((3, 3))) == pytest.approx(8.0)


def test_identical_sets_score_zero_and_samples_approach_the_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 8)) * np.arange(1, 9)
    assert fid(x, x) == pytest.approx(0, abs=1e-8)
    y = rng.normal(size=(20000, 8)) * np.arange(1, 9) + 1.0  # mean shift of 1 in 8 dims
    assert fid(x, y) == pytest.approx(8.0, rel=0.15)


def test_fid_refuses_one_sample_and_warns_when_n_is_at_most_dim():
    with pytest.raises(MetricInputError, match="features_a: 1 samples"):
        fid(np.ones((1, 4)), np.ones((5, 4)))
    rng = np.random.default_rng(2)
    with pytest.warns(SmallSampleWarning, match="100 samples for 128-d features"):
        gaussian_fit(rng.normal(size=(100, 128)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gaussian_fit(rng.normal(size=(300, 128)))


def test_fid_refuses_mismatched_dims():
    with pytest.raises(MetricInputError, match="4-d features but features_b has 5-d"):
        fid(np.ones((10, 4)), np.ones((10, 5)))


def test_kid_near_zero_on_same_distribution_and_positive_when_shifted():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2000, 32)), rng.normal(size=(2000, 32))
    same = kid(a, b, subsets=20, subset_size=500)
    assert abs(same.mean) < 3 * same.std + 1e-3
    shifted = kid(a, b + 0.5, subsets=20, subset_size=500)
    assert shifted.mean > 10 * max(same.std, abs(same.mean)) and shifted.mean > 0.05


def test_kid_is_seeded_and_cuts_oversized_subsets():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(400, 8)) + 1
    args = dict(subsets=5, subset_size=100, seed=7)
    assert kid(a, b, **args) == kid(a, b, **args)
    with pytest.warns(SmallSampleWarning, match="subset_size 1000 cut to 300"):
        kid(a, b, subsets=3)


def test_kid_on_whole_sets_equals_the_unbiased_mmd_formula():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 0.3

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    m = 40
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    # A subset as large as the set is a permutation of it, and MMD ignores order.
    got = kid(x, y, subsets=1, subset_size=m)
    assert got.mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    assert got.std == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_kid_on_cuda_gives_the_cpu_result():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(600, 8)), rng.normal(size=(500, 8)) + 0.2
    args = dict(subsets=10, subset_size=200, seed=3)
    on_gpu, on_cpu = kid(a, b, device="cuda", **args), kid(a, b, **args)
    assert on_gpu.mean == pytest.approx(on_cpu.mean, rel=1e-9)
    assert on_gpu.std == pytest.approx(on_cpu.std, rel=1e-9)
