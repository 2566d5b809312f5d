"""Time to quality: wall time until domain FID <= target with 10/10 classes, steadygan vs the plain
reference loop, same model, data, batch and device, in one process.

    python bench/quality.py --data mnist --data-dir ../shared/data/mnist --device cuda \
        --batch 128 --target-fid 10 --eval-every 250 --minutes 10
    python bench/quality.py --target-fid 60 --minutes 4      # a CPU smoke run on the bundled subset

Both are judged the same way: every --eval-every steps, --eval-samples digits from fixed z go
through the shipped MNIST classifier (the live FID steadygan uses for best.pt); the clock runs
from the call that starts training (data loading and model building included) and includes the
evaluations, which are identical for both. steadygan samples from its EMA generator, as it does
by default; the reference from its G. Prints a table and one JSON line.
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
from reference import reference_steps  # noqa: E402

from steadygan.config import TrainConfig  # noqa: E402
from steadygan.metrics.live import LiveFid  # noqa: E402
from steadygan.models.generate import generate  # noqa: E402
from steadygan.train.device import resolve_device  # noqa: E402
from steadygan.train.loop import train  # noqa: E402
from steadygan.train.rundir import RunDir  # noqa: E402


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
    return {"seconds": round(times[hit["step"]] - start, 1) if hit else None,
            "step": hit["step"] if hit else None, "best_fid": round(best["fid_live"], 2),
            "total_seconds": round(max(times.values()) - start, 1)}


def reference_time(cfg: TrainConfig, device: torch.device, target: float, max_steps: int
                   ) -> dict[str, Any]:
    fid = LiveFid(str(device))
    z = torch.randn(cfg.run.eval_samples, cfg.model.z_dim,
                    generator=torch.Generator().manual_seed(cfg.train.seed + 54321)).to(device)
    best = float("inf")
    start = time.time()
    for step, G in enumerate(reference_steps(cfg, device), start=1):
        if step % cfg.run.eval_every and step < max_steps:
            continue
        record = fid(generate(G, z))
        best = min(best, record["fid_live"])
        if reached(record, target):
            return {"seconds": round(time.time() - start, 1), "step": step,
                    "best_fid": round(best, 2), "total_seconds": round(time.time() - start, 1)}
        if step >= max_steps:
            return {"seconds": None, "step": None, "best_fid": round(best, 2),
                    "total_seconds": round(time.time() - start, 1)}
    raise AssertionError("unreachable: the reference loop never ends")


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
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    device = resolve_device(args.device)
    cfg = TrainConfig().with_overrides([
        f"data.name={args.data}", f"data.dir={args.data_dir}", f"train.batch_size={args.batch}",
        f"train.device={device}", f"train.seed={args.seed}", f"run.eval_every={args.eval_every}",
        f"run.eval_samples={args.eval_samples}", *args.overrides]).validate()
    ref = reference_time(cfg, device, args.target_fid, args.max_steps)
    sg = steadygan_time(cfg, args.target_fid, args.max_steps)
    speedup = ref["seconds"] / sg["seconds"] if ref["seconds"] and sg["seconds"] else None
    print(f"target: live FID <= {args.target_fid} with 10/10 classes "
          f"({args.eval_samples} samples every {args.eval_every} steps, batch {args.batch})")
    for name, r in (("reference", ref), ("steadygan", sg)):
        reached_at = f"{r['seconds']} s (step {r['step']})" if r["seconds"] else "not reached"
        print(f"{name:<10} {reached_at:<28} best FID {r['best_fid']}")
    print(f"speed-up to target: {speedup:.2f}x" if speedup else "speed-up: n/a (target missed)")
    print(json.dumps({"date": time.strftime("%Y-%m-%d"), "device": str(device),
                      "torch": torch.__version__, "target_fid": args.target_fid,
                      "batch": args.batch, "data": args.data, "reference": ref, "steadygan": sg,
                      "speedup": round(speedup, 2) if speedup else None}))


if __name__ == "__main__":
    main()
