"""The report page of one run: headline, diagnoses, plots, sample grids, evaluation, config."""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from steadygan.health.detectors import still_improving
from steadygan.metrics.classes import share_rows, shares_in
from steadygan.report.diagnoses import diagnoses_html
from steadygan.report.markup import esc, img, page, section, table
from steadygan.report.plots import Plot, all_plots
from steadygan.report.rundata import RunData, number
from steadygan.report.summary import Summary, fmt, live_text, summarize
from steadygan.train.timing import SECTIONS

MAX_GRIDS = 6  # evenly spaced step grids shown, besides final.png
_MAX_ACTIONS = 200  # controller actions listed in the table (all of them are marked in the plot)


def pick_evenly(items: list, k: int = MAX_GRIDS) -> list:
    """Up to k items spread over the list, first and last included."""
    if len(items) <= k:
        return list(items)
    picks = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in picks]


def render_run(run: RunData) -> str:
    summary = summarize(run)
    title = f"steadygan report: {run.name}"
    made = time.strftime("%Y-%m-%d %H:%M")
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="sub">{esc(str(run.path))} &middot; report written {made}</p>',
            _notes(run), _headline(run, summary),
            section("Diagnoses", diagnoses_html(
                run.diagnoses, run.train[-1].get("step") if run.train else None,
                still_improving(run.evals)), "diagnoses"),
            section("Training curves", _plots(all_plots(run)), "plots"),
            section("Samples", _samples(run, summary), "samples"),
            _actions(run), _evaluation(run), _timings(run),
            section("Configuration (config.toml)", _config(run), "config")]
    return page(title, "".join(body))


def _notes(run: RunData) -> str:
    if not run.notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in run.notes)
    return f'<div class="notes"><strong>Missing or damaged:</strong><ul>{items}</ul></div>'


def _card(key: str, value: str) -> str:
    return (f'<div class="card"><div class="k">{esc(key)}</div>'
            f'<div class="v">{esc(value)}</div></div>')


def _headline(run: RunData, s: Summary) -> str:
    configured = run.setting("train", "steps", 0)
    steps = "—" if s.steps is None else f"{s.steps:,}"
    if s.steps is not None and isinstance(configured, int) and configured > 0:
        steps += f" of {configured:,}"
    last = s.last

    def value(v: float) -> str:
        return fmt(v) if last else "—"  # NaN in a failing run is shown; no record is a dash

    cards = [_card("steps", steps), _card("D-acc (mean of real, fake)", value(s.d_acc)),
             _card("G-acc", value(s.g_acc)), _card("D(x)", value(number(last, "d_real"))),
             _card("D(G(z))", value(number(last, "d_fake"))),
             _card("loss D / G",
                   f"{value(number(last, 'loss_d'))} / {value(number(last, 'loss_g'))}"),
             _card("images/s", value(number(last, "img_per_s")))]
    if s.live_kind == "fid":
        cards.append(_card("best live FID", live_text(s.best_live, s.live_kind)))
    elif s.live_kind == "modes":
        cards.append(_card("best live modes", live_text(s.best_live, s.live_kind)))
    ev = run.eval_json or {}
    for key, label in (("fid", "eval FID"), ("inception_fid", "eval Inception FID"),
                       ("modes_covered", "eval modes"), ("classes_covered", "eval classes"),
                       ("precision", "eval precision"), ("recall", "eval recall")):
        if key in ev:
            cards.append(_card(label, fmt(ev[key])))
    return f'<div class="cards">{"".join(cards)}</div>'


def _plots(plots: list[Plot]) -> str:
    if not plots:
        return "<p>No plots: the run has no training records in metrics.jsonl.</p>"
    figures = "".join(f'<figure>{img(p.png, p.title, "plot")}'
                      f"<figcaption>{esc(p.caption)}</figcaption></figure>" for p in plots)
    return f'<div class="plots">{figures}</div>'


def _sample_figure(path: Path, label: str) -> tuple[str, str | None]:
    """(figure HTML, None) or ("", note) when the PNG cannot be read (a torn or foreign file)."""
    try:
        png = path.read_bytes()
        with Image.open(io.BytesIO(png)) as picture:
            picture.verify()
            fmt_, width = picture.format, picture.size[0]
    except (OSError, UnidentifiedImageError, SyntaxError, Image.DecompressionBombError) as exc:
        return "", f"{path.parent.name}/{path.name} is unreadable ({exc})"
    if fmt_ != "PNG":
        return "", f"{path.parent.name}/{path.name} is not a PNG"
    klass = "pixel" if width < 400 else ""  # small digit grids: keep pixels sharp when enlarged
    return f"<figure>{img(png, label, klass)}<figcaption>{esc(label)}</figcaption></figure>", None


def _samples(run: RunData, s: Summary) -> str:
    grids = pick_evenly(run.samples)
    chosen = [(path, f"step {step:,}") for step, path in grids]
    if run.final_sample is not None:
        chosen.append((run.final_sample, "final" + (f" (step {s.steps:,})" if s.steps else "")))
    if run.walk_sample is not None:
        chosen.append((run.walk_sample, "latent walks: each row a great circle in z"))
    figures, lines = [], []
    for path, label in chosen:
        figure, note = _sample_figure(path, label)
        figures.append(figure)
        lines += [note] if note else []
    if not run.samples:
        lines.insert(0, "no step grids in samples/")
    if run.final_sample is None:
        lines.append("samples/final.png is missing (the run did not finish)")
    out = (f"<p>{len(grids)} of {len(run.samples)} saved grid(s), evenly spaced; every grid "
           "shows the same fixed latents.</p>" if run.samples else "")
    out += f'<div class="samples">{"".join(figures)}</div>' if any(figures) else ""
    return out + "".join(f"<p><em>{esc(line)}</em></p>" for line in lines)


def _actions(run: RunData) -> str:
    """Controller actions and rollbacks in step order, every field they carry."""
    events = sorted(run.balance + run.rollbacks, key=lambda r: number(r, "step"))
    if not events:
        return ""
    keys = sorted({k for r in events for k in r} - {"kind", "step", "time"})
    rows = [[fmt(int(number(r, "step"))), str(r.get("kind"))] + [fmt(r.get(k)) for k in keys]
            for r in events[:_MAX_ACTIONS]]
    more = (f"<p>{len(events) - _MAX_ACTIONS} more not listed.</p>"
            if len(events) > _MAX_ACTIONS else "")
    return section("Balance controller actions and rollbacks",
                   table(["step", "kind", *keys], rows) + more, "actions")


def _evaluation(run: RunData) -> str:
    if run.eval_json is None:
        body = "<p>No eval.json (run <code>steadygan eval RUN</code> to measure the generator).</p>"
    else:
        ev = run.eval_json
        rows = [(k, fmt(v)) for k, v in ev.items()
                if isinstance(v, (int, float, str, bool)) or v is None]
        shares = shares_in(ev)
        if shares:
            rows += share_rows(shares)
        body = table(("metric", "value"), rows)
        if run.eval_nearest is not None:
            figure, note = _sample_figure(run.eval_nearest, "the samples nearest a training "
                                          "image (top), each above that image")
            body += (f'<div class="samples">{figure}</div>' if figure
                     else f"<p><em>{esc(note)}</em></p>")
    return section("Evaluation (eval.json)", body, "evaluation")


def _timings(run: RunData) -> str:
    """One row per stretch of training (a resumed run has several): seconds and shares."""
    if not run.timings:
        return ""
    parts = ["steps", *SECTIONS]
    rows = []
    for t in run.timings:
        wall = max(number(t, "wall_s"), 1e-9)
        rows.append([f"{fmt(t.get('from_step'))} - {fmt(t.get('step'))}", f"{wall:.1f}"]
                    + [f"{number(t, f'{p}_s'):.1f} ({100 * number(t, f'{p}_s') / wall:.0f} %)"
                       for p in parts])
    return section("Where the time went",
                   "<p>Wall seconds of each stretch of training, and their shares.</p>"
                   + table(["stretch (steps)", "wall s", "training steps", *SECTIONS], rows),
                   "timing")


def _config(run: RunData) -> str:
    if run.config_text is None:
        return "<p>config.toml is missing or unreadable.</p>"
    return f"<pre>{esc(run.config_text)}</pre>"
