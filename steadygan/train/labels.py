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
    # In few kernels (6 with flipping and soft labels): at batch 128 a GPU spends a few
    # microseconds on each, however small.
    says_real: torch.Tensor | bool = real  # the hard label, after flipping
    if policy.flip > 0:
        u = torch.rand(batch, generator=generator, device=device)
        says_real = u >= policy.flip if real else u < policy.flip
    high: torch.Tensor | float = 1.0
    low: torch.Tensor | float = 0.0
    if policy.smooth > 0:
        noise = policy.smooth * torch.rand(batch, generator=generator, device=device)
        high = 1.0 - noise
        low = 0.0 if policy.one_sided else noise
    if isinstance(says_real, torch.Tensor):
        return torch.where(says_real, high, low)
    target = high if real else low
    if isinstance(target, torch.Tensor):
        return target
    return torch.full((batch,), target, device=device)
