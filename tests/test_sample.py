"""Latent walks: the interpolation they follow, and the grids `steadygan sample --walk` writes."""

import numpy as np
import pytest
import torch
from PIL import Image

from steadygan.cli import main
from steadygan.config import TrainConfig
from steadygan.models.generate import slerp
from steadygan.sample import TrainedGenerator
from steadygan.train.loop import train

from conftest import TINY_SETTINGS


def test_slerp_starts_and_ends_at_its_ends_and_keeps_to_the_sphere():
    g = torch.Generator().manual_seed(0)
    start, end = torch.randn(3, 100, generator=g), torch.randn(3, 100, generator=g)
    end = end / end.norm(dim=1, keepdim=True) * start.norm(dim=1, keepdim=True)  # equal norms
    path = slerp(start, end, torch.linspace(0, 1, 7))
    assert path.shape == (3, 7, 100)
    assert torch.allclose(path[:, 0], start, atol=1e-5)
    assert torch.allclose(path[:, -1], end, atol=1e-5)
    norms = path.norm(dim=2)
    assert torch.allclose(norms, norms[:, :1].expand_as(norms), rtol=1e-4)  # on the great circle
    # a straight line would pass inside the sphere: near-orthogonal ends, its midpoint ~ 1/sqrt 2
    assert (((start + end) / 2).norm(dim=1) < 0.8 * norms[:, 0]).all()
    # equal steps of angle along the way
    cos = torch.nn.functional.cosine_similarity(path[:, :-1], path[:, 1:], dim=2)
    assert torch.allclose(cos, cos[:, :1].expand_as(cos), atol=1e-5)


def test_slerp_of_parallel_ends_walks_the_line_without_nans():
    start = torch.ones(2, 4)
    for end in (start.clone(), 2 * start, -start):
        path = slerp(start, end, torch.tensor([0.0, 0.25, 1.0]))
        assert torch.isfinite(path).all()
        assert torch.allclose(path[:, 1], 0.75 * start + 0.25 * end, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("walk") / "run"
    return train(TrainConfig().with_overrides([*TINY_SETTINGS, f"run.out={out}"])).run_dir


def test_walks_are_rows_of_images_whose_ends_are_g_at_the_drawn_latents(tiny_run):
    generator = TrainedGenerator(tiny_run, device="cpu")
    walks = generator.walks(3, 5, seed=4)
    assert walks.shape == (15, 1, 28, 28) and walks.dtype == np.uint8
    ends = torch.randn(2, 3, generator.cfg.model.z_dim, generator=torch.Generator().manual_seed(4))
    first = generator.domain.generate(generator.G, ends[0])
    last = generator.domain.generate(generator.G, ends[1])
    rows = walks.reshape(3, 5, 1, 28, 28)
    assert np.abs(rows[:, 0].astype(int) - first).max() <= 1  # float rounding of the latents
    assert np.abs(rows[:, -1].astype(int) - last).max() <= 1
    assert not np.array_equal(rows[:, 0], rows[:, 2])  # it moves
    assert np.array_equal(walks, generator.walks(3, 5, seed=4))  # seeded


def test_sample_walk_writes_a_grid_with_one_walk_per_row(tiny_run, tmp_path, capsys):
    png, npz = tmp_path / "walk.png", tmp_path / "walk.npz"
    assert main(["sample", str(tiny_run), "--walk", "6", "-n", "20", "--out", str(png),
                 "--npz", str(npz)]) == 0
    assert "(3 walks of 6 steps)" in capsys.readouterr().out  # 20 // 6 rows
    assert Image.open(png).size == (6 * 28 + 7 * 2, 3 * 28 + 4 * 2)
    assert np.load(npz)["images"].shape == (18, 1, 28, 28)


@pytest.mark.parametrize("walk", ["1", "0", "65"])
def test_a_walk_outside_two_to_n_steps_is_a_one_line_error(tiny_run, tmp_path, capsys, walk):
    assert main(["sample", str(tiny_run), "--walk", walk, "--out", str(tmp_path / "w.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--walk: must be in 2..N (--n 64), got {walk}" in err and "\n" not in err
    assert not (tmp_path / "w.png").exists()


def test_a_walk_of_2d_points_is_refused_with_one_line(tmp_path, capsys):
    out = tmp_path / "ring"
    train(TrainConfig.for_data("ring8").with_overrides(
        ["train.steps=4", "run.progress=false", "train.device=cpu", f"run.out={out}"]))
    assert main(["sample", str(out), "--walk", "4", "--out", str(tmp_path / "w.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "latent walks are drawn for image runs; this one makes 2-D points" in err
    assert "\n" not in err and not (tmp_path / "w.png").exists()
