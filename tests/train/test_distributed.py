"""Data-parallel training under torchrun: two CPU processes over gloo, launched the way users do.

Each launch costs a few seconds of process start-up, so one run checks several things at once.
"""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from steadygan.train.checkpoint import load_checkpoint, rank_streams
from steadygan.train.loop import BatchOrder
from steadygan.train.step import STAT_NAMES

from conftest import PROJECT_ROOT, TINY_SETTINGS

pytestmark = pytest.mark.skipif(not (torch.distributed.is_available()
                                     and torch.distributed.is_gloo_available()),
                                reason="torch.distributed with gloo is not available")

# ring8 is fast; dropout and label flipping make every random stream of every rank matter
RING = ["--data", "ring8", "--batch-size", "64", "--no-progress", "--set", "run.log_every=10",
        "--set", "run.checkpoint_every=25", "--set", "model.d_dropout=0.2",
        "--set", "labels.flip=0.1"]

# Run by torchrun instead of `-m steadygan` where a test must look inside the processes: it
# trains through the same command line, then saves each rank's final weights next to itself (for
# the test to compare) and reports whether rank 1 opened a file for writing in the run directory
# or built a live evaluation (rank 0 alone evaluates).
# With POISON_AT=k, rank 1's generator is set to NaN at its k-th step (a divergence only one rank
# sees).
CHECKING_SCRIPT = r"""
import os, sys
import torch
from steadygan.cli import main
from steadygan.train import loop

rank = int(os.environ["RANK"])
run_dir = os.path.abspath(sys.argv[sys.argv.index("--out") + 1])
writes = []

def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path, mode, flags = os.fsdecode(args[0]), args[1], args[2] or 0
        writing = (mode and any(c in mode for c in "wax+")) or flags & (os.O_WRONLY | os.O_RDWR)
        if writing and os.path.abspath(path).startswith(run_dir):
            writes.append(path)
    elif event in ("os.mkdir", "os.rename", "os.replace", "os.remove"):
        if os.fsdecode(args[0]).startswith(run_dir):
            writes.append(os.fsdecode(args[0]))

if rank > 0:
    sys.addaudithook(audit)
states, build_state, train_step, calls = [], loop.build_state, loop.train_step, [0]
loop.build_state = lambda *a, **k: states.append(build_state(*a, **k)) or states[-1]

def poisoned_step(state, reals):
    calls[0] += 1
    if rank == 1 and calls[0] == int(os.environ.get("POISON_AT", "0")):
        with torch.no_grad():
            next(state.G.parameters()).fill_(float("nan"))
    return train_step(state, reals)
loop.train_step = poisoned_step
create, evaluations = loop.BestTracker.create, []
loop.BestTracker.create = lambda *a, **k: evaluations.append(rank) or create(*a, **k)

code = main(sys.argv[1:])
weights = [p.detach() for m in (states[0].G, states[0].D) for p in m.parameters()]
if states[0].augment_p is not None:  # adaptive augmentation: every rank must keep the same p
    weights.append(states[0].augment_p.reshape(1))
torch.save(weights, os.path.join(os.path.dirname(__file__), f"weights_rank{rank}.pt"))
if rank > 0:
    print(f"rank {rank} writes in the run directory: {writes}")
    print(f"rank {rank} builds live evaluations: {len(evaluations)}")
sys.exit(code)
"""


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}


def _torchrun(*target: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            *target]


def _train(tmp_path: Path, *args: str, script: bool = False, env: dict | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:
    target = [str(_script(tmp_path))] if script else ["-m", "steadygan"]
    proc = subprocess.run(_torchrun(*target, "train", *args), env={**_env(), **(env or {})},
                          cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "check_ranks.py"
    path.write_text(CHECKING_SCRIPT)
    return path


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _train_records(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("time", "img_per_s")}
            for r in _metrics(run) if r["kind"] == "train"]


def _assert_checked(proc: subprocess.CompletedProcess, where: Path) -> None:
    """The checking script's findings: identical weights on both ranks, no writes or live
    evaluation by rank 1."""
    weights = [torch.load(where / f"weights_rank{rank}.pt") for rank in (0, 1)]
    assert all(torch.equal(a, b) for a, b in zip(*weights, strict=True)), "ranks' weights differ"
    assert "rank 1 writes in the run directory: []" in proc.stdout, proc.stdout
    assert "rank 1 builds live evaluations: 0" in proc.stdout, proc.stdout


# ---- sampling: disjoint slices of one global permutation -------------------------------------

def test_ranks_draw_disjoint_slices_of_the_global_batch():
    n, bs, seed = 103, 5, 7
    ranks = [BatchOrder(n, bs, seed, torch.device("cpu"), rank, 2) for rank in (0, 1)]
    double = BatchOrder(n, 2 * bs, seed, torch.device("cpu"))  # one process, twice the batch
    assert ranks[0].per_epoch == double.per_epoch == n // (2 * bs)
    for b in range(3 * ranks[0].per_epoch):  # three epochs
        mine, yours = (o.indices(b) for o in ranks)
        assert len(mine) == len(yours) == bs
        assert not set(mine.tolist()) & set(yours.tolist())
        assert torch.equal(torch.cat([mine, yours]), double.indices(b))
    epoch = torch.cat([o.indices(b) for b in range(ranks[0].per_epoch) for o in ranks])
    assert len(set(epoch.tolist())) == len(epoch)  # no image twice in an epoch, across ranks


def test_a_resume_with_another_number_of_processes_gives_new_ranks_fresh_streams():
    window = {"sum": torch.ones(3), "count": 2}
    two = {"rng": "rng0", "stats_window": window,
           "ranks": [{"rng": "rng0", "stats_window": window},
                     {"rng": "rng1", "stats_window": {"sum": torch.zeros(3), "count": 2}}]}
    assert rank_streams(two, 1, 2)["rng"] == "rng1"  # same world: each rank its own
    assert rank_streams(two, 0, 1)["rng"] == "rng0"
    three = rank_streams(two, 2, 3)
    assert three["rng"] is None and three["stats_window"] is window
    single = {"rng": "rng0", "stats_window": window}
    assert rank_streams(single, 0, 1) == {"rng": "rng0", "stats_window": window}


# ---- real launches -----------------------------------------------------------------------------

def test_two_processes_train_as_one_stop_together_on_ctrl_c_and_resume_exactly(tmp_path):
    # Ctrl-C reaches torchrun, which hands SIGINT to both processes: they must stop at one step,
    # rank 0 saving a checkpoint with both ranks' streams.
    stopped = tmp_path / "stopped"
    proc = subprocess.Popen(_torchrun("-m", "steadygan", "train", "--out", str(stopped),
                                      "--steps", "100000", *RING),
                            env=_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (stopped / "metrics.jsonl").exists():  # the loop is running
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)  # torchrun itself exits 1 after a signal
    assert "interrupted: checkpoint saved at step" in out, out + err
    ckpt = load_checkpoint(stopped / "checkpoints" / "last.pt")
    stop_step = ckpt["step"]
    assert stop_step == _metrics(stopped)[-1]["step"] and len(ckpt["ranks"]) == 2
    assert not torch.equal(ckpt["ranks"][0]["rng"]["noise"], ckpt["ranks"][1]["rng"]["noise"])

    # resume with torchrun to a later end, and the same run without interruption
    end = str(stop_step + 30)
    resumed = _train(tmp_path, "--resume", str(stopped), "--steps", end, "--no-progress")
    assert f"done: {end} steps" in resumed.stdout and resumed.stdout.count("done:") == 1
    reference = tmp_path / "reference"
    _assert_checked(_train(tmp_path, "--out", str(reference), "--steps", end, *RING,
                           script=True), tmp_path)

    a = load_checkpoint(reference / "checkpoints" / "last.pt")
    b = load_checkpoint(stopped / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == int(end)
    for key in ("G", "D", "G_ema", "opt_g", "opt_d"):
        flat_a, flat_b = _tensors(a[key]), _tensors(b[key])
        assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=True)), key

    # one writer: each step logged once; statistics of the global batch, sane
    records = _train_records(reference)
    assert [r["step"] for r in records] == list(range(10, int(end) + 1, 10)) + (
        [int(end)] if int(end) % 10 else [])
    for r in records:
        assert all(math.isfinite(r[k]) for k in STAT_NAMES)
        assert all(0 <= r[k] <= 1 for k in ("d_acc_real", "d_acc_fake", "g_acc", "d_real"))
        assert r["epoch"] == round(r["step"] / (100_000 // (2 * 64)), 3)  # global batch 2 x 64
    d_acc = sum(0.5 * (r["d_acc_real"] + r["d_acc_fake"]) for r in records) / len(records)
    assert 0 < d_acc < 1
    resumed_steps = [r["step"] for r in _train_records(stopped)]
    assert len(resumed_steps) == len(set(resumed_steps))


def test_a_divergence_on_one_rank_rolls_every_rank_back(tmp_path):
    run = tmp_path / "run"
    proc = _train(tmp_path, "--out", str(run), "--steps", "60", *RING, script=True,
                  env={"POISON_AT": "35"})
    _assert_checked(proc, tmp_path)
    rollbacks = [r for r in _metrics(run) if r["kind"] == "rollback"]
    assert [(r["step"], r["to_step"]) for r in rollbacks] == [(40, 25)]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 60


def test_a_tiny_image_run_where_rank_0_s_controller_sets_every_rank_s_optimizers(tmp_path):
    run = tmp_path / "digits"
    settings = [s for s in TINY_SETTINGS if not s.startswith(("train.steps", "run.progress"))]
    args = ["--out", str(run), "--steps", "8", "--no-progress"]
    # D's accuracy starts near 0.5, under the band: rank 0's controller acts at every read;
    # adaptive augmentation moves p by 4 steps x 2 x 16 images / 256 = 0.5 at each read
    for s in settings + ["run.log_every=4", "run.checkpoint_every=4", "balance.mode=auto",
                         "balance.band_low=0.7", "train.augment=translation,cutout",
                         "train.augment_target=0.51", "train.augment_speed=256"]:
        args += ["--set", s]
    proc = _train(tmp_path, *args, script=True)
    _assert_checked(proc, tmp_path)
    assert proc.stdout.count("done: 8 steps") == 1
    records = _metrics(run)
    assert [r["step"] for r in records if r["kind"] == "train"] == [4, 8]
    assert [r["kind"] for r in records].count("balance") >= 1
    first = next(r for r in records if r["kind"] == "train")
    assert first["augment_p"] == 0.0
    ckpt_p = 0.5 if first["d_acc_real"] > 0.51 else 0.0
    assert [r["augment_p"] for r in records if r["kind"] == "train"] == [0.0, ckpt_p]
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == 8 and len(ckpt["ranks"]) == 2
    assert (run / "samples" / "final.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "check_ranks.py", "digits", "weights_rank0.pt", "weights_rank1.pt"]  # nothing else

    # rank 0 refuses to overwrite the run: every process stops, and one of them says why
    again = subprocess.run(_torchrun("-m", "steadygan", "train", *args), env=_env(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode != 0
    assert again.stderr.count("steadygan: error: run.out:") == 1, again.stderr
    assert "already holds a run" in again.stderr


def _tensors(state: dict) -> list[torch.Tensor]:
    """Every tensor of a (nested) state dict, in a fixed order."""
    out = []
    for key in sorted(state, key=str):
        value = state[key]
        if isinstance(value, torch.Tensor):
            out.append(value)
        elif isinstance(value, dict):
            out += _tensors(value)
        elif isinstance(value, list):
            out += _tensors(dict(enumerate(value)))
    return out
