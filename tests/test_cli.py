import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from steadygan.cli import main
from steadygan.config import TrainConfig, load_config

from conftest import PROJECT_ROOT, one_line_error as _one_line_error, tiny_train_args


@pytest.mark.parametrize("argv, fragment", [
    (["train", "--set", "train.lrd=1e-4"], "unknown setting 'train.lrd'"),
    (["train", "--set", "labels.flip=0.7"], "labels.flip"),
    (["train", "--image-size", "48"], "data.image_size"),
    (["train", "--config", "/nonexistent/c.toml"], "config file not found"),
    (["train", "--resume", "/nonexistent/run"], "run directory not found"),
    (["train", "--data", "folder"], "data.dir"),
    # a folder the bundled digits or a mixture would not read: said, not skipped
    (["train", "--data-dir", "/nonexistent/mnist"], "data.dir: /nonexistent/mnist is read only"),
    (["train", "--data", "ring8", "--data-dir", "/tmp"], "this run's is ring8"),
    (["train", "--bogus-flag"], "unrecognized arguments"),
    (["sample", "/nonexistent/run", "--out", "x.png"], "run directory not found"),
    (["sample", "/nonexistent/run"], "--out"),
    (["sample", "/nonexistent/run", "--out", "grid.jpg"], "--out: grid.jpg: must end in .png"),
    (["sample", "/nonexistent/run", "--npz", "samples"], "--npz: samples: must end in .npz"),
    (["sweep", "--out", "/nonexistent/s", "--grid", "train.lr_d=1e-4,2e-4", "--samples", "0"],
     "--samples: must be >= 2"),
])
def test_bad_input_gets_one_line_and_exit_2(capsys, argv, fragment):
    if argv[1] == "--bogus-flag":  # argparse's own errors exit through SystemExit
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and "\n" not in err
        return
    _one_line_error(capsys, argv, fragment)


def test_empty_image_folder_and_missing_mnist(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    _one_line_error(capsys, ["train", "--data", "folder", "--data-dir", str(empty)], str(empty))
    from steadygan.data import mnist
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/"])
    _one_line_error(capsys, ["train", "--data", "mnist", "--data-dir", str(tmp_path / "none")],
                    "train-images-idx3-ubyte")


def test_corrupt_checkpoint_is_reported(capsys, trained_run):
    (trained_run / "checkpoints" / "last.pt").write_bytes(b"garbage")
    _one_line_error(capsys, ["sample", str(trained_run), "--out", "x.png"], "not a readable checkpoint")
    _one_line_error(capsys, ["train", "--resume", str(trained_run)], "not a readable checkpoint")


def test_best_of_a_run_without_live_evaluation_says_why(capsys, trained_run):
    err = _one_line_error(capsys, ["sample", str(trained_run), "--out", "x.png", "--checkpoint",
                                   "best"], "best.pt: not found; a live evaluation writes it")
    assert "--checkpoint last" in err


def test_a_kept_checkpoint_is_named_by_its_step_or_file_name(capsys, tmp_path):
    run = tmp_path / "kept"
    assert main(tiny_train_args(run, steps=12) + ["--set", "run.keep_checkpoints=true"]) == 0
    capsys.readouterr()
    for name in ("6", "step_000012", "step_000006.pt"):  # checkpoint_every=6 in TINY_SETTINGS
        assert main(["sample", str(run), "--npz", str(tmp_path / f"{name}.npz"), "--n", "2",
                     "--checkpoint", name]) == 0
    assert not np.array_equal(np.load(tmp_path / "6.npz")["images"],
                              np.load(tmp_path / "step_000012.npz")["images"])
    err = _one_line_error(capsys, ["sample", str(run), "--out", "x.png", "--checkpoint", "7"],
                          "--checkpoint 7: no checkpoint of step 7")
    assert "(kept steps: 6, 12)" in err


def test_resume_with_a_changed_model_is_refused(capsys, trained_run):
    _one_line_error(capsys, ["train", "--resume", str(trained_run), "--set", "model.d_width=16"],
                    "different model")


def test_resume_extends_a_finished_run(capsys, trained_run):
    assert main(["train", "--resume", str(trained_run), "--steps", "8", "--no-progress"]) == 0
    assert load_config(trained_run / "config.toml").train.steps == 8
    out = capsys.readouterr().out
    assert "done: 8 steps" in out
    # and where this stretch's time went (trained_run holds the first few steps)
    assert re.search(r"^time: [\d.]+ s from step \d to 8: steps \d+ %", out, re.M), out


def test_train_ends_with_what_the_run_came_to(capsys, tmp_path):
    run = tmp_path / "run"
    args = tiny_train_args(run, steps=24) + ["--set", "run.eval_every=12", "--set",
                                        "run.eval_samples=500", "--set", "health.warmup_steps=0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    evals = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()
             if json.loads(l)["kind"] == "eval"]
    assert f"live evaluation at the end: FID {evals[-1]['fid_live']:.1f} (step 24); " \
           f"checkpoints/best.pt is from step {evals[-1]['best_step']}" in out
    # 24 steps draw a few digits far more often than the rest: the rare ones are named
    shares = evals[-1]["digit_shares_live"]
    assert len(shares) == 10 and sum(shares) == pytest.approx(1, abs=1e-3)
    rare = sorted(range(10), key=lambda d: shares[d])[:sum(s < 0.05 for s in shares)]
    assert rare, shares
    rare_line = ("digits drawn rarely (10 % each if even): "
                 + ", ".join(f"{d} ({100 * shares[d]:.1f} %)" for d in rare))
    assert rare_line in out
    health = re.search(r"^health: (\w+)(.*)$", out, re.M)
    assert health, out
    main(["diagnose", str(run)])  # the same verdict and rare digits, replayed from the run
    replayed = capsys.readouterr().out
    assert f"verdict: {health.group(1)}" in replayed and f"  {rare_line}\n" in replayed
    if health.group(1) != "healthy":
        assert f"steadygan diagnose {run}" in health.group(2)


def test_sample_writes_a_grid_and_uint8_npz(trained_run, tmp_path):
    assert main(["sample", str(trained_run), "--n", "10", "--out", str(tmp_path / "g.png"),
                 "--npz", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (10, 1, 28, 28) and images.dtype == np.uint8
    assert Image.open(tmp_path / "g.png").size == (4 * 28 + 10, 3 * 28 + 8)
    assert main(["sample", str(trained_run), "-n", "3", "--no-ema", "--npz",
                 str(tmp_path / "raw.npz")]) == 0
    assert np.load(tmp_path / "raw.npz")["images"].shape == (3, 1, 28, 28)  # -n is --n


def test_config_command_prints_loadable_toml(capsys, tmp_path):
    assert main(["config", "--set", "train.lr_d=1e-4"]) == 0
    path = tmp_path / "c.toml"
    path.write_text(capsys.readouterr().out)
    assert load_config(path) == TrainConfig().with_overrides(["train.lr_d=1e-4"])


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["config"]])
def test_help_is_complete(capsys, command):
    with pytest.raises(SystemExit) as info:
        main(command + ["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: steadygan" in text
    if command == ["train"]:
        assert all(flag in text for flag in ("--resume", "--set", "--data-dir", "--epochs"))


def test_console_entry_point_prints_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run([sys.executable, "-m", "steadygan", "train", "--set", "train.lr_d=-1"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("steadygan: error: train.lr_d")
    assert len(proc.stderr.strip().splitlines()) == 1
