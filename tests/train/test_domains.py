import json

import numpy as np
import pytest
from PIL import Image

from steadygan.cli import build_parser, main, resolve_config
from steadygan.config import ConfigError, TrainConfig
from steadygan.evaluate import default_samples
from steadygan.train.loop import train


def _mixture_cfg(tmp_path, name="ring8", *extra):
    return TrainConfig.for_data(name).with_overrides([
        "train.steps=300", "run.eval_every=150", "run.eval_samples=1000", "run.progress=false",
        "train.device=cpu", f"run.out={tmp_path / name}", *extra])


def test_mixture_defaults_differ_from_the_image_defaults():
    cfg = TrainConfig.for_data("ring8")
    assert cfg.data.name == "ring8" and cfg.train.lr_d == 1e-3 and cfg.labels.flip == 0
    # images keep the plain defaults; data.name is set (bench/robustness.py --data mnist once trained
    # on the bundled subset because it was not)
    assert TrainConfig.for_data("mnist") == TrainConfig().with_overrides(["data.name=mnist"])
    assert TrainConfig.for_data("bundled") == TrainConfig()
    # grid25's 25 sharp modes get twice ring8's epochs; the rest of their defaults is shared
    grid = TrainConfig.for_data("grid25")
    assert (cfg.train.epochs, grid.train.epochs) == (12, 24)
    assert grid.with_overrides(["train.epochs=12", "data.name=ring8"]) == cfg
    # the pace rule's bunched threshold: 0.8 of the real spread, for points and images alike
    assert cfg.balance.diversity_low == TrainConfig().balance.diversity_low == 0.8


def test_a_ring8_run_writes_scatter_plots_and_mode_metrics(tmp_path):
    run = train(_mixture_cfg(tmp_path)).run_dir
    assert Image.open(run / "samples" / "final.png").size == (512, 512)
    evals = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()
             if json.loads(l)["kind"] == "eval"]
    assert [e["step"] for e in evals] == [150, 300]
    assert all(0 <= e["modes_live"] <= 8 and 0 <= e["hq_live"] <= 1 for e in evals)
    assert (run / "checkpoints" / "best.pt").exists()


def test_mixture_runs_are_evaluated_and_sampled_as_points(capsys, tmp_path):
    run = train(_mixture_cfg(tmp_path, "grid25", "train.steps=20")).run_dir
    assert main(["eval", str(run), "--samples", "2000"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["n_modes"] == 25 and result["n"] == 2000 and 0 <= result["modes_covered"] <= 25
    assert main(["sample", str(run), "--n", "50", "--npz", str(tmp_path / "p.npz"),
                 "--out", str(tmp_path / "p.png")]) == 0
    points = np.load(tmp_path / "p.npz")["points"]
    assert points.shape == (50, 2) and points.dtype == np.float32


def test_packing_trains_and_is_refused_for_images(tmp_path):
    result = train(_mixture_cfg(tmp_path, "ring8", "model.pack=4", "train.steps=10"))
    assert result.steps == 10
    with pytest.raises(ConfigError, match="model.pack"):
        TrainConfig().with_overrides(["model.pack=2"]).validate()
    with pytest.raises(ConfigError, match="not divisible by pack"):
        TrainConfig.for_data("ring8").with_overrides(["model.pack=3"]).validate()


def test_cli_uses_the_mixture_defaults_unless_overridden(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--data", "ring8", "--steps", "5", "--out", str(out), "--no-progress",
                 "--set", "train.lr_g=5e-4"]) == 0
    text = (out / "config.toml").read_text()
    assert "lr_d = 0.001" in text and "lr_g = 0.0005" in text


def test_stacked_mnist_needs_three_channels_and_gets_them_by_default():
    with pytest.raises(ConfigError, match="stacked-mnist has 3 channels"):
        TrainConfig().with_overrides(["data.name=stacked-mnist"]).validate()
    TrainConfig().with_overrides(["data.name=stacked-mnist", "data.channels=3"]).validate()
    assert TrainConfig.for_data("stacked-mnist").validate().data.channels == 3
    # `steadygan train --data stacked-mnist` (what `resolve_config` builds), and a contrary flag
    assert resolve_config(build_parser().parse_args(
        ["train", "--data", "stacked-mnist"])).data.channels == 3
    with pytest.raises(ConfigError, match="stacked-mnist has 3 channels"):
        resolve_config(build_parser().parse_args(["train", "--data", "stacked-mnist",
                                                  "--channels", "1"]))


def test_a_stacked_mnist_run_counts_its_modes_live_and_eval_counts_them_too(tmp_path):
    cfg = TrainConfig.for_data("stacked-mnist").with_overrides([
        "train.steps=20", "run.eval_every=10", "run.eval_samples=500", "run.progress=false",
        "train.device=cpu", f"run.out={tmp_path / 'stacked'}"])
    run = train(cfg).run_dir
    evals = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()
             if json.loads(l)["kind"] == "eval"]
    assert [e["step"] for e in evals] == [10, 20]
    # 500 samples can cover at most 500 of the 1000 modes; KL to uniform at least ln(1000 / 500)
    assert all(1 <= e["modes_live"] <= 500 and e["kl_live"] >= np.log(1000 / 500) - 1e-9
               for e in evals)
    assert (run / "checkpoints" / "best.pt").exists()  # chosen by modes, not by a loss
    assert main(["eval", str(run), "--samples", "2000"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["n"] == 2000 and 1 <= result["modes_covered"] <= 1000
    # without --samples, the papers' 26,000 (35 s on a 2-core CPU, so not run here)
    assert default_samples(cfg) == 26_000 and default_samples(TrainConfig()) == 10_000
