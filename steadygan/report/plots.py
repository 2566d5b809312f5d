"""The report's plots, drawn with matplotlib and returned as PNG bytes.

Figures are made with matplotlib's object API on an Agg canvas, never through pyplot: no global
backend switch in the caller's process, no open-figure registry to leak, works without a display.
"""
from __future__ import annotations

import importlib

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from steadygan.config import ConfigError
from steadygan.report.rundata import Record, RunData, number
from steadygan.report.summary import best_live, live_kind

STEP_LABEL = "step (generator updates)"
_SIZE, _DPI = (7.0, 3.4), 100


@dataclass
class Plot:
    title: str
    png: bytes
    caption: str = ""


def require_matplotlib() -> None:
    """Fail early, with the install command, when the optional extra is missing."""
    try:
        importlib.import_module("matplotlib.figure")
        importlib.import_module("matplotlib.backends.backend_agg")
    except ImportError:
        raise ConfigError("steadygan report needs matplotlib: pip install 'steadygan[report]'") \
            from None


def _figure() -> Any:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _series(records: list[Record], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values; Inf becomes NaN so that a diverged stretch is a gap, not a wrecked axis."""
    steps = np.array([number(r, "step") for r in records], dtype=float)
    values = np.array([number(r, key) for r in records], dtype=float)
    values[~np.isfinite(values)] = np.nan
    return steps, values


def _first_non_finite(records: list[Record], keys: tuple[str, ...]) -> float | None:
    for r in records:
        if any(k in r and not math.isfinite(number(r, k)) for k in keys):
            return number(r, "step")
    return None


def _lines(ax: Any, records: list[Record], keys: tuple[tuple[str, str], ...],
           log: bool = False) -> None:
    positive = False
    for (key, label), style in zip(keys, ("-", "--", "-.")):  # equal curves stay distinguishable
        steps, values = _series(records, key)
        ax.plot(steps, values, label=label, linewidth=1.4, linestyle=style)
        positive |= bool(np.any(values > 0))
    if log and positive:  # a log axis of no positive values would only warn and show nothing
        ax.set_yscale("log")
    bad = _first_non_finite(records, tuple(k for k, _ in keys))
    if bad is not None:
        ax.axvline(bad, color="crimson", linewidth=1.2, linestyle="-",
                   label=f"non-finite from step {bad:g}")


def _finish(ax: Any, ylabel: str, title: str) -> None:
    ax.xaxis.get_major_locator().set_params(integer=True)  # steps are whole numbers
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # beside the axes: inside, it hides the curves
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def plot_losses(run: RunData) -> Plot:
    fig = _figure()
    ax = fig.add_subplot()
    _lines(ax, run.train, (("loss_d", "D loss"), ("loss_g", "G loss")))
    loss = run.setting("train", "loss", "bce")
    unit = "loss (nats, binary cross-entropy)" if loss == "bce" else f"loss ({loss})"
    _finish(ax, unit, "Losses")
    return Plot("Losses", _png(fig),
                "D's and G's training losses, averaged over each logging window.")


def plot_accuracy(run: RunData) -> Plot:
    fig = _figure()
    ax = fig.add_subplot()
    low, high = run.setting("balance", "band_low"), run.setting("balance", "band_high")
    caption = ("Share of each batch D classifies correctly; G accuracy is the share of fakes "
               "D calls real.")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
        ax.axhspan(low, high, color="tab:green", alpha=0.12,
                   label=f"target band [{low:g}, {high:g}]")
        mode = run.setting("balance", "mode", "?")
        caption += (" Shaded: the target band for D accuracy ([balance] band_low / band_high; "
                    f"controller mode {mode}).")
    _lines(ax, run.train, (("d_acc_real", "D acc. on real"), ("d_acc_fake", "D acc. on fake"),
                           ("g_acc", "G acc. (fakes called real)")))
    steps, real = _series(run.train, "d_acc_real")
    _, fake = _series(run.train, "d_acc_fake")
    ax.plot(steps, 0.5 * (real + fake), color="black", linewidth=1.0, alpha=0.6,
            label="D acc. (mean)")
    ax.axhline(0.5, color="gray", linestyle="--", linewidth=1.0, label="0.5 (balanced)")
    if any("augment_p" in r for r in run.train):  # adaptive augmentation follows D on real
        steps, p = _series(run.train, "augment_p")
        ax.plot(steps, p, color="tab:brown", linewidth=1.4, linestyle=":",
                label="augmentation p")
        caption += (" Dotted brown: the probability p of each augmentation, which rises while "
                    f"D's accuracy on real images is above {run.setting('train', 'augment_target')}"
                    " (train.augment_target).")
    ax.set_ylim(-0.03, 1.03)
    _finish(ax, "accuracy (share of batch, 0-1)", "D and G accuracy")
    return Plot("D and G accuracy", _png(fig), caption)


def plot_learning_rates(run: RunData) -> Plot:
    fig = _figure()
    ax = fig.add_subplot()
    _lines(ax, run.train, (("lr_g", "G learning rate"), ("lr_d", "D learning rate")), log=True)
    actions = _marks(ax, run.balance, "tab:purple", ":", "controller action")
    rollbacks = _marks(ax, run.rollbacks, "crimson", "--", "rollback")
    _finish(ax, "learning rate (Adam, per step, log)", "Learning rates")
    caption = (f"Dotted lines: the {actions} balance-controller action(s)." if actions
               else "No balance-controller actions recorded.")
    if rollbacks:
        caption += f" Dashed red: {rollbacks} rollback(s) to a checkpoint with halved rates."
    return Plot("Learning rates", _png(fig), caption)


def _marks(ax: Any, records: list[Record], color: str, style: str, label: str) -> int:
    """A vertical line at the step of each record, one legend entry; returns how many."""
    steps = [s for s in (number(r, "step") for r in records) if math.isfinite(s)]
    for i, step in enumerate(steps):
        ax.axvline(step, color=color, linestyle=style, linewidth=1.0,
                   label=f"{label} ({len(steps)})" if i == 0 else None)
    return len(steps)


def plot_grad_norms(run: RunData) -> Plot:
    fig = _figure()
    ax = fig.add_subplot()
    _lines(ax, run.train, (("grad_norm_d", "D gradient norm"), ("grad_norm_g", "G gradient norm")),
           log=True)
    _finish(ax, "gradient L2 norm (log)", "Gradient norms")
    return Plot("Gradient norms", _png(fig), "L2 norm of all parameter gradients, per network.")


def plot_d_outputs(run: RunData) -> Plot:
    fig = _figure()
    ax = fig.add_subplot()
    _lines(ax, run.train, (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")))
    ax.axhline(0.5, color="gray", linestyle="--", linewidth=1.0)
    ax.set_ylim(-0.03, 1.03)
    _finish(ax, "mean D output (probability, 0-1)", "D(x) and D(G(z))")
    return Plot("D(x) and D(G(z))", _png(fig),
                "D's mean sigmoid output on real and on generated batches.")


def plot_live_eval(run: RunData) -> Plot | None:
    """Live FID (digits) or modes and quality (2-D mixtures) over time, best.pt's step marked."""
    kind = live_kind(run.evals)
    if kind is None:
        return None
    fig = _figure()
    best = best_live(run.evals, kind)
    if kind == "fid":
        _live_fid(fig, run.evals, best)
        caption = ("FID of fixed-latent samples against the shipped MNIST statistics; the star "
                   "marks the step of checkpoints/best.pt.")
    else:
        _live_modes(fig, run.evals, best)
        second = ("KL of the mode histogram to uniform" if any("kl_live" in r for r in run.evals)
                  else "the share of samples within 3 std of a mode")
        caption = (f"Modes covered, and {second}; the dashed line marks the step of "
                   "checkpoints/best.pt.")
    return Plot("Live evaluation", _png(fig), caption)


def _live_fid(fig: Any, evals: list[Record], best: Record | None) -> None:
    ax = fig.add_subplot()
    steps, fid = _series(evals, "fid_live")
    ax.plot(steps, fid, marker="o", markersize=3, label="live FID")
    if best is not None:
        step, value = number(best, "step"), number(best, "fid_live")
        ax.plot([step], [value], marker="*", markersize=14, color="tab:red", linestyle="none",
                label=f"best: {value:.3g} at step {step:g}")
    _finish(ax, "domain FID (classifier features, lower is better)", "Live evaluation")


def _live_modes(fig: Any, evals: list[Record], best: Record | None) -> None:
    # two panels on one step axis: a count and a percentage do not share a y axis well
    top, bottom = fig.subplots(2, 1, sharex=True)
    steps, modes = _series(evals, "modes_live")
    stacked = any("kl_live" in r for r in evals)  # Stacked MNIST: KL where mixtures have quality
    top.plot(steps, modes, marker="o", markersize=3, color="tab:blue")
    seen = modes[np.isfinite(modes)]
    top.set_ylim(-0.3, max(1.0, float(seen.max()) if seen.size else 1.0) * 1.1 + 0.3)
    top.yaxis.get_major_locator().set_params(integer=True, nbins=4)
    if stacked:
        _, kl = _series(evals, "kl_live")
        bottom.plot(steps, kl, marker="s", markersize=3, color="tab:orange")
    else:
        _, hq = _series(evals, "hq_live")
        bottom.plot(steps, 100 * hq, marker="s", markersize=3, color="tab:orange")
        bottom.set_ylim(-3, 103)
    if best is not None:
        step = number(best, "step")
        for panel, label in ((top, f"best at step {step:g}"), (bottom, None)):
            panel.axvline(step, color="tab:red", linestyle="--", linewidth=1.2, label=label)
    _finish(top, "modes covered", "Live evaluation")
    _finish(bottom, "KL to uniform modes (nats)" if stacked else "high quality (%)", "")
    top.set_xlabel("")


def all_plots(run: RunData) -> list[Plot]:
    """The training-curve plots (none without training records) and the live evaluation."""
    plots = []
    if run.train:
        plots = [plot_losses(run), plot_accuracy(run), plot_learning_rates(run),
                 plot_grad_norms(run), plot_d_outputs(run)]
    live = plot_live_eval(run)
    return plots + ([live] if live is not None else [])
