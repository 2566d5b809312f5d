"""The sweep's closing lines: its best trials, ranked the way a person reads results.csv.

Successes first, then the headline metric (lower domain FID for digits; more modes for the 2-D
mixtures and Stacked MNIST, ties broken by the high-quality share or the lower KL), then the
verdict. Images without a domain metric are ranked by success and verdict alone.
"""
from __future__ import annotations

import math
from typing import Any

from steadygan.report.rundata import number
from steadygan.sweep.trial import headline_metric, partner_metric

SHOWN = 5
_VERDICTS = ("healthy", "recovered", "warnings", "failure")  # best first


def _number(result: dict[str, Any], key: str, missing: float) -> float:
    """The value, or `missing` when it is absent or not a number (it sorts last)."""
    value = number(result, key)
    return missing if math.isnan(value) else value


def _second_column(results: list[dict[str, Any]]) -> str | None:
    """Beside the headline: the other half of the success rule, or the digits' classes."""
    return partner_metric(results) or next(
        ("classes_covered" for r in results if "classes_covered" in r), None)


def ranked(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trials, best first."""
    metric, partner = headline_metric(results), partner_metric(results)

    def key(r: dict[str, Any]) -> tuple[float, ...]:
        verdict = r.get("verdict")
        order = _VERDICTS.index(verdict) if verdict in _VERDICTS else len(_VERDICTS)
        if metric == "fid":
            quality: tuple[float, ...] = (_number(r, "fid", math.inf),)
        elif metric == "modes_covered":  # more modes, then more quality or less KL
            tie = (_number(r, "kl", math.inf) if partner == "kl"
                   else -_number(r, "high_quality", -math.inf))
            quality = (-_number(r, "modes_covered", -math.inf), tie)
        else:
            quality = ()
        return (float(not r.get("success")), *quality, float(order))

    return sorted(results, key=key)


def best_trials_text(results: list[dict[str, Any]], shown: int = SHOWN) -> str:
    """A small table of the best trials ("" when there are none), for the sweep's last lines."""
    if not results:
        return ""
    metric, second = headline_metric(results), _second_column(results)
    columns = ["trial", *(c for c in (metric, second) if c), "verdict", "success"]
    rows = [[_cell(r.get(c)) for c in columns] for r in ranked(results)[:shown]]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    lines = [f"best {len(rows)} of {len(results)} trials"
             + (f" (by {metric})" if metric else " (by success and verdict)") + ":"]
    for row in [columns, *rows]:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths))
                     .rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
