"""The sweep's picture: success rate and median metric over its first two grid axes."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np

from steadygan.atomic import atomic_writer
from steadygan.sweep.trial import headline_metric


def save_heatmap(results: list[dict[str, Any]], axes: list[tuple[str, list[str]]],
                 path: Path) -> bool:
    """Write the heatmap PNG; False when there are fewer than two axes or no matplotlib."""
    if len(axes) < 2:
        return False
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    (key_x, xs), (key_y, ys) = axes[0], axes[1]
    metric = headline_metric(results)  # None: success (no failure diagnosis) is the whole map
    rate = np.full((len(ys), len(xs)), np.nan)
    median = np.full((len(ys), len(xs)), np.nan)
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            cell = [r for r in results if r.get(key_x) == x and r.get(key_y) == y]
            if cell:
                rate[i, j] = np.mean([bool(r.get("success")) for r in cell])
                values = [r[metric] for r in cell if metric in r]
                median[i, j] = statistics.median(values) if values else np.nan
    panels = [(rate, "success rate" if metric else "success rate (no failure diagnosis)",
               "Greens", (0.0, 1.0))]  # a rate keeps its 0..1 scale: all-zero drew mid-green
    if metric:
        panels.append((median, f"median {metric}", "viridis_r" if metric == "fid" else "viridis",
                       (None, None)))
    fig = Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    for n, (grid, title, cmap, scale) in enumerate(panels, 1):
        ax = fig.add_subplot(1, len(panels), n)
        image = ax.imshow(grid, cmap=cmap, aspect="auto", vmin=scale[0], vmax=scale[1])
        fig.colorbar(image, ax=ax)
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(key_x)
        ax.set_ylabel(key_y)
        ax.set_title(title)
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):  # white on the dark end of the color map, black elsewhere
                red, green, blue, _ = image.cmap(image.norm(value))
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                ax.text(j, i, f"{value:.2g}", ha="center", va="center",
                        color="white" if dark else "black")
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=100)
    return True
