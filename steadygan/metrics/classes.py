"""Which digits a generator draws, read from the classifier's probabilities.

Rules (the same everywhere the project counts successes):

- class histogram: share of all samples whose most probable class is c
  (every sample votes, confident or not, as in the PacGAN / VEEGAN mode KL);
- class_kl: KL(histogram || uniform over the classes), 0 for a perfectly
  balanced generator, ln(10) = 2.303 when every sample is one digit;
- classes_covered: classes c for which confident predictions (max probability
  >= min_confidence, default 0.9) of c make up at least min_share (default 1 %)
  of *all* samples. Counting against all samples, not only the confident ones,
  keeps a generator of noise, with a handful of stray confident votes, from
  covering every class;
- mean_confidence: mean over samples of the highest class probability;
- rare classes: those with less than half an even share of the histogram (under 5 % of the
  samples for 10 classes). A generator that draws a digit at a third of its share is not
  collapsed, but it is the first thing to look at when class_kl is high.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from steadygan.metrics.inputs import MetricInputError

MIN_CONFIDENCE = 0.9
MIN_SHARE = 0.01
RARE_FRACTION = 0.5  # of an even share


class ClassMetrics(NamedTuple):
    classes_covered: int
    class_kl: float
    mean_confidence: float
    histogram: np.ndarray  # (C,) share of samples predicted as each class


def validate_proba(proba: object, name: str = "proba") -> np.ndarray:
    """Return proba as float64 (N, C) rows of probabilities, or raise MetricInputError."""
    if not isinstance(proba, np.ndarray) or proba.ndim != 2 or 0 in proba.shape:
        shape = getattr(proba, "shape", type(proba).__name__)
        raise MetricInputError(f"{name}: expected a numpy array (N, C) with N, C >= 1, got {shape}")
    p = proba.astype(np.float64, copy=False)
    if not np.isfinite(p).all() or (p < 0).any():
        raise MetricInputError(f"{name}: probabilities must be finite and non-negative")
    worst = float(np.abs(p.sum(axis=1) - 1).max())
    if worst > 1e-3:
        raise MetricInputError(
            f"{name}: rows must sum to 1 (off by up to {worst:.3g}); pass softmax output"
        )
    return p


def class_histogram(proba: np.ndarray) -> np.ndarray:
    """Share of samples whose most probable class is c, shape (C,)."""
    p = validate_proba(proba)
    return np.bincount(p.argmax(axis=1), minlength=p.shape[1]) / len(p)


def kl_to_uniform(histogram: np.ndarray) -> float:
    """KL(h || uniform) in nats; empty classes contribute 0 (0 log 0 = 0)."""
    h = np.asarray(histogram, np.float64)
    nz = h[h > 0]
    return float((nz * np.log(nz * len(h))).sum())


def share_list(histogram: np.ndarray) -> list[float]:
    """A histogram as the JSON list that eval.json and metrics.jsonl keep (4 decimals)."""
    return [round(float(share), 4) for share in histogram]


def shares_in(record: dict, keys: tuple[str, ...] = ("class_shares", "digit_shares")
              ) -> list[float] | None:
    """The digit shares an eval.json or metrics.jsonl record holds (digits: class_shares,
    Stacked MNIST: digit_shares, live: digit_shares_live), or None when absent or damaged."""
    shares = next((record[k] for k in keys if k in record), None)
    if isinstance(shares, list) and shares and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in shares):
        return shares
    return None


def rare_classes(histogram: np.ndarray | list[float]) -> list[int]:
    """Classes drawn at less than RARE_FRACTION of an even share, rarest first."""
    h = np.asarray(histogram, np.float64)
    rare = np.flatnonzero(h < RARE_FRACTION / len(h))
    return [int(c) for c in rare[np.argsort(h[rare], kind="stable")]]


def rare_text(shares: list[float] | np.ndarray) -> str | None:
    """The rare classes with their shares, rarest first ("1 (1.5 %), 6 (4.6 %)"), or None."""
    rare = rare_classes(shares)
    return ", ".join(f"{c} ({100 * shares[c]:.1f} %)" for c in rare) if rare else None


def share_rows(shares: list[float]) -> list[tuple[str, str]]:
    """(label, text) rows for people: every digit's share, then the rare ones if any."""
    rows = [("digit shares (%)",
             " ".join(f"{digit}:{100 * share:.1f}" for digit, share in enumerate(shares)))]
    rare = rare_text(shares)
    if rare:
        rows.append(("rare digits", f"{rare}; {100 / len(shares):.0f} % each if even"))
    return rows


def class_metrics(
    proba: np.ndarray, min_share: float = MIN_SHARE, min_confidence: float = MIN_CONFIDENCE
) -> ClassMetrics:
    """Classes covered, KL of the class histogram to uniform, and mean confidence."""
    p = validate_proba(proba)
    top = p.max(axis=1)
    pred = p.argmax(axis=1)
    confident = np.bincount(pred[top >= min_confidence], minlength=p.shape[1])
    histogram = np.bincount(pred, minlength=p.shape[1]) / len(p)
    return ClassMetrics(
        classes_covered=int((confident >= min_share * len(p)).sum()),
        class_kl=kl_to_uniform(histogram),
        mean_confidence=float(top.mean()),
        histogram=histogram,
    )
