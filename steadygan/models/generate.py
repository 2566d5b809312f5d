"""Turning latents into uint8 images with a generator, in eval mode."""
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
