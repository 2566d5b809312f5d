"""`steadygan eval`: domain metrics of a run's generator, or of images made by any program."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from steadygan.config import ConfigError
from steadygan.metrics.domain import evaluate_images
from steadygan.sample import load_generator, sample_images
from steadygan.train.checkpoint import checkpoint_config, load_checkpoint
from steadygan.train.rundir import RunDir

# The order and the formats of the printed table.
_ROWS = (("fid", "domain FID", "{:.3f}"), ("kid_mean", "KID", "{:.5f}"),
         ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
         ("density", "density", "{:.3f}"), ("coverage", "coverage", "{:.3f}"),
         ("classes_covered", "classes covered", "{}/10"), ("class_kl", "class KL to uniform", "{:.4f}"),
         ("mean_confidence", "mean confidence", "{:.3f}"), ("n", "samples", "{}"))


def evaluate_run(run_dir: str | Path, n: int = 10_000, checkpoint: str | Path | None = None,
                 ema: bool = True, data_dir: str | None = None, device: str = "auto",
                 seed: int = 0) -> dict[str, Any]:
    """Sample n images from the run's generator and measure them against the MNIST test set."""
    run = RunDir(run_dir)
    path = run.resolve_checkpoint(checkpoint)
    ckpt = load_checkpoint(path)
    cfg = checkpoint_config(ckpt, path)
    if (cfg.data.image_size, cfg.data.channels) != (28, 1):
        raise ConfigError(f"{run.path}: domain metrics need 28x28 grayscale digits, this run makes "
                          f"{cfg.data.image_size}x{cfg.data.image_size}x{cfg.data.channels}")
    G = load_generator(run.path, path, ema=ema, device=device)
    result = evaluate_images(sample_images(G, n, seed), data_dir=data_dir)
    result.update(step=int(ckpt["step"]), checkpoint=str(path), ema=ema and ckpt["G_ema"] is not None,
                  seed=seed)
    return result


def evaluate_npz(path: str | Path, data_dir: str | None = None) -> dict[str, Any]:
    """Metrics of the first array in an .npz file: N x 28 x 28 or N x 1 x 28 x 28 uint8."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        with np.load(path) as archive:
            if not archive.files:
                raise ConfigError(f"{path}: holds no arrays")
            images = archive[archive.files[0]]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable .npz file ({exc})") from None
    result = evaluate_images(images, data_dir=data_dir)
    result["source"] = str(path)
    return result


def write_json(result: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def format_table(result: dict[str, Any]) -> str:
    return "\n".join(f"{label:<22}{fmt.format(result[key])}" for key, label, fmt in _ROWS
                     if key in result)
