import json
import math
import re

import numpy as np
import pytest
from PIL import Image
from scipy.stats import spearmanr

from steadygan.cli import main
from steadygan.config import TrainConfig
from steadygan.data.sources import load_dataset
from steadygan.metrics.live import load_reference_stats
from steadygan.metrics.reference import mnist_reference
from steadygan.train.checkpoint import load_checkpoint
from steadygan.train.loop import train


def _records(run, kind):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def test_live_fid_is_logged_and_best_pt_holds_the_lowest(tiny_cfg):
    cfg = tiny_cfg.with_overrides(["run.eval_every=8", "run.eval_samples=500"])
    run = train(cfg).run_dir
    evals = _records(run, "eval")
    assert [r["step"] for r in evals] == [8, 16, 24]
    assert all(math.isfinite(r["fid_live"]) and 1 <= r["classes_live"] <= 10 for r in evals)
    assert all(0 < r["eval_s"] < 60 for r in evals)  # what each evaluation cost, in seconds
    best = min(evals, key=lambda r: r["fid_live"])
    assert evals[-1]["best_step"] == best["step"]
    ckpt = load_checkpoint(run / "checkpoints" / "best.pt")
    assert ckpt["step"] == best["step"] and ckpt["best"]["best_score"] == best["fid_live"]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 24


def test_live_eval_is_skipped_for_non_digit_data(tiny_cfg):
    cfg = tiny_cfg.with_overrides(["run.eval_every=2", "data.image_size=32", "data.channels=3",
                                   "train.steps=4"])
    run = train(cfg).run_dir
    assert _records(run, "eval") == [] and not (run / "checkpoints" / "best.pt").exists()


def _png_folder(folder, images):
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image[0]).save(folder / f"{i:05d}.png")
    return folder


def test_a_folder_of_28x28_images_gets_the_digits_live_eval_only_if_they_are_digits(
        tiny_cfg, tmp_path, capsys):
    digits, labels = load_dataset("bundled", None, 28, 1)
    order = np.argsort(labels[:3000], kind="stable")  # sorted by class, as folders often are
    mnist_like = _png_folder(tmp_path / "digits", digits[order])
    inverted = _png_folder(tmp_path / "inverted", 255 - digits[:600])  # white on black: not MNIST
    settings = ["data.name=folder", "run.eval_every=4", "run.eval_samples=500", "train.steps=4"]
    run = train(tiny_cfg.with_overrides([*settings, f"data.dir={mnist_like}",
                                         f"run.out={tmp_path / 'a'}"])).run_dir
    assert [r["step"] for r in _records(run, "eval")] == [4]
    assert "no live evaluation" not in capsys.readouterr().err
    assert [(r["digits"], r["own_fid"] < 5) for r in _records(run, "data")] == [(True, True)]
    run = train(tiny_cfg.with_overrides([*settings, f"data.dir={inverted}",
                                         f"run.out={tmp_path / 'b'}"])).run_dir
    assert _records(run, "eval") == [] and not (run / "checkpoints" / "best.pt").exists()
    err = capsys.readouterr().err
    assert re.search(r"data.dir: its grayscale images are not MNIST digits \(their own domain FID "
                     r"is \d+\.\d, MNIST's under 5\): no live evaluation, no best.pt", err), err
    # the run directory keeps what the check found: eval refuses to measure them against MNIST
    [checked] = _records(run, "data")
    assert checked["digits"] is False and checked["own_fid"] > 5
    assert main(["eval", str(run), "--samples", "100"]) == 0
    printed = capsys.readouterr()
    assert "its training images are not MNIST digits (their own domain FID is" in printed.err
    assert "near copies in pixel space (Inception FID: --inception-ref DIR)" in printed.err
    assert "domain FID" not in printed.out and "in pixels" in printed.out
    assert main(["train", "--resume", str(run), "--steps", "8", "--no-progress"]) == 0
    assert len(_records(run, "data")) == 1  # written once, kept by a resume
    assert "not MNIST digits" in capsys.readouterr().err  # the resumed stretch says it again
    few = _png_folder(tmp_path / "few", digits[:100])  # too few to tell, and no warning about it
    run = train(tiny_cfg.with_overrides([*settings, f"data.dir={few}", f"run.out={tmp_path / 'c'}"]
                                        )).run_dir
    assert _records(run, "eval") == [] and _records(run, "data")[0]["digits"] is None
    assert capsys.readouterr().err.strip() == ("steadygan: data.dir: 100 images are too few to "
                                               "tell whether they are MNIST digits (500 or more): "
                                               "no live evaluation, no best.pt")


def test_shipped_reference_statistics_match_the_test_set(mnist_dir):
    mu, cov = load_reference_stats()
    reference_mu, reference_cov = mnist_reference(mnist_dir).gaussian()
    assert np.allclose(mu, reference_mu, atol=1e-5) and np.allclose(cov, reference_cov, atol=1e-5)


def test_fid_and_kid_rank_progressively_trained_checkpoints_alike(default_run, mnist_dir):
    """The default model at 20, 80 and 300 steps: both metrics must order them the same way."""
    from steadygan.evaluate import evaluate_run

    scores = [evaluate_run(default_run, n=1000,
                           checkpoint=default_run / "checkpoints" / f"step_{s:06d}.pt",
                           data_dir=str(mnist_dir), device="cpu") for s in (20, 80, 300)]
    fids, kids = [s["fid"] for s in scores], [s["kid_mean"] for s in scores]
    assert spearmanr(fids, kids).statistic == pytest.approx(1.0)
    assert fids[-1] < fids[0]  # training improves the generator
