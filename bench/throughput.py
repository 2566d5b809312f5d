"""Throughput: steadygan's training loop against the plain reference loop, in one run.

    python bench/throughput.py --device cpu --batch 128 --seconds 20

Both train the same model on the bundled MNIST subset; images per second count images through full
D + G steps. The reference runs first, steadygan second, then both again (A B A B) and the median of
each is reported, because these machines are noisy. Each measurement runs in a fresh process
of its own (reference.in_fresh_process), so that the reference does not inherit what steadygan
sets for CPU training. Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import in_fresh_process, reference_throughput  # noqa: E402
from work import matmul_flops_per_second, step_flops_per_image  # noqa: E402

from steadygan.config import TrainConfig  # noqa: E402
from steadygan.train.device import autocast_dtype, resolve_device  # noqa: E402
from steadygan.train.loop import train  # noqa: E402
from steadygan.train.rundir import RunDir  # noqa: E402
from steadygan.train.timing import timing_line  # noqa: E402


def steadygan_throughput(cfg: TrainConfig, seconds: float,
                         expected_rate: float) -> tuple[float, dict]:
    """Run the real `train()` (logging, samples, checkpoints included) and read its own timing:
    images per second, and the run's timing record (where its wall time went)."""
    steps = max(60, int(expected_rate * seconds / cfg.train.batch_size))
    with tempfile.TemporaryDirectory() as tmp:
        run_cfg = cfg.with_overrides([f"train.steps={steps}",
                                      f"run.log_every={max(steps // 10, 1)}",
                                      f"run.out={tmp}/run", "run.progress=false"])
        result = train(run_cfg)
        records = [r for r in RunDir(result.run_dir).read_metrics() if r.get("kind") == "train"]
    first, last = records[0], records[-1]  # the first interval holds the warm-up
    rate = (last["step"] - first["step"]) * cfg.train.batch_size / (last["time"] - first["time"])
    return rate, result.timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    device = resolve_device(args.device)
    cfg = TrainConfig().with_overrides([
        f"train.batch_size={args.batch}", f"data.image_size={args.image_size}",
        f"train.device={device}", *args.overrides]).validate()
    ref_runs, sg_runs = [], []
    for _ in range(args.repeats):
        ref_runs.append(in_fresh_process(measure, "reference", cfg, device, args.seconds, 0.0))
        sg_runs.append(in_fresh_process(measure, "steadygan", cfg, device, args.seconds,
                                        2 * ref_runs[-1]["rate"]))
    ref = statistics.median(r["rate"] for r in ref_runs)
    sg = statistics.median(r["rate"] for r in sg_runs)
    timings = [r["timing"] for r in sg_runs]
    result = {
        "date": time.strftime("%Y-%m-%d"), "device": _device_name(device),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": args.batch,
        "image_size": args.image_size, "reference_img_s": round(ref, 1),
        "steadygan_img_s": round(sg, 1), "ratio": round(sg / ref, 2),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in ref_runs + sg_runs),
    }
    if device.type == "cuda":
        result["peak_gpu_alloc_mib"] = max(r["peak_gpu_alloc_mib"] for r in ref_runs + sg_runs)
    # after the loops, so that neither measurement disturbs them
    work = step_flops_per_image(cfg, device)
    dtype = autocast_dtype(cfg.train, device) or torch.float32
    peak = matmul_flops_per_second(device, dtype)
    result.update({"mflop_per_image": round(work / 1e6, 1),
                   "reference_gflop_s": round(ref * work / 1e9, 1),
                   "steadygan_gflop_s": round(sg * work / 1e9, 1),
                   "matmul_dtype": str(dtype).removeprefix("torch."),
                   "matmul_gflop_s": round(peak / 1e9, 1)})
    print(f"{'loop':<12}{'images/s':>12}")
    print(f"{'reference':<12}{ref:>12.0f}")
    print(f"{'steadygan':<12}{sg:>12.0f}")
    print(f"ratio {sg / ref:.2f}x on {result['device']} (batch {args.batch})")
    # a compute-bound loop's ceiling: the device's own rate for a large matrix product
    print(f"work: {work / 1e6:.0f} MFLOP per image (the convolutions and matrix products of a "
          f"step); reference {ref * work / 1e9:,.0f} GFLOP/s, steadygan {sg * work / 1e9:,.0f} "
          f"GFLOP/s; a large {result['matmul_dtype']} matrix product here: {peak / 1e9:,.0f} "
          f"GFLOP/s, {peak / (ref * work):.2f}x the reference's rate")
    # the whole of steadygan's last run, start-up steps included: what its loop spends besides steps
    print(f"steadygan's last run: {timing_line(timings[-1])}")
    result["steadygan_timing"] = {k: v for k, v in timings[-1].items() if k.endswith("_s")}
    print(json.dumps(result))


def measure(loop: str, cfg: TrainConfig, device: torch.device, seconds: float,
            expected_rate: float) -> dict:
    """One loop's images per second (and steadygan's timing record), with this process's peaks."""
    if loop == "reference":
        rate, timing = reference_throughput(cfg, device, seconds), {}
    else:
        rate, timing = steadygan_throughput(cfg, seconds, expected_rate)
    peaks = {"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if device.type == "cuda":
        peaks["peak_gpu_alloc_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return {"rate": rate, "timing": timing, **peaks}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} cpu"


if __name__ == "__main__":
    main()
