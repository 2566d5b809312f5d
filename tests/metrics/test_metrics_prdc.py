import numpy as np
import pytest
import torch

from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.prdc import prdc


def naive_prdc(real, fake, pr_k=5, dc_k=5):
    """Full-matrix transcription of the papers' definitions, for comparison."""
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=2)
    d_ff = np.linalg.norm(fake[:, None] - fake[None], axis=2)
    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=2)
    r_pr = np.sort(d_rr, axis=1)[:, pr_k]  # column 0 is the point itself
    r_dc = np.sort(d_rr, axis=1)[:, dc_k]
    f_pr = np.sort(d_ff, axis=1)[:, pr_k]
    return (
        (d_rf < r_pr[:, None]).any(axis=0).mean(),
        (d_rf < f_pr[None, :]).any(axis=1).mean(),
        (d_rf < r_dc[:, None]).sum(axis=0).mean() / dc_k,
        (d_rf.min(axis=1) < r_dc).mean(),
    )


def test_chunked_result_equals_the_full_matrix_definition():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 6))
    fake = rng.normal(size=(250, 6)) * 1.3 + 0.4
    expected = naive_prdc(real, fake)
    for chunk in (7, 64, 10_000):
        assert tuple(prdc(real, fake, chunk=chunk)) == pytest.approx(expected, abs=1e-12)
    # the papers' own k = 3 for precision / recall stays available
    assert tuple(prdc(real, fake, pr_k=3)) == pytest.approx(naive_prdc(real, fake, pr_k=3), abs=1e-12)


def test_same_distribution_scores_high():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    r = prdc(real, fake)
    assert r.precision > 0.7 and r.recall > 0.7
    assert 0.8 < r.density < 1.2
    assert r.coverage > 0.9


def test_disjoint_distributions_score_zero():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16)) + 20
    assert tuple(prdc(real, fake)) == (0.0, 0.0, 0.0, 0.0)


def test_collapsed_fakes_are_precise_but_recall_and_coverage_drop():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(2000, 4))
    fake = rng.normal(size=(2000, 4)) * 0.05  # all fakes near the mode
    r = prdc(real, fake)
    assert r.precision > 0.95 and r.recall < 0.2 and r.coverage < 0.2


def test_needs_more_samples_than_k():
    with pytest.raises(MetricInputError, match="real_features: 5 samples, .* at least 6"):
        prdc(np.ones((5, 2)), np.ones((10, 2)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gives_the_cpu_result():
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=(3000, 16)), rng.normal(size=(2500, 16)) * 1.2
    assert tuple(prdc(real, fake, device="cuda")) == pytest.approx(tuple(prdc(real, fake)),
                                                                  abs=1e-3)
