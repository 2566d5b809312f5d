"""Scatter plots of 2-D samples as PNG, drawn with Pillow (no matplotlib here).

White background, an axes box labelled with its range, samples as small dark dots, the
real modes as small red circles on top so collapse onto a subset of modes is visible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from steadygan.atomic import atomic_writer

_MARGIN = 0.06  # share of the image left around the axes box for labels
_DOT = (40, 40, 60)
_MODE = (230, 0, 0)
_AXES = (120, 120, 120)


def default_extent(points: np.ndarray, modes: np.ndarray | None) -> float:
    """Half-width of the square view: 1.5 x the farthest mode coordinate (ring8 1.5,
    grid25 6), else 1.1 x the farthest finite sample coordinate, else 1."""
    if modes is not None and len(modes):
        reach, scale = float(np.abs(modes).max()), 1.5
    else:
        finite = points[np.isfinite(points).all(axis=1)]
        reach, scale = (float(np.abs(finite).max()) if len(finite) else 0.0), 1.1
    return reach * scale if reach > 0 else 1.0


def _as_points(values: object, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{what}: expected shape (N, 2), got {array.shape}")
    return array


def save_scatter(points: object, path: str | Path, modes: np.ndarray | None = None,
                 size: int = 512, extent: float | None = None, title: str | None = None) -> None:
    """Draw points (N, 2) in the square [-extent, extent]^2 and write a size x size PNG.

    Points outside the view or not finite are not drawn; their count is printed above the
    top-right corner of the box, so a diverged generator does not look like an empty plot.
    The write is atomic (temp file + rename) and parent folders are created.
    """
    points = _as_points(points, "points")
    mode_xy = _as_points(modes, "modes") if modes is not None else None
    if size < 64:
        raise ValueError(f"size={size}: must be >= 64 pixels")
    extent = default_extent(points, mode_xy) if extent is None else float(extent)
    if not (np.isfinite(extent) and extent > 0):
        raise ValueError(f"extent={extent}: must be a positive number")

    margin = round(size * _MARGIN)
    box = size - 2 * margin  # pixels across the axes box

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        # y grows upward in the data and downward in the image.
        u = (xy[:, 0] + extent) / (2 * extent) * (box - 1) + margin
        v = (extent - xy[:, 1]) / (2 * extent) * (box - 1) + margin
        return np.stack([u, v], axis=1)

    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    inside = np.isfinite(points).all(axis=1)
    inside[inside] = (np.abs(points[inside]) <= extent).all(axis=1)
    pix = np.rint(to_pixels(points[inside])).astype(np.int64)
    rows, cols = pix[:, 1], pix[:, 0]
    for dv in (0, 1):  # 2x2 dots: visible at 512 px, and dense regions still read as dense
        for du in (0, 1):
            canvas[np.minimum(rows + dv, size - 1), np.minimum(cols + du, size - 1)] = _DOT

    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([margin - 1, margin - 1, margin + box, margin + box], outline=_AXES)
    if mode_xy is not None:
        radius = max(3, size // 128)
        for u, v in to_pixels(mode_xy):
            draw.ellipse([u - radius, v - radius, u + radius, v + radius], outline=_MODE, width=2)
    label = f"{extent:g}"
    below = margin + box + 2
    draw.text((margin, below), f"-{label}", fill=_AXES)
    draw.text((margin + box - draw.textlength(label), below), label, fill=_AXES)
    above = max(0, margin - 12)
    if title:
        draw.text((margin, above), title, fill=(0, 0, 0))
    hidden = int((~inside).sum())
    if hidden:
        note = f"{hidden} of {len(points)} outside"
        draw.text((margin + box - draw.textlength(note), above), note, fill=(0, 0, 0))
    with atomic_writer(path) as out:
        picture.save(out, format="PNG")
