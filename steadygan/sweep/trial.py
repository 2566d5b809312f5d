"""One sweep trial in one process: train (or continue) the run, evaluate it, diagnose it.

    python -m steadygan.sweep.trial '{"run": ..., "base": ..., "settings": [...], ...}'

Prints the trial's result as one JSON line on stdout. One process instead of three (train, eval,
diagnose) saves two interpreter and torch start-ups per trial, a third of a small trial's time.
Exit codes as the CLI's: 2 for bad input (one line on stderr), 130 when interrupted.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from steadygan.config import ConfigError, TrainConfig, load_config

KEPT_METRICS = ("fid", "kid_mean", "precision", "recall", "classes_covered", "class_kl",
                "modes_covered", "n_modes", "high_quality", "reverse_kl", "kl", "step")


def run_trial(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The trial's metrics, divergence, verdict and diagnoses; None when it was interrupted."""
    from steadygan.evaluate import evaluate_run, write_json
    from steadygan.health.diagnose import diagnose_run
    from steadygan.train.loop import TrainingDiverged, train
    from steadygan.train.rundir import RunDir

    run = Path(spec["run"])
    resume = (run / "checkpoints" / "last.pt").exists()  # interrupted earlier: continue it
    if resume:
        cfg = RunDir(run).read_config()
    else:
        cfg = load_config(spec["base"], TrainConfig()).with_overrides(spec["settings"])
    cfg.run.out, cfg.run.progress = str(run), False
    cfg.validate()
    result: dict[str, Any] = {"diverged": False}
    try:
        if train(cfg, resume=resume).interrupted:
            return None
    except TrainingDiverged:
        result["diverged"] = True
    if not result["diverged"]:
        evaluation = evaluate_run(run, spec["eval_samples"], data_dir=spec.get("data_dir"))
        write_json(evaluation, run / "eval.json")
        result.update({k: evaluation[k] for k in KEPT_METRICS if k in evaluation})
    timeline = diagnose_run(run)
    result["verdict"] = timeline.verdict()
    result["diagnoses"] = " ".join(sorted({d.kind for d in timeline.diagnoses}))
    return result


def main(argv: list[str]) -> int:
    from steadygan.data.errors import DataError
    from steadygan.metrics.inputs import MetricInputError
    from steadygan.train.checkpoint import CheckpointError

    try:
        result = run_trial(json.loads(argv[0]))
    except (ConfigError, DataError, CheckpointError, MetricInputError) as exc:
        print(f"steadygan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if result is None:
        return 130
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
