"""Turning latents into uint8 images with a generator, in eval mode; latent walks."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from steadygan.data.sources import to_uint8


@torch.no_grad()
def generate(G: torch.nn.Module, z: torch.Tensor, batch: int = 1024,
             to_numpy: Callable[[torch.Tensor], np.ndarray] = to_uint8) -> np.ndarray:
    """G's outputs for the latents, in eval mode (BatchNorm uses its running statistics), as
    uint8 images (N, C, H, W) by default; G's training mode is restored afterwards."""
    was_training = G.training
    G.eval()
    out = [to_numpy(G(chunk).float()) for chunk in z.split(batch)]
    G.train(was_training)
    return np.concatenate(out)


def walk_latents(walks: int, steps: int, z_dim: int, seed: int) -> torch.Tensor:
    """(walks * steps, z_dim) latents, walk by walk: `steps` points along the great circle between
    two N(0, I) latents drawn with `seed`, for each of `walks` pairs."""
    ends = torch.randn(2, walks, z_dim, generator=torch.Generator().manual_seed(seed))
    return slerp(ends[0], ends[1], torch.linspace(0, 1, steps)).flatten(0, 1)


def slerp(start: torch.Tensor, end: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of `start` and `end` (B, D) at the fractions t (T,):
    (B, T, D). Gaussian latents live near a sphere; a straight line between two of them passes
    through short vectors G rarely saw in training, whose images look washed out."""
    a, b = start[:, None, :], end[:, None, :]
    cos = torch.nn.functional.cosine_similarity(start, end, dim=1).clamp(-1, 1)
    angle = torch.acos(cos)[:, None, None]
    t = t[None, :, None]
    sin = torch.sin(angle)
    parallel = sin.abs() < 1e-6  # (anti)parallel ends: the circle is undefined, walk the line
    safe = torch.where(parallel, torch.ones_like(sin), sin)
    circle = (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / safe
    return torch.where(parallel, (1 - t) * a + t * b, circle)
