"""Differentiable augmentation of everything D sees (DiffAugment, Zhao et al. 2020): real and
fake images alike, in D's step and in G's, so that G's gradient flows through the same random
changes and G learns the images, not the changes.

On a small folder (a few hundred images) D memorises the real images within a few hundred steps
and G collapses (BENCHMARKS.md); augmenting D's inputs is the standard remedy for limited data.
The draws come from the step's noise generator, so a resumed run draws the same ones.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

# (images, the step's noise generator or None for the device's default) -> images
Augment = Callable[[torch.Tensor, "torch.Generator | None"], torch.Tensor]


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One draw in [0, 1) per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Brightness +-0.5, saturation x [0, 2), contrast x [0.5, 1.5), each per image."""
    x = x + (_uniform(x, generator) - 0.5)
    if x.shape[1] > 1:  # grayscale has no saturation
        gray = x.mean(dim=1, keepdim=True)
        x = (x - gray) * (_uniform(x, generator) * 2) + gray
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator | None,
                ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size in each direction; the edge it uncovers
    reads 0."""
    batch, _, height, width = x.shape
    pad = max(1, round(max(height, width) * ratio))
    shift = torch.randint(-pad, pad + 1, (2, batch, 1), generator=generator, device=x.device)
    rows = torch.arange(height, device=x.device) + pad - shift[0]  # (B, H) into the padded image
    cols = torch.arange(width, device=x.device) + pad - shift[1]
    padded = F.pad(x, (pad, pad, pad, pad))
    images = torch.arange(batch, device=x.device)[:, None, None]
    moved = padded.permute(0, 2, 3, 1)[images, rows[:, :, None], cols[:, None, :]]
    return moved.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def cutout(x: torch.Tensor, generator: torch.Generator | None,
           ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of `ratio` of the image's size at a random place in each image."""
    batch, _, height, width = x.shape
    size_h, size_w = round(height * ratio), round(width * ratio)
    top = torch.randint(0, height - size_h + 1, (batch, 1, 1), generator=generator,
                        device=x.device)
    left = torch.randint(0, width - size_w + 1, (batch, 1, 1), generator=generator,
                         device=x.device)
    rows = torch.arange(height, device=x.device)[None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def _format_of(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


AUGMENTS: dict[str, Augment] = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str) -> list[str]:
    """"color,translation,cutout" -> its names in that order; "none" or "" -> []."""
    if policy.strip() in ("", "none"):
        return []
    return [name.strip() for name in policy.split(",")]


def make_augment(policy: str) -> Augment | None:
    """The composed augmentation of a policy, or None for "none"."""
    names = parse_policy(policy)
    if not names:
        return None
    steps = [AUGMENTS[name] for name in names]

    def augment(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        for step in steps:
            x = step(x, generator)
        return x
    return augment
