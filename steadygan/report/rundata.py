"""Read everything a report shows from a run directory, tolerating what a killed or failed
run leaves behind: missing files, a last line cut short, NaN values, unknown config sections.

Nothing here raises for a damaged run; what is missing or unreadable goes into `notes`, so the
page can say it instead of failing.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steadygan.config import tomllib
from steadygan.health.diagnosis import Diagnosis
from steadygan.jsonl import Record, read_jsonl

_STEP_PNG = re.compile(r"step_(\d+)\.png$")


@dataclass
class RunData:
    path: Path
    config_text: str | None = None
    config: dict[str, Any] = field(default_factory=dict)  # raw TOML: keeps sections we do not know
    train: list[Record] = field(default_factory=list)
    evals: list[Record] = field(default_factory=list)
    balance: list[Record] = field(default_factory=list)  # controller actions
    rollbacks: list[Record] = field(default_factory=list)  # back to a checkpoint after NaN / Inf
    timings: list[Record] = field(default_factory=list)  # where each stretch's wall time went
    eval_json: dict[str, Any] | None = None
    eval_nearest: Path | None = None  # eval_nearest.png: samples nearest a training image
    samples: list[tuple[int, Path]] = field(default_factory=list)
    final_sample: Path | None = None
    walk_sample: Path | None = None  # samples/walk.png: latent walks of the final G (images)
    diagnoses: list[Diagnosis] | None = None  # None: no diagnoses.jsonl
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        values = self.config.get(section)
        return values.get(key, default) if isinstance(values, dict) else default


def is_run_dir(path: Path) -> bool:
    return (path / "config.toml").is_file() or (path / "metrics.jsonl").is_file()


def number(record: Record, key: str) -> float:
    """The value as a float; NaN when absent, null or not a number (so plots leave a gap)."""
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def load_run(path: Path) -> RunData:
    run = RunData(path)
    _read_config(run)
    _read_metrics(run)
    _read_eval_json(run)
    _read_samples(run)
    _read_diagnoses(run)
    return run


def _read_config(run: RunData) -> None:
    path = run.path / "config.toml"
    if not path.is_file():
        run.notes.append("config.toml is missing: settings unknown")
        return
    try:
        run.config_text = path.read_text(encoding="utf-8")
        run.config = tomllib.loads(run.config_text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        run.notes.append(f"config.toml is unreadable ({exc})")


def _skipped_note(name: str, bad: list[int], n_lines: int) -> str:
    if bad == [n_lines]:
        return f"{name}: the last line is cut short (the run was probably killed); it was skipped"
    return f"{name}: {len(bad)} unreadable line(s) skipped (line {', '.join(map(str, bad[:5]))})"


def _read_noted(run: RunData, name: str, number_key: str | None = None) -> list[Record] | None:
    """The records of RUN/name, noting damage on the run; None when unreadable."""
    try:
        records, bad, n_lines = read_jsonl(run.path / name, number_key)
    except OSError as exc:
        run.notes.append(f"{name} is unreadable ({exc.strerror or exc})")
        return None
    if bad:
        run.notes.append(_skipped_note(name, bad, n_lines))
    return records


def _read_metrics(run: RunData) -> None:
    if not (run.path / "metrics.jsonl").is_file():
        run.notes.append("metrics.jsonl is missing: no training curves")
        return
    records = _read_noted(run, "metrics.jsonl", number_key="step")
    if records is None:
        return
    lists = {"train": run.train, "eval": run.evals, "balance": run.balance,
             "rollback": run.rollbacks, "timing": run.timings}
    for record in records:
        if not isinstance(record.get("step"), (int, float)):
            continue
        kind = record.get("kind", "train")
        if kind in ("train", "eval"):
            _supersede(lists[kind], record["step"])
        lists.get(kind, []).append(record)
    if not run.train:
        run.notes.append("metrics.jsonl holds no training records")
    first_bad = next((r["step"] for r in run.train
                      if any(isinstance(v, float) and not math.isfinite(v) for v in r.values())),
                     None)
    if first_bad is not None:
        run.notes.append(f"metrics.jsonl: non-finite values (NaN / Inf) from step {first_bad} on; "
                         "the curves have gaps there")


def _supersede(records: list[Record], step: float) -> None:
    """After a rollback the loop logs steps again from the checkpoint on: the later records
    replace the earlier ones of the same and later steps, so every curve runs forward."""
    while records and number(records[-1], "step") >= step:
        records.pop()


def _read_eval_json(run: RunData) -> None:
    path = run.path / "eval.json"
    if not path.is_file():
        return  # optional: written only by `steadygan eval`
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        run.notes.append(f"eval.json is unreadable ({exc})")
        return
    if isinstance(value, dict):
        run.eval_json = value
    else:
        run.notes.append("eval.json does not hold a JSON object")
    nearest = run.path / "eval_nearest.png"
    run.eval_nearest = nearest if nearest.is_file() else None


def _read_samples(run: RunData) -> None:
    folder = run.path / "samples"
    steps = []
    if folder.is_dir():
        for png in folder.glob("step_*.png"):
            match = _STEP_PNG.search(png.name)
            if match:
                steps.append((int(match.group(1)), png))
    run.samples = sorted(steps)
    final = folder / "final.png"
    run.final_sample = final if final.is_file() else None
    walk = folder / "walk.png"
    run.walk_sample = walk if walk.is_file() else None
    if not run.samples:
        run.notes.append("no sample grids (samples/step_*.png)")
    if run.final_sample is None:
        run.notes.append("samples/final.png is missing (the run did not finish)")


def _read_diagnoses(run: RunData) -> None:
    if not (run.path / "diagnoses.jsonl").is_file():
        return
    records = _read_noted(run, "diagnoses.jsonl")
    if records is None:
        return
    run.diagnoses = sorted((_diagnosis(r) for r in records),
                           key=lambda d: (d.step_start, d.step_end))


def _diagnosis(record: Record) -> Diagnosis:
    def step(key: str) -> int:
        value = number(record, key)
        return int(value) if math.isfinite(value) else -1

    evidence = record.get("evidence")
    remedies = record.get("remedies")
    return Diagnosis(kind=str(record.get("kind", "unknown")), step_start=step("step_start"),
                     step_end=step("step_end"), severity=str(record.get("severity", "info")),
                     message=str(record.get("message", "")),
                     evidence=evidence if isinstance(evidence, dict) else {},
                     remedies=[str(r) for r in remedies] if isinstance(remedies, list) else [])
