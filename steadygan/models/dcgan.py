"""DCGAN generator and discriminator builders for 28, 32 and 64 pixel images.

G: a ConvTranspose projection of z to a small map, stride-2 upsampling (ConvTranspose, or nearest
upsample + conv), BatchNorm and ReLU in between, tanh at the end, no dropout.
D: stride-2 convolutions with LeakyReLU, BatchNorm / spectral norm / nothing, dropout, and either a
single logit per image or a PatchGAN map of N x N logits.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from steadygan.config import ModelSection
from steadygan.models.patches import Downsample2x, Upsample2x

# The spatial size G starts from; every size is reached by doublings from it.
_START_SIZE = {28: 7, 32: 4, 64: 4}


def _doublings(image_size: int) -> int:
    if image_size not in _START_SIZE:
        raise ValueError(f"image size {image_size} not supported (use 28, 32 or 64)")
    return int(math.log2(image_size // _START_SIZE[image_size]))


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Projection(nn.ConvTranspose2d):
    """G's first layer: z (a 1 x 1 map) to a k x k map by a ConvTranspose with a k x k kernel.

    On a 1 x 1 input that transposed convolution is a matrix product, and computed as one it is the
    same numbers (same parameter, same state dict) in a quarter of the time on CPU: oneDNN took
    20 ms for its forward and backward at batch 128, the product 5 ms (2026-11-28, fp32)."""

    def __init__(self, z_dim: int, c_out: int, size: int) -> None:
        super().__init__(z_dim, c_out, size, 1, 0, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        w, batch = self.weight, z.shape[0]
        c_out, k = w.shape[1], w.shape[2]
        if w.is_contiguous(memory_format=torch.channels_last):  # (z, k, k, c) in memory
            out = z.reshape(batch, -1) @ w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)
            return out.view(batch, k, k, c_out).permute(0, 3, 1, 2)  # channels_last, no copy
        out = z.reshape(batch, -1) @ w.reshape(w.shape[0], -1)
        return out.view(batch, c_out, k, k)


class ImageLayer(nn.ConvTranspose2d):
    """G's last layer: a ConvTranspose (kernel 4, stride 2, padding 1) to the image's channels.

    For one output channel oneDNN's forward is slow on CPU: 6.4 ms at batch 128, about 16 GFLOP/s
    (2026-11-28, fp32). Computed as the matrix product and col2im (`fold`) that it is, it takes
    1.7 ms; its backward stays oneDNN's (2.4 ms, faster than fold's own). Same parameters and
    state dict. On other devices, under autocast, and for three channels (where the product was
    not always faster) the plain layer runs."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, 4, 2, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if (x.device.type != "cpu" or self.out_channels != 1
                or torch.is_autocast_enabled(x.device.type)):
            return super().forward(x)
        return _FoldedConvTranspose.apply(x, self.weight, self.bias)


class _FoldedConvTranspose(torch.autograd.Function):
    """ConvTranspose2d(kernel 4, stride 2, padding 1): forward as product + fold, backward as
    the convolution's own."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        batch, c_in, height, width = x.shape
        # (batch, c_out x 4 x 4, height x width): each input pixel's contribution to its 4 x 4
        # output patch, which fold sums into place
        patches = weight.reshape(c_in, -1).t() @ x.reshape(batch, c_in, height * width)
        out = F.fold(patches, (2 * height, 2 * width), 4, stride=2, padding=1)
        return out.add_(bias.view(1, -1, 1, 1))

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        return torch.ops.aten.convolution_backward(
            grad, x, weight, [weight.shape[1]], [2, 2], [1, 1], [1, 1], True, [0, 0], 1,
            list(ctx.needs_input_grad))


class Generator(nn.Module):
    def __init__(self, cfg: ModelSection, image_size: int, channels: int,
                 plain: bool = False) -> None:
        """`plain`: every layer as users write it, nn.ConvTranspose2d (the benchmarks'
        reference loop); the default computes the same layers faster (Projection, Upsample2x,
        ImageLayer)."""
        super().__init__()
        self.z_dim = cfg.z_dim
        n_up = _doublings(image_size)
        widths = [cfg.g_width * 2 ** (n_up - 1 - i) for i in range(n_up)]
        start = _START_SIZE[image_size]
        first = (nn.ConvTranspose2d(cfg.z_dim, widths[0], start, 1, 0, bias=False) if plain
                 else Projection(cfg.z_dim, widths[0], start))
        layers: list[nn.Module] = [
            first,
            nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            middle = (Upsample2x(c_in, c_out) if cfg.g_upsample == "convtranspose" and not plain
                      else _upsample(c_in, c_out, cfg.g_upsample))
            layers += [middle, nn.BatchNorm2d(c_out), nn.ReLU(True)]
        for _ in range(cfg.g_extra_layers):
            layers += [nn.Conv2d(widths[-1], widths[-1], 3, 1, 1, bias=False),
                       nn.BatchNorm2d(widths[-1]), nn.ReLU(True)]
        # The last doubling produces the image; tanh keeps it in [-1, 1] like the data.
        last = (ImageLayer(widths[-1], channels) if cfg.g_upsample == "convtranspose" and not plain
                else _upsample(widths[-1], channels, cfg.g_upsample, bias=True))
        layers += [last, nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


def _upsample(c_in: int, c_out: int, mode: str, bias: bool = False) -> nn.Module:
    if mode == "convtranspose":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))


class MinibatchStdDev(nn.Module):
    """Appends the mean over features of the per-feature std across the batch (ProGAN).

    A collapsed G produces a batch with tiny spread; this channel lets D see it.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = x.float().std(dim=0, unbiased=False).mean().to(x.dtype)
        return torch.cat([x, std.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class Fp32BatchNorm2d(nn.BatchNorm2d):
    """D's BatchNorm, computed in fp32 when autocast hands it fp16 (`train.precision=fp16`).

    In half precision its double backward, which R1's gradient penalty runs, returned NaN at any
    loss scale (CPU, torch 2.13): every D step was skipped and its scale halved for ever. bf16
    has fp32's range and runs as it is. Same parameters and state dict as nn.BatchNorm2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float() if x.dtype == torch.float16 else x)


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelSection, image_size: int, channels: int,
                 plain: bool = False) -> None:
        """`plain`: every layer nn.Conv2d, as users write it (the benchmarks' reference loop);
        the default runs the layers after the first as Downsample2x."""
        super().__init__()
        if cfg.d_head == "patch":
            out_size = cfg.patch_map(image_size)
            n_down = int(math.log2(image_size // out_size))
        else:
            n_down = _doublings(image_size)
            out_size = _START_SIZE[image_size]
        widths = [cfg.d_width * 2 ** i for i in range(n_down)]
        norm = cfg.d_norm

        def block(conv: nn.Conv2d, c_out: int, first: bool) -> list[nn.Module]:
            if norm == "spectral":
                conv = spectral_norm(conv)
            parts: list[nn.Module] = [conv]
            if norm == "batch" and not first:  # no norm on the input layer (DCGAN)
                parts.append(Fp32BatchNorm2d(c_out))
            parts.append(nn.LeakyReLU(cfg.leaky_slope, inplace=True))
            if cfg.d_dropout > 0:
                # whole feature maps: cheaper, and conv features are correlated
                parts.append(nn.Dropout2d(cfg.d_dropout))
            return parts

        layers: list[nn.Module] = []
        c_in = channels
        for i, c_out in enumerate(widths):
            bias = norm != "batch" or i == 0
            # the first layer stays oneDNN's: as Downsample2x its forward and weight gradient
            # were faster alone, but the whole bf16 step was not (BENCHMARKS.md, 2026-11-29)
            conv = (nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias) if i == 0 or plain
                    else Downsample2x(c_in, c_out, bias))
            layers += block(conv, c_out, first=i == 0)
            c_in = c_out
        for _ in range(cfg.d_extra_layers):
            layers += block(nn.Conv2d(c_in, c_in, 3, 1, 1, bias=norm != "batch"), c_in, first=False)
        if cfg.d_minibatch_std:
            layers.append(MinibatchStdDev())
            c_in += 1
        if cfg.d_head == "patch":
            # One logit per overlapping patch: an N x N map, labels are broadcast to it.
            head = nn.Conv2d(c_in, 1, 3, 1, 1)
        else:
            head = nn.Conv2d(c_in, 1, out_size, 1, 0)
        layers.append(spectral_norm(head) if norm == "spectral" else head)
        self.net = nn.Sequential(*layers)
        self.patch = cfg.d_head == "patch"
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits: shape (B,) for the logit head, (B, 1, N, N) for the PatchGAN head."""
        out = self.net(x)
        return out if self.patch else out.view(x.shape[0])


def build_models(cfg: ModelSection, image_size: int, channels: int,
                 plain: bool = False) -> tuple[Generator, Discriminator]:
    return (Generator(cfg, image_size, channels, plain),
            Discriminator(cfg, image_size, channels, plain))
