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
# channels 0: a folder is grayscale when every image's channels agree within this many levels
# (a grayscale picture saved as a colour JPEG drifts a few levels between them)
GRAY_TOLERANCE = 8
_CHUNK = 1024  # images per pass of the channel checks, so that no pass copies the whole folder


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
    if path.exists() and not path.is_file():  # a named pipe would block the read forever
        raise DataError(f"{path}: not a regular file (a named pipe or a device)")
    try:
        with Image.open(path) as img:
            # Phone photos store rotation in EXIF; apply it so faces are upright.
            return _to_8_bits(ImageOps.exif_transpose(img)).convert(mode)
    except _DECODE_ERRORS as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: cannot decode image ({reason})") from exc


def _to_8_bits(img: Image.Image) -> Image.Image:
    """A 16-bit or 32-bit grayscale image scaled to 0..255: Pillow's own conversion to "L"
    clips such pixels at 255, which turns most 16-bit scans white."""
    if img.mode not in ("I", "F") and not img.mode.startswith("I;16"):
        return img
    pixels = np.asarray(img, dtype=np.float64)
    top = float(pixels.max(initial=0.0))
    if img.mode.startswith("I;16") or top > 255:
        pixels = pixels / 257.0  # 65535 -> 255
    elif img.mode == "F" and top <= 1.0:
        pixels = pixels * 255.0  # floats in [0, 1]
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))  # "L"


def load_image_folder(path: str | Path, image_size: int, channels: int,
                      progress: bool = True) -> np.ndarray:
    """Every image under path as uint8 (N, channels, image_size, image_size).

    channels 1 converts to grayscale ("L"), 3 to "RGB", 0 to what the images
    are: grayscale when no image has colour (GRAY_TOLERANCE), else RGB. Files
    with other extensions are ignored; an image that fails to decode is an
    error. A progress bar shows on large folders unless progress is False.
    """
    if channels not in (0, 1, 3):
        raise DataError(f"channels={channels}: expected 1 (grayscale), 3 (RGB) or 0 (as the "
                        "images are)")
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
    out = np.empty((len(files), len(mode), image_size, image_size), dtype=np.uint8)
    bar = tqdm(
        files, desc="loading images", unit="img", leave=False,
        disable=not progress or len(files) <= _PROGRESS_MIN_FILES,
    )
    for i, file in enumerate(bar):
        pixels = np.asarray(resize_center_crop(_decode(file, mode), image_size))
        out[i] = pixels[None] if mode == "L" else pixels.transpose(2, 0, 1)
    if channels == 0 and not has_colour(out):
        return luma(out)
    return out


def has_colour(rgb: np.ndarray) -> bool:
    """Whether some pixel's channels of uint8 (N, 3, H, W) differ by more than GRAY_TOLERANCE."""
    for start in range(0, len(rgb), _CHUNK):
        chunk = rgb[start:start + _CHUNK].astype(np.int16)
        spread = chunk.max(axis=1) - chunk.min(axis=1)
        if spread.max() > GRAY_TOLERANCE:
            return True
    return False


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 (N, 3, H, W) -> (N, 1, H, W) by Pillow's "L" conversion (ITU-R 601-2 weights in
    16-bit fixed point), so that an image whose channels are equal keeps its values exactly."""
    weights = np.array([19595, 38470, 7471], dtype=np.uint32)[None, :, None, None]
    out = np.empty((len(rgb), 1) + rgb.shape[2:], dtype=np.uint8)
    for start in range(0, len(rgb), _CHUNK):
        chunk = rgb[start:start + _CHUNK].astype(np.uint32)
        out[start:start + _CHUNK] = ((chunk * weights).sum(axis=1, keepdims=True) + 32768) >> 16
    return out
