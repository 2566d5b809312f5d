"""The diagnosis timeline of a run: detectors over sliding windows, same-kind findings merged.

The live monitor and `steadygan diagnose` feed it the same metrics records in the same order, so
they reach the same diagnoses. A rollback record rewinds the view to the checkpoint it restored.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from steadygan.config import TrainConfig
from steadygan.health.detectors import WINDOW, detect
from steadygan.health.diagnosis import SEVERITIES, Diagnosis
from steadygan.health.remedies import remedies_for

WARMUP_STEPS = 200  # the first steps of every GAN look like D dominance and collapse


class Timeline:
    def __init__(self, window: int = WINDOW, warmup_steps: int = WARMUP_STEPS,
                 settings: TrainConfig | None = None) -> None:
        self.window, self.warmup_steps = window, warmup_steps
        self.settings = settings  # the run's, to offer only remedies that would change it
        self.fitted: dict[str, list[str]] = {}  # kind -> the remedies that fit these settings
        self.diagnoses: list[Diagnosis] = []
        self.view: list[dict[str, Any]] = []  # the records of the run as it stands now
        self.last_step = 0
        self.found_last: set[str] = set()  # the kinds found at the last look: still going on

    def add(self, record: dict[str, Any]) -> list[Diagnosis]:
        """Take one metrics record; return diagnoses that are new, or got worse."""
        kind = record.get("kind", "train")
        if kind == "rollback":
            self.view = [r for r in self.view if r["step"] <= record["to_step"]]
            self.found_last = set()  # the restored weights start afresh
            return []
        self.view.append(record)
        if kind == "eval" and self.last_step > 0 and record["step"] == self.last_step:
            # an evaluation follows the statistics of its step: look at that step again with it,
            # or the run's final evaluation would never reach the detectors
            return self._look()
        if kind != "train":
            return []
        self.last_step = int(record["step"])
        return self._look()

    def _look(self) -> list[Diagnosis]:
        found = detect(self.view, self.window, self.warmup_steps, self.found_last)
        self.found_last = {d.kind for d in found}
        if self.settings is not None:
            found = [replace(d, remedies=self._remedies(d.kind)) for d in found]
        return self._merge(found)

    def _remedies(self, kind: str) -> list[str]:
        """The remedies that fit the run, worked out once per kind (the settings do not change)."""
        if kind not in self.fitted:
            self.fitted[kind] = remedies_for(kind, self.settings)
        return list(self.fitted[kind])

    def _merge(self, found: Iterable[Diagnosis]) -> list[Diagnosis]:
        new = []
        for finding in found:
            open_one = next((d for d in reversed(self.diagnoses) if d.kind == finding.kind), None)
            if open_one is not None and open_one.step_start <= finding.step_start <= open_one.step_end:
                open_one.step_end = max(open_one.step_end, finding.step_end)
                if SEVERITIES.index(finding.severity) > SEVERITIES.index(open_one.severity):
                    open_one.severity, open_one.message = finding.severity, finding.message
                    open_one.evidence = finding.evidence
                    new.append(open_one)
            else:
                self.diagnoses.append(finding)
                new.append(finding)
        return new

    @classmethod
    def of_run(cls, records: Iterable[dict[str, Any]], window: int = WINDOW,
               warmup_steps: int = WARMUP_STEPS, settings: TrainConfig | None = None
               ) -> "Timeline":
        """Replay a finished (or interrupted) run's records as the live monitor saw them."""
        timeline = cls(window, warmup_steps, settings)
        for record in records:
            timeline.add(record)
        return timeline

    def verdict(self) -> str:
        """failure: a failure still found at the run's last look (its last statistics, then
        its last evaluation); recovered: failures only earlier; warnings: nothing worse than
        warnings; healthy: nothing."""
        failures = [d for d in self.diagnoses if d.severity == "failure"]
        if any(d.step_end >= self.last_step and d.kind in self.found_last for d in failures):
            return "failure"
        if failures:
            return "recovered"
        if any(d.severity == "warning" for d in self.diagnoses):
            return "warnings"
        return "healthy"
