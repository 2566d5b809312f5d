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
images apart, and where D does not overfit p stays near 0 and nothing is augmented. While p is 0
an eager step draws the augmentations' random numbers and skips their work (ComposedAugment).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Change = Callable[[torch.Tensor], torch.Tensor]
# (images, the step's noise generator or None for the device's default) -> the change its draws
# make: each augmentation draws all its random numbers first, so that an adaptive step at p = 0
# can draw them and skip the work
Draw = Callable[[torch.Tensor, "torch.Generator | None"], Change]


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One draw in [0, 1) per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def draw_color(x: torch.Tensor, generator: torch.Generator | None) -> Change:
    """Brightness +-0.5, saturation x [0, 2), contrast x [0.5, 1.5), each per image."""
    brightness = _uniform(x, generator) - 0.5
    saturation = _uniform(x, generator) * 2 if x.shape[1] > 1 else None  # grayscale has none
    contrast = _uniform(x, generator) + 0.5

    def change(x: torch.Tensor) -> torch.Tensor:
        x = x + brightness
        if saturation is not None:
            gray = x.mean(dim=1, keepdim=True)
            x = (x - gray) * saturation + gray
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * contrast + mean
    return change


def draw_translation(x: torch.Tensor, generator: torch.Generator | None,
                     ratio: float = 0.125) -> Change:
    """Shift each image by up to `ratio` of its size in each direction; the edge it uncovers
    reads 0."""
    batch, _, height, width = x.shape
    pad = max(1, round(max(height, width) * ratio))
    shift = torch.randint(-pad, pad + 1, (2, batch, 1), generator=generator, device=x.device)

    def change(x: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(height, device=x.device) + pad - shift[0]  # (B, H) into the padding
        cols = torch.arange(width, device=x.device) + pad - shift[1]
        padded = F.pad(x, (pad, pad, pad, pad))
        images = torch.arange(batch, device=x.device)[:, None, None]
        moved = padded.permute(0, 2, 3, 1)[images, rows[:, :, None], cols[:, None, :]]
        return moved.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))
    return change


def draw_cutout(x: torch.Tensor, generator: torch.Generator | None,
                ratio: float = 0.5) -> Change:
    """Zero a square of `ratio` of the image's size at a random place in each image."""
    batch, _, height, width = x.shape
    size_h, size_w = round(height * ratio), round(width * ratio)
    top = torch.randint(0, height - size_h + 1, (batch, 1, 1), generator=generator,
                        device=x.device)
    left = torch.randint(0, width - size_w + 1, (batch, 1, 1), generator=generator,
                         device=x.device)

    def change(x: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(height, device=x.device)[None, :, None]
        cols = torch.arange(width, device=x.device)[None, None, :]
        inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
        return x * (~inside).unsqueeze(1).to(x.dtype)
    return change


def _format_of(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


AUGMENTS: dict[str, Draw] = {"color": draw_color, "translation": draw_translation,
                             "cutout": draw_cutout}


def parse_policy(policy: str) -> list[str]:
    """"color,translation,cutout" -> its names in that order; "none" or "" -> []."""
    if policy.strip() in ("", "none"):
        return []
    return [name.strip() for name in policy.split(",")]


def make_augment(policy: str, probability: torch.Tensor | None = None) -> ComposedAugment | None:
    """The composed augmentation of a policy, or None for "none". With `probability` (a scalar
    tensor on the device, read at each call, so that a CUDA graph replays it with its new value)
    each augmentation changes each image with that probability; without it, every image."""
    names = parse_policy(policy)
    return ComposedAugment([AUGMENTS[name] for name in names], probability) if names else None


class ComposedAugment:
    """Augmentations applied in turn, each to every image or, with a probability tensor, to
    each image with that probability. `augment(x, generator, idle=True)`, for a step that knows
    p is 0 (an eager step; a CUDA graph replays the work it recorded at any p), draws the same
    random numbers and skips the work, which would have returned x unchanged: the random streams
    and the results are the same either way."""

    def __init__(self, draws: list[Draw], probability: torch.Tensor | None) -> None:
        self.draws, self.probability = draws, probability

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None,
                 idle: bool = False) -> torch.Tensor:
        for draw in self.draws:
            change = draw(x, generator)
            if self.probability is None:
                x = change(x)
                continue
            chance = _uniform(x, generator)  # drawn whatever p is: the streams do not depend on it
            if not idle:
                x = torch.where(chance < self.probability.to(x.dtype), change(x), x)
        return x


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
