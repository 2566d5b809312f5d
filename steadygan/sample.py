"""Generate samples from a trained run: load a checkpoint's generator, draw z, write them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from steadygan.config import ConfigError, TrainConfig
from steadygan.train.checkpoint import SAMPLE_KEYS, checkpoint_config, load_checkpoint
from steadygan.train.device import resolve_device
from steadygan.train.domain import ImageDomain, PointDomain, domain_for
from steadygan.train.rundir import RunDir


class TrainedGenerator:
    """A run's generator (its EMA copy when the run kept one and `ema`), in eval mode."""

    def __init__(self, run_dir: str | Path, checkpoint: str | Path | None = None, ema: bool = True,
                 device: str = "auto") -> None:
        self.path = RunDir(run_dir).resolve_checkpoint(checkpoint)
        ckpt = load_checkpoint(self.path, needs=SAMPLE_KEYS)
        self.cfg: TrainConfig = checkpoint_config(ckpt, self.path)
        self.step = int(ckpt["step"])
        self.domain: ImageDomain | PointDomain = domain_for(self.cfg)
        self.G: nn.Module = self.domain.build_models()[0]
        self.uses_ema = ema and ckpt.get("G_ema") is not None
        self.G.load_state_dict(ckpt["G_ema"] if self.uses_ema else ckpt["G"])
        self.G.to(resolve_device(device)).eval()

    @property
    def device(self) -> torch.device:
        """Where G runs; its samples are measured there too (the classifier, Stacked MNIST)."""
        return next(self.G.parameters()).device

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n samples from z ~ N(0, I) drawn with `seed`: uint8 (n, C, H, W) images or (n, 2) points."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        z = torch.randn(n, self.cfg.model.z_dim, generator=torch.Generator().manual_seed(seed))
        return self.domain.generate(self.G, z.to(self.device))

    def walks(self, walks: int, steps: int, seed: int = 0) -> np.ndarray:
        """`walks` rows of `steps` images each (ImageDomain.walks)."""
        if isinstance(self.domain, PointDomain):
            raise ConfigError(f"{self.path}: latent walks are drawn for image runs; this one "
                              "makes 2-D points")
        if walks < 1 or steps < 2:
            raise ValueError(f"need walks >= 1 and steps >= 2, got {walks} and {steps}")
        return self.domain.walks(self.G, walks, steps, seed, self.device)

    def save_picture(self, samples: np.ndarray, path: str | Path, nrow: int | None = None) -> None:
        """A grid of images (`nrow` to a row; None: near square) or a scatter plot of points."""
        self.domain.save_samples(samples, Path(path), nrow)
