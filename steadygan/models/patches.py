"""Stride-2, 4 x 4 convolutions and transposed convolutions, each direction of their work
computed the faster way: as matrix products, or by oneDNN.

Under bf16 autocast on a CPU with AMX, oneDNN ran G's ConvTranspose 256 -> 128 (7 -> 14, batch
128) at 81-91 ms for its forward and backward, while the same work as matrix products took 48-49
ms (2026-11-29; the products at about 530 GFLOP/s); D's Conv 64 -> 128 (14 -> 7) 21-31 against
18-19 ms. Direction by direction (batch 64, medians of 15 calls, three runs, 2026-11-29) the
products win the gradients that gather patches: G's input gradient (5.8-6.8 against 9.0-10.8 ms)
and weight gradient (8.8-10.2 against 21-24), D's forward (1.6-1.7 against 2.1-2.2) and weight
gradient (2.5-3.0 against 5.3-5.9). oneDNN wins the two that scatter patches back into place
(col2im, which as products took 13.5 ms of an 86 ms step): G's forward (6.5-8.8 against
8.3-12.3) and D's input gradient (1.6-1.9 against 3.2-4.3). So `Upsample2x` and `Downsample2x`
take each from the faster side. In fp32 the products were slower (G's layer 144 against 104 ms),
so these layers take this path only under bf16 autocast on the CPU.

A convolution's forward and weight gradient are products with each output pixel's 4 x 4 patch of
its input, gathered in one strided copy (im2col, `_patches_of`); a transposed convolution's input
and weight gradients are the same with the output gradient's patches.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import FunctionCtx, once_differentiable

KERNEL = 4


def _patches_of(maps: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """maps (N, 2H, 2W, C) -> (N * H * W, 16 * C): the 4 x 4 patch (padding 1, stride 2) of each
    of the H x W pixels on the half-size side."""
    padded = F.pad(maps, (0, 0, 1, 1, 1, 1))
    n, _, _, c = padded.shape
    s_n, s_y, s_x, _ = padded.stride()
    view = padded.as_strided((n, h, w, KERNEL, KERNEL, c), (s_n, 2 * s_y, 2 * s_x, s_y, s_x, 1))
    return view.reshape(n * h * w, KERNEL * KERNEL * c)


class _ProductConvTranspose(torch.autograd.Function):
    """ConvTranspose2d(kernel 4, stride 2, padding 1, no bias) in `dtype`: the forward oneDNN's,
    the backward as products; its weight gradient in the weight's dtype, its input gradient in
    the input's."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, weight: torch.Tensor,
                dtype: torch.dtype) -> torch.Tensor:
        ctx.shapes = (x.shape, x.dtype, weight.dtype)  # type: ignore[attr-defined]
        n, c_in, h, w = x.shape
        x, weight = x.to(dtype), weight.to(dtype)
        rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c_in)  # a view if NHWC
        kernel = weight.permute(0, 2, 3, 1).reshape(c_in, -1)  # (c_in, 4 x 4 x c_out)
        ctx.save_for_backward(rows, kernel)
        return F.conv_transpose2d(x, weight, stride=2, padding=1)

    @staticmethod
    @once_differentiable  # R1's double backward never runs through G
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        rows, kernel = ctx.saved_tensors  # type: ignore[attr-defined]
        (n, c_in, h, w), x_dtype, w_dtype = ctx.shapes  # type: ignore[attr-defined]
        patches = _patches_of(grad.to(rows.dtype).permute(0, 2, 3, 1), h, w)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:  # type: ignore[attr-defined]
            grad_x = (patches @ kernel.t()).view(n, h, w, c_in).permute(0, 3, 1, 2).to(x_dtype)
        if ctx.needs_input_grad[1]:  # type: ignore[attr-defined]
            grad_w = (rows.t() @ patches).view(c_in, KERNEL, KERNEL, -1).permute(0, 3, 1, 2)
            grad_w = grad_w.to(w_dtype)
        return grad_x, grad_w, None


class _ProductConv(torch.autograd.Function):
    """Conv2d(kernel 4, stride 2, padding 1, no bias) in `dtype`: the forward and the weight
    gradient as products, the input gradient oneDNN's (a transposed convolution of the output
    gradient). Its backward runs again in grad mode when R1's penalty asks for a gradient of this
    gradient (create_graph): it then recomputes from the saved input and weight with
    differentiable operations, so that the double backward reaches them."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, weight: torch.Tensor,
                dtype: torch.dtype) -> torch.Tensor:
        patches, low_weight = _conv_operands(x, weight, dtype)
        ctx.save_for_backward(x, weight, patches, low_weight)
        ctx.dtype = dtype  # type: ignore[attr-defined]
        n, _, h, w = x.shape
        kernel = low_weight.permute(2, 3, 1, 0).reshape(patches.shape[1], -1)
        return (patches @ kernel).view(n, h // 2, w // 2, -1).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, patches, low_weight = ctx.saved_tensors  # type: ignore[attr-defined]
        dtype = ctx.dtype  # type: ignore[attr-defined]
        if torch.is_grad_enabled():  # create_graph: the saved operands are not on the graph
            patches, low_weight = _conv_operands(x, weight, dtype)
        grad = grad.to(dtype)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:  # type: ignore[attr-defined]
            grad_x = F.conv_transpose2d(grad, low_weight, stride=2, padding=1).to(x.dtype)
        if ctx.needs_input_grad[1]:  # type: ignore[attr-defined]
            rows = grad.permute(0, 2, 3, 1).reshape(patches.shape[0], -1)
            grad_w = (patches.t() @ rows).view(KERNEL, KERNEL, x.shape[1], -1).permute(3, 2, 0, 1)
            grad_w = grad_w.to(weight.dtype)
        return grad_x, grad_w, None


def _conv_operands(x: torch.Tensor, weight: torch.Tensor,
                   dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's im2col patches (N * H/2 * W/2, 16 * C_in) and its weight in `dtype`."""
    _, _, h, w = x.shape
    return _patches_of(x.to(dtype).permute(0, 2, 3, 1), h // 2, w // 2), weight.to(dtype)


def _takes_products(x: torch.Tensor) -> bool:
    """bf16 autocast on the CPU, eager (torch.compile sees the plain layer)."""
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16
            and not torch.compiler.is_compiling())


class Upsample2x(nn.ConvTranspose2d):
    """G's doubling layers: ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), whose backward
    runs as matrix products under bf16 autocast on the CPU (module docstring); the plain layer
    elsewhere. Same parameters and state dict."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, KERNEL, 2, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not _takes_products(x):
            return super().forward(x)
        return _ProductConvTranspose.apply(x, self.weight, torch.bfloat16)


class Downsample2x(nn.Conv2d):
    """D's halving layers after the first: Conv2d(c_in, c_out, 4, 2, 1), whose forward and weight
    gradient run as matrix products under bf16 autocast on the CPU (module docstring), the plain
    layer elsewhere. Same parameters and state dict; with spectral norm `self.weight` is the
    normalised weight, as for the plain layer. Images of even sides only, as D's are."""

    def __init__(self, c_in: int, c_out: int, bias: bool) -> None:
        super().__init__(c_in, c_out, KERNEL, 2, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not _takes_products(x) or x.shape[2] % 2 or x.shape[3] % 2:
            return super().forward(x)
        out = _ProductConv.apply(x, self.weight, torch.bfloat16)
        return out if self.bias is None else out + self.bias.to(out.dtype).view(1, -1, 1, 1)
