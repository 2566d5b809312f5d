"""Tile a batch of images into one PNG (sample sheets during and after training)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from steadygan.atomic import atomic_writer


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) -> one uint8 (C, rows*(H+p)+p, nrow*(W+p)+p) canvas, black gaps.

    nrow is images per row (torchvision's meaning); None picks a near-square grid.
    """
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"expected uint8 images shaped (N>0, 1|3, H, W), got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    if padding < 0:
        raise ValueError(f"padding={padding}: must be >= 0")
    n, c, h, w = images.shape
    ncol = min(n, nrow if nrow is not None else math.ceil(math.sqrt(n)))
    if ncol < 1:
        raise ValueError(f"nrow={nrow}: must be >= 1")
    nrows = math.ceil(n / ncol)
    height, width = nrows * (h + padding) + padding, ncol * (w + padding) + padding
    canvas = np.zeros((c, height, width), dtype=np.uint8)
    for i, img in enumerate(images):
        top = padding + (i // ncol) * (h + padding)
        left = padding + (i % ncol) * (w + padding)
        canvas[:, top : top + h, left : left + w] = img
    return canvas


def save_grid(
    images: np.ndarray, path: str | Path, nrow: int | None = None, padding: int = 2
) -> None:
    """Write make_grid(images) as a PNG (grayscale for C=1, RGB for C=3), atomically."""
    canvas = make_grid(images, nrow, padding)
    picture = Image.fromarray(canvas[0] if canvas.shape[0] == 1 else canvas.transpose(1, 2, 0))
    with atomic_writer(path) as out:
        picture.save(out, format="PNG")
