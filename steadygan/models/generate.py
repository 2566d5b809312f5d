"""Turning latents into uint8 images with a generator, in eval mode."""
from __future__ import annotations

import numpy as np
import torch

from steadygan.data.sources import to_uint8


@torch.no_grad()
def generate(G: torch.nn.Module, z: torch.Tensor, batch: int = 1024) -> np.ndarray:
    """uint8 images (N, C, H, W) from latents; BatchNorm uses its running statistics."""
    was_training = G.training
    G.eval()
    out = [to_uint8(G(chunk).float()) for chunk in z.split(batch)]
    G.train(was_training)
    return np.concatenate(out)
