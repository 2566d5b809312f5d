import csv
import importlib.util
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch
from PIL import Image

from steadygan.cli import main
from steadygan.config import ConfigError, TrainConfig, dump_toml
from steadygan.sweep import local
from steadygan.sweep.grid import expand, parse_grid, parse_random, sample_random

TINY = ["--set", "data.name=ring8", "--set", "train.steps=60", "--set", "run.eval_every=0",
        "--set", "model.mlp_hidden=32", "--samples", "500", "--no-progress"]
GRID = ["--grid", "train.lr_d=1e-3,2e-3", "--grid", "train.beta1=0.5,0.9"]


TIMINGS = ("train_s", "eval_s")  # seconds a trial spent: they differ between runs


def _rows(out):
    """results.csv without its timing columns (whose presence `_timed` checks)."""
    with (out / "results.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in TIMINGS} for row in csv.DictReader(f)]


def _timed(out) -> bool:
    with (out / "results.csv").open() as f:
        return all(float(row["train_s"]) > 0 and float(row["eval_s"]) >= 0
                   for row in csv.DictReader(f))


def test_a_two_by_two_sweep_end_to_end_and_its_resume(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", *GRID, "--seeds", "1", "--out", str(out), "--workers", "2", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "4 trials" in printed
    rows = _rows(out)
    # the closing table: every trial (four, under five), the one with the most modes first
    table = printed[printed.index("best 4 of 4 trials (by modes_covered):"):].splitlines()[1:6]
    assert table[0].split() == ["trial", "modes_covered", "high_quality", "verdict", "success"]
    shown = [line.split()[0] for line in table[1:]]
    assert sorted(shown) == sorted(r["trial"] for r in rows)
    assert int(table[1].split()[1]) == max(int(r["modes_covered"]) for r in rows)
    assert sorted((r["train.lr_d"], r["train.beta1"]) for r in rows) == [
        ("1e-3", "0.5"), ("1e-3", "0.9"), ("2e-3", "0.5"), ("2e-3", "0.9")]
    assert _timed(out)
    for row in rows:
        assert row["n_modes"] == "8" and row["success"] in ("True", "False")
        assert row["verdict"] in ("healthy", "warnings", "recovered", "failure")
    trial_files = sorted((out / "trials").glob("*/trial.json"))
    assert len(trial_files) == 4
    assert all((p.parent / "trial.log").is_file() for p in trial_files)  # each trial's own output
    before = {p: p.stat().st_mtime_ns for p in trial_files}

    trial_files[0].unlink()  # as if the sweep had been killed during that trial
    assert main(["sweep", *GRID, "--seeds", "1", "--out", str(out), *TINY]) == 0
    after = {p: p.stat().st_mtime_ns for p in sorted((out / "trials").glob("*/trial.json"))}
    assert [p for p in before if after[p] != before[p]] == [trial_files[0]]
    assert _rows(out) == rows  # the rerun trial is seeded: it reaches the same result


def test_seeds_multiply_the_trials():
    axes = parse_grid(["train.lr_d=1e-4,2e-4"], TrainConfig())
    trials = expand(axes, 3)
    assert len(trials) == 6 and {t.seed for t in trials} == {0, 1, 2}
    assert trials[0].name == "lr_d-1e-4_s0" and "train.seed=0" in trials[0].settings()


@pytest.mark.parametrize("grid, fragment", [
    (["--grid", "train.lrd=1e-4,2e-4"], "unknown setting 'train.lrd'"),
    (["--grid", "train.lr_d="], "no values given"),
    (["--grid", "train.batch_size=32,big"], "--grid: train.batch_size must be an integer"),
    (["--grid", "train.lr_d=1e-4,2e-4,0.0001"], "0.0001 is 1e-4 again"),  # one folder, twice
    (["--grid", "labels.flip=0.1,0.9"], "labels.flip"),
    (["--grid", "train.seed=0,1"], "use --seeds"),
    (["--grid", "lr_d"], "expected section.key=v1,v2"),
    ([], "at least one --grid"),
    (["--random", "train.lr_d=1e-3"], "expected section.key=lo:hi"),
    (["--random", "train.lr_d=1e-2:1e-3"], "need lo < hi"),
    (["--random", "train.lr_d=0:1e-3:log"], "need lo < hi (and lo > 0 for log)"),
    (["--random", "train.lrx=1e-4:1e-3"], "unknown setting 'train.lrx'"),
])
def test_bad_grid_specifications_get_one_line(capsys, tmp_path, grid, fragment):
    assert main(["sweep", *grid, "--out", str(tmp_path / "s"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err
    assert not (tmp_path / "s" / "results.csv").exists()


def test_the_sweep_report_shows_the_heatmap_and_links_every_trial(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "sweep"
    assert main(["sweep", *GRID, "--seeds", "1", "--out", str(out), "--workers", "2", *TINY]) == 0
    assert (out / "heatmap.png").is_file()
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "Sweep heatmap" in html and html.count('href="trials/') == 4
    assert all((run / "report.html").is_file() for run in (out / "trials").iterdir())


def test_random_search_draws_seeded_points_inside_the_ranges():
    ranges = parse_random(["train.lr_d=1e-5:1e-2:log", "train.beta1=0.3:0.9"], TrainConfig())
    points = sample_random(ranges, 20, seed=0)
    assert points == sample_random(ranges, 20, seed=0) and len(points) == 20
    lrs = [float(p[0].split("=")[1]) for p in points]
    betas = [float(p[1].split("=")[1]) for p in points]
    assert all(1e-5 <= x <= 1e-2 for x in lrs) and all(0.3 <= b <= 0.9 for b in betas)
    assert min(lrs) < 1e-4 and max(lrs) > 1e-3  # log-uniform reaches both decades
    trials = expand(parse_grid(["train.loss=bce,hinge"], TrainConfig()), 2, points)
    assert len(trials) == 2 * 20 * 2 and len(trials[0].assignments) == 3


def test_random_points_are_distinct_and_integer_settings_whole():
    # 3 significant digits name the folders: 60 draws over 1.00e-4..1.20e-4 (21 such values)
    # would repeat some; integers are drawn as integers
    narrow = parse_random(["train.lr_d=1e-4:1.2e-4"], TrainConfig())
    points = sample_random(narrow, 15)
    assert len({p[0] for p in points}) == 15
    with pytest.raises(ConfigError, match="only 21 distinct points"):
        sample_random(narrow, 30)
    widths = sample_random(parse_random(["model.d_width=16:128:log"], TrainConfig()), 30)
    values = [int(p[0].split("=")[1]) for p in widths]  # int() of "47.3" would raise
    assert all(16 <= v <= 128 for v in values) and len(set(values)) == 30
    TrainConfig().with_overrides(widths[0]).validate()


def test_two_trials_never_share_a_folder():
    # "/a/b" and "/a_b" differ only where a folder name cannot hold the character
    with pytest.raises(ConfigError, match="would share the trial folder dir-_a_b_s0"):
        expand([("data.dir", ["/a/b", "/a_b"])], 1)


def test_a_trial_that_cannot_train_is_recorded_as_an_error_and_retried(tmp_path):
    """A folder that holds no images: the trial's process says why in one line; no trial.json,
    so the next run of the sweep tries it again."""
    from pathlib import Path

    from steadygan.sweep.grid import Trial
    from steadygan.sweep.local import run_sweep

    empty = tmp_path / "empty"
    empty.mkdir()
    base = TrainConfig().with_overrides(["data.name=folder", f"data.dir={empty}",
                                         "train.steps=5"])
    out = tmp_path / "sweep"
    [row] = run_sweep(base, [Trial(("train.lr_d=1e-4",), 0)], out, progress=False)
    assert str(empty) in row["error"] and "\n" not in row["error"]
    assert "success" not in row and not list(Path(out / "trials").glob("*/trial.json"))


def test_sweep_takes_the_data_shortcut_and_refuses_abbreviated_flags(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "--data", "ring8", "--steps", "40", "--grid", "train.lr_d=1e-3",
                 "--set", "run.eval_every=0", "--set", "model.mlp_hidden=32", "--samples", "500",
                 "--out", str(out), "--no-progress"]) == 0
    assert 'name = "ring8"' in (out / "base.toml").read_text()
    assert _rows(out)[0]["n_modes"] == "8"
    # `--data-d` once matched --data-dir by prefix; now every flag must be spelled out
    with pytest.raises(SystemExit) as exited:
        main(["sweep", "--data-d", "x", "--grid", "train.lr_d=1e-3", "--out", str(out)])
    assert exited.value.code == 2
    assert "unrecognized arguments: --data-d" in capsys.readouterr().err


def test_sweep_data_dir_is_the_training_folder_and_the_digit_evaluations(tmp_path, monkeypatch):
    """As in train, --data-dir is data.dir; digits are evaluated against MNIST's test files in it,
    unless it is a folder of the user's images."""
    seen = {}

    def record(base, trials, out, workers, samples, eval_dir, *rest, **kwargs):
        seen[base.data.name] = (base.data.dir, eval_dir)
        return []

    monkeypatch.setattr(local, "run_sweep", record)
    for data in ("mnist", "folder"):
        assert main(["sweep", "--data", data, "--data-dir", str(tmp_path), "--grid",
                     "train.lr_d=1e-3", "--out", str(tmp_path / data), "--no-progress"]) == 0
    assert seen == {"mnist": (str(tmp_path), str(tmp_path)), "folder": (str(tmp_path), None)}


def _children(pid):
    """Pids whose parent is pid (from /proc; Linux)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_stops_the_sweep_and_its_workers_and_the_rerun_resumes(tmp_path):
    out = tmp_path / "sweep"
    args = [sys.executable, "-m", "steadygan", "sweep", "--grid", "train.lr_d=1e-3,2e-3",
            "--seeds", "1", "--out", str(out), "--workers", "2",
            *[a.replace("train.steps=60", "train.steps=2000") for a in TINY],
            "--set", "run.checkpoint_every=20", "--set", "run.log_every=20"]
    sweep = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    checkpoints = lambda: list((out / "trials").glob("*/checkpoints/last.pt"))  # noqa: E731
    # both training, and past their first statistics read (a stop between reads logs nothing)
    logged = lambda: [c for c in checkpoints() if _last_step(c.parent.parent) > 0]  # noqa: E731
    while len(logged()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(logged()) == 2, "both trials should be training"
    workers = [p for p in _children(sweep.pid) if _alive(p)]
    sweep.send_signal(signal.SIGTERM)  # to the sweep process alone, as `kill` does
    assert sweep.wait(timeout=60) == 130
    err = sweep.stderr.read()
    assert "interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "workers outlived the sweep"
    assert not list((out / "trials").glob("*/trial.json"))  # neither trial finished

    stopped = {p.parent.parent.name: _last_step(p.parent.parent) for p in checkpoints()}
    assert all(0 < step < 2000 for step in stopped.values())  # each logged some steps

    assert main(args[3:]) == 0  # the same command again resumes both trials
    rows = _rows(out)
    assert len(rows) == 2 and all(int(r["step"]) == 2000 for r in rows)
    for name, step in stopped.items():  # continued from the checkpoint, not started afresh
        steps = [json.loads(line)["step"] for line in
                 (out / "trials" / name / "metrics.jsonl").read_text().splitlines()
                 if json.loads(line).get("kind") == "train"]
        assert steps == sorted(steps) and len(steps) == len(set(steps))


def _last_step(run):
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else []
    return max([json.loads(line)["step"] for line in lines if '"train"' in line] or [0])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_trial_whose_parent_is_killed_checkpoints_and_exits(tmp_path):
    """The Ray backend's trial process (`python -m steadygan.sweep.trial`) outliving its parent,
    a Ray worker torn down with SIGKILL: it must stop at a checkpoint, not train on orphaned."""
    base = tmp_path / "base.toml"
    base.write_text(dump_toml(TrainConfig.for_data("ring8").with_overrides(
        ["train.steps=100000", "model.mlp_hidden=32", "run.log_every=20",
         "run.checkpoint_every=50000", "run.eval_every=0", "run.progress=false"])))
    run = tmp_path / "trial"
    spec = json.dumps({"run": str(run), "base": str(base), "settings": [], "eval_samples": 500,
                       "data_dir": None})
    starter = ("import subprocess, sys, time; "
               "p = subprocess.Popen([sys.executable, '-m', 'steadygan.sweep.trial', sys.argv[1]]); "
               "print(p.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", starter, spec], stdout=subprocess.PIPE,
                              text=True)
    trial_pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 120
    while _last_step(run) < 60 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _last_step(run) >= 60, "the trial should be training"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while _alive(trial_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(trial_pid), "the trial trained on without its parent"
    checkpoint = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    assert checkpoint["step"] >= 60  # saved when it stopped (the periodic one is at 50,000)
    assert not (run / "trial.json").exists()  # unfinished: the next sweep run resumes it


def test_sweep_workers_load_their_libraries_with_one_thread_each(monkeypatch):
    """numpy's BLAS reads OMP_NUM_THREADS when it loads, before a worker's own code runs."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    spawn = multiprocessing.get_context("spawn")
    with local._trial_threads_for_children(), ProcessPoolExecutor(
            1, mp_context=spawn, initializer=local._worker_start,
            initargs=(spawn.Value("i", 0), [])) as pool:
        assert pool.submit(os.getenv, "OMP_NUM_THREADS").result() == "1"
    assert "OMP_NUM_THREADS" not in os.environ  # the sweep's own process is left as it was


def _visible_gpu_of_a_worker(meeting: str, workers: int) -> tuple[int, str | None]:
    """Holds this worker until `workers` of them have each taken one task."""
    Path(meeting, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(meeting)) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.getpid(), os.getenv("CUDA_VISIBLE_DEVICES")


def test_sweep_workers_take_turns_among_several_gpus(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # as the sweep's own process saw them
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(3, mp_context=spawn, initializer=local._worker_start,
                             initargs=(spawn.Value("i", 0), ["0", "1"])) as pool:
        tasks = [pool.submit(_visible_gpu_of_a_worker, str(tmp_path), 3) for _ in range(3)]
        seen = dict(task.result() for task in tasks)
    assert sorted(seen.values()) == ["0", "0", "1"]  # worker 0 -> GPU 0, 1 -> 1, 2 -> 0


def test_visible_gpus_are_spread_only_when_there_are_several(monkeypatch):
    from steadygan.sweep import gpu_sharing

    cuda = torch.device("cuda")  # what train.device auto or cuda resolves to on a GPU machine
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert gpu_sharing.visible_gpus(cuda) == ["0", "1"]
    assert gpu_sharing.visible_gpus(torch.device("cuda", 1)) == []  # an explicit GPU is kept
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7,9")  # more listed than the driver sees
    assert gpu_sharing.visible_gpus(cuda) == ["5", "7"]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert gpu_sharing.visible_gpus(cuda) == []
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert gpu_sharing.visible_gpus(torch.device("cpu")) == []


def test_a_resumed_sweep_hands_its_backend_only_the_unfinished_trials(monkeypatch, tmp_path):
    """Two of three trials finished: one worker for the third, and so no GPU sharing daemon, not
    eight; a sweep with nothing left starts no backend at all (Ray took 15 s to start here)."""
    import contextlib

    from steadygan.sweep import local
    from steadygan.sweep.grid import Trial

    trials = [Trial((f"train.lr_d={lr}",), 0) for lr in (1e-4, 2e-4, 3e-4)]
    out = tmp_path / "sweep"
    for trial in trials[:2]:
        (out / "trials" / trial.name).mkdir(parents=True)
        (out / "trials" / trial.name / local.RESULT_FILE).write_text(
            json.dumps({"trial": trial.name, "fid": 1.0}))
    seen = {}

    def sharing(device_type, workers, mode):
        seen["sharing"] = workers
        return contextlib.nullcontext()

    def run_locally(run_one, pending, workers, done, gpus):
        seen["pool"], seen["pending"] = workers, [t.name for t in pending]
        return [{"trial": t.name, "fid": 2.0} for t in pending]

    monkeypatch.setattr(local, "sharing_gpu", sharing)
    monkeypatch.setattr(local, "run_locally", run_locally)
    results = local.run_sweep(TrainConfig(), trials, out, workers=8, progress=False)
    assert seen == {"sharing": 1, "pool": 1, "pending": [trials[2].name]}
    assert [(r["trial"], r["fid"]) for r in results] == [
        (trials[0].name, 1.0), (trials[1].name, 1.0), (trials[2].name, 2.0)]  # in grid order
    assert [r["trial"] for r in _rows(out)] == [t.name for t in trials]

    (out / "trials" / trials[2].name).mkdir()
    (out / "trials" / trials[2].name / local.RESULT_FILE).write_text(json.dumps(results[2]))
    seen.clear()
    monkeypatch.setattr(local, "_ray_runner",
                        lambda: lambda *args: pytest.fail("Ray was started for nothing"))
    assert local.run_sweep(TrainConfig(), trials, out, workers=8, progress=False,
                           backend="ray") == results
    assert seen == {}  # neither workers nor an MPS daemon


def test_a_sweep_over_what_the_controller_moves_says_the_controller_is_on():
    from steadygan.sweep.grid import controller_note

    on, off = TrainConfig(), TrainConfig().with_overrides(["balance.mode=off"])
    assert "train.lr_d, train.beta1" in controller_note(on, ["train.lr_d", "train.beta1"])
    assert controller_note(off, ["train.lr_d"]) is None  # the raw rates: nothing to say
    assert controller_note(on, ["labels.flip"]) is None  # nothing the controller moves
    assert controller_note(on, ["train.lr_d", "balance.mode"]) is None  # the sweep compares both


def _rgb_folder(folder, n=24, size=32):
    folder.mkdir()
    gen = torch.Generator().manual_seed(0)
    for i in range(n):
        pixels = torch.randint(0, 256, (size, size, 3), generator=gen, dtype=torch.uint8)
        Image.fromarray(pixels.numpy()).save(folder / f"{i}.png")
    return folder


RGB_TINY = ["--set", "data.image_size=32", "--set", "data.channels=3", "--set", "train.steps=4",
            "--set", "model.g_width=16", "--set", "model.d_width=8", "--batch-size", "8",
            "--no-progress"]


def test_a_sweep_over_28x28_images_that_are_not_digits_judges_them_by_their_verdict(
        tmp_path, capsys):
    """Their training finds they are not MNIST digits (inverted ones: own FID about 87) and says
    so in metrics.jsonl; the trials then skip the domain metrics, which would measure the
    distance to MNIST, as for images without one."""
    from steadygan.data.sources import load_dataset

    digits, _ = load_dataset("bundled", None, 28, 1)
    folder = tmp_path / "inverted"
    folder.mkdir()
    for i, image in enumerate(255 - digits[:600]):
        Image.fromarray(image[0]).save(folder / f"{i}.png")
    out = tmp_path / "sweep"
    assert main(["sweep", "--data", "folder", "--data-dir", str(folder), "--grid",
                 "train.lr_d=1e-4,2e-4", "--out", str(out), "--set", "train.steps=4",
                 "--set", "run.eval_every=4", "--set", "run.eval_samples=500", "--set",
                 "model.g_width=16", "--set", "model.d_width=8", "--batch-size", "8",
                 "--no-progress"]) == 0
    assert "no domain metric for these 28x28 images" in capsys.readouterr().out  # channels: 0
    rows = _rows(out)
    assert [r["success"] for r in rows] == ["True", "True"]
    assert not any("fid" in r or "error" in r for r in rows)


def test_a_sweep_over_images_without_a_domain_metric_maps_their_verdicts(tmp_path, capsys):
    """32x32 RGB photos have no offline instrument: every trial used to end in an error after
    its training; now it is judged by its verdict, and the summary says so."""
    folder = _rgb_folder(tmp_path / "photos")
    out = tmp_path / "sweep"
    assert main(["sweep", "--data", "folder", "--data-dir", str(folder), "--grid",
                 "train.lr_d=1e-4,2e-4", "--grid", "train.lr_g=1e-4,2e-4", "--out", str(out),
                 "--workers", "2", *RGB_TINY]) == 0
    printed = capsys.readouterr().out
    assert "4 trials, 4 succeeded" in printed
    assert "no domain metric for these 32x32x3 images: a trial succeeded when it trained to the end " \
           "without a failure diagnosis" in printed
    rows = _rows(out)
    assert [(r["verdict"], r["success"]) for r in rows] == [("healthy", "True")] * 4
    assert not any("error" in r or "fid" in r for r in rows)
    assert not (out / "trials" / rows[0]["trial"] / "eval.json").exists()
    if importlib.util.find_spec("matplotlib"):  # the success map alone, no empty metric panel
        assert Image.open(out / "heatmap.png").size == (550, 450)


def test_success_rules_per_domain():
    digits = {"fid": 8.0, "classes_covered": 10, "class_kl": 0.05}
    assert local.succeeded(digits, "bundled", 10.0)
    assert not local.succeeded({**digits, "class_kl": 0.2}, "mnist", 10.0)
    assert not local.succeeded({**digits, "fid": 12.0}, "mnist", 10.0)
    # Stacked MNIST: the digits' rule over its 1000 modes (real stacks: 1000, KL 0.024)
    stacks = {"modes_covered": 1000, "kl": 0.05, "n": 26_000}
    assert local.succeeded(stacks, "stacked-mnist", 10.0)
    assert not local.succeeded({**stacks, "modes_covered": 999}, "stacked-mnist", 10.0)
    assert not local.succeeded({**stacks, "kl": 0.12}, "stacked-mnist", 10.0)
    assert not local.succeeded({**stacks, "diverged": True}, "stacked-mnist", 10.0)
    points = {"modes_covered": 8, "n_modes": 8, "high_quality": 0.9}
    assert local.succeeded(points, "ring8", 10.0)
    assert not local.succeeded({**points, "high_quality": 0.3}, "ring8", 10.0)
    assert not local.succeeded({**points, "modes_covered": 7}, "ring8", 10.0)
    assert local.succeeded({"verdict": "healthy"}, "folder", 10.0)  # no domain metric taken
    assert not local.succeeded({"verdict": "failure"}, "folder", 10.0)


@pytest.mark.parametrize("text", ['{"trial": "lr_d-1e-4_s0", "fi', "[1, 2]", "\udcff"])
def test_a_damaged_trial_result_is_one_line_naming_the_file_and_exit_2(tmp_path, capsys, text):
    out = tmp_path / "sweep"
    args = ["sweep", "--grid", "train.lr_d=1e-4", "--out", str(out), *TINY]
    damaged = out / "trials" / "lr_d-1e-4_s0" / "trial.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the controller's note
    assert error.startswith("steadygan: error: ") and str(damaged) in error and "delete it" in error
    assert not (out / "results.csv").exists()


def test_a_sweep_begun_with_other_settings_is_not_mixed_into(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", "--grid", "train.lr_d=1e-4", "--out", str(out), *TINY]
    (out / "trials" / "lr_d-1e-4_s0").mkdir(parents=True)  # a trial of the first command
    from steadygan.cli import build_parser, resolve_config
    earlier = resolve_config(build_parser().parse_args(args)).with_overrides(
        ["model.mlp_depth=2"])
    (out / "base.toml").write_text(dump_toml(earlier))
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"steadygan: error: --out: {out} holds a sweep begun with other "
                            "settings (model.mlp_depth 2 -> 3); the same command resumes "
                            "it, another --out starts a new one")
    assert (out / "base.toml").read_text() == dump_toml(earlier)  # left as it was
    assert not (out / "results.csv").exists()
