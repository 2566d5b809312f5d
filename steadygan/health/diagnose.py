"""`steadygan diagnose RUN`: the timeline of diagnoses of any run directory, and a verdict."""
from __future__ import annotations

import json
from pathlib import Path

from steadygan.atomic import atomic_write_text
from steadygan.config import ConfigError
from steadygan.health.detectors import WINDOW, rare_digits, still_improving
from steadygan.health.timeline import WARMUP_STEPS, Timeline
from steadygan.train.rundir import RunDir

EXIT_HEALTHY, EXIT_FAILURE = 0, 1


def diagnose_run(run_dir: str | Path, window: int | None = None) -> Timeline:
    """Replay the run's metrics through the detectors (controller on or off, finished or not)."""
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise ConfigError(f"{run.path}: run directory not found")
    if not run.metrics_path.is_file():
        raise ConfigError(f"{run.path}: no metrics.jsonl (not a steadygan run directory?)")
    records = run.read_metrics()
    if not any(r.get("kind", "train") == "train" for r in records):
        raise ConfigError(f"{run.metrics_path}: holds no training records")
    cfg = run.read_config() if run.config_path.exists() else None
    health = cfg.health if cfg else None
    window = window or (health.window if health else WINDOW)
    timeline = Timeline.of_run(records, window, health.warmup_steps if health else WARMUP_STEPS,
                               cfg)
    atomic_write_text(run.diagnoses_path,
                      "".join(json.dumps(d.to_dict()) + "\n" for d in timeline.diagnoses))
    return timeline


def format_timeline(timeline: Timeline, run_dir: str | Path) -> str:
    lines = [f"diagnoses of {run_dir}:"]
    if not timeline.diagnoses:
        lines.append("  none: no failure mode seen")
    for d in timeline.diagnoses:
        lines.append(f"  {d.line()}")
        if d.evidence:
            lines.append("      evidence: " + ", ".join(f"{k}={v:.4g}" for k, v in d.evidence.items()))
        for remedy in d.remedies[:3]:
            lines.append(f"      try: {remedy}")
    for ending in (rare_digits(timeline.view), still_improving(timeline.view)):
        if ending is not None:
            lines.append(f"  {ending}")
    lines.append(f"verdict: {timeline.verdict()}")
    return "\n".join(lines)
