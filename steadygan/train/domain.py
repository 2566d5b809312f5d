"""What differs between training on images and on 2-D points, behind one small interface.

The loop, the step, checkpoints and resume are the same for both; a domain says how the data is
loaded and stored on the device, which G / D pair fits it, how samples are written (image grid or
scatter plot), and which cheap evaluation picks the best checkpoint.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from steadygan.config import MIXTURE_SOURCES, TrainConfig
from steadygan.train.digits_check import DigitsCheck, check_digits
from steadygan.train import streams


def memory_format(cfg: TrainConfig) -> torch.memory_format:
    """train.memory_format as torch names it (for the models' 4-D weights and the batches)."""
    return {"channels_last": torch.channels_last,
            "contiguous": torch.contiguous_format}[cfg.train.memory_format]


WALKS = 8  # samples/walk.png: this many latent walks, of this many steps each

# A live evaluation returns its metrics and a score (lower is better) that selects best.pt.
LiveEval = Callable[[np.ndarray], tuple[dict[str, Any], float]]


class ImageDomain:
    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.memory_format = memory_format(cfg)
        self.digits_check: DigitsCheck | None = None  # a folder of grayscale images

    def load(self) -> torch.Tensor:
        """uint8 (N, C, H, W): 4x smaller on the device than float; converted per batch."""
        from steadygan.data.sources import load_dataset

        d = self.cfg.data
        images, _ = load_dataset(d.name, d.dir or None, d.image_size, d.channels,
                                 progress=self.cfg.run.progress)
        d.channels = images.shape[1]  # data.channels=0 (a folder's default): what they are
        return torch.from_numpy(images)

    def to_batch(self, stored: torch.Tensor) -> torch.Tensor:
        """uint8 -> float in [-1, 1], in the models' memory format."""
        return stored.float().div_(127.5).sub_(1.0).contiguous(memory_format=self.memory_format)

    def build_models(self) -> tuple[nn.Module, nn.Module]:
        from steadygan.models.dcgan import build_models

        return build_models(self.cfg.model, self.cfg.data.image_size, self.cfg.data.channels)

    def generate(self, G: nn.Module, z: torch.Tensor) -> np.ndarray:
        from steadygan.models.generate import generate

        return generate(G, z)

    def save_samples(self, samples: np.ndarray, path: Path, nrow: int | None = None) -> None:
        """A grid of the images, `nrow` to a row (None: near square)."""
        from steadygan.data.grid import save_grid

        save_grid(samples, path, nrow)

    def walks(self, G: nn.Module, walks: int, steps: int, seed: int,
              device: torch.device) -> np.ndarray:
        """`walks` rows of `steps` images, row by row: G along the great circle between two
        latents drawn with `seed`. Smooth rows: G maps z continuously; one image repeated along
        a row: G collapsed that stretch of z onto it."""
        from steadygan.models.generate import walk_latents

        z = walk_latents(walks, steps, self.cfg.model.z_dim, seed)
        return self.generate(G, z.to(device))

    def save_walks(self, G: nn.Module, path: Path, device: torch.device) -> None:
        """WALKS latent walks of WALKS steps each, one to a row, from latents fixed by the seed."""
        images = self.walks(G, WALKS, WALKS, streams.seed_for(self.cfg, streams.WALKS), device)
        self.save_samples(images, path, nrow=WALKS)

    def live_eval(self, device: torch.device, real: torch.Tensor) -> LiveEval | None:
        """Domain FID against the shipped MNIST statistics for grayscale digits (`real`:
        the training images; a folder's must score as MNIST digits themselves), modes of 1000
        for Stacked MNIST, None for other images."""
        instrument = self.cfg.data.instrument()
        if instrument == "stacked":
            return _stacked_live_eval(device)
        if instrument != "digits":
            return None
        from steadygan.metrics.live import LiveFid

        fid = LiveFid(str(device))
        if self.cfg.data.name == "folder":
            self.digits_check = check_digits(fid, real)
            if not self.digits_check.digits:
                return None

        def evaluate(images: np.ndarray) -> tuple[dict[str, Any], float]:
            metrics = fid(images)
            return metrics, metrics["fid_live"]
        return evaluate


def _stacked_live_eval(device: torch.device) -> LiveEval:
    """Modes covered (of 1000) and KL to uniform; best.pt maximises covered modes, as for the
    mixtures. With run.eval_samples = 2,000 a generator spread evenly over every mode covers
    about 865 (1000 (1 - e^-2)) and has a KL of about 0.25: compare runs and steps by it, and
    quote `steadygan eval`'s 26,000 samples."""
    from steadygan.metrics.classifier import load_classifier
    from steadygan.metrics.stacked import stacked_modes

    classifier = load_classifier(str(device))

    def evaluate(images: np.ndarray) -> tuple[dict[str, Any], float]:
        modes = stacked_modes(images, classifier, str(device))
        return {"modes_live": modes["modes_covered"], "kl_live": modes["kl"],
                "digit_shares_live": modes["digit_shares"]}, -float(modes["modes_covered"])
    return evaluate


class PointDomain:
    """2-D Gaussian mixtures (ring8, grid25) with an MLP G / D pair."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.digits_check: DigitsCheck | None = None  # nothing about 2-D points needs checking

    def load(self) -> torch.Tensor:
        from steadygan.data.toy2d import sample_mixture

        d = self.cfg.data
        return torch.from_numpy(sample_mixture(d.name, d.n_points, self.cfg.train.seed))

    def to_batch(self, stored: torch.Tensor) -> torch.Tensor:
        return stored

    def build_models(self) -> tuple[nn.Module, nn.Module]:
        from steadygan.models.mlp import MLPDiscriminator, MLPGenerator

        m = self.cfg.model
        G = MLPGenerator(m.z_dim, m.mlp_hidden, m.mlp_depth)
        D = MLPDiscriminator(m.mlp_hidden, m.mlp_depth, m.leaky_slope, m.d_dropout,
                             m.d_minibatch_std, m.pack)
        return G, D

    def generate(self, G: nn.Module, z: torch.Tensor) -> np.ndarray:
        from steadygan.models.generate import generate

        return generate(G, z, batch=4096, to_numpy=lambda points: points.cpu().numpy())

    def save_samples(self, samples: np.ndarray, path: Path, nrow: int | None = None) -> None:
        """One scatter plot of the points over the mixture's modes (nrow: images only)."""
        from steadygan.data.scatter import save_scatter
        from steadygan.data.toy2d import mixture_modes

        save_scatter(samples, path, modes=mixture_modes(self.cfg.data.name),
                     title=f"{self.cfg.data.name}: {len(samples)} samples")

    def save_walks(self, G: nn.Module, path: Path, device: torch.device) -> None:
        """Nothing: a walk among 2-D points is a curve, not a grid of images."""

    def live_eval(self, device: torch.device, real: torch.Tensor) -> LiveEval:
        """Modes covered and high-quality share; best.pt maximises covered modes, then quality."""
        from steadygan.metrics.toy2d import mixture_metrics

        name = self.cfg.data.name

        def evaluate(points: np.ndarray) -> tuple[dict[str, Any], float]:
            finite = points[np.isfinite(points).all(axis=1)]
            if len(finite) == 0:
                return {"modes_live": 0, "hq_live": 0.0, "reverse_kl_live": None}, math.inf
            m = mixture_metrics(finite, name)
            metrics = {"modes_live": m["modes_covered"], "hq_live": m["high_quality"],
                       "reverse_kl_live": m["reverse_kl"] if math.isfinite(m["reverse_kl"]) else None}
            return metrics, -(m["modes_covered"] + m["high_quality"])
        return evaluate


def domain_for(cfg: TrainConfig) -> ImageDomain | PointDomain:
    return PointDomain(cfg) if cfg.data.name in MIXTURE_SOURCES else ImageDomain(cfg)
