"""GAN losses on raw logits. Targets are per image and broadcast over a PatchGAN map."""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("bce", "hinge", "lsgan")


def _broadcast(targets: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return targets.view(-1, *([1] * (logits.dim() - 1))).expand_as(logits).to(logits.dtype)


def discriminator_loss(logits: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Loss of D on one batch (all real or all fake, possibly with flipped / soft targets)."""
    logits = logits.float()
    t = _broadcast(targets, logits)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, t)
    if kind == "lsgan":
        return F.mse_loss(logits, t)
    if kind == "hinge":
        # sign = +1 for real targets, -1 for fake; soft targets shrink the margin
        return F.relu(1.0 - (2.0 * t - 1.0) * logits).mean()
    raise ValueError(f"unknown loss '{kind}'")


def generator_loss(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """Non-saturating G loss: make D call the fakes real."""
    logits = fake_logits.float()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    if kind == "lsgan":
        return F.mse_loss(logits, torch.ones_like(logits))
    if kind == "hinge":
        return -logits.mean()
    raise ValueError(f"unknown loss '{kind}'")


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of D's output w.r.t. real inputs (Mescheder et al. 2018)."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()
