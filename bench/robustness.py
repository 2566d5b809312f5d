"""Robustness: success rate over a grid of learning rates x Adam beta1 x seeds, controller off / on.

    python bench/robustness.py --data ring8 --steps 3000 --seeds 0 1 --workers 2
    python bench/robustness.py --data bundled --steps 1872 --seeds 0 1 --workers 12 --device cuda

Every trial is `steadygan train` (both learning rates set to the grid's lr) + `steadygan eval`.
Success: for digits, ../shared/DESIGN.md's definition (FID < --fid-threshold, 10/10 classes,
class KL < 0.1, no divergence); for 2-D mixtures, every mode covered with at least
--min-quality of the samples within 3 std of a mode. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from candidates import run_trial  # noqa: E402

LRS = (1e-5, 1e-4, 1e-3, 1e-2)
BETA1S = (0.5, 0.9)


def succeeded(result: dict, args: argparse.Namespace) -> bool:
    if "error" in result:
        return False
    if "modes_covered" in result and "n_modes" in result:
        return (result["modes_covered"] == result["n_modes"]
                and result["high_quality"] >= args.min_quality)
    return (result["fid"] < args.fid_threshold and result["classes_covered"] == 10
            and result["class_kl"] < 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ring8")
    parser.add_argument("--out", default="robustness")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fid-threshold", type=float, default=10.0)
    parser.add_argument("--min-quality", type=float, default=0.5)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--tabulate-only", action="store_true",
                        help="train nothing: tabulate the trials that have an eval.json")
    args = parser.parse_args()
    args.set = [f"data.name={args.data}", *args.set]

    out = Path(args.out) / args.data
    out.mkdir(parents=True, exist_ok=True)
    trials = [(lr, beta1, mode, seed) for lr in LRS for beta1 in BETA1S
              for mode in ("off", "auto") for seed in args.seeds]

    def one(trial: tuple) -> dict:
        lr, beta1, mode, seed = trial
        name = f"lr{lr:g}_b{beta1:g}_{mode}"
        if args.tabulate_only and not (out / f"{name}_s{seed}" / "eval.json").exists():
            return {"lr": lr, "beta1": beta1, "mode": mode, "error": "not run"}
        settings = [f"train.lr_g={lr}", f"train.lr_d={lr}", f"train.beta1={beta1}",
                    f"balance.mode={mode}"]
        return {"lr": lr, "beta1": beta1, "mode": mode,
                **run_trial(out, name, settings, seed, args)}

    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(one, trials))

    key = "fid" if "mnist" in args.data or args.data == "bundled" else "modes_covered"
    print(f"| lr | beta1 | success, controller off | success, controller on | "
          f"median {key}, off | median {key}, on |")
    print("|---|---|---|---|---|---|")
    totals = {"off": [0, 0], "auto": [0, 0]}
    for lr in LRS:
        for beta1 in BETA1S:
            cells, medians = [], []
            for mode in ("off", "auto"):
                rows = [r for r in results if (r["lr"], r["beta1"], r["mode"]) == (lr, beta1, mode)]
                ok = sum(succeeded(r, args) for r in rows)
                totals[mode][0] += ok
                totals[mode][1] += len(rows)
                cells.append(f"{ok}/{len(rows)}")
                values = [r[key] for r in rows if key in r]
                medians.append(f"{statistics.median(values):.1f}" if values else "failed")
            print(f"| {lr:g} | {beta1:g} | {cells[0]} | {cells[1]} | {medians[0]} | {medians[1]} |")
    off, on = totals["off"], totals["auto"]
    print(f"| all | | {off[0]}/{off[1]} ({100 * off[0] / off[1]:.0f} %) | "
          f"{on[0]}/{on[1]} ({100 * on[0] / on[1]:.0f} %) | | |")


if __name__ == "__main__":
    main()
