"""Stride-2, 4 x 4 convolutions and transposed convolutions computed as matrix products.

Under bf16 autocast on a CPU with AMX, oneDNN ran G's ConvTranspose 256 -> 128 (7 -> 14, batch
128) at 81-91 ms for its forward and backward, while the same work as matrix products took 48-49
ms (2026-11-29; the products at about 530 GFLOP/s); D's Conv 64 -> 128 (14 -> 7) 21-31 against
18-19 ms. In fp32 the products were slower (G's layer 144 against 104 ms), so `Upsample2x` and
`Downsample2x` take this path only under bf16 autocast on the CPU.

A transposed convolution's output is each input pixel's 4 x 4 patch (one row of `x @ W`) summed
into place where the patches overlap (col2im, `_overlap_add`); its input gradient gathers each
input pixel's 4 x 4 patch of the output gradient in one strided copy (im2col, `_patches_of`). A
convolution is the same two steps the other way round.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import FunctionCtx, once_differentiable

KERNEL = 4


def _taps(size: int) -> list[tuple[int, int, int]]:
    """For each kernel tap k along one axis (output 2i + k - 1 for input i, padding 1): the first
    output index, the first input index and how many inputs reach the output."""
    return [(1, 1, size - 1), (0, 0, size), (1, 0, size), (2, 0, size - 1)]


def _overlap_add(patches: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """patches (N, H, W, 4, 4, C) -> (N, 2H, 2W, C), summed in at least fp32 (as the convolution
    accumulates) and returned in `dtype`. Taps 1-2 x 1-2 each cover one of the output's four
    phases whole, so they are copied in first and the other twelve added."""
    n, h, w, _, _, c = patches.shape
    out = patches.new_empty((n, 2 * h, 2 * w, c), dtype=torch.promote_types(dtype, torch.float32))
    rows, cols = _taps(h), _taps(w)
    whole = [(ky, kx) for ky in (1, 2) for kx in (1, 2)]
    partial = [(ky, kx) for ky in range(KERNEL) for kx in range(KERNEL) if (ky, kx) not in whole]
    for ky, kx in whole + partial:
        (oy, iy, ny), (ox, ix, nx) = rows[ky], cols[kx]
        target = out[:, oy:oy + 2 * ny - 1:2, ox:ox + 2 * nx - 1:2]
        source = patches[:, iy:iy + ny, ix:ix + nx, ky, kx]
        if (ky, kx) in whole:
            target.copy_(source)
        else:
            target.add_(source)
    return out.to(dtype)


def _patches_of(maps: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """maps (N, 2H, 2W, C) -> (N * H * W, 16 * C): the 4 x 4 patch (padding 1, stride 2) of each
    of the H x W pixels on the half-size side."""
    padded = F.pad(maps, (0, 0, 1, 1, 1, 1))
    n, _, _, c = padded.shape
    s_n, s_y, s_x, _ = padded.stride()
    view = padded.as_strided((n, h, w, KERNEL, KERNEL, c), (s_n, 2 * s_y, 2 * s_x, s_y, s_x, 1))
    return view.reshape(n * h * w, KERNEL * KERNEL * c)


class _ProductConvTranspose(torch.autograd.Function):
    """ConvTranspose2d(kernel 4, stride 2, padding 1, no bias) in `dtype`; its weight gradient in
    the weight's dtype, its input gradient in the input's."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, weight: torch.Tensor,
                dtype: torch.dtype) -> torch.Tensor:
        n, c_in, h, w = x.shape
        c_out = weight.shape[1]
        rows = x.to(dtype).permute(0, 2, 3, 1).reshape(n * h * w, c_in)  # a view if NHWC
        kernel = weight.to(dtype).permute(0, 2, 3, 1).reshape(c_in, KERNEL * KERNEL * c_out)
        patches = (rows @ kernel).view(n, h, w, KERNEL, KERNEL, c_out)
        ctx.save_for_backward(rows, kernel)
        ctx.shapes = (x.shape, x.dtype, weight.dtype)  # type: ignore[attr-defined]
        return _overlap_add(patches, dtype).permute(0, 3, 1, 2)  # channels_last

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
    """Conv2d(kernel 4, stride 2, padding 1, no bias) in `dtype`. Its backward runs again in grad
    mode when R1's penalty asks for a gradient of this gradient (create_graph): it then recomputes
    from the saved input and weight with differentiable operations, so that the double backward
    reaches them."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: torch.Tensor, weight: torch.Tensor,
                dtype: torch.dtype) -> torch.Tensor:
        patches, kernel = _conv_operands(x, weight, dtype)
        ctx.save_for_backward(x, weight, patches, kernel)
        ctx.dtype = dtype  # type: ignore[attr-defined]
        n, _, h, w = x.shape
        return (patches @ kernel).view(n, h // 2, w // 2, -1).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, patches, kernel = ctx.saved_tensors  # type: ignore[attr-defined]
        dtype = ctx.dtype  # type: ignore[attr-defined]
        if torch.is_grad_enabled():  # create_graph: the saved products are not on the graph
            patches, kernel = _conv_operands(x, weight, dtype)
        n, c_in, h, w = x.shape
        rows = grad.to(dtype).permute(0, 2, 3, 1).reshape(n * (h // 2) * (w // 2), -1)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:  # type: ignore[attr-defined]
            spread = (rows @ kernel.t()).view(n, h // 2, w // 2, KERNEL, KERNEL, c_in)
            grad_x = _overlap_add(spread, dtype).permute(0, 3, 1, 2).to(x.dtype)
        if ctx.needs_input_grad[1]:  # type: ignore[attr-defined]
            grad_w = (patches.t() @ rows).view(KERNEL, KERNEL, c_in, -1).permute(3, 2, 0, 1)
            grad_w = grad_w.to(weight.dtype)
        return grad_x, grad_w, None


def _conv_operands(x: torch.Tensor, weight: torch.Tensor,
                   dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's im2col patches (N * H/2 * W/2, 16 * C_in) and kernel (16 * C_in, C_out)."""
    _, _, h, w = x.shape
    patches = _patches_of(x.to(dtype).permute(0, 2, 3, 1), h // 2, w // 2)
    return patches, weight.to(dtype).permute(2, 3, 1, 0).reshape(patches.shape[1], -1)


def _takes_products(x: torch.Tensor) -> bool:
    """bf16 autocast on the CPU, eager (torch.compile sees the plain layer)."""
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16
            and not torch.compiler.is_compiling())


class Upsample2x(nn.ConvTranspose2d):
    """G's doubling layers: ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), whose forward and
    backward run as matrix products under bf16 autocast on the CPU (module docstring); the plain
    layer elsewhere. Same parameters and state dict."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, KERNEL, 2, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not _takes_products(x):
            return super().forward(x)
        return _ProductConvTranspose.apply(x, self.weight, torch.bfloat16)


class Downsample2x(nn.Conv2d):
    """D's halving layers after the first: Conv2d(c_in, c_out, 4, 2, 1), run as matrix products
    under bf16 autocast on the CPU (module docstring), the plain layer elsewhere. Same parameters
    and state dict; with spectral norm `self.weight` is the normalised weight, as for the plain
    layer. Images of even sides only, as D's are."""

    def __init__(self, c_in: int, c_out: int, bias: bool) -> None:
        super().__init__(c_in, c_out, KERNEL, 2, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if not _takes_products(x) or x.shape[2] % 2 or x.shape[3] % 2:
            return super().forward(x)
        out = _ProductConv.apply(x, self.weight, torch.bfloat16)
        return out if self.bias is None else out + self.bias.to(out.dtype).view(1, -1, 1, 1)
