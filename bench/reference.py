"""A plain DCGAN training loop, written the way most users write it (pytorch-examples style).

The baseline every steadygan benchmark is measured against: a TensorDataset + DataLoader, the
batch copied to the device each step, fixed 0/1 labels, D on real then on fake, the G step reusing
the fakes, and `.item()` reads for logging every step. It uses steadygan's model builders so that
both loops train exactly the same networks.
"""
from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, TypeVar

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from steadygan.config import TrainConfig
from steadygan.data.sources import load_dataset
from steadygan.models.dcgan import build_models


def reference_steps(cfg: TrainConfig, device: torch.device) -> Iterator[nn.Module]:
    """Train the plain loop forever, yielding G after every step (the caller times or evaluates)."""
    torch.manual_seed(cfg.train.seed)
    # as pytorch-examples' DCGAN does (and steadygan's default): set here, so that the order in
    # which a benchmark runs the two loops in one process does not decide it
    torch.backends.cudnn.benchmark = True
    images, _ = load_dataset(cfg.data.name, cfg.data.dir or None, cfg.data.image_size,
                             cfg.data.channels)
    dataset = TensorDataset(torch.from_numpy(images).float() / 127.5 - 1.0)
    loader = DataLoader(dataset, batch_size=cfg.train.batch_size, shuffle=True, drop_last=True)
    # plain: G's first layer an nn.ConvTranspose2d, as users write it (steadygan computes it as
    # the matrix product it is on a 1 x 1 input: same model, same numbers)
    netG, netD = build_models(cfg.model, cfg.data.image_size, cfg.data.channels, plain=True)
    netG, netD = netG.to(device), netD.to(device)
    criterion = nn.BCEWithLogitsLoss()
    t = cfg.train
    optimizerD = torch.optim.Adam(netD.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    while True:
        for (data,) in loader:
            real = data.to(device)
            b = real.size(0)
            # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            label = torch.full((b,), 1.0, device=device)
            output = netD(real).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            noise = torch.randn(b, cfg.model.z_dim, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(0.0)
            output = netD(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            optimizerD.step()
            # (2) update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(1.0)
            output = netD(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            optimizerG.step()
            (errD_real.item() + errD_fake.item(), errG.item())  # the per-step reads users print
            yield netG


def reference_throughput(cfg: TrainConfig, device: torch.device, seconds: float,
                         warmup_steps: int = 10) -> float:
    """Images per second through full D + G steps of the plain loop."""
    start = None
    for steps, _ in enumerate(reference_steps(cfg, device), start=1):
        if steps == warmup_steps:
            start = time.perf_counter()
        elif start is not None and time.perf_counter() - start >= seconds:
            return (steps - warmup_steps) * cfg.train.batch_size / (time.perf_counter() - start)
    raise AssertionError("unreachable: the reference loop never ends")


T = TypeVar("T")


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a fresh Python interpreter (multiprocessing's spawn), its result sent back.

    steadygan sets process-wide things for CPU training (steadygan/train/cpu_process.py) that a
    plain script does not: a loop measured this way has neither another loop's settings nor its
    warm caches, pays its own start-up (CUDA's included) and has peaks (RSS, GPU memory) of its
    own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as fresh:
        return fresh.submit(fn, *args).result()
