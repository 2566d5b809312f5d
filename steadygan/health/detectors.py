"""Detectors of the known GAN failure modes, each a small function over a window of records.

A window is the last few `"kind": "train"` records of metrics.jsonl (one every run.log_every
steps), plus the `"kind": "eval"` records of the same steps. Thresholds were set from measured
runs: a healthy default MNIST run keeps mean D accuracy <= 0.89 and G accuracy >= 0.05 with 10 %
label flipping, and its G gradient norm falls from about 19 to 3 on its own, so a falling gradient
alone is no evidence; only the combination with saturated accuracies is.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Collection, Sequence

import numpy as np

from steadygan.health.diagnosis import Diagnosis
from steadygan.health.remedies import remedies_for
from steadygan.metrics.classes import rare_text, shares_in

WINDOW = 4  # records per window: 200 steps at the default run.log_every = 50
# a plateau: the live metric improved by no more than this over the last evaluations (the rule
# behind `converged` and, mirrored, behind still_improving)
PLATEAU_EVALS, PLATEAU_TOLERANCE = 3, 0.05
Record = dict[str, Any]
# Stacked MNIST collapsed: its mode histogram as far from uniform as samples spread evenly over
# 100 of the 1000 modes (KL ln 10), the level of the plain DCGAN in the PacGAN paper (99 modes,
# KL 3.4). KL rather than a mode count: more samples lower its floor, not the collapse's value.
STACKED_COLLAPSE_KL = math.log(10)


def _train(records: Sequence[Record]) -> list[Record]:
    return [r for r in records if r.get("kind", "train") == "train"]


def _d_acc(r: Record) -> float:
    return 0.5 * (r["d_acc_real"] + r["d_acc_fake"])


def _span(window: Sequence[Record]) -> tuple[int, int]:
    return int(window[0]["step"]), int(window[-1]["step"])


def detect_divergence(window: Sequence[Record], evals: Sequence[Record],
                      ongoing: bool = False) -> Diagnosis | None:
    bad = [r for r in window if not all(_finite(v) for v in r.values() if _numeric(v))]
    if not bad:
        return None
    keys = sorted({k for r in bad for k, v in r.items() if _numeric(v) and not _finite(v)})
    return Diagnosis("divergence", int(bad[0]["step"]), int(window[-1]["step"]), "failure",
                     f"non-finite {', '.join(keys)}", {"non_finite_records": len(bad)},
                     remedies_for("divergence"))


def detect_d_overpowering(window: Sequence[Record], evals: Sequence[Record],
                          ongoing: bool = False) -> Diagnosis | None:
    """D wins every call and G's gradient no longer carries signal.

    To begin, a trend confirms it: G's loss not falling by a tenth, or its gradient shrinking,
    across the window (measured: at lr_d 2e-2 vs lr_g 1e-6 G's loss creeps down 8 % while D
    wins 99 %). Once diagnosed it goes on while D keeps winning: on that plateau G's loss swings
    by a tenth from record to record, and a window that read as a recovery by chance (8 of 113
    after the onset, four seeds of 1,000 steps, 2026-11-28) ended the diagnosis: one of the four
    runs was called recovered at 100 % D accuracy."""
    d_acc = np.array([_d_acc(r) for r in window])
    g_acc = np.array([r["g_acc"] for r in window])
    loss_g = np.array([r["loss_g"] for r in window])
    grad_g = np.array([r["grad_norm_g"] for r in window])
    worsening = ongoing or loss_g[-1] >= 0.9 * loss_g[0] or grad_g[-1] <= 0.8 * grad_g[0]
    if d_acc.min() >= 0.95 and g_acc.max() <= 0.02 and worsening:
        severity = "failure"
    elif d_acc.mean() >= 0.92 and g_acc.mean() <= 0.04 and worsening:
        severity = "warning"
    else:
        return None
    return Diagnosis(
        "d_overpowering", *_span(window), severity,
        f"D calls {d_acc.mean():.0%} of images right and only {g_acc.mean():.1%} of fakes pass; "
        "G is not catching up",
        {"d_acc": float(d_acc.mean()), "g_acc": float(g_acc.mean()), "loss_d": _mean(window, "loss_d"),
         "loss_g_first": float(loss_g[0]), "loss_g_last": float(loss_g[-1]),
         "grad_norm_g_first": float(grad_g[0]), "grad_norm_g_last": float(grad_g[-1])},
        remedies_for("d_overpowering"))


def detect_g_overpowering(window: Sequence[Record], evals: Sequence[Record],
                          ongoing: bool = False) -> Diagnosis | None:
    """D calls most fakes real for the whole window."""
    g_acc = np.array([r["g_acc"] for r in window])
    fake_acc = np.array([r["d_acc_fake"] for r in window])
    if g_acc.min() < 0.7 or fake_acc.max() > 0.3:
        return None
    severity = "failure" if g_acc.min() >= 0.9 else "warning"
    return Diagnosis("g_overpowering", *_span(window), severity,
                     f"D calls {g_acc.mean():.0%} of G's fakes real",
                     {"g_acc": float(g_acc.mean()), "d_acc_fake": float(fake_acc.mean()),
                      "d_acc_real": _mean(window, "d_acc_real")}, remedies_for("g_overpowering"))


def detect_mode_collapse(window: Sequence[Record], evals: Sequence[Record],
                         ongoing: bool = False) -> Diagnosis | None:
    """G's samples for different z are much less diverse than real data, or cover few classes."""
    evidence: dict[str, float] = {}
    severity = None
    diversity = [r["diversity"] for r in window if _finite(r.get("diversity"))]
    if len(diversity) == len(window):
        evidence["diversity_ratio"] = float(np.mean(diversity))
        if max(diversity) < 0.25:
            severity = "failure"
        elif np.mean(diversity) < 0.5:
            severity = "warning"
    recent = list(evals[-2:])
    if len(recent) == 2:
        if all("classes_live" in e for e in recent) and max(e["classes_live"] for e in recent) <= 3:
            evidence["classes_live"] = float(recent[-1]["classes_live"])
            severity = "failure"
        if all("modes_live" in e for e in recent) and max(e["modes_live"] for e in recent) <= 2 \
                and recent[-1].get("hq_live", 0) > 0.2:
            evidence["modes_live"] = float(recent[-1]["modes_live"])
            severity = "failure"
        if all(_finite(e.get("kl_live")) for e in recent) \
                and min(e["kl_live"] for e in recent) >= STACKED_COLLAPSE_KL:
            evidence["kl_live"] = float(recent[-1]["kl_live"])
            evidence["modes_live"] = float(recent[-1].get("modes_live", math.nan))
            severity = "failure"
    if severity is None:
        return None
    return Diagnosis("mode_collapse", *_span(window), severity,
                     "G produces too little variety for different z"
                     + (f" (spread {evidence['diversity_ratio']:.2f} of the real data's)"
                        if "diversity_ratio" in evidence else "")
                     + _live_collapse_text(evidence),
                     evidence, remedies_for("mode_collapse"))


def _live_collapse_text(evidence: dict[str, float]) -> str:
    """What the live evaluation saw, when it is part of a collapse's evidence."""
    if "kl_live" in evidence:
        return (f"; the live evaluation saw {evidence['modes_live']:.0f} of 1000 modes, KL to "
                f"uniform {evidence['kl_live']:.2f}")
    if "classes_live" in evidence:
        return f"; the live evaluation saw {evidence['classes_live']:.0f} of 10 classes"
    if "modes_live" in evidence:
        return f"; the live evaluation saw {evidence['modes_live']:.0f} mixture modes"
    return ""


def detect_oscillation(window: Sequence[Record], evals: Sequence[Record],
                       ongoing: bool = False) -> Diagnosis | None:
    """Large, persistent swings of D's accuracy and no progress of the live metric."""
    d_acc = np.array([_d_acc(r) for r in window])
    swings = np.diff(d_acc)
    flips = int((np.sign(swings[1:]) != np.sign(swings[:-1])).sum()) if len(swings) > 1 else 0
    if d_acc.std() < 0.15 or flips < len(window) - 2:
        return None
    if len(evals) >= 2 and _improving(evals[-2:]):
        return None
    return Diagnosis("oscillation", *_span(window), "warning",
                     f"D accuracy swings by {d_acc.std():.2f} (std) with no steady progress",
                     {"d_acc_std": float(d_acc.std()), "direction_changes": float(flips)},
                     remedies_for("oscillation"))


def detect_convergence(window: Sequence[Record], evals: Sequence[Record],
                       ongoing: bool = False) -> Diagnosis | None:
    """Both accuracies settled in a band around 0.5 and the live metric on a plateau."""
    d_acc = np.array([_d_acc(r) for r in window])
    g_acc = np.array([r["g_acc"] for r in window])
    if not (np.all(np.abs(d_acc - 0.5) <= 0.35) and np.all(g_acc >= 0.1) and d_acc.std() < 0.05):
        return None
    if len(evals) < PLATEAU_EVALS or _improving(evals[-PLATEAU_EVALS:], PLATEAU_TOLERANCE):
        return None
    return Diagnosis("converged", *_span(window), "info",
                     "accuracies steady and the live metric on a plateau: more steps will not "
                     "help much", {"d_acc": float(d_acc.mean()), "g_acc": float(g_acc.mean())},
                     remedies_for("converged"))


Detector = Callable[[Sequence[Record], Sequence[Record], bool], Diagnosis | None]
# by the kind of diagnosis each gives; `ongoing`: that kind was found at the previous record
DETECTORS: dict[str, Detector] = {
    "divergence": detect_divergence, "d_overpowering": detect_d_overpowering,
    "g_overpowering": detect_g_overpowering, "mode_collapse": detect_mode_collapse,
    "oscillation": detect_oscillation, "converged": detect_convergence}


def detect(records: Sequence[Record], window: int = WINDOW, warmup_steps: int = 0,
           ongoing: Collection[str] = ()) -> list[Diagnosis]:
    """Every detector on the last `window` train records (and the eval records up to them).

    Divergence is checked at once; the others wait until a full window lies past warmup_steps,
    since the first steps of every GAN look like D dominance and collapse. `ongoing`: the kinds
    found at the previous record, which some detectors keep on weaker evidence than they start
    on (hysteresis)."""
    train = _train(records)
    if not train:
        return []
    recent = train[-window:]
    evals = [r for r in records if r.get("kind") == "eval" and r["step"] <= recent[-1]["step"]]
    divergence = detect_divergence(recent, evals)
    if divergence is not None:  # the other detectors need finite numbers
        return [divergence]
    if len(recent) < window or recent[0]["step"] <= warmup_steps:
        return []
    found = (fn(recent, evals, kind in ongoing) for kind, fn in DETECTORS.items()
             if kind != "divergence")
    return [d for d in found if d is not None]


def still_improving(records: Sequence[Record]) -> str | None:
    """At a run's end: how its live metric still improved over the last evaluations (off the
    plateau of detect_convergence), or None. Not a failure mode, but the usual reason a short run
    falls short: it stopped too early, and more steps would help."""
    evals = [r for r in records if r.get("kind") == "eval"][-PLATEAU_EVALS:]
    if len(evals) < PLATEAU_EVALS or not _improving(evals, PLATEAU_TOLERANCE):
        return None
    first, end = evals[0], evals[-1]
    if "fid_live" in first:
        change = f"live FID {first['fid_live']:.1f} -> {end['fid_live']:.1f}"
    elif "kl_live" in first:  # Stacked MNIST
        change = f"live modes {first['modes_live']} -> {end['modes_live']}, KL to uniform " \
                 f"{first['kl_live']:.3f} -> {end.get('kl_live', math.nan):.3f}"
    else:
        change = f"live modes {first['modes_live']} -> {end['modes_live']}, high-quality share " \
                 f"{first.get('hq_live', 0):.2f} -> {end.get('hq_live', 0):.2f}"
    return (f"still improving at the end: {change} over steps {first['step']}-{end['step']}; "
            "more steps should help (steadygan train --resume RUN --steps N continues it)")


def rare_digits(records: Sequence[Record]) -> str | None:
    """At a run's end: the digits its last live evaluation saw drawn at under half an even share
    (digits and Stacked MNIST), or None. Where a missing class or a high KL comes from."""
    evals = [r for r in records if r.get("kind") == "eval"]
    shares = shares_in(evals[-1], ("digit_shares_live",)) if evals else None
    rare = rare_text(shares) if shares else None
    return f"digits drawn rarely ({100 / len(shares):.0f} % each if even): {rare}" if rare else None


def _improving(evals: Sequence[Record], tolerance: float = 0.02) -> bool:
    """Did the live metric improve across these eval records by more than `tolerance`? Not when
    a value is missing or not a finite number (a damaged metrics.jsonl: the report reads any)."""
    if all("fid_live" in e for e in evals):  # lower is better
        first, last = evals[0]["fid_live"], evals[-1]["fid_live"]
        return _finite(first) and _finite(last) and last < first * (1 - tolerance)
    if all("modes_live" in e for e in evals):  # higher is better
        first, last = _modes_score(evals[0]), _modes_score(evals[-1])
        return _finite(first) and _finite(last) and last > first * (1 + tolerance)
    return False


def _modes_score(e: Record) -> float:
    """Covered modes plus the high-quality share: more modes first, then sharper ones."""
    modes, quality = e["modes_live"], e.get("hq_live", 0)
    return modes + quality if _finite(modes) and _finite(quality) else math.nan


def _mean(window: Sequence[Record], key: str) -> float:
    return float(np.mean([r[key] for r in window]))


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _numeric(value) and math.isfinite(value)
