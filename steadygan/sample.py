"""Generate images from a trained run: load a checkpoint's generator, draw z, write uint8."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from steadygan.models.dcgan import Generator
from steadygan.models.generate import generate
from steadygan.train.checkpoint import checkpoint_config, load_checkpoint
from steadygan.train.device import resolve_device
from steadygan.train.rundir import RunDir


def load_generator(run_dir: str | Path, checkpoint: str | Path | None = None, ema: bool = True,
                   device: str = "auto") -> Generator:
    """The run's generator (its EMA copy when the run kept one and `ema`), in eval mode."""
    path = RunDir(run_dir).resolve_checkpoint(checkpoint)
    ckpt = load_checkpoint(path)
    cfg = checkpoint_config(ckpt, path)
    G = Generator(cfg.model, cfg.data.image_size, cfg.data.channels)
    weights = ckpt["G_ema"] if ema and ckpt.get("G_ema") is not None else ckpt["G"]
    G.load_state_dict(weights)
    return G.to(resolve_device(device)).eval()


def sample_images(G: Generator, n: int, seed: int = 0) -> np.ndarray:
    """n uint8 images (n, C, H, W) from z ~ N(0, I) drawn with `seed`."""
    if n < 1:
        raise ValueError(f"--n: must be >= 1, got {n}")
    device = next(G.parameters()).device
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    return generate(G, z)
