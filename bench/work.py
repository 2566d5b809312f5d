"""How much arithmetic a training step is, and how fast this device can do arithmetic at all.

`bench/throughput.py` turns both loops' images per second into FLOP/s with these, so that a ratio
comes with its ceiling: a compute-bound loop cannot beat the device's matrix-product rate.
"""
from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from steadygan.config import TrainConfig
from steadygan.train.domain import domain_for
from steadygan.train.loop import build_state
from steadygan.train.step import train_step


def step_flops_per_image(cfg: TrainConfig, device: torch.device) -> float:
    """FLOPs of one steadygan step per image, counted by torch: the convolutions and matrix
    products of D on real and fake, the G step, and their backward passes (not the elementwise
    work, the optimizer or the statistics). The reference computes the same plus D's weight
    gradients in its G step, which it throws away, so this is the work both loops must do."""
    # the work is the model's, compiled or not; compiling it again here would take a minute
    state = build_state(cfg.with_overrides(["train.compile=false"]), device)
    domain = domain_for(cfg)
    real = domain.to_batch(domain.load()[:cfg.train.batch_size].to(device))
    with FlopCounterMode(display=False) as counter:
        train_step(state, [real] * cfg.train.n_critic)
    return counter.get_total_flops() / cfg.train.batch_size


def matmul_flops_per_second(device: torch.device, dtype: torch.dtype, seconds: float = 2.0) -> float:
    """The rate of a large square matrix product in `dtype`: what this device's arithmetic units
    reach when nothing else limits them (a practical peak, not the data sheet's)."""
    n = 4096 if device.type == "cuda" else 2048
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    a @ b  # noqa: B018 - warm-up: library selection, thread start
    per_wait = 10 if device.type == "cuda" else 1  # queue several products before each wait
    _sync(device)
    runs, start = 0, time.perf_counter()
    while runs == 0 or time.perf_counter() - start < seconds:
        for _ in range(per_wait):
            a @ b  # noqa: B018
        runs += per_wait
        _sync(device)
    return 2 * n ** 3 * runs / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
