import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from steadygan.config import ConfigError, load_config
from steadygan.train.checkpoint import CheckpointError, load_checkpoint
from steadygan.train import loop
from steadygan.train.loop import StatsWindow, train
from steadygan.train.step import STAT_NAMES

from conftest import PROJECT_ROOT, TINY_SETTINGS


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _train_records(run: Path) -> list[dict]:
    return [r for r in _metrics(run) if r.get("kind") == "train"]


def _assert_same_state(a: Path, b: Path) -> None:
    ca, cb = load_checkpoint(a), load_checkpoint(b)
    assert ca["step"] == cb["step"]
    for key in ("G", "D", "G_ema"):
        for name, tensor in ca[key].items():
            assert torch.equal(tensor, cb[key][name]), f"{key}.{name} differs"
    for key in ("opt_g", "opt_d"):
        for pid, state in ca[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(value, cb[key]["state"][pid][name]), f"{key} {pid} {name}"


def test_a_short_run_writes_the_whole_run_directory(tiny_cfg):
    result = train(tiny_cfg)
    run = result.run_dir
    assert result.steps == 24 and not result.interrupted
    assert (run / "config.toml").is_file()
    records = _train_records(run)
    assert [r["step"] for r in records] == [4, 8, 12, 16, 20, 24]
    for r in records:
        assert all(math.isfinite(r[k]) for k in STAT_NAMES)
        assert 0 <= r["d_acc_real"] <= 1 and 0 <= r["g_acc"] <= 1 and 0 < r["d_real"] < 1
        assert r["lr_g"] == 2e-4 and r["lr_d"] == 2e-4
    assert Image.open(run / "samples" / "step_000012.png").size == (8 * 28 + 18, 8 * 28 + 18)
    assert (run / "samples" / "final.png").is_file()
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 24


def test_the_same_seed_gives_the_same_weights(tiny_cfg, tmp_path):
    first = train(tiny_cfg.with_overrides(["train.steps=6"])).run_dir
    second = train(tiny_cfg.with_overrides(["train.steps=6", f"run.out={tmp_path / 'b'}"])).run_dir
    _assert_same_state(first / "checkpoints/last.pt", second / "checkpoints/last.pt")


def test_real_training_keeps_d_and_g_accuracies_balanced(default_run):
    """The default architecture and stabilizers on the bundled MNIST subset, 300 steps."""
    records = [r for r in _metrics(default_run) if r["kind"] == "train"]
    assert len(records) == 12  # a read every 25 steps
    d_acc = np.mean([0.5 * (r["d_acc_real"] + r["d_acc_fake"]) for r in records])
    g_acc = np.mean([r["g_acc"] for r in records])
    assert 0.05 < d_acc < 0.95, d_acc
    assert 0.05 < g_acc < 0.95, g_acc
    assert records[-1]["grad_norm_g"] > 0


def test_a_learning_rate_warm_up_shortens_the_first_updates_and_logs_the_set_rates(tiny_cfg,
                                                                                   tmp_path):
    from steadygan.train.loop import build_state

    # Adam's first update moves every weight by about its learning rate (m / sqrt(v) = sign of
    # the gradient), so step 0 of a 10-step warm-up moves G's weights a tenth as far
    start = build_state(tiny_cfg, torch.device("cpu")).G.state_dict()

    def largest_first_move(warmup: int) -> float:
        cfg = tiny_cfg.with_overrides(["train.steps=1", f"train.lr_warmup_steps={warmup}",
                                       f"run.out={tmp_path / f'w{warmup}'}"])
        after = load_checkpoint(train(cfg).run_dir / "checkpoints/last.pt")["G"]
        return max((after[k].float() - v.float()).abs().max().item()
                   for k, v in start.items() if v.is_floating_point() and "running" not in k)

    assert largest_first_move(0) == pytest.approx(2e-4, rel=0.01)
    assert largest_first_move(10) == pytest.approx(2e-5, rel=0.01)
    # the controller off: its speed-ups would move the set rates too
    run = train(tiny_cfg.with_overrides(["train.lr_warmup_steps=100", "balance.mode=off"])).run_dir
    assert {(r["lr_g"], r["lr_d"]) for r in _train_records(run)} == {(2e-4, 2e-4)}


@pytest.mark.parametrize("settings", [
    ["train.loss=hinge"], ["train.loss=lsgan"], ["model.d_head=patch", "model.patch_size=14"],
    ["train.d_batches=mixed"], ["train.r1_gamma=1.0"], ["train.n_critic=2"],
    ["model.d_norm=spectral"], ["train.ema=false"], ["model.g_upsample=upsample_conv"],
    ["model.d_minibatch_std=true", "model.d_norm=none"], ["train.precision=bf16"],
    ["labels.flip=0", "labels.smooth=0"],
])
def test_every_technique_trains(tiny_cfg, settings):
    result = train(tiny_cfg.with_overrides(["train.steps=4", "run.log_every=2"] + settings))
    record = result.last_record
    assert result.steps == 4 and all(math.isfinite(record[k]) for k in STAT_NAMES)


def test_trains_on_a_folder_of_rgb_images_at_64px(tiny_cfg, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
    cfg = tiny_cfg.with_overrides(["data.name=folder", f"data.dir={folder}", "data.image_size=64",
                                   "data.channels=0", "train.steps=3", "run.log_every=1"])
    run = train(cfg).run_dir  # channels 0, a folder's default: colour images make an RGB run
    assert "data.dir: colour images, trained in colour (--channels 1: grayscale)" in \
        capsys.readouterr().err
    assert load_config(run / "config.toml").data.channels == 3
    assert Image.open(run / "samples" / "final.png").mode == "RGB"
    train(cfg.with_overrides(["train.steps=4"]), resume=True)  # as they were when it began
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 4


def test_the_statistics_window_s_cadence_row_outlives_reads_off_the_cadence():
    window = StatsWindow("cpu")
    for value in (1.0, 2.0, 3.0):
        window.add(torch.full((len(STAT_NAMES),), value))
        if value == 2.0:
            assert window.mean()["loss_d"] == 1.5  # a read off the cadence (the run's end)
    assert window.mean()["loss_d"] == 3.0
    since, steps = window.cadence_mean()
    assert since["loss_d"] == 2.0 and steps == 3
    assert window.cadence_mean()[1] == 0 and window.count == 0
    # a checkpoint from before the cadence row (one row of sums) resumes into both rows
    older = StatsWindow("cpu")
    older.load_state_dict({"sum": torch.arange(len(STAT_NAMES), dtype=torch.float), "count": 2})
    assert older.cadence_count == 2 and torch.equal(older.sum[0], older.sum[1])


def test_a_run_directory_is_never_overwritten(tiny_cfg):
    train(tiny_cfg.with_overrides(["train.steps=2"]))
    with pytest.raises(ConfigError, match="already holds a run"):
        train(tiny_cfg.with_overrides(["train.steps=2"]))


def test_resume_refuses_a_different_model(tiny_cfg):
    train(tiny_cfg.with_overrides(["train.steps=6"]))
    with pytest.raises(CheckpointError, match=r"different model \(changed: g_width 16 -> 32\)"):
        train(tiny_cfg.with_overrides(["train.steps=12", "model.g_width=32"]), resume=True)
    # said before the data are loaded: a folder that is not there is not what it complains about
    with pytest.raises(CheckpointError, match="g_width 16 -> 32"):
        train(tiny_cfg.with_overrides(["model.g_width=32", "data.name=folder",
                                       f"data.dir={tiny_cfg.run.out}/nowhere"]), resume=True)


def test_damaged_metrics_lines_do_not_stop_a_resume_or_a_diagnosis(tiny_cfg, capsys):
    """Bytes that are not UTF-8, a value that is not a record and a line cut short: skipped."""
    from steadygan.cli import main

    run = train(tiny_cfg.with_overrides(["train.steps=8"])).run_dir
    with (run / "metrics.jsonl").open("ab") as f:
        f.write(b'\xff\xfe{"step": 1}\n[1, 2]\n{"kind": "train", "st')
    assert main(["diagnose", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--steps", "12", "--no-progress"]) == 0
    assert "verdict:" in capsys.readouterr().out
    steps = [r["step"] for r in _train_records(run)]  # the damage is gone with the resume
    assert steps == sorted(steps) and steps[-1] == 12


def test_batch_larger_than_the_dataset_is_refused(tiny_cfg, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(3):
        Image.new("L", (28, 28), i * 50).save(folder / f"{i}.png")
    cfg = tiny_cfg.with_overrides(["data.name=folder", f"data.dir={folder}"])
    with pytest.raises(ConfigError, match="train.batch_size"):
        train(cfg)


# ---- interruption: subprocesses, killed the way users and machines kill them ----------------

def _train_cmd(out: Path, steps: int, *extra: str) -> list[str]:
    settings = [s for s in TINY_SETTINGS if not s.startswith("train.steps")]
    cmd = [sys.executable, "-m", "steadygan", "train", "--out", str(out), "--steps", str(steps)]
    for s in settings + list(extra):
        cmd += ["--set", s]
    return cmd


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}


def _wait_for_checkpoint(proc: subprocess.Popen, path: Path, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def test_resume_after_sigkill_ends_with_the_same_state(tmp_path):
    steps = 60
    reference = tmp_path / "uninterrupted"
    subprocess.run(_train_cmd(reference, steps), env=_env(), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(killed, steps), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _wait_for_checkpoint(proc, killed / "checkpoints" / "last.pt")
    time.sleep(0.15)  # kill at some moment between checkpoints
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved_step = load_checkpoint(killed / "checkpoints" / "last.pt")["step"]
    assert saved_step < steps

    resumed = subprocess.run([sys.executable, "-m", "steadygan", "train", "--resume", str(killed),
                              "--no-progress"], env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_state(reference / "checkpoints/last.pt", killed / "checkpoints/last.pt")
    # the metrics log holds each step once and the same statistics as the uninterrupted run
    timeless = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "img_per_s")}
                           for r in rs if r["kind"] != "timing"]  # wall times: their own test
    assert timeless(_metrics(killed)) == timeless(_metrics(reference))


def test_ctrl_c_between_statistics_reads_resumes_as_if_never_stopped(tiny_cfg, monkeypatch):
    """A stop between two reads used to read and log the statistics early: the next record then
    covered fewer steps, and the balance controller, which acts on records, acted on another
    schedule (found: its step at 150 instead of 200 in a 300-step run, and every weight different
    after it)."""
    cfg = tiny_cfg.with_overrides(["train.steps=200", "run.log_every=25", "run.checkpoint_every=50",
                                   "run.sample_every=1000", "balance.mode=auto"])
    straight = train(cfg.with_overrides([f"run.out={cfg.run.out}-straight"])).run_dir
    acted = [r["step"] for r in _metrics(straight) if r["kind"] == "balance"]
    assert any(step > 112 for step in acted), acted  # the controller has work after the stop

    calls = 0
    real_step = loop.train_step

    def ctrl_c_at_112(state, reals):
        nonlocal calls
        calls += 1
        if calls == 112:  # the signal lands during step 112: the loop stops after it
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(state, reals)
    monkeypatch.setattr(loop, "train_step", ctrl_c_at_112)
    stopped = train(cfg)
    assert stopped.interrupted and load_checkpoint(stopped.run_dir / "checkpoints/last.pt")["step"] == 112
    monkeypatch.setattr(loop, "train_step", real_step)
    train(cfg, resume=True)

    _assert_same_state(straight / "checkpoints/last.pt", stopped.run_dir / "checkpoints/last.pt")
    timeless = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "img_per_s")}
                           for r in rs if r["kind"] != "timing"]
    assert timeless(_metrics(stopped.run_dir)) == timeless(_metrics(straight))


def test_ctrl_c_after_a_non_finite_step_keeps_the_last_good_checkpoint(tiny_cfg, monkeypatch,
                                                                        capsys):
    cfg = tiny_cfg.with_overrides(["train.steps=100", "run.log_every=50",
                                   "run.checkpoint_every=20"])
    calls = 0
    real_step = loop.train_step

    def nan_then_ctrl_c_at_30(state, reals):
        nonlocal calls
        calls += 1
        stats = real_step(state, reals)
        if calls == 30:
            os.kill(os.getpid(), signal.SIGINT)
            return stats * float("nan")
        return stats
    monkeypatch.setattr(loop, "train_step", nan_then_ctrl_c_at_30)
    assert train(cfg).interrupted
    assert "interrupted: at step 30 the statistics since the last read were not finite, so the " \
           "checkpoint of step 20 is kept" in capsys.readouterr().out
    assert load_checkpoint(Path(cfg.run.out) / "checkpoints/last.pt")["step"] == 20


def test_ctrl_c_saves_a_checkpoint_at_a_step_boundary(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(_train_cmd(run, 100_000), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(proc, run / "checkpoints" / "last.pt")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in out + err
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == _metrics(run)[-1]["step"]


def test_a_checkpoint_write_killed_midway_leaves_the_previous_one_loadable(tiny_cfg):
    run = train(tiny_cfg.with_overrides(["train.steps=6"])).run_dir
    last = run / "checkpoints" / "last.pt"
    before = last.read_bytes()
    script = f"""
import os, torch
from pathlib import Path
from steadygan.train import checkpoint
from steadygan.train.checkpoint import load_checkpoint
def dying_save(obj, f):
    f.write(b"half a checkpoint")
    f.flush()
    os._exit(9)  # the process dies mid-write, like a SIGKILL or power loss
checkpoint.torch.save = dying_save
checkpoint.atomic_save(load_checkpoint(Path({str(last)!r})), Path({str(last)!r}))
"""
    proc = subprocess.run([sys.executable, "-c", script], env=_env())
    assert proc.returncode == 9
    assert last.read_bytes() == before
    assert load_checkpoint(last)["step"] == 6


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("benchmark", [False, True])
def test_cudnn_benchmark_follows_the_setting_on_cuda(tiny_cfg, benchmark):
    from steadygan.train.loop import build_state

    cfg = tiny_cfg.with_overrides([f"train.cudnn_benchmark={str(benchmark).lower()}"])
    build_state(cfg, torch.device("cuda"))
    assert torch.backends.cudnn.benchmark is benchmark


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
# bf16 on Ampere and newer; fp16's loss scaling, also through R1's inner gradient
@pytest.mark.parametrize("precision, r1_gamma", [("auto", 0), ("fp16", 0), ("fp16", 1)])
def test_trains_on_cuda_in_reduced_precision_and_resumes(tiny_cfg, precision, r1_gamma):
    cfg = tiny_cfg.with_overrides(["train.device=cuda", f"train.precision={precision}",
                                   f"train.r1_gamma={r1_gamma}", "train.steps=12"])
    result = train(cfg)
    assert all(math.isfinite(result.last_record[k]) for k in STAT_NAMES)
    ckpt = load_checkpoint(result.run_dir / "checkpoints" / "last.pt")
    assert "cuda" in ckpt["rng"] and ckpt["step"] == 12
    assert (ckpt["scalers"] is None) == (precision != "fp16")
    resumed = train(cfg.with_overrides(["train.steps=18"]), resume=True)
    assert resumed.steps == 18


def test_tensorboard_receives_the_scalars_and_grids(tiny_cfg):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train(tiny_cfg.with_overrides(["run.tensorboard=true", "train.steps=12"])).run_dir
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss/d")] == [4, 8, 12]
    assert [e.step for e in events.Images("samples/grid")] == [12]


def test_report_every_rewrites_the_html_report_while_training(tiny_cfg):
    pytest.importorskip("matplotlib")
    run = train(tiny_cfg.with_overrides(["run.report_every=12", "train.steps=12"])).run_dir
    html = (run / "report.html").read_text()
    assert "steadygan report" in html and "data:image/png;base64" in html


def test_the_run_records_where_its_time_went(tiny_cfg):
    """One timing record per stretch of training: the steps and each kind of periodic work, in
    seconds that add up to the stretch's wall time; a resumed stretch gets its own."""
    from steadygan.train.timing import SECTIONS, timing_line

    cfg = tiny_cfg.with_overrides(["run.eval_every=12", "run.eval_samples=500"])
    result = train(cfg)
    timing = _metrics(result.run_dir)[-1]
    assert timing == result.timing
    assert timing["kind"] == "timing" and (timing["from_step"], timing["step"]) == (0, 24)
    parts = [timing["steps_s"]] + [timing[f"{name}_s"] for name in SECTIONS]
    assert all(p >= 0 for p in parts) and sum(parts) == pytest.approx(timing["wall_s"], abs=0.01)
    # what this run did: 6 reads, 2 grids and final.png, 2 live FIDs, 5 checkpoints, no report
    assert min(timing[f"{name}_s"] for name in SECTIONS if name != "reports") > 0
    assert timing["reports_s"] == 0
    assert timing_line(timing).startswith(f"time: {timing['wall_s']:.1f} s from step 0 to 24: steps ")

    resumed = train(cfg.with_overrides(["train.steps=36"]), resume=True)
    timings = [r for r in _metrics(resumed.run_dir) if r["kind"] == "timing"]
    assert [(t["from_step"], t["step"]) for t in timings] == [(0, 24), (24, 36)]


def test_a_timing_line_names_the_larger_shares():
    from steadygan.train.timing import timing_line

    record = {"kind": "timing", "step": 1872, "from_step": 0, "wall_s": 100.0, "steps_s": 90.0,
              "statistics_s": 0.2, "samples_s": 1.8, "evaluation_s": 6.0, "checkpoints_s": 2.0,
              "reports_s": 0.0}
    assert timing_line(record) == ("time: 1 min 40 s from step 0 to 1872: steps 90 %, "
                                   "evaluation 6 %, checkpoints 2 %, samples 2 %")
    hours = {**record, "wall_s": 7500.0, "steps_s": 7500.0 - 10.0}
    assert timing_line(hours) == "time: 2 h 5 min from step 0 to 1872: steps 100 %"  # rest < 0.5 %
