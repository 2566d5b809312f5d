"""Time to quality: wall time until domain FID <= target with 10/10 classes, steadygan vs the plain
reference loop, same model, data, batch and device, in one run.

    python bench/quality.py --data mnist --data-dir ../shared/data/mnist --device cuda \
        --batch 128 --target-fid 10 --eval-every 500 --max-steps 20000
    python bench/quality.py --data mnist --data-dir ../shared/data/mnist --target-fid 30 \
        --max-steps 2250 --eval-every 250 --eval-samples 2000  # a 2-core CPU: about 11 min

Both are judged the same way: every --eval-every steps, --eval-samples digits from fixed z go
through the shipped MNIST classifier (the live FID steadygan uses for best.pt); the clock runs
from the call that starts training (data loading and model building included). Two times per
loop: with the evaluations, and without them ("training"): the evaluations are this benchmark's
instrument, the same work for both loops, and at FID 10 (tens of thousands of steps) they would
otherwise weigh on the ratio like a second, shared loop. The speed-up is given for both. steadygan
samples from its EMA generator, as it does by default; the reference from its G. steadygan runs
first and each loop's line is printed when it ends, so a run cut short keeps the faster loop's
figure; when only the reference misses the target, its whole run gives a lower bound on the
speed-up. With --stop-reference-at X the reference stops once its clock passes X times
steadygan's time to target (the speed-up is then at least X): a shorter run when only the goal
is in question. The reference runs in a fresh Python process (reference.in_fresh_process),
as a plain script would: with the C library's defaults, not the settings steadygan gives a CPU
run, and paying its own CUDA start-up inside its clock, as steadygan does. Prints a table and
one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import in_fresh_process, reference_steps  # noqa: E402

from steadygan.config import TrainConfig  # noqa: E402
from steadygan.metrics.live import LiveFid  # noqa: E402
from steadygan.models.generate import generate  # noqa: E402
from steadygan.train.device import resolve_device  # noqa: E402
from steadygan.train.loop import train  # noqa: E402
from steadygan.train.rundir import RunDir  # noqa: E402
from steadygan.train import streams  # noqa: E402


def reached(record: dict[str, Any], target: float) -> bool:
    return record["fid_live"] <= target and record["classes_live"] == 10


def steadygan_time(cfg: TrainConfig, target: float, max_steps: int) -> dict[str, Any]:
    """Train up to max_steps with live evaluation; the time of the first evaluation on target."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.time()
        run_cfg = cfg.with_overrides([f"train.steps={max_steps}", f"run.out={tmp}/run",
                                      "run.progress=false", "run.sample_every=1000000",
                                      "run.checkpoint_every=1000000"])
        records = RunDir(train(run_cfg).run_dir).read_metrics()
    times = {r["step"]: r["time"] for r in records if r.get("kind") == "train"}
    evals = [r for r in records if r.get("kind") == "eval"]
    best = min(evals, key=lambda r: r["fid_live"])
    hit = next((r for r in evals if reached(r, target)), None)
    if hit is None:
        return result(None, None, None, best["fid_live"], max(times.values()) - start, max(times))
    # the train record at the hit step is written before that step's evaluation; the best.pt
    # saves that follow improving evaluations stay in steadygan's training time (its own cost)
    seconds = times[hit["step"]] - start
    evaluating = sum(r["eval_s"] for r in evals if r["step"] < hit["step"])
    return result(seconds, seconds - evaluating, hit["step"], best["fid_live"],
                  max(times.values()) - start, max(times))


def reference_time(cfg: TrainConfig, device: torch.device, target: float, max_steps: int,
                   deadline: float | None = None) -> dict[str, Any]:
    """Like steadygan_time, for the plain loop; it stops missed after `deadline` seconds."""
    fid = LiveFid(str(device))
    seed = streams.seed_for(cfg, streams.LIVE_EVAL)  # the live evaluation's latents
    z = torch.randn(cfg.run.eval_samples, cfg.model.z_dim,
                    generator=torch.Generator().manual_seed(seed)).to(device)
    best, evaluating = float("inf"), 0.0
    start = time.time()
    for step, G in enumerate(reference_steps(cfg, device), start=1):
        out_of_time = deadline is not None and time.time() - start >= deadline
        if step % cfg.run.eval_every and step < max_steps and not out_of_time:
            continue
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # the steps queued so far are training, not evaluation
        before = time.time()
        record = fid(generate(G, z))
        best = min(best, record["fid_live"])
        if reached(record, target):  # stopped where steadygan's clock stops: before this evaluation
            seconds = before - start
            return result(seconds, seconds - evaluating, step, best, time.time() - start, step)
        evaluating += time.time() - before
        if step >= max_steps or out_of_time:
            return result(None, None, None, best, time.time() - start, step)
    raise AssertionError("unreachable: the reference loop never ends")


def result(seconds: float | None, training: float | None, step: int | None, best_fid: float,
           total: float, steps: int) -> dict[str, Any]:
    """One loop's figures: time to target with and without the evaluations, None if missed;
    the whole run's time and steps."""
    return {"seconds": None if seconds is None else round(seconds, 1),
            "training_seconds": None if training is None else round(training, 1),
            "step": step, "best_fid": round(best_fid, 2), "total_seconds": round(total, 1),
            "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="bundled", help="bundled or mnist")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--target-fid", type=float, default=10.0)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-samples", type=int, default=5000)
    parser.add_argument("--max-steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stop-reference-at", type=float, default=None, metavar="X",
                        help="stop the reference once it has run X times steadygan's time to "
                             "target (the speed-up is then at least X)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    device = resolve_device(args.device)
    cfg = TrainConfig().with_overrides([
        f"data.name={args.data}", f"data.dir={args.data_dir}", f"train.batch_size={args.batch}",
        f"train.device={device}", f"train.seed={args.seed}", f"run.eval_every={args.eval_every}",
        f"run.eval_samples={args.eval_samples}", *args.overrides]).validate()
    print(f"target: live FID <= {args.target_fid} with 10/10 classes "
          f"({args.eval_samples} samples every {args.eval_every} steps, batch {args.batch})",
          flush=True)
    # steadygan first, each loop's line as soon as it is known: a time-boxed run keeps what it has
    sg = steadygan_time(cfg, args.target_fid, args.max_steps)
    print(loop_line("steadygan", sg), flush=True)
    deadline = (args.stop_reference_at * sg["seconds"]
                if args.stop_reference_at and sg["seconds"] is not None else None)
    ref = in_fresh_process(reference_time, cfg, device, args.target_fid, args.max_steps, deadline)
    print(loop_line("reference", ref), flush=True)
    speedup = ratio(ref["seconds"], sg["seconds"])
    training_speedup = ratio(ref["training_seconds"], sg["training_seconds"])
    at_least = None
    if speedup is not None:
        print(f"speed-up to target: {training_speedup:.2f}x training, "
              f"{speedup:.2f}x with the evaluations")
    elif sg["seconds"] is not None:  # the reference missed: its whole run bounds the ratio below
        at_least = ratio(ref["total_seconds"], sg["seconds"])
        print(f"speed-up: at least {at_least:.2f}x with the evaluations (the reference missed the "
              f"target in {ref['total_seconds']} s, {ref['steps']} steps)")
    else:
        print("speed-up: n/a (steadygan missed the target)")
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "device": str(device),
                      "torch": torch.__version__, "target_fid": args.target_fid,
                      "batch": args.batch, "data": args.data, "reference": ref, "steadygan": sg,
                      "speedup": speedup, "training_speedup": training_speedup,
                      "speedup_at_least": at_least}))


def loop_line(name: str, r: dict[str, Any]) -> str:
    reached_at = (f"{r['seconds']} s, {r['training_seconds']} s training (step {r['step']})"
                  if r["seconds"] is not None else "not reached")
    return f"{name:<10} {reached_at:<44} best FID {r['best_fid']}"


def ratio(reference: float | None, steadygan: float | None) -> float | None:
    return round(reference / steadygan, 2) if reference and steadygan else None


if __name__ == "__main__":
    main()
