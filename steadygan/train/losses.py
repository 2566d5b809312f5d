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


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor,
               scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
    """Mean squared gradient norm of D's output w.r.t. real inputs (Mescheder et al. 2018).

    Under fp16 (`scaler` given) the inner gradient is taken of the scaled output and unscaled
    after it, PyTorch's AMP recipe for gradient penalties: D's input gradients are often far
    below fp16's smallest number, and would otherwise come back as zeros."""
    logits = real_logits.float()
    if scaler is None:
        (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        return grad.pow(2).flatten(1).sum(1).mean()
    # each logit's gradient starts at scale / count, as in D's mean loss, not at the full scale
    # (2^16 at first, above fp16's largest number)
    scale = scaler.scale(torch.ones((), device=logits.device)) / logits.numel()
    (grad,) = torch.autograd.grad(logits.sum() * scale, real, create_graph=True)
    return overflow_reads_zero((grad / scale).pow(2).flatten(1).sum(1).mean())


def overflow_reads_zero(value: torch.Tensor) -> torch.Tensor:
    """fp16's overflows (inf, NaN) read 0, as what a skipped step logs: the scaler's to handle,
    not a divergence. A gradient through it passes unchanged, so an overflowed penalty still
    carries its overflow into D's gradients, where the scaler finds it and skips the step."""
    return _OverflowReadsZero.apply(value)


class _OverflowReadsZero(torch.autograd.Function):
    """overflow_reads_zero's value; its gradient passed through unchanged."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, value: torch.Tensor) -> torch.Tensor:
        return torch.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        return grad
