"""Where one sweep trial's time goes: train, evaluate and diagnose a run as a sweep worker does
(sweep/trial.py), under cProfile, and print the functions with the most cumulative time.

    python bench/profile_trial.py --data mnist --data-dir MNIST --epochs 5 --batch 128

On a GPU the step is asynchronous, so its time shows up where the host waits for the device (the
statistics reads, checkpoints, evaluations); what is left over is Python's own share.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path

from steadygan.atomic import atomic_write_text
from steadygan.config import TrainConfig, dump_toml
from steadygan.sweep.trial import run_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    base = TrainConfig.for_data(args.data).with_overrides(
        [f"train.device={args.device}", f"data.dir={args.data_dir or ''}"])
    with tempfile.TemporaryDirectory() as tmp:
        base_file = Path(tmp) / "base.toml"
        atomic_write_text(base_file, dump_toml(base))
        spec = {"run": str(Path(tmp) / "trial"), "base": str(base_file),
                "settings": [f"train.epochs={args.epochs}", f"train.batch_size={args.batch}",
                             *args.overrides],
                "eval_samples": args.eval_samples, "data_dir": args.data_dir}
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        result = run_trial(spec)
        profiler.disable()
    print(f"trial wall {time.perf_counter() - started:.1f} s: {json.dumps(result)}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
