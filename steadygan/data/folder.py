"""A folder of image files (any depth) as one uint8 NCHW array of square images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from steadygan.data.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})
_PROGRESS_MIN_FILES = 500  # below this loading is quick; a bar would only flicker
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def list_images(root: Path) -> list[Path]:
    """Image files under root, sorted by relative path for a deterministic order.

    Hidden files and folders are skipped: they are editor/OS droppings such as
    .ipynb_checkpoints copies or macOS "._name.png" resource forks.
    """

    def fail(err: OSError) -> None:
        raise DataError(f"{err.filename}: cannot list folder ({err.strerror})")

    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=fail):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.extend(
            Path(dirpath, f)
            for f in filenames
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS
        )
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    """Scale so the shorter side is size, then cut the centered size x size square."""
    w, h = img.size
    scale = size / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    if (new_w, new_h) != (w, h):
        # LANCZOS anti-aliases when shrinking; BICUBIC rings less when enlarging.
        resample = Image.LANCZOS if scale < 1 else Image.BICUBIC
        img = img.resize((new_w, new_h), resample)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return img.crop((left, top, left + size, top + size))


def _decode(path: Path, mode: str) -> Image.Image:
    try:
        with Image.open(path) as img:
            # Phone photos store rotation in EXIF; apply it so faces are upright.
            return ImageOps.exif_transpose(img).convert(mode)
    except _DECODE_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: cannot decode image ({reason})") from exc


def load_image_folder(path: str | Path, image_size: int, channels: int,
                      progress: bool = True) -> np.ndarray:
    """Every image under path as uint8 (N, channels, image_size, image_size).

    channels 1 converts to grayscale ("L"), 3 to "RGB". Files with other
    extensions are ignored; an image that fails to decode is an error.
    A progress bar shows on large folders unless progress is False.
    """
    if channels not in (1, 3):
        raise DataError(f"channels={channels}: expected 1 (grayscale) or 3 (RGB)")
    if image_size < 1:
        raise DataError(f"image_size={image_size}: must be a positive number of pixels")
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: image folder does not exist")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected a folder of images)")
    files = list_images(root)
    if not files:
        exts = " ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"{root}: no images found (searched subfolders for {exts})")

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(files), channels, image_size, image_size), dtype=np.uint8)
    bar = tqdm(
        files, desc="loading images", unit="img", leave=False,
        disable=not progress or len(files) <= _PROGRESS_MIN_FILES,
    )
    for i, file in enumerate(bar):
        pixels = np.asarray(resize_center_crop(_decode(file, mode), image_size))
        out[i] = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return out
