"""A diagnosis: what a detector saw, over which steps, how bad, and what to change."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "failure")


@dataclass
class Diagnosis:
    kind: str  # d_overpowering | g_overpowering | mode_collapse | oscillation | divergence | converged
    step_start: int
    step_end: int
    severity: str  # info | warning | failure
    message: str
    evidence: dict[str, float] = field(default_factory=dict)
    remedies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Diagnosis":
        return cls(**{k: data[k] for k in ("kind", "step_start", "step_end", "severity",
                                             "message", "evidence", "remedies")})

    def line(self) -> str:
        return f"[{self.severity}] steps {self.step_start}-{self.step_end} {self.kind}: {self.message}"
