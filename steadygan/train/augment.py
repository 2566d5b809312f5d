"""Differentiable augmentation of everything D sees (DiffAugment, Zhao et al. 2020): real and
fake images alike, in D's step and in G's, so that G's gradient flows through the same random
changes and G learns the images, not the changes.

On a small folder (a few hundred images) D memorises the real images within a few hundred steps
and G collapses (BENCHMARKS.md); augmenting D's inputs is the standard remedy for limited data.
The draws come from the step's noise generator, so a resumed run draws the same ones.

Adaptive (train.augment_target > 0, after stylegan2-ada, Karras et al. 2020): each augmentation
changes an image with probability p, and p follows D's overfitting. At every statistics read p
moves one step up while D calls more than the target share of its (augmented) real images real,
one step down otherwise: on a folder D learns by heart, p rises until D no longer tells its real
images apart, and where D does not overfit p stays near 0 and nothing is augmented.
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


def make_augment(policy: str, probability: torch.Tensor | None = None) -> Augment | None:
    """The composed augmentation of a policy, or None for "none". With `probability` (a scalar
    tensor on the device, read at each call, so that a CUDA graph replays it with its new value)
    each augmentation changes each image with that probability; without it, every image."""
    names = parse_policy(policy)
    if not names:
        return None
    steps = [AUGMENTS[name] for name in names]

    def augment(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        for step in steps:
            changed = step(x, generator)
            if probability is None:
                x = changed
            else:  # drawn whatever p is, so that the random streams do not depend on it
                chosen = _uniform(x, generator) < probability.to(x.dtype)
                x = torch.where(chosen, changed, x)
        return x
    return augment


def adapted_probability(p: float, d_acc_real: float, target: float, images: int,
                        speed: int) -> float:
    """p after a statistics read that saw D call `d_acc_real` of its real images real, over
    `images` real images: up by images / speed when D is above the target, down as much when
    below (stylegan2-ada's sign rule; its r_t = E[sign D(x)] is 2 d_acc_real - 1, so its target
    0.6 is 0.8 here), kept in [0, 1]."""
    if d_acc_real != d_acc_real:  # NaN: a diverging window says nothing about overfitting
        return p
    step = images / speed
    return min(1.0, max(0.0, p + (step if d_acc_real > target else -step)))
