"""D's target labels: flipping and soft / noisy labels, as pure seeded functions.

Targets are one value per image; a PatchGAN head broadcasts them over its N x N map.
"""
from __future__ import annotations

import torch

from steadygan.config import LabelSection


def d_targets(real: bool, batch: int, policy: LabelSection, generator: torch.Generator | None,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """Targets for a batch of real (True) or fake (False) images, shape (batch,).

    With probability `flip` a hard label is swapped (real <-> fake), which keeps D from becoming
    certain. Then soft labels: a target of 1 becomes 1 - s*u and, unless one-sided, a target of 0
    becomes s*u, with u ~ U[0, 1) drawn per image.
    """
    hard = torch.full((batch,), 1.0 if real else 0.0, device=device)
    if policy.flip > 0:
        flipped = torch.rand(batch, generator=generator, device=device) < policy.flip
        hard = torch.where(flipped, 1.0 - hard, hard)
    if policy.smooth > 0:
        noise = policy.smooth * torch.rand(batch, generator=generator, device=device)
        smoothed = torch.where(hard > 0.5, hard - noise, hard if policy.one_sided else noise)
        return smoothed
    return hard
