"""One training step: D on a real batch, D on a separate fake batch, then the G step.

Everything a step measures is returned as one tensor on the device (see STAT_NAMES); nothing here
reads a value back to the host, so the device never waits for Python.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from torch import nn

from steadygan.config import TrainConfig
from steadygan.train.augment import ComposedAugment
from steadygan.train.labels import d_targets
from steadygan.train.losses import (discriminator_loss, generator_loss, overflow_reads_zero,
                                     r1_penalty)

STAT_NAMES = ("loss_d", "loss_g", "d_real", "d_fake", "d_acc_real", "d_acc_fake", "g_acc",
              "grad_norm_d", "grad_norm_g")


@dataclass
class GanState:
    """What a step reads and changes; a checkpoint is exactly this plus the step number."""

    cfg: TrainConfig
    G: nn.Module
    D: nn.Module
    G_ema: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    noise: torch.Generator  # z and label noise; dropout uses the global generator
    device: torch.device
    autocast_dtype: torch.dtype | None = None
    # replayed as a CUDA graph (graphed.py): z and label noise then come from the default CUDA
    # generator, the one a graph's replays advance, and autocast keeps no cache of cast weights
    graphed: bool = False
    # averages a model's gradients over torchrun's processes (distributed.py); no-op in one process
    average_gradients: Callable[[nn.Module], None] = lambda model: None
    # what the step calls: the models themselves, or torch.compile'd views sharing their weights
    G_step: Callable[[torch.Tensor], torch.Tensor] | None = None
    D_step: Callable[[torch.Tensor], torch.Tensor] | None = None
    # a second CUDA stream for D's real batch (train.cuda_streams=2); None: one stream
    side_stream: torch.cuda.Stream | None = None
    # fp16's loss scaling, one scaler per network (their gradients differ by orders of
    # magnitude); None in fp32 and bf16, which need none
    scaler_d: torch.amp.GradScaler | None = None
    scaler_g: torch.amp.GradScaler | None = None
    # train.augment: a differentiable change of every batch D judges (augment.py); None: none
    augment: ComposedAugment | None = None
    # train.augment_target > 0: the probability each augmentation applies (a scalar on the
    # device, which `augment` reads) and its value on the host; both set by set_augment_p
    augment_p: torch.Tensor | None = None
    augment_p_now: float = 0.0
    _side_queued: bool = field(default=False, init=False, repr=False)  # since the last join()

    def __post_init__(self) -> None:
        self.G_step = self.G_step or self.G
        self.D_step = self.D_step or self.D

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype,
                              cache_enabled=not self.graphed)

    @contextlib.contextmanager
    def beside(self, enabled: bool = True) -> Iterator[None]:
        """Work queued in the block goes to the side stream, after all the current stream holds;
        what the current stream gets next runs beside it until `join()`. Without a side stream
        (CPU, or train.cuda_streams=1) a plain block. Autograd runs each backward kernel on its
        forward kernel's stream, so the block's backward pass runs beside the rest's too."""
        if self.side_stream is None or not enabled:
            yield
            return
        self.side_stream.wait_stream(torch.cuda.current_stream(self.device))
        self._side_queued = True
        with torch.cuda.stream(self.side_stream):
            yield

    def join(self) -> None:
        """The current stream waits for what `beside` queued (if anything: a graph being
        recorded may only wait for work recorded in it)."""
        if self._side_queued:
            torch.cuda.current_stream(self.device).wait_stream(self.side_stream)
            self._side_queued = False

    @property
    def step_noise(self) -> torch.Generator | None:
        """The generator of a step's z and label noise (None: the device's default)."""
        return None if self.graphed else self.noise

    def sample_z(self, batch: int) -> torch.Tensor:
        return torch.randn(batch, self.cfg.model.z_dim, generator=self.step_noise,
                           device=self.device)

    def set_augment_p(self, p: float) -> None:
        """Adaptive augmentation's probability, between steps: on the device for the step (and a
        CUDA graph's replays), on the host for the reads and checkpoints, which then need no
        device read."""
        self.augment_p.fill_(p)
        self.augment_p_now = p

    @property
    def augment_idle(self) -> bool:
        """p is 0 and the step eager: the augmentations draw and skip their work (augment.py);
        a CUDA graph replays the work it recorded, whatever p becomes."""
        return self.augment_p is not None and self.augment_p_now == 0.0 and not self.graphed

    def judge(self, images: torch.Tensor) -> torch.Tensor:
        """D's logits for a batch, augmented first when the run augments."""
        if self.augment is not None:
            images = self.augment(images, self.step_noise, self.augment_idle)
        return self.D_step(images)


def train_step(s: GanState, real_batches: list[torch.Tensor]) -> torch.Tensor:
    """n_critic D updates (one per real batch), then one G update. Returns STAT_NAMES values."""
    t, labels = s.cfg.train, s.cfg.labels
    for i, real in enumerate(real_batches):
        batch = real.shape[0]
        last = i == len(real_batches) - 1
        z = s.sample_z(batch)
        real_t = d_targets(True, batch, labels, s.step_noise, s.device)
        fake_t = d_targets(False, batch, labels, s.step_noise, s.device)
        s.opt_d.zero_grad(set_to_none=True)
        real.requires_grad_(t.r1_gamma > 0)
        separate = t.d_batches == "separate"  # "mixed": one D batch, so BatchNorm sees both

        # (1) D on the real batch (on CUDA with train.cuda_streams=2: beside G's forward pass)
        with s.beside(separate), s.autocast():
            real_logits = s.judge(real) if separate else None
        # The last fake batch is reused by the G step (as in pytorch-examples), so keep its graph.
        with s.autocast(), torch.set_grad_enabled(last):
            fake = s.G_step(z)
        s.join()  # D's BatchNorm running statistics: the real batch's update comes first

        # (2) D on a separate fake batch
        with s.autocast():
            if separate:
                fake_logits = s.judge(fake.detach())
            else:
                real_logits, fake_logits = s.judge(torch.cat([real, fake.detach()])).split(batch)
        loss_d = (discriminator_loss(real_logits, real_t, t.loss)
                  + discriminator_loss(fake_logits, fake_t, t.loss))
        if t.r1_gamma > 0:
            loss_d = loss_d + 0.5 * t.r1_gamma * r1_penalty(real_logits, real, s.scaler_d)
        backward(loss_d, s.scaler_d)
        s.average_gradients(s.D)  # the gradient of the global batch, under torchrun
        grad_norm_d = _unscaled_grad_norm(s.D, s.opt_d, s.scaler_d)
        optimizer_step(s.opt_d, s.scaler_d)

    # (3) G step: the same fakes, judged by the updated D, non-saturating loss
    s.opt_g.zero_grad(set_to_none=True)
    s.D.requires_grad_(False)  # gradients flow through D to G; D's own would be thrown away
    with s.autocast():
        g_logits = s.judge(fake)
    loss_g = generator_loss(g_logits, t.loss)
    backward(loss_g, s.scaler_g)
    s.D.requires_grad_(True)
    s.average_gradients(s.G)
    grad_norm_g = _unscaled_grad_norm(s.G, s.opt_g, s.scaler_g)
    optimizer_step(s.opt_g, s.scaler_g)

    return step_statistics(loss_d, loss_g, real_logits, fake_logits, g_logits,
                           grad_norm_d, grad_norm_g)


def step_statistics(loss_d: torch.Tensor, loss_g: torch.Tensor, real_logits: torch.Tensor,
                    fake_logits: torch.Tensor, g_logits: torch.Tensor, grad_norm_d: torch.Tensor,
                    grad_norm_g: torch.Tensor) -> torch.Tensor:
    """The STAT_NAMES values of one step, as one tensor, in few kernels (12 under bf16): at
    batch 128 a GPU spends a few microseconds on each, however small."""
    logits = torch.stack([real_logits, fake_logits, g_logits]).detach().float().flatten(1)
    d_of = torch.sigmoid(logits[:2]).mean(1)  # D(x), D(G(z))
    says_real = (logits > 0).float().mean(1)  # G's "accuracy" is the share of fakes D calls real
    d_acc_fake = (logits[1] < 0).float().mean()  # not 1 - says_real[1]: a logit of 0 is neither
    scalars = torch.stack([loss_d, loss_g, grad_norm_d, grad_norm_g]).detach()
    return torch.cat([scalars[:2], d_of, says_real[:1], d_acc_fake.view(1), says_real[2:],
                      scalars[2:]])


def backward(loss: torch.Tensor, scaler: torch.amp.GradScaler | None) -> None:
    """loss.backward(), scaled under fp16 so that small gradients do not underflow."""
    (loss if scaler is None else scaler.scale(loss)).backward()


def optimizer_step(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """optimizer.step(); under fp16 skipped when a gradient overflowed, and the scale adapted."""
    if scaler is None:
        optimizer.step()
        return
    scaler.step(optimizer)  # fused Adam reads the overflow flag on the device: no host sync
    scaler.update()


def _unscaled_grad_norm(model: nn.Module, optimizer: torch.optim.Optimizer,
                        scaler: torch.amp.GradScaler | None) -> torch.Tensor:
    """The gradient's norm, unscaled; 0 for a step that fp16's loss scaling skips."""
    if scaler is not None:
        scaler.unscale_(optimizer)
    grads = [p.grad.detach() for p in model.parameters() if p.grad is not None]
    norm = torch.stack(torch._foreach_norm(grads)).float().norm()  # one launch per group
    return norm if scaler is None else overflow_reads_zero(norm)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The share of the learning rates that step `step` (0-based) uses: rising linearly to 1 over
    the first `warmup_steps` steps, 1 after them (and always, with no warm-up)."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


@contextlib.contextmanager
def scaled_learning_rates(state: GanState, factor: float) -> Iterator[None]:
    """Both optimizers step at `factor` x their rates inside the block; the rates themselves (set
    by the config, the controller or a rollback, and logged) are left as they were."""
    if factor == 1.0:
        yield
        return
    groups = [g for opt in (state.opt_g, state.opt_d) for g in opt.param_groups]
    rates = [g["lr"] for g in groups]
    for group, lr in zip(groups, rates):
        group["lr"] = lr * factor
    try:
        yield
    finally:
        for group, lr in zip(groups, rates):
            group["lr"] = lr


def ema_decay_at(step: int, decay: float) -> float:
    """Ramp the EMA in so that early samples are not an average of untrained weights."""
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float | torch.Tensor) -> None:
    """Move the averaged G a step towards G. A tensor `decay` (on the device) is read there, so
    a captured graph can replay the update with a new decay."""
    averaged, current = list(ema.parameters()), list(model.parameters())
    if isinstance(decay, torch.Tensor):
        step = torch._foreach_sub(current, averaged)
        torch._foreach_mul_(step, 1.0 - decay)
        torch._foreach_add_(averaged, step)
    else:
        torch._foreach_lerp_(averaged, current, 1.0 - decay)
    buffers = list(ema.buffers())
    if buffers:  # BatchNorm running statistics follow G directly
        torch._foreach_copy_(buffers, list(model.buffers()))
