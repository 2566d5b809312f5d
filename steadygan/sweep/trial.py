"""One sweep trial in one process: train (or continue) the run, evaluate it, diagnose it.

    python -m steadygan.sweep.trial '{"run": ..., "base": ..., "settings": [...], ...}'

Prints the trial's result as one JSON line on stdout (the Ray backend runs trials this way); the
local backend calls `execute` in long-lived worker processes instead, so each trial saves the
interpreter and torch start-up (about 3 of a small 2-D trial's 14 seconds). Either way a trial's
own output goes to RUN/trial.log.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from steadygan.config import TrainConfig, load_config

KEPT_METRICS = ("fid", "kid_mean", "precision", "recall", "classes_covered", "class_kl",
                "modes_covered", "n_modes", "high_quality", "reverse_kl", "kl", "step")


def headline_metric(results: list[dict[str, Any]]) -> str | None:
    """The metric that ranks these trials: fid for digits, modes_covered for 2-D mixtures and
    Stacked MNIST, None for images without a domain metric (judged by their verdict)."""
    return next((m for m in ("fid", "modes_covered") if any(m in r for r in results)), None)


def partner_metric(results: list[dict[str, Any]]) -> str | None:
    """The other half of a modes-counting success rule, beside the headline: the 2-D mixtures'
    high_quality (higher is better), Stacked MNIST's kl (lower is better); None for digits."""
    return next((m for m in ("high_quality", "kl") if any(m in r for r in results)), None)


def run_trial(spec: dict[str, Any]) -> dict[str, Any] | None:
    """The trial's metrics, divergence, verdict and diagnoses; None when it was interrupted."""
    from steadygan.evaluate import evaluate_run, why_no_domain_metrics, write_json
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
    started = time.perf_counter()
    try:
        if train(cfg, resume=resume).interrupted:
            return None
    except TrainingDiverged:
        result["diverged"] = True
    evaluating = time.perf_counter()
    result["train_s"] = round(evaluating - started, 1)  # where a sweep's time goes, per trial
    # images that cannot be measured offline are judged by their verdict alone
    if not result["diverged"] and why_no_domain_metrics(run, cfg) is None:
        # near copies are a question about one run, not a sweep's: their training images' pass
        # through the classifier would cost each CPU trial seconds (60,000 for full MNIST)
        evaluation = evaluate_run(run, spec["eval_samples"], data_dir=spec.get("data_dir"),
                                  near_copies=False)
        write_json(evaluation, run / "eval.json")
        result.update({k: evaluation[k] for k in KEPT_METRICS if k in evaluation})
        result["eval_s"] = round(time.perf_counter() - evaluating, 1)
    timeline = diagnose_run(run)
    result["verdict"] = timeline.verdict()
    result["diagnoses"] = " ".join(sorted({d.kind for d in timeline.diagnoses}))
    return result


def execute(spec: dict[str, Any]) -> tuple[int, str]:
    """Run one trial in this process, its output going to RUN/trial.log: (exit code, the result
    as JSON when 0, else one line saying what went wrong). Exit codes as the CLI's: 2 bad input,
    130 interrupted, 1 a crash (recorded, and retried when the sweep runs again)."""
    from steadygan.cli import bad_input_errors

    run = Path(spec["run"])
    run.mkdir(parents=True, exist_ok=True)
    with (run / "trial.log").open("a", encoding="utf-8") as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            result = run_trial(spec)
        except bad_input_errors() as exc:
            return 2, str(exc)
        except KeyboardInterrupt:
            return 130, "interrupted"
        except Exception as exc:  # noqa: BLE001 - one trial's crash must not end the sweep
            traceback.print_exc()  # the whole story goes to trial.log
            return 1, f"crashed ({type(exc).__name__}: {exc}); see {run / 'trial.log'}"
    return (130, "interrupted") if result is None else (0, json.dumps(result))


def stop_with_parent(grace_s: float = 30.0, poll_s: float = 1.0) -> None:
    """When the process that started this one dies (a sweep killed with SIGKILL, a Ray worker torn
    down), stop as SIGTERM asks: a training trial checkpoints at the next step and returns, and
    whatever is left exits after grace_s, so no orphan trains on or lingers."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        os._exit(1)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def main(argv: list[str]) -> int:
    stop_with_parent()
    code, text = execute(json.loads(argv[0]))
    if code == 0:
        print(text)
    else:
        print(f"steadygan: error: {text}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
