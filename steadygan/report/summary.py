"""The headline numbers of a run, shared by its own page and by the index of several runs."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from steadygan.report.rundata import Record, RunData, number


@dataclass
class Summary:
    steps: int | None
    d_acc: float  # mean of D's accuracy on real and on fake: 0.5 is a balanced game
    g_acc: float
    last: Record
    best_live: Record | None  # the live evaluation best.pt was chosen at
    live_kind: str | None  # "fid" (digits), "modes" (2-D mixtures) or None


def summarize(run: RunData) -> Summary:
    last = run.train[-1] if run.train else {}
    steps = int(last["step"]) if last else None
    d_acc = 0.5 * (number(last, "d_acc_real") + number(last, "d_acc_fake"))
    kind = live_kind(run.evals)
    return Summary(steps, d_acc, number(last, "g_acc"), last, best_live(run.evals, kind), kind)


def live_kind(evals: list[Record]) -> str | None:
    if any("fid_live" in r for r in evals):
        return "fid"
    if any("modes_live" in r for r in evals):
        return "modes"
    return None


def live_score(record: Record, kind: str | None) -> float:
    """Lower is better, as the training loop's BestTracker scores it."""
    if kind == "fid":
        score = number(record, "fid_live")
    else:
        hq = number(record, "hq_live")
        score = -(number(record, "modes_live") + (hq if math.isfinite(hq) else 0.0))
    return score if math.isfinite(score) else math.inf


def best_live(evals: list[Record], kind: str | None = None) -> Record | None:
    """The record at the loop's own best_step when it is there (that is what best.pt holds),
    else the best score among the records."""
    kind = kind or live_kind(evals)
    scored = [r for r in evals if math.isfinite(live_score(r, kind))]
    if not scored:
        return None
    chosen = number(evals[-1], "best_step")
    at_best = [r for r in scored if number(r, "step") == chosen]
    return at_best[-1] if at_best else min(scored, key=lambda r: live_score(r, kind))


def live_text(record: Record | None, kind: str | None) -> str:
    """'23.4 (step 600)' or '8 modes, hq 0.93 (step 1500)'; a dash when there is none."""
    if record is None:
        return "—"
    step = int(number(record, "step"))
    if kind == "fid":
        return f"{fmt(number(record, 'fid_live'))} (step {step})"
    modes = number(record, "modes_live")
    second = f"KL {fmt(number(record, 'kl_live'))}" if "kl_live" in record \
        else f"hq {fmt(number(record, 'hq_live'))}"
    return f"{fmt(modes)} mode{'' if modes == 1 else 's'}, {second} (step {step})"


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers for people: 3 significant digits, integers whole, a dash for missing, NaN shown."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if 10 ** digits <= abs(value) < 1e15:  # 1,990 rather than 1.99e+03
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)
