"""Robustness: success rate over a grid of learning rates x Adam beta1 x seeds, controller off / on.

    python bench/robustness.py --data ring8 --seeds 0 1 --workers 2
    python bench/robustness.py --data mnist --steps 2340 --seeds 0 --workers 16 --device cuda \
        --set train.batch_size=128

Every trial runs through `steadygan.sweep` (train + eval + diagnose in its own process, resumable)
with both learning rates set to the grid's lr. Success: for digits, ../shared/DESIGN.md's definition
(FID < --fid-threshold, 10/10 classes, class KL < 0.1, no divergence); for 2-D mixtures, every mode
covered with at least half of the samples within 3 std of a mode. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from steadygan.config import TrainConfig
from steadygan.sweep.grid import Trial
from steadygan.sweep.local import RESULT_FILE, run_sweep

LRS = (1e-5, 1e-4, 1e-3, 1e-2)
BETA1S = (0.5, 0.9)
MODES = ("off", "auto")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ring8")
    parser.add_argument("--out", default="robustness")
    parser.add_argument("--steps", type=int, default=0,
                        help="generator steps per trial; 0: the data's default budget (epochs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--lrs", type=float, nargs="+", default=list(LRS),
                        help="a part of the grid's learning rates (to rerun some cells)")
    parser.add_argument("--beta1s", type=float, nargs="+", default=list(BETA1S))
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None, help="MNIST test files, for digit evaluations")
    parser.add_argument("--fid-threshold", type=float, default=10.0)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                        help="balance.mode values to run (the other column is left empty)")
    parser.add_argument("--tabulate-only", action="store_true",
                        help="train nothing: tabulate the trials that have finished")
    args = parser.parse_args()

    # --data-dir as in `steadygan sweep`: data.dir (full MNIST trains from it) and the test files
    train_dir = [f"data.dir={args.data_dir}"] if args.data_dir else []
    base = TrainConfig.for_data(args.data).with_overrides(
        [f"train.steps={args.steps}", f"train.device={args.device}", "run.progress=false",
         *train_dir, *args.set]).validate()
    out = Path(args.out) / args.data
    cells = {}
    trials = []
    for lr in args.lrs:
        for beta1 in args.beta1s:
            for mode in args.modes:
                label = f"lr{lr:g}_b{beta1:g}_{mode}"
                cells[label] = (lr, beta1, mode)
                for seed in args.seeds:
                    trials.append(Trial((f"train.lr_g={lr}", f"train.lr_d={lr}",
                                         f"train.beta1={beta1}", f"balance.mode={mode}"),
                                        seed, label=label))
    if args.tabulate_only:
        trials = [t for t in trials if (out / "trials" / t.name / RESULT_FILE).exists()]
    results = run_sweep(base, trials, out, args.workers, args.samples, args.data_dir,
                        args.fid_threshold, progress=False)

    key = "modes_covered" if any("modes_covered" in r for r in results) else "fid"
    print(f"| lr | beta1 | success, controller off | success, controller on | "
          f"median {key}, off | median {key}, on |")
    print("|---|---|---|---|---|---|")
    totals = {mode: [0, 0] for mode in MODES}
    for lr in args.lrs:
        for beta1 in args.beta1s:
            counts, medians = [], []
            for mode in MODES:
                rows = [r for r in results if cells[r["variant"]] == (lr, beta1, mode)]
                wins = sum(bool(r.get("success")) for r in rows)
                totals[mode][0] += wins
                totals[mode][1] += len(rows)
                counts.append(f"{wins}/{len(rows)}")
                values = [r[key] for r in rows if key in r]
                medians.append(f"{statistics.median(values):.1f}" if values else "-")
            print(f"| {lr:g} | {beta1:g} | {counts[0]} | {counts[1]} | {medians[0]} | "
                  f"{medians[1]} |")
    off, on = totals["off"], totals["auto"]
    share = lambda t: f"{t[0]}/{t[1]} ({100 * t[0] / max(t[1], 1):.0f} %)"  # noqa: E731
    print(f"| all | | {share(off)} | {share(on)} | | |")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM from a time box: the trials are checkpointed
        print("robustness: interrupted; the same command resumes the unfinished trials",
              file=sys.stderr)
        sys.exit(130)
