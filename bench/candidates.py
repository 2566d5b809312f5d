"""Compare candidate defaults: train each variant for several seeds, evaluate, tabulate.

    python bench/candidates.py --steps 1872 --seeds 0 1 --workers 8 --out cand

Every trial is `steadygan train` + `steadygan eval` in a subprocess (so trials run side by side and
fill a GPU); a variant is a list of --set assignments on top of the defaults. A trial succeeds as
../shared/DESIGN.md defines it: FID under --fid-threshold, 10/10 classes, class KL < 0.1, finished.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

VARIANTS: dict[str, list[str]] = {
    "defaults": [],
    "no_dropout": ["model.d_dropout=0"],
    "no_flip": ["labels.flip=0"],
    "flip_0.05": ["labels.flip=0.05"],
    "no_smooth": ["labels.smooth=0"],
    "no_label_tricks": ["labels.flip=0", "labels.smooth=0"],
    "no_ema": ["train.ema=false"],
    "spectral_d": ["model.d_norm=spectral"],
    "lr_d_1e-4": ["train.lr_d=1e-4"],
    "hinge": ["train.loss=hinge"],
    "mixed_batches": ["train.d_batches=mixed"],
    "patch_7": ["model.d_head=patch", "model.patch_size=7"],
}


def run_trial(out: Path, name: str, settings: list[str], seed: int, args: argparse.Namespace) -> dict:
    run = out / f"{name}_s{seed}"
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    base = [sys.executable, "-m", "steadygan"]
    if not (run / "eval.json").exists():
        cmd = base + ["train", "--out", str(run), "--steps", str(args.steps), "--seed", str(seed),
                      "--no-progress", "--device", args.device]
        for s in settings + args.set:
            cmd += ["--set", s]
        if (run / "checkpoints" / "last.pt").exists():
            cmd = base + ["train", "--resume", str(run), "--no-progress"]
        trained = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if trained.returncode != 0:
            return {"variant": name, "seed": seed, "error": trained.stderr.strip()[-300:]}
        evaluated = subprocess.run(base + ["eval", str(run), "--samples", str(args.samples),
                                           "--device", args.device], env=env,
                                   capture_output=True, text=True)
        if evaluated.returncode != 0:
            return {"variant": name, "seed": seed, "error": evaluated.stderr.strip()[-300:]}
    result = json.loads((run / "eval.json").read_text())
    return {"variant": name, "seed": seed, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="candidates")
    parser.add_argument("--steps", type=int, default=1872)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per trial")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fid-threshold", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--set", action="append", default=[], help="applied to every variant")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or list(VARIANTS)
    jobs = [(n, s) for n in names for s in args.seeds]
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(lambda job: run_trial(out, job[0], VARIANTS[job[0]], job[1], args),
                                jobs))
    (out / "results.json").write_text(json.dumps(results, indent=1))

    print(f"{'variant':<18}{'FID median':>11}{'FID range':>18}{'classes':>9}{'KL':>8}"
          f"{'recall':>8}{'success':>9}")
    for name in names:
        rows = [r for r in results if r["variant"] == name and "fid" in r]
        failed = [r for r in results if r["variant"] == name and "error" in r]
        if not rows:
            print(f"{name:<18} failed: {failed[0]['error'] if failed else '?'}")
            continue
        fids = [r["fid"] for r in rows]
        ok = sum(r["fid"] < args.fid_threshold and r["classes_covered"] == 10 and r["class_kl"] < 0.1
                 for r in rows)
        print(f"{name:<18}{statistics.median(fids):>11.2f}{f'{min(fids):.1f}..{max(fids):.1f}':>18}"
              f"{statistics.mean(r['classes_covered'] for r in rows):>9.1f}"
              f"{statistics.mean(r['class_kl'] for r in rows):>8.3f}"
              f"{statistics.mean(r['recall'] for r in rows):>8.3f}"
              f"{f'{ok}/{len(rows) + len(failed)}':>9}")


if __name__ == "__main__":
    main()
