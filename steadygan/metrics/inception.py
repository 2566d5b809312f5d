"""Inception FID for RGB image folders (faces and the like), through the optional torch-fidelity.

Inception features are the literature's instrument for natural images, and the wrong one for
digits (use the domain FID there). torch-fidelity downloads its Inception weights once, on first
use, so this needs the network the first time; nothing here pretends to have run without it.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from steadygan.config import ConfigError

INSTALL_HINT = ("Inception FID needs the optional extra: pip install 'steadygan[inception]' "
                "(torch-fidelity; it downloads the Inception weights once, on first use)")


def write_png_folder(images: np.ndarray, folder: Path) -> None:
    """uint8 (N, C, H, W) -> folder/000000.png ...; grayscale saved as RGB for Inception."""
    for i, image in enumerate(images):
        hwc = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image
        Image.fromarray(np.ascontiguousarray(hwc.transpose(1, 2, 0))).save(folder / f"{i:06d}.png")


def inception_fid(images: np.ndarray, reference_dir: str | Path, cuda: bool = False) -> float:
    """FID between generated uint8 images (N, C, H, W) and the images in reference_dir."""
    reference_dir = Path(reference_dir)
    if not reference_dir.is_dir():
        raise ConfigError(f"{reference_dir}: reference image folder not found")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(f"inception FID: expected uint8 images (N, 1|3, H, W), got "
                          f"{images.dtype} {images.shape}")
    try:
        import torch_fidelity
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    with tempfile.TemporaryDirectory(prefix="steadygan_inception_") as tmp:
        write_png_folder(images, Path(tmp))
        metrics = torch_fidelity.calculate_metrics(input1=tmp, input2=str(reference_dir), fid=True,
                                                   cuda=cuda, verbose=False)
    return float(metrics["frechet_inception_distance"])
