"""`steadygan report`: decide what a path is (one run, or a folder of runs) and write the HTML."""
from __future__ import annotations

from pathlib import Path

from steadygan.atomic import atomic_write_text
from steadygan.config import ConfigError
from steadygan.outputs import output_file
from steadygan.report.index import render_index
from steadygan.report.rundata import is_run_dir, load_run
from steadygan.report.runpage import render_run

REPORT_NAME = "report.html"


def make_report(path: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write the report of a run directory (default RUN/report.html), or for a folder of runs
    each run's report plus an index (default DIR/report.html). Returns the files written,
    the one asked for first."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (give a run directory or a folder of runs)")
    if not path.is_dir():
        raise ConfigError(f"{path}: not a directory (give a run directory or a folder of runs)")
    target = output_file(out, "--out", ".html") if out else path / REPORT_NAME
    if is_run_dir(path):
        _write(target, render_run(load_run(path)))
        return [target]
    try:
        # a sweep directory keeps its runs under trials/
        folders = [path] + ([path / "trials"] if (path / "trials").is_dir() else [])
        runs = sorted(p for folder in folders for p in folder.iterdir()
                      if p.is_dir() and is_run_dir(p))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot list the folder ({exc.strerror or exc})") from None
    if not runs:
        raise ConfigError(f"{path}: not a run directory (no config.toml or metrics.jsonl) and "
                          "holds no run directories")
    loaded = [(load_run(run), run / REPORT_NAME) for run in runs]
    for run, report in loaded:
        _write(report, render_run(run))
    _write(target, render_index(path, loaded, target))
    return [target] + [report for _, report in loaded]


def _write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the report ({exc.strerror or exc})") from None
