"""The diagnosis timeline of a run: detectors over sliding windows, same-kind findings merged."""
from __future__ import annotations

from typing import Any, Sequence

from steadygan.health.detectors import WINDOW, detect
from steadygan.health.diagnosis import SEVERITIES, Diagnosis


class Timeline:
    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.diagnoses: list[Diagnosis] = []
        self.last_step = 0

    def update(self, records: Sequence[dict[str, Any]]) -> list[Diagnosis]:
        """Run the detectors on the newest window; return diagnoses that are new (not a continuation
        of an open one of the same kind, which is extended instead)."""
        new = []
        train = [r for r in records if r.get("kind", "train") == "train"]
        self.last_step = int(train[-1]["step"]) if train else 0
        for found in detect(records, self.window):
            open_one = next((d for d in reversed(self.diagnoses) if d.kind == found.kind), None)
            if open_one is not None and found.step_start <= open_one.step_end:
                open_one.step_end = found.step_end
                if SEVERITIES.index(found.severity) > SEVERITIES.index(open_one.severity):
                    open_one.severity, open_one.message = found.severity, found.message
                    open_one.evidence = found.evidence
                    new.append(open_one)  # worse than before: say it again
            else:
                self.diagnoses.append(found)
                new.append(found)
        return new

    @classmethod
    def of_run(cls, records: Sequence[dict[str, Any]], window: int = WINDOW) -> "Timeline":
        """Replay a finished (or interrupted) run's records as the live monitor saw them."""
        timeline = cls(window)
        for i, record in enumerate(records):
            if record.get("kind", "train") == "train":
                timeline.update(records[: i + 1])
        return timeline

    def verdict(self) -> str:
        """failure: a failure still active at the run's last record; recovered: failures only
        earlier; warnings: nothing worse than warnings; healthy: nothing."""
        failures = [d for d in self.diagnoses if d.severity == "failure"]
        if any(d.step_end >= self.last_step for d in failures):
            return "failure"
        if failures:
            return "recovered"
        if any(d.severity == "warning" for d in self.diagnoses):
            return "warnings"
        return "healthy"
