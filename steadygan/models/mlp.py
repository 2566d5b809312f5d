"""MLP generator and discriminator for 2-D points (the ring / grid mixtures).

G: z -> [Linear, (BatchNorm), ReLU] x depth -> Linear to 2; no tanh, grid25 reaches +-4.
D: packs `pack` points into one input (PacGAN), [Linear, LeakyReLU, (Dropout)] x depth,
   an optional minibatch-stddev feature, and a Linear head to one logit.

Packing contract: D takes (B, 2) with B divisible by pack, groups consecutive rows
(0..pack-1, pack..2*pack-1, ...) into one packed input, and returns its logit repeated
pack times, so the output is (B,) like the unpacked D. Per-sample labels then work
unchanged: BCE is linear in the target, so the mean loss over a pack's copies equals the
loss of the pack's logit against the mean of its members' targets. Pack real and fake
batches separately (as the train step already does), never a mix of both.
"""

from __future__ import annotations

import torch
from torch import nn

from steadygan.models.dcgan import MinibatchStdDev


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if value < 1:
            raise ValueError(f"{key}={value}: must be >= 1")


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, hidden: int = 128, depth: int = 3,
                 batch_norm: bool = False) -> None:
        super().__init__()
        _check_positive(z_dim=z_dim, hidden=hidden, depth=depth)
        self.z_dim = z_dim
        layers: list[nn.Module] = []
        width = z_dim
        for _ in range(depth):
            layers.append(nn.Linear(width, hidden, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU(inplace=True))
            width = hidden
        layers.append(nn.Linear(width, 2))  # linear: the data is not confined to [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, z_dim) -> (B, 2) points."""
        return self.net(z.reshape(z.shape[0], self.z_dim))


class MLPDiscriminator(nn.Module):
    def __init__(self, hidden: int = 128, depth: int = 3, leaky_slope: float = 0.2,
                 dropout: float = 0.0, minibatch_std: bool = False, pack: int = 1) -> None:
        super().__init__()
        _check_positive(hidden=hidden, depth=depth, pack=pack)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout}: must be in [0, 1)")
        self.pack = pack
        layers: list[nn.Module] = []
        width = 2 * pack
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(leaky_slope, inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        if minibatch_std:
            # A collapsed G gives a batch of near-identical features; this input lets D see it.
            layers.append(MinibatchStdDev())
            width += 1
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2) points -> (B,) logits; with pack > 1, each pack's logit repeated pack times."""
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"expected points shaped (B, 2), got {tuple(x.shape)}")
        batch = x.shape[0]
        if batch % self.pack:
            raise ValueError(f"batch of {batch} points is not divisible by pack={self.pack}")
        logits = self.net(x.reshape(batch // self.pack, 2 * self.pack)).view(-1)
        return logits.repeat_interleave(self.pack) if self.pack > 1 else logits
