"""The index page of a folder of runs: one row per run, linking to its own report."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from steadygan.report.markup import esc, img, page, section, table
from steadygan.report.rundata import RunData
from steadygan.report.summary import fmt, live_text, summarize

_MAX_CSV_ROWS = 1000  # a results table longer than this is cut, with a note
THUMBNAIL_PX = 96  # per-run thumbnail size in the index


def render_index(folder: Path, runs: list[tuple[RunData, Path]], out: Path) -> str:
    """`runs`: each run with the path of its own report; links are relative to `out`."""
    title = f"steadygan report: {folder.resolve().name}"
    rows = []
    for run, report in runs:
        s = summarize(run)
        link = quote(Path(os.path.relpath(report.resolve(), out.resolve().parent)).as_posix())
        has = bool(s.last)
        fid = (run.eval_json or {}).get("fid", (run.eval_json or {}).get("modes_covered"))
        rows.append((f'<a href="{esc(link)}">{esc(run.name)}</a>',
                     "—" if s.steps is None else f"{s.steps:,}",
                     fmt(s.d_acc) if has else "—", fmt(s.g_acc) if has else "—",
                     esc(live_text(s.best_live, s.live_kind)),
                     "—" if fid is None else esc(fmt(fid)),
                     _thumbnail(run.final_sample, run.name),
                     esc("; ".join(run.notes)) or "—"))
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="sub">{len(runs)} run(s) in {esc(str(folder))}</p>',
            table(("run", "steps", "final D-acc", "final G-acc", "best live FID / modes",
                   "eval.json FID / modes", "final samples", "missing or damaged"), rows,
                  raw=True),
            _heatmap(folder / "heatmap.png"), _results_csv(folder / "results.csv")]
    return page(title, "".join(body))


def _thumbnail(path: Path | None, name: str) -> str:
    """The run's final sample grid, shrunk so a sweep's hundreds of rows stay light (a few KB)."""
    if path is None or not path.is_file():
        return "—"
    try:
        with Image.open(path) as picture:
            picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            png = io.BytesIO()
            picture.save(png, format="PNG")
    except (OSError, ValueError):
        return "unreadable"
    return img(png.getvalue(), f"final samples of {name}")


def _heatmap(path: Path) -> str:
    """The sweep's heatmap (written by `steadygan sweep`), embedded like every other image."""
    if not path.is_file():
        return ""
    try:
        return section("Sweep heatmap", img(path.read_bytes(), "sweep heatmap"), "heatmap")
    except OSError as exc:
        return section("Sweep heatmap", f"<p>heatmap.png is unreadable ({esc(str(exc))}).</p>",
                       "heatmap")


def _results_csv(path: Path) -> str:
    if not path.is_file():
        return ""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return section("results.csv", f"<p>results.csv is unreadable ({esc(str(exc))}).</p>",
                       "results")
    if not rows:
        return section("results.csv", "<p>results.csv is empty.</p>", "results")
    header, data = rows[0], rows[1:]
    note = (f"<p>First {_MAX_CSV_ROWS} of {len(data)} rows.</p>" if len(data) > _MAX_CSV_ROWS
            else "")
    return section("results.csv", table(header, data[:_MAX_CSV_ROWS]) + note, "results")
