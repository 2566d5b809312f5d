import numpy as np
import pytest

from steadygan.data.errors import DataError
from steadygan.data.toy2d import MIXTURES, mixture_modes, mixture_std, sample_mixture
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.toy2d import mixture_metrics


@pytest.mark.parametrize("name", MIXTURES)
def test_real_samples_cover_every_mode_with_high_quality(name):
    m = mixture_metrics(sample_mixture(name, 2500, seed=1), name)
    assert m["modes_covered"] == m["n_modes"] == len(mixture_modes(name))
    assert m["high_quality"] > 0.95  # 1 - exp(-4.5) = 0.989 for a 2-D Gaussian
    assert 0 <= m["reverse_kl"] < 0.02
    assert m["n"] == 2500


@pytest.mark.parametrize("name", MIXTURES)
def test_one_gaussian_at_one_mode_covers_one_mode(name):
    mode, std = mixture_modes(name)[3], mixture_std(name)
    points = mode + np.random.default_rng(0).normal(scale=std, size=(1000, 2))
    m = mixture_metrics(points, name)
    assert m["modes_covered"] == 1
    assert m["high_quality"] > 0.95
    assert m["reverse_kl"] == pytest.approx(np.log(m["n_modes"]))


def test_points_away_from_every_mode_cover_nothing_and_kl_is_inf():
    # grid25 midpoints between modes, and far outside the grid.
    points = np.array([[1.0, 1.0], [-3.0, 1.0], [3.0, -3.0], [20.0, 20.0]])
    m = mixture_metrics(points, "grid25")
    assert m == {"modes_covered": 0, "n_modes": 25, "high_quality": 0.0,
                 "reverse_kl": float("inf"), "n": 4}


def test_only_high_quality_samples_cover_and_count_in_the_kl():
    modes = mixture_modes("ring8")
    # Two modes hit exactly, one more only approached (0.2 away: 20 std, low quality).
    near_miss = modes[5] * 0.8
    points = np.concatenate([np.repeat(modes[:2], 10, axis=0), np.repeat(near_miss[None], 20, 0)])
    m = mixture_metrics(points, "ring8")
    assert m["modes_covered"] == 2
    assert m["high_quality"] == pytest.approx(0.5)
    assert m["reverse_kl"] == pytest.approx(np.log(8 / 2))  # uniform over 2 of 8 modes


def test_quality_threshold_is_three_std():
    mode, std = mixture_modes("ring8")[0], mixture_std("ring8")
    inside = mode + [0.0, 2.99 * std]
    outside = mode + [0.0, 3.01 * std]
    assert mixture_metrics(inside[None], "ring8")["high_quality"] == 1.0
    assert mixture_metrics(outside[None], "ring8")["high_quality"] == 0.0


@pytest.mark.parametrize("points, fragment", [
    ([[0.0, 0.0]], "numpy array"),
    (np.zeros((0, 2)), "at least 1"),
    (np.zeros((5, 3)), "(N, 2)"),
    (np.zeros(5), "(N, D)"),
    (np.array([[0.0, 0.0], [np.nan, 1.0]]), "NaN or inf"),
    (np.array([[np.inf, 0.0]]), "NaN or inf"),
    (np.array([["a", "b"]]), "dtype"),
])
def test_bad_points_are_one_line_metric_input_errors(points, fragment):
    with pytest.raises(MetricInputError) as err:
        mixture_metrics(points, "ring8")
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_unknown_mixture_name_is_a_data_error():
    with pytest.raises(DataError, match="unknown 2-D mixture"):
        mixture_metrics(np.zeros((3, 2)), "ring9")
