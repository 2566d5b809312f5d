"""Reports of run directories: one self-contained HTML file per run (plots, sample grids,
diagnoses, config), an index page for a folder of runs, and a TensorBoard logger."""
from __future__ import annotations

from steadygan.report.build import make_report

__all__ = ["make_report"]
