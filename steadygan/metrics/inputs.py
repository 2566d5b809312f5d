"""Validation shared by every metric: images are uint8 0..255, one channel, 28x28.

Digits of 32 or 64 pixels (a DCGAN trained at those sizes) are measured at 28x28: resized down
with Lanczos' filter, real MNIST digits made 32 or 64 pixels as a folder's are (bicubic) and
brought back score a domain FID of 0.59 and 0.58 against the test set, where the same 10,000
digits unresized score 0.20 (down with a bilinear filter: 3.2; 2026-11-29). Made 32 or 64 pixels
as --data mnist / bundled make them (bilinear, blurrier), 1.8: the floor of such runs. A trained
DCGAN scores 20 to 30.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

IMAGE_SIZE = 28
RESIZED_SIZES = (32, 64)  # measured at IMAGE_SIZE after resize_to_digits


class MetricInputError(ValueError):
    """Images a metric cannot use; the message is one line saying what is wrong."""


def require_uint8(images: object, name: str) -> np.ndarray:
    """A numpy uint8 array, or MetricInputError. Refuses float input rather than guessing its
    range: generators output [-1, 1], metrics want 0..255."""
    if not isinstance(images, np.ndarray):
        raise MetricInputError(
            f"{name}: expected a numpy uint8 array, got {type(images).__name__}"
        )
    if images.dtype != np.uint8:
        hint = (
            " (convert generator output in [-1, 1] with ((x + 1) * 127.5).round().clip(0, 255))"
            if np.issubdtype(images.dtype, np.floating)
            else ""
        )
        raise MetricInputError(f"{name}: expected dtype uint8 (0..255), got {images.dtype}{hint}")
    return images


def require_some(images: np.ndarray, name: str) -> np.ndarray:
    if images.shape[0] == 0:
        raise MetricInputError(f"{name}: no images (N == 0)")
    return images


def validate_images(images: object, name: str = "images") -> np.ndarray:
    """Return images as a uint8 (N, 28, 28) array, or raise MetricInputError.

    Accepts (N, 28, 28) or (N, 1, 28, 28); 32 and 64-pixel images are resized to 28 here, so
    every digit metric measures them alike (see the module's docstring).
    """
    images = require_uint8(images, name)
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise MetricInputError(
                f"{name}: expected 1 channel (grayscale), got {images.shape[1]} "
                f"in shape {images.shape} (channels go in axis 1)"
            )
        images = images[:, 0]
    elif images.ndim != 3:
        raise MetricInputError(
            f"{name}: expected shape (N, 28, 28) or (N, 1, 28, 28), got {images.shape}"
        )
    side = images.shape[1]
    if images.shape[2] == side and side in RESIZED_SIZES:
        images = resize_to_digits(images)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        resized = " / ".join(f"{s}x{s}" for s in RESIZED_SIZES)
        raise MetricInputError(
            f"{name}: expected {IMAGE_SIZE}x{IMAGE_SIZE} images (or {resized}, measured at "
            f"{IMAGE_SIZE}x{IMAGE_SIZE}), got {images.shape[1]}x{images.shape[2]} in shape "
            f"{images.shape}"
        )
    return require_some(images, name)


def resize_to_digits(images: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S) images at MNIST's 28x28, by Lanczos' filter (see the module's docstring)."""
    if len(images) == 0:  # np.stack of nothing fails; require_some names the problem
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    size = (IMAGE_SIZE, IMAGE_SIZE)
    return np.stack([np.asarray(Image.fromarray(image).resize(size, Image.LANCZOS))
                     for image in images])


def validate_features(features: object, name: str = "features", min_n: int = 1) -> np.ndarray:
    """Return features as a finite float64 (N, D) array with N >= min_n, or raise."""
    if not isinstance(features, np.ndarray):
        raise MetricInputError(f"{name}: expected a numpy array, got {type(features).__name__}")
    dtype = features.dtype
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise MetricInputError(f"{name}: expected real numbers, got dtype {features.dtype}")
    if features.ndim != 2 or features.shape[1] == 0:
        raise MetricInputError(f"{name}: expected shape (N, D) with D >= 1, got {features.shape}")
    if features.shape[0] < min_n:
        raise MetricInputError(
            f"{name}: {features.shape[0]} samples, this metric needs at least {min_n}"
        )
    features = features.astype(np.float64, copy=False)
    if not np.isfinite(features).all():
        bad = int((~np.isfinite(features)).any(axis=1).sum())
        raise MetricInputError(f"{name}: {bad} of {features.shape[0]} rows hold NaN or inf")
    return features


def check_same_dim(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[1] != b.shape[1]:
        raise MetricInputError(
            f"{names[0]} has {a.shape[1]}-d features but {names[1]} has {b.shape[1]}-d"
        )
