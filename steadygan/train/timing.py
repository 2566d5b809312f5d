"""Where a run's wall time goes: the training steps, and the loop's periodic work around them.

On a fast GPU the periodic work (statistics reads, sample grids, live evaluations, checkpoints)
can take a large share of a run, and nothing else in the run directory says so. The loop times
each kind here and writes one `"kind": "timing"` record to metrics.jsonl when it stops.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import torch

SECTIONS = ("statistics", "samples", "evaluation", "checkpoints", "reports")


class LoopTimer:
    """Seconds per section of the loop; the training steps get the rest of the wall time."""

    def __init__(self, device: torch.device, first_step: int) -> None:
        self.device, self.first_step = device, first_step
        self.seconds = dict.fromkeys(SECTIONS, 0.0)
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        # CUDA runs the queued steps behind Python's back: wait for them first, or their time
        # would be billed to this section. Every section reads from the device (or, for
        # reports, happens rarely), so the wait costs no more than the section's own would.
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def record(self, step: int) -> dict[str, Any]:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        wall = time.perf_counter() - self.started
        record: dict[str, Any] = {"kind": "timing", "step": step, "from_step": self.first_step,
                                  "wall_s": round(wall, 3),
                                  "steps_s": round(wall - sum(self.seconds.values()), 3)}
        record.update({f"{name}_s": round(s, 3) for name, s in self.seconds.items()})
        record["time"] = time.time()
        return record


def timing_line(record: dict[str, Any]) -> str:
    """'time: 1 min 42 s from step 0 to 1872: steps 95 %, evaluation 3 %, ...' (sections under
    0.5 % of the wall time left out)."""
    wall = max(float(record["wall_s"]), 1e-9)
    parts = [("steps", float(record["steps_s"]))]
    parts += sorted(((name, float(record.get(f"{name}_s", 0.0))) for name in SECTIONS),
                    key=lambda part: -part[1])
    shares = ", ".join(f"{name} {100 * s / wall:.0f} %" for name, s in parts
                       if name == "steps" or s / wall >= 0.005)
    return (f"time: {_duration(wall)} from step {record['from_step']} to {record['step']}: "
            f"{shares}")


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"
