"""One entry point from a dataset name to uint8 NCHW images, plus pixel-range helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from steadygan.data.errors import DataError
from steadygan.data.folder import load_image_folder
from steadygan.data.mnist import load_bundled_mnist, load_mnist
from steadygan.data.stacked import load_stacked_mnist

DATASETS = ("bundled", "mnist", "folder", "stacked-mnist")


def mnist_to_nchw(images: np.ndarray, image_size: int, channels: int) -> np.ndarray:
    """(N, 28, 28) -> (N, channels, image_size, image_size); RGB just repeats the gray plane."""
    if image_size != images.shape[-1]:
        resized = np.empty((len(images), image_size, image_size), dtype=np.uint8)
        for i, img in enumerate(images):
            resized[i] = np.asarray(
                Image.fromarray(img).resize((image_size, image_size), Image.BILINEAR)
            )
        images = resized
    nchw = images[:, None]
    if channels == 3:
        nchw = np.repeat(nchw, 3, axis=1)
    return np.ascontiguousarray(nchw)


def load_dataset(
    name: str, data_dir: str | Path | None, image_size: int, channels: int,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images uint8 (N, channels, image_size, image_size) and labels (None for folders).

    name: "bundled" (subset shipped with the package), "mnist" (official
    training set from data_dir or the default location), "folder" (every
    image under data_dir) or "stacked-mnist" (three digits as RGB, labels
    0..999; see steadygan.data.stacked for its source).
    """
    # Messages name the config keys: these values come straight from the config.
    if name not in DATASETS:
        raise DataError(
            f"data.name={name!r}: unknown dataset (expected one of {', '.join(DATASETS)})"
        )
    if channels not in (1, 3) and not (channels == 0 and name == "folder"):
        raise DataError(f"data.channels={channels}: expected 1 (grayscale) or 3 (RGB); 0 (as "
                        "the images are) is for folders")
    if image_size < 1:
        raise DataError(f"data.image_size={image_size}: must be a positive number of pixels")
    if name == "folder":
        if data_dir is None:
            raise DataError("data.dir: required for data=folder")
        return load_image_folder(data_dir, image_size, channels, progress), None
    if name == "stacked-mnist":
        if channels != 3:
            raise DataError(f"data.channels: stacked-mnist has 3 channels, got {channels}")
        stacked, modes = load_stacked_mnist(data_dir)
        # Resize each channel as a gray MNIST digit, then regroup into RGB.
        planes = mnist_to_nchw(stacked.reshape(-1, *stacked.shape[2:]), image_size, 1)
        return planes.reshape(len(stacked), 3, image_size, image_size), modes
    images, labels = load_bundled_mnist() if name == "bundled" else load_mnist(data_dir, "train")
    return mnist_to_nchw(images, image_size, channels), labels


def to_unit_range(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 pixels -> float32 tensor in [-1, 1], the range a tanh generator emits."""
    if images_uint8.dtype != np.uint8:
        raise TypeError(f"expected uint8 images, got {images_uint8.dtype}")
    return torch.from_numpy(np.ascontiguousarray(images_uint8)).float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float tensor in [-1, 1] -> uint8 pixels (rounded, out-of-range values clamped)."""
    # Computed where the images are: from a GPU only the bytes travel, a quarter of the floats.
    # A diverged generator can emit NaN; map it to mid-gray instead of undefined bytes.
    x = torch.nan_to_num(images.detach().float(), nan=0.0)
    return x.add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()
