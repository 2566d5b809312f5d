"""The training loop: data on the device, steps, statistics every K steps, samples, checkpoints.

Resume is exact: the data order is a function of (seed, epoch), and every random stream (global
torch RNG for dropout, the noise generator for z and labels) is saved in each checkpoint.
"""
from __future__ import annotations

import contextlib
import copy
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from steadygan.config import MIXTURE_SOURCES, ConfigError, TrainConfig
from steadygan.data.grid import make_grid
from steadygan.train.checkpoint import (CheckpointError, atomic_save, checkpoint_config,
                                        load_checkpoint, restore, state_dict)
from steadygan.health.monitor import HealthMonitor
from steadygan.train.best import BestTracker
from steadygan.train.device import autocast_dtype, resolve_device
from steadygan.train.domain import domain_for
from steadygan.train.rundir import RunDir
from steadygan.train.step import STAT_NAMES, GanState, train_step, update_ema

N_FIXED_SAMPLES = 64
N_FIXED_POINTS = 2500


class TrainingDiverged(RuntimeError):
    """Losses or statistics became NaN / Inf; the last good checkpoint is kept."""


@dataclass
class RunResult:
    run_dir: Path
    steps: int
    interrupted: bool = False
    last_record: dict[str, Any] = field(default_factory=dict)


def build_state(cfg: TrainConfig, device: torch.device) -> GanState:
    torch.manual_seed(cfg.train.seed)  # model init and dropout draw from the global stream
    G, D = domain_for(cfg).build_models()
    # channels_last: faster convolutions on CPU (oneDNN) and tensor cores on CUDA
    G = G.to(device, memory_format=torch.channels_last)
    D = D.to(device, memory_format=torch.channels_last)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False) if cfg.train.ema else None
    t = cfg.train
    fused = {"fused": True} if device.type == "cuda" else {}  # one kernel for the whole update
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), **fused)
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), **fused)
    noise = torch.Generator(device=device)
    noise.manual_seed(t.seed + 1)
    return GanState(cfg, G, D, G_ema, opt_g, opt_d, noise, device, autocast_dtype(t, device))


class BatchOrder:
    """Batch b holds images perm_e[(b mod B) * bs : ...] with perm_e a function of (seed, epoch)."""

    def __init__(self, n_images: int, batch_size: int, seed: int, device: torch.device) -> None:
        self.n, self.bs, self.seed, self.device = n_images, batch_size, seed, device
        self.per_epoch = n_images // batch_size  # the last partial batch is dropped
        self._epoch, self._perm = -1, torch.empty(0)

    def indices(self, batch_index: int) -> torch.Tensor:
        epoch, pos = divmod(batch_index, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=gen).to(self.device)
            self._epoch = epoch
        return self._perm[pos * self.bs:(pos + 1) * self.bs]


class StatsWindow:
    """Sums step statistics on the device; `mean()` is the only host read (every K steps)."""

    def __init__(self, device: torch.device) -> None:
        self.sum = torch.zeros(len(STAT_NAMES), device=device)
        self.count = 0

    def add(self, stats: torch.Tensor) -> None:
        self.sum += stats
        self.count += 1

    def state_dict(self) -> dict[str, Any]:
        return {"sum": self.sum.cpu(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sum.copy_(state["sum"])
        self.count = int(state["count"])

    def finite(self) -> bool:
        """Whether the statistics since the last read are finite (one host read, at checkpoints)."""
        return bool(torch.isfinite(self.sum).all())

    def mean(self) -> dict[str, float]:
        values = (self.sum / max(self.count, 1)).tolist()
        self.sum.zero_()
        self.count = 0
        return dict(zip(STAT_NAMES, values))


class StopOnSignal:
    """The first Ctrl-C (or SIGTERM) asks the loop to stop at the next step boundary and save;
    a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def ema_decay_at(step: int, decay: float) -> float:
    """Ramp the EMA in so that early samples are not an average of untrained weights."""
    return min(decay, (1.0 + step) / (10.0 + step))


def fixed_latents(cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    """The latents of every sample grid (or scatter plot), so a person sees the same z evolve."""
    n = N_FIXED_POINTS if cfg.data.name in MIXTURE_SOURCES else N_FIXED_SAMPLES
    gen = torch.Generator().manual_seed(cfg.train.seed + 12345)
    return torch.randn(n, cfg.model.z_dim, generator=gen).to(device)


def train(cfg: TrainConfig, resume: bool = False) -> RunResult:
    """Train a GAN as `cfg` says; with resume=True continue the run in cfg.run.out."""
    cfg.validate()
    device = resolve_device(cfg.train.device)
    run = RunDir(cfg.run.out or RunDir.default_path())
    cfg.run.out = str(run.path)

    domain = domain_for(cfg)
    data = domain.load().to(device)  # resident on the device; batches are drawn by index
    n_images = data.shape[0]
    if n_images < cfg.train.batch_size:
        raise ConfigError(f"train.batch_size: {cfg.train.batch_size} is larger than the dataset "
                          f"({n_images} examples)")

    state = build_state(cfg, device)
    window = StatsWindow(device)
    best = BestTracker.create(cfg, domain, device)
    health = HealthMonitor(cfg, run, state, domain, data)
    start = 0
    if resume:
        start = _resume_into(state, window, best, health, run, cfg)
    else:
        run.prepare_new()
    run.write_config(cfg)

    total = cfg.total_steps(n_images)
    order = BatchOrder(n_images, cfg.train.batch_size, cfg.train.seed, device)
    z_fixed = fixed_latents(cfg, device)
    sampler = state.G_ema if state.G_ema is not None else state.G
    n_critic, r = cfg.train.n_critic, cfg.run
    result = RunResult(run.path, start)
    last_time, last_step = time.perf_counter(), start
    rollbacks = 0
    if not resume:  # a step-0 checkpoint: even an early divergence has somewhere to roll back to
        _save_checkpoint(state, window, best, health, 0, [run.last_checkpoint])

    tensorboard = _tensorboard(run) if r.tensorboard else None
    if r.report_every:
        from steadygan.report import make_report
        from steadygan.report.plots import require_matplotlib
        require_matplotlib()  # now, not after an hour of training
    with StopOnSignal() as stop, tqdm(total=total, initial=start, disable=not r.progress,
                                       desc="train", unit="step", dynamic_ncols=True) as bar, \
            contextlib.closing(tensorboard) if tensorboard else contextlib.nullcontext():
        step = start
        while step < total:
            reals = [domain.to_batch(data[order.indices(step * n_critic + i)])
                     for i in range(n_critic)]
            window.add(train_step(state, reals))
            if state.G_ema is not None:
                update_ema(state.G_ema, state.G, ema_decay_at(step, cfg.train.ema_decay))
            step += 1
            bar.update(1)

            if step % r.log_every == 0 or step == total or stop.requested:
                now = time.perf_counter()
                record = _log_statistics(window, step, order, state, run, health, bar,
                                         now - last_time,
                                         (step - last_step) * cfg.train.batch_size * n_critic)
                last_time, last_step = now, step
                result.last_record = record
                if not all(math.isfinite(record[k]) for k in STAT_NAMES):
                    if rollbacks >= cfg.health.max_rollbacks:
                        raise TrainingDiverged(
                            f"training diverged near step {step} after {rollbacks} rollback(s) "
                            f"with halved learning rates; the last good checkpoint is "
                            f"{run.last_checkpoint} (see {run.diagnoses_path})")
                    rollbacks += 1
                    step = _roll_back(state, window, run, health, step, bar)
                    bar.reset(total=total)
                    bar.update(step)
                    last_time, last_step = time.perf_counter(), step
                    continue
            if step % r.sample_every == 0:
                samples = domain.generate(sampler, z_fixed)
                domain.save_samples(samples, run.sample_at(step))
                if tensorboard is not None and samples.ndim == 4:
                    tensorboard.log_grid(step, make_grid(samples))
            extra_paths = []
            if best is not None and best.due(step, total):
                record, improved = best.evaluate(sampler, step)
                run.append_metrics(record)
                health.observe(record)
                if improved:
                    extra_paths.append(run.best_checkpoint)
            if r.keep_checkpoints and step % r.checkpoint_every == 0:
                extra_paths.append(run.checkpoint_at(step))
            if (step % r.checkpoint_every == 0 or step == total or stop.requested
                    or extra_paths) and window.finite():
                _save_checkpoint(state, window, best, health, step,
                                 [run.last_checkpoint, *extra_paths])
            result.steps = step
            if r.report_every and (step % r.report_every == 0 or step == total):
                make_report(run.path)
            if stop.requested:
                result.interrupted = True
                bar.write(f"interrupted: checkpoint saved at step {step}; "
                          f"continue with: steadygan train --resume {run.path}")
                return result

    domain.save_samples(domain.generate(sampler, z_fixed), run.sample_at(None))
    return result


def _log_statistics(window: StatsWindow, step: int, order: BatchOrder, state: GanState,
                    run: RunDir, health: HealthMonitor, bar: tqdm, seconds: float,
                    images: int) -> dict[str, Any]:
    """Read the statistics (the one host sync every K steps), let the health module judge them
    (and the controller act), write them to metrics.jsonl, and show them."""
    record = _record(window, step, order, state, seconds, images)
    record.update(health.sample_statistics())  # diversity and motion of G's samples
    run.append_metrics(record)
    actions, new_diagnoses = health.observe(record)
    for action in actions:
        run.append_metrics(action)
    bar.set_postfix_str(_postfix(record, health), refresh=False)
    for diagnosis in new_diagnoses:  # shown once, when found or when it gets worse
        bar.write(f"steadygan: {diagnosis.line()}")
    return record


def _tensorboard(run: RunDir) -> Any:
    from steadygan.report.tensorboard import TensorBoardLogger  # optional extra

    logger = TensorBoardLogger(run.path)
    run.metrics_sinks.append(logger.log_record)
    return logger


def _roll_back(state: GanState, window: StatsWindow, run: RunDir, health: HealthMonitor,
               step: int, bar: tqdm) -> int:
    """Back to the last good checkpoint with halved learning rates; return its step."""
    ckpt = load_checkpoint(run.last_checkpoint)
    to_step = restore(state, ckpt)
    window.load_state_dict(ckpt["stats_window"])
    lr_g, lr_d = health.halve_learning_rates()
    rollback = {"kind": "rollback", "step": step, "to_step": to_step, "lr_g": lr_g, "lr_d": lr_d}
    run.append_metrics(rollback)
    health.observe(rollback)
    bar.write(f"steadygan: non-finite values at step {step}: rolled back to step {to_step} with "
              f"halved learning rates (lr_g {lr_g:.2e}, lr_d {lr_d:.2e})")
    return to_step


def _resume_into(state: GanState, window: StatsWindow, best: BestTracker | None,
                 health: HealthMonitor, run: RunDir, cfg: TrainConfig) -> int:
    ckpt = load_checkpoint(run.last_checkpoint)
    saved = checkpoint_config(ckpt, run.last_checkpoint)
    if saved.model_signature() != cfg.model_signature():
        changed = sorted(k for k, v in cfg.model_signature().items()
                         if saved.model_signature().get(k) != v)
        raise CheckpointError(f"{run.path}: cannot resume with a different model "
                              f"(changed: {', '.join(changed)})")
    step = restore(state, ckpt)
    window.load_state_dict(ckpt["stats_window"])  # a partly filled logging window goes on
    if best is not None and ckpt.get("best") is not None:
        best.load_state_dict(ckpt["best"])
    run.truncate_metrics(step)
    health.resume(ckpt.get("health"), run.read_metrics())
    return step


def _save_checkpoint(state: GanState, window: StatsWindow, best: BestTracker | None,
                     health: HealthMonitor, step: int, paths: list[Path]) -> None:
    ckpt = state_dict(state, step)
    ckpt["stats_window"] = window.state_dict()
    ckpt["best"] = best.state_dict() if best is not None else None
    ckpt["health"] = health.state_dict()
    for path in paths:
        atomic_save(ckpt, path)


def _record(window: StatsWindow, step: int, order: BatchOrder, state: GanState,
            seconds: float, images: int) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "train", "step": step,
                              "epoch": round(step * state.cfg.train.n_critic / order.per_epoch, 3)}
    record.update(window.mean())
    record["lr_g"] = state.opt_g.param_groups[0]["lr"]
    record["lr_d"] = state.opt_d.param_groups[0]["lr"]
    record["img_per_s"] = round(images / max(seconds, 1e-9), 1)
    record["time"] = time.time()
    return record


def _postfix(record: dict[str, Any], health: HealthMonitor) -> str:
    d_acc = 0.5 * (record["d_acc_real"] + record["d_acc_fake"])
    text = (f"D-acc {d_acc:.2f} G-acc {record['g_acc']:.2f} "
            f"loss D {record['loss_d']:.3f} G {record['loss_g']:.3f}")
    latest = health.timeline.diagnoses[-1] if health.timeline.diagnoses else None
    if latest is not None and latest.step_end == record["step"]:
        text += f" | {latest.kind} ({latest.severity})"
    return text
