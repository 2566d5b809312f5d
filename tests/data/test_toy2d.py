import numpy as np
import pytest
from PIL import Image

from steadygan.data.errors import DataError
from steadygan.data.scatter import default_extent, save_scatter
from steadygan.data.toy2d import MIXTURES, mixture_modes, mixture_std, sample_mixture


def test_ring8_geometry():
    modes = mixture_modes("ring8")
    assert modes.dtype == np.float32 and modes.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 1.0, atol=1e-6)
    angles = np.sort(np.mod(np.arctan2(modes[:, 1], modes[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 8, atol=1e-6)
    np.testing.assert_allclose(modes[0], [1.0, 0.0], atol=1e-7)
    assert mixture_std("ring8") == 0.01


def test_grid25_geometry():
    modes = mixture_modes("grid25")
    assert modes.dtype == np.float32 and modes.shape == (25, 2)
    expected = {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(map(float, m)) for m in modes} == expected
    assert mixture_std("grid25") == 0.05


@pytest.mark.parametrize("name", MIXTURES)
def test_sampling_is_deterministic_per_seed(name):
    a = sample_mixture(name, 500, seed=3)
    assert a.dtype == np.float32 and a.shape == (500, 2)
    np.testing.assert_array_equal(a, sample_mixture(name, 500, seed=3))
    assert not np.array_equal(a, sample_mixture(name, 500, seed=4))
    assert sample_mixture(name, 0, seed=0).shape == (0, 2)


@pytest.mark.parametrize("name", MIXTURES)
def test_samples_sit_at_modes_with_the_stated_spread_and_uniform_weights(name):
    modes, std = mixture_modes(name), mixture_std(name)
    x = sample_mixture(name, 20_000, seed=0)
    offsets = x[:, None, :] - modes[None]
    nearest = np.linalg.norm(offsets, axis=2).argmin(axis=1)
    residual = x - modes[nearest]
    # Beyond 6 std in 2-D has probability exp(-18): every sample is at its mode.
    assert np.linalg.norm(residual, axis=1).max() < 6 * std
    np.testing.assert_allclose(residual.std(axis=0), std, rtol=0.05)
    counts = np.bincount(nearest, minlength=len(modes))
    expected = len(x) / len(modes)
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)


def test_unknown_mixture_is_a_one_line_data_error():
    for call in (lambda: mixture_modes("x"), lambda: mixture_std("x"),
                 lambda: sample_mixture("x", 10, 0)):
        with pytest.raises(DataError) as err:
            call()
        assert str(err.value) == "data.name='x': unknown 2-D mixture (ring8, grid25)"


def _colour_mask(pixels: np.ndarray, red: bool) -> np.ndarray:
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    if red:
        return (r > 200) & (g < 60) & (b < 60)
    return (r < 80) & (g < 80) & (b < 100)


@pytest.mark.parametrize("name", MIXTURES)
def test_scatter_draws_samples_and_red_modes(tmp_path, name):
    path = tmp_path / "new" / "dir" / "scatter.png"
    modes = mixture_modes(name)
    save_scatter(sample_mixture(name, 2000, 0), path, modes=modes, size=300, title=name)
    with Image.open(path) as img:
        assert img.size == (300, 300) and img.mode == "RGB"
        pixels = np.asarray(img)
    assert pixels[0, -1].tolist() == [255, 255, 255]  # white background
    assert _colour_mask(pixels, red=True).sum() > 10 * len(modes)
    assert _colour_mask(pixels, red=False).sum() > 100
    assert [p.name for p in path.parent.iterdir()] == ["scatter.png"]  # no temp left


def test_scatter_puts_points_where_they_belong(tmp_path):
    # Two clusters in opposite corners of the view; the other two corners stay white.
    points = np.array([[-0.8, 0.8]] * 50 + [[0.8, -0.8]] * 50) + np.random.default_rng(0).normal(
        scale=0.02, size=(100, 2))
    save_scatter(points, tmp_path / "s.png", size=200, extent=1.0)
    dark = _colour_mask(np.asarray(Image.open(tmp_path / "s.png")), red=False)
    assert dark[10:100, 10:100].sum() > 10  # top left is (-x, +y)
    assert dark[100:190, 100:190].sum() > 10  # bottom right is (+x, -y)
    assert dark[20:90, 110:180].sum() == 0
    assert dark[110:180, 20:90].sum() == 0


def test_scatter_counts_points_it_cannot_show(tmp_path):
    points = np.array([[0.0, 0.0], [50.0, 0.0], [np.nan, 1.0]])
    save_scatter(points, tmp_path / "a.png", size=200, extent=1.0)
    save_scatter(points[:1], tmp_path / "b.png", size=200, extent=1.0)
    corner = (slice(0, 11), slice(100, 200))  # above the box, right half
    assert (np.asarray(Image.open(tmp_path / "a.png"))[corner] < 128).any()
    assert (np.asarray(Image.open(tmp_path / "b.png"))[corner] == 255).all()


def test_default_extent():
    assert default_extent(np.zeros((0, 2)), mixture_modes("ring8")) == pytest.approx(1.5)
    assert default_extent(np.zeros((0, 2)), mixture_modes("grid25")) == pytest.approx(6.0)
    assert default_extent(np.array([[3.0, -10.0], [np.inf, 0]]), None) == pytest.approx(11.0)
    assert default_extent(np.zeros((1, 2)), None) == 1.0


@pytest.mark.parametrize("points, kwargs", [
    (np.zeros((5, 3)), {}),
    (np.zeros(5), {}),
    (np.zeros((5, 2)), {"modes": np.zeros((2, 3))}),
    (np.zeros((5, 2)), {"size": 10}),
    (np.zeros((5, 2)), {"extent": 0.0}),
])
def test_scatter_refuses_bad_input(tmp_path, points, kwargs):
    with pytest.raises(ValueError):
        save_scatter(points, tmp_path / "x.png", **kwargs)
    assert not (tmp_path / "x.png").exists()
