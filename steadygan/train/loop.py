"""The training loop: data on the device, steps, statistics every K steps, samples, checkpoints.

Resume is exact: the data order is a function of (seed, epoch), and every random stream (global
torch RNG for dropout, the noise generator for z and labels) is saved in each checkpoint.

Under torchrun every process runs this loop on its slice of each global batch; only rank 0 writes
the run directory and judges the run (see distributed.py).
"""
from __future__ import annotations

import contextlib
import copy
import math
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from steadygan.config import MIXTURE_SOURCES, ConfigError, TrainConfig
from steadygan.data.grid import make_grid
from steadygan.train.checkpoint import (CheckpointError, checkpoint_config,
                                        load_checkpoint, rank_streams, restore, rng_state,
                                        state_dict)
from steadygan.health.monitor import HealthMonitor
from steadygan.health.timeline import Timeline
from steadygan.train.checkpoint_writer import CheckpointWriter
from steadygan.train.best import BestTracker
from steadygan.train.cpu_process import prepare_cpu_process
from steadygan.train.device import autocast_dtype, loss_scaling, resolve_device
from steadygan.train.distributed import Ranks, rank_seed
from steadygan.train.domain import domain_for, memory_format
from steadygan.train.rundir import RunDir
from steadygan.train.graphed import make_step_runner, use_cuda_graph
from steadygan.train.step import STAT_NAMES, GanState, train_step
from steadygan.train import streams
from steadygan.train.augment import adapted_probability, make_augment
from steadygan.train.timing import LoopTimer

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
    timing: dict[str, Any] = field(default_factory=dict)  # where the wall time went (timing.py)
    writer: bool = True  # False in torchrun's processes other than rank 0: they stay quiet
    last_eval: dict[str, Any] | None = None  # the last live evaluation (it names best.pt's step)
    timeline: Timeline | None = None  # the diagnoses, when health.detect is on


def build_state(cfg: TrainConfig, device: torch.device, rank: int = 0,
                graphed: bool = False) -> GanState:
    """Models, optimizers and noise; `graphed`: the step will be replayed as a CUDA graph."""
    torch.manual_seed(cfg.train.seed)  # model init and dropout draw from the global stream
    if device.type == "cpu":
        prepare_cpu_process()  # faster steps, repeatable runs: cpu_process.py says how
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cfg.train.cudnn_benchmark
    G, D = domain_for(cfg).build_models()
    layout = memory_format(cfg)  # train.memory_format says why
    G, D = G.to(device, memory_format=layout), D.to(device, memory_format=layout)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False) if cfg.train.ema else None
    t = cfg.train
    # one kernel for the whole update on CUDA and CPU (on this project's CPU a ring8 step took
    # 3.7 ms with it, 4.2 ms with the multi-tensor path, more with the default Python loop over
    # parameters); elsewhere (MPS) the multi-tensor path
    kernels: dict[str, bool] = ({"fused": True} if device.type in ("cuda", "cpu")
                                else {"foreach": True})
    if graphed:
        kernels["capturable"] = True  # step counts on the device, updated inside the graph
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), **kernels)
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), **kernels)
    noise = torch.Generator(device=device)
    noise.manual_seed(rank_seed(t.seed, rank) + 1)  # each rank its own z: different fakes
    if rank:  # and its own dropout masks; rank 0 goes on from model init, as one process does
        torch.manual_seed(rank_seed(t.seed, rank))
    state = GanState(cfg, G, D, G_ema, opt_g, opt_d, noise, device,
                     autocast_dtype(t, device, cfg.data.name not in MIXTURE_SOURCES), graphed)
    if t.adapts_augmentation():  # from p = 0, moved at the statistics reads
        state.augment_p = torch.zeros((), device=device)
    state.augment = make_augment(t.augment, state.augment_p)
    if loss_scaling(t):
        state.scaler_d, state.scaler_g = (torch.amp.GradScaler(device.type) for _ in range(2))
    if device.type == "cuda" and t.cuda_streams == 2:  # D's real batch beside G's forward pass
        state.side_stream = torch.cuda.Stream(device)
    if t.compile:  # compiled views for the step alone: sampling and evaluation stay eager
        state.G_step = torch.compile(G, dynamic=False)
        state.D_step = torch.compile(D, dynamic=False)
    return state


class BatchOrder:
    """Batch b holds images perm_e[(b mod B) * bs : ...] with perm_e a function of (seed, epoch).

    With several processes, global batch b is world x bs images of perm_e and process `rank`
    takes the rank-th slice of them: disjoint slices of one shared permutation."""

    def __init__(self, n_images: int, batch_size: int, seed: int, device: torch.device,
                 rank: int = 0, world: int = 1) -> None:
        self.n, self.bs, self.seed, self.device = n_images, batch_size, seed, device
        self.rank, self.world = rank, world
        self.per_epoch = n_images // (batch_size * world)  # the last partial batch is dropped
        self._epoch, self._perm = -1, torch.empty(0)

    def indices(self, batch_index: int) -> torch.Tensor:
        epoch, pos = divmod(batch_index, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=gen).to(self.device)
            self._epoch = epoch
        first = (pos * self.world + self.rank) * self.bs
        return self._perm[first:first + self.bs]


class StatsWindow:
    """Sums step statistics on the device; the reads are the only host syncs (every K steps).

    Row 0 is the logging window, emptied at every read. Row 1 holds the same sums since the
    last read on the run.log_every cadence: adaptive augmentation moves p by it, so that a run
    whose end fell between two such reads (an end read empties row 0), extended by a resume,
    adapts exactly as one that ran straight on. A Ctrl-C reads nothing: both rows go into the
    checkpoint as they are."""

    def __init__(self, device: torch.device | str) -> None:
        self.sum = torch.zeros(2, len(STAT_NAMES), device=device)
        self.count = 0
        self.cadence_count = 0

    def add(self, stats: torch.Tensor) -> None:
        self.sum += stats  # into both rows
        self.count_step()

    def count_step(self) -> None:
        self.count += 1
        self.cadence_count += 1

    def state_dict(self) -> dict[str, Any]:
        return {"sum": self.sum.cpu(), "count": self.count, "cadence_count": self.cadence_count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state["sum"]
        self.sum.copy_(saved if saved.dim() == 2 else saved.expand_as(self.sum))  # one row: older
        self.count = int(state["count"])
        self.cadence_count = int(state.get("cadence_count", self.count))

    def mean(self) -> dict[str, float]:
        """The logging window's means; it starts afresh."""
        values = (self.sum[0] / max(self.count, 1)).tolist()
        self.sum[0].zero_()
        self.count = 0
        return dict(zip(STAT_NAMES, values))

    def cadence_mean(self) -> tuple[dict[str, float], int]:
        """The means since the last read on the cadence, and their steps; they start afresh."""
        values, steps = (self.sum[1] / max(self.cadence_count, 1)).tolist(), self.cadence_count
        self.restart_cadence()
        return dict(zip(STAT_NAMES, values)), steps

    def restart_cadence(self) -> None:
        """Row 1 starts afresh without being read (a run that does not adapt: no device read)."""
        self.sum[1].zero_()
        self.cadence_count = 0


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


def fixed_latents(cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    """The latents of every sample grid (or scatter plot), so a person sees the same z evolve."""
    n = N_FIXED_POINTS if cfg.data.name in MIXTURE_SOURCES else N_FIXED_SAMPLES
    gen = torch.Generator().manual_seed(streams.seed_for(cfg, streams.FIXED_SAMPLES))
    return torch.randn(n, cfg.model.z_dim, generator=gen).to(device)


def train(cfg: TrainConfig, resume: bool = False) -> RunResult:
    """Train a GAN as `cfg` says; with resume=True continue the run in cfg.run.out.

    Under torchrun (WORLD_SIZE > 1) every process calls this and they train as one."""
    cfg.validate()
    ranks = Ranks.from_env()
    device = resolve_device(cfg.train.device, ranks.local_rank if ranks.distributed else None)
    with ranks.joined(device), CheckpointWriter() as checkpoints:
        return _train(cfg, resume, ranks, device, checkpoints)


def _train(cfg: TrainConfig, resume: bool, ranks: Ranks, device: torch.device,
           checkpoints: CheckpointWriter) -> RunResult:
    writer = ranks.writer  # the one process that writes the run directory and shows progress
    run = RunDir(ranks.from_writer(lambda: cfg.run.out or str(RunDir.default_path())))
    cfg.run.out = str(run.path)

    # a resume that cannot go on says so before the data are loaded (a folder can take minutes)
    resumed = ranks.from_writer(lambda: _resumable_checkpoint(run, cfg)) if resume else None
    domain = domain_for(cfg)
    found_channels = cfg.data.channels == 0
    data = domain.load().to(device)  # resident on the device; batches are drawn by index
    if found_channels and writer:
        kind, other = ("colour", "--channels 1: grayscale") if cfg.data.channels == 3 else \
            ("grayscale", "--channels 3: RGB")
        print(f"steadygan: data.dir: {kind} images, trained in {kind} ({other})", file=sys.stderr)
    n_images = data.shape[0]
    if n_images < cfg.train.batch_size * ranks.world:
        per_process = f" per process x {ranks.world} processes" if ranks.distributed else ""
        raise ConfigError(f"train.batch_size: {cfg.train.batch_size}{per_process} is larger than "
                          f"the dataset ({n_images} examples)")

    state = build_state(cfg, device, ranks.rank,
                        use_cuda_graph(cfg.train.cuda_graph, device, ranks.distributed,
                                       loss_scaling(cfg.train)))
    state.average_gradients = ranks.average_gradients
    ranks.share_weights(state.G, state.D, state.G_ema)
    window = StatsWindow(device)
    # rank 0 alone evaluates: the folder check and the instrument load once. Every process must
    # know whether it does, since a best.pt checkpoint gathers their random streams.
    best = BestTracker.create(cfg, domain, device, data) if writer else None
    evaluating = ranks.from_writer(lambda: best is not None)
    check = domain.digits_check  # a grayscale folder: the live evaluation's condition
    if check is not None and not check.digits and writer:
        print(f"steadygan: data.dir: {check.finding()}: no live evaluation, no best.pt",
              file=sys.stderr)
    health = HealthMonitor(cfg, run, state, domain, data)
    total = cfg.total_steps(n_images // ranks.world)  # an epoch: n_images / (batch_size x world)
    if resumed is not None and int(resumed["step"]) > total:
        setting = "train.steps" if cfg.train.steps > 0 else "train.epochs"
        raise ConfigError(f"{setting}: {run.path} is at step {resumed['step']}, past the {total} "
                          "steps asked for; to continue it, ask for more (--steps N)")
    start = 0
    if resumed is not None:
        start = _resume_into(state, window, best, health, run, resumed, ranks)
    else:
        ranks.from_writer(run.prepare_new)
    if writer:
        run.write_config(cfg)
        if check is not None and resumed is None:  # for eval and sweeps (digits_check.py)
            run.append_metrics(check.record())

    order = BatchOrder(n_images, cfg.train.batch_size, cfg.train.seed, device, ranks.rank,
                       ranks.world)
    z_fixed = fixed_latents(cfg, device)
    steps = make_step_runner(state, train_step, data, domain.to_batch, order.indices, window)
    sampler = state.G_ema if state.G_ema is not None else state.G
    r = cfg.run
    result = RunResult(run.path, start, writer=writer)
    if cfg.health.detect:
        result.timeline = health.timeline
    last_time, last_step = time.perf_counter(), start
    rollbacks = 0
    timer = LoopTimer(device, start)
    if not resume:  # a step-0 checkpoint: even an early divergence has somewhere to roll back to
        with timer.section("checkpoints"):
            _save_checkpoint(state, window, best, health, 0, [run.last_checkpoint], ranks,
                             checkpoints)
        if writer and health.start_clamp is not None:
            run.append_metrics(health.start_clamp)
            c = health.start_clamp
            print(f"steadygan: balance.mode=auto: {c['reason']}: lr_g {c['lr_g_before']:g} -> "
                  f"{c['lr_g']:g}, lr_d {c['lr_d_before']:g} -> {c['lr_d']:g}", file=sys.stderr)

    tensorboard = _tensorboard(run) if r.tensorboard and writer else None
    if r.report_every and writer:
        from steadygan.report import make_report
        from steadygan.report.plots import require_matplotlib
        require_matplotlib()  # now, not after an hour of training
    show = r.progress and writer
    with StopOnSignal() as stop, tqdm(total=total, initial=start, disable=not show,
                                       desc="train", unit="step", dynamic_ncols=True) as bar, \
            contextlib.closing(tensorboard) if tensorboard else contextlib.nullcontext():
        step = saved_step = start  # saved_step: the step last.pt holds
        while step < total:
            steps.run(step)
            step += 1
            bar.update(1)
            read_due = step % r.log_every == 0 or step == total
            # one process sees a stop at once; several agree on it at each statistics read, so
            # that no step pays a host round trip between the processes
            stopping = ranks.any(stop.requested) if read_due or not ranks.distributed else False

            # a stop between two reads reads nothing: the checkpoint keeps the partial window,
            # so the resumed run logs (and its controller acts on) the records of a straight one
            if read_due:
                now = time.perf_counter()
                with timer.section("statistics"):
                    record = _log_statistics(window, step, order, state, run, health, bar,
                                             now - last_time, step - last_step, ranks)
                last_time, last_step = now, step
                result.last_record = record
                # the statistics are averaged over the processes, so all of them decide alike
                if not all(math.isfinite(record[k]) for k in STAT_NAMES):
                    if rollbacks >= cfg.health.max_rollbacks:
                        raise TrainingDiverged(
                            f"training diverged near step {step} after {rollbacks} rollback(s) "
                            f"with halved learning rates; the last good checkpoint is "
                            f"{run.last_checkpoint} (see {run.diagnoses_path})")
                    rollbacks += 1
                    with timer.section("checkpoints"):
                        step = _roll_back(state, window, run, health, step, bar, ranks,
                                          checkpoints)
                    steps.invalidate()  # the restore replaced the optimizers' state tensors
                    bar.reset(total=total)
                    bar.update(step)
                    last_time, last_step = time.perf_counter(), step
                    continue
            if writer and step % r.sample_every == 0:
                with timer.section("samples"):
                    samples = domain.generate(sampler, z_fixed)
                    domain.save_samples(samples, run.sample_at(step))
                    if tensorboard is not None and samples.ndim == 4:
                        tensorboard.log_grid(step, make_grid(samples))
            extra_paths = []
            best_due = evaluating and (step % r.eval_every == 0 or step == total)
            if best_due and best is not None:
                with timer.section("evaluation"):
                    record, improved = best.evaluate(sampler, step)
                run.append_metrics(record)
                for diagnosis in health.observe(record)[1]:  # what the evaluation adds
                    bar.write(f"steadygan: {diagnosis.line()}")
                result.last_eval = record
                if improved:
                    extra_paths.append(run.best_checkpoint)
            if r.keep_checkpoints and step % r.checkpoint_every == 0:
                extra_paths.append(run.checkpoint_at(step))
            due = step % r.checkpoint_every == 0 or step == total or stopping or bool(extra_paths)
            if due or best_due:  # best_due: only rank 0 knows whether best.pt is due
                with timer.section("checkpoints"):
                    if _save_checkpoint(state, window, best, health, step,
                                        [run.last_checkpoint, *extra_paths] if due else [],
                                        ranks, checkpoints) and due:
                        saved_step = step
            result.steps = step
            if writer and r.report_every and (step % r.report_every == 0 or step == total):
                with timer.section("reports"):
                    make_report(run.path)
            if stopping:
                result.interrupted = True
                with timer.section("checkpoints"):
                    checkpoints.wait()  # saved means on disk before we say so
                if writer:
                    _record_timing(timer, step, run, result)
                    kept = (f"checkpoint saved at step {step}" if saved_step == step else
                            f"at step {step} the statistics since the last read were not "
                            f"finite, so the checkpoint of step {saved_step} is kept")
                    bar.write(f"interrupted: {kept}; continue with: "
                              f"steadygan train --resume {shlex.quote(str(run.path))}")
                return result

    if writer:  # the last checkpoint is written meanwhile; train() waits for it
        with timer.section("samples"):
            domain.save_samples(domain.generate(sampler, z_fixed), run.sample_at(None))
            domain.save_walks(sampler, run.walk_png, z_fixed.device)
        _record_timing(timer, total, run, result)
    return result


def _record_timing(timer: LoopTimer, step: int, run: RunDir, result: RunResult) -> None:
    """The run's time split (steps, statistics, samples, ...) into metrics.jsonl and the result."""
    result.timing = timer.record(step)
    run.append_metrics(result.timing)


def _log_statistics(window: StatsWindow, step: int, order: BatchOrder, state: GanState,
                    run: RunDir, health: HealthMonitor, bar: tqdm, seconds: float,
                    steps: int, ranks: Ranks) -> dict[str, Any]:
    """Read the statistics (the one host sync every K steps), let the health module judge them
    (and the controller act), write them to metrics.jsonl, and show them. Under torchrun: the
    statistics of the global batch (one all-reduce), judged by rank 0, whose optimizer settings
    (the controller's learning rates and betas) every process then takes."""
    ranks.average_(window.sum)
    record = _record(window, step, order, state, seconds,
                     _real_images(state.cfg, steps, ranks.world))
    if state.augment_p is not None:
        record["augment_p"] = state.augment_p_now  # the p these steps ran with
    if step % state.cfg.run.log_every == 0:
        _adapt_augmentation(window, state, ranks.world)
    if ranks.writer:
        record.update(health.sample_statistics())  # diversity and motion of G's samples
        run.append_metrics(record)
        actions, new_diagnoses = health.observe(record)
        for action in actions:
            run.append_metrics(action)
        bar.set_postfix_str(_postfix(record, health), refresh=False)
        for diagnosis in new_diagnoses:  # shown once, when found or when it gets worse
            bar.write(f"steadygan: {diagnosis.line()}")
    ranks.share_optimizer_settings(state.opt_g, state.opt_d)
    return record


def _real_images(cfg: TrainConfig, steps: int, world: int) -> int:
    """The real images D saw in `steps` steps, over all processes."""
    return steps * cfg.train.batch_size * cfg.train.n_critic * world


def _adapt_augmentation(window: StatsWindow, state: GanState, world: int) -> None:
    """At a read on the run.log_every cadence: adaptive augmentation's p, when the run adapts,
    moves by what D did since the last such read (every process alike: the sums are the global
    batch's)."""
    if state.augment_p is None:
        window.restart_cadence()
        return
    since, steps = window.cadence_mean()
    t = state.cfg.train
    state.set_augment_p(adapted_probability(state.augment_p_now, since["d_acc_real"],
                                            t.augment_target,
                                            _real_images(state.cfg, steps, world),
                                            t.augment_speed))


def _tensorboard(run: RunDir) -> Any:
    from steadygan.report.tensorboard import TensorBoardLogger  # optional extra

    logger = TensorBoardLogger(run.path)
    run.metrics_sinks.append(logger.log_record)
    return logger


def _roll_back(state: GanState, window: StatsWindow, run: RunDir, health: HealthMonitor,
               step: int, bar: tqdm, ranks: Ranks, checkpoints: CheckpointWriter) -> int:
    """Back to the last good checkpoint with halved learning rates; return its step."""
    checkpoints.wait()  # last.pt is read back: a write in flight must land first
    ckpt = ranks.from_writer(lambda: load_checkpoint(run.last_checkpoint))
    to_step = _restore(state, window, ckpt, ranks)
    lr_g, lr_d = health.halve_learning_rates()  # on every process: the same halves
    if ranks.writer:
        rollback = {"kind": "rollback", "step": step, "to_step": to_step,
                    "lr_g": lr_g, "lr_d": lr_d}
        run.append_metrics(rollback)
        health.observe(rollback)
        bar.write(f"steadygan: non-finite values at step {step}: rolled back to step {to_step} "
                  f"with halved learning rates (lr_g {lr_g:.2e}, lr_d {lr_d:.2e})")
    return to_step


def _resume_into(state: GanState, window: StatsWindow, best: BestTracker | None,
                 health: HealthMonitor, run: RunDir, ckpt: dict[str, Any], ranks: Ranks) -> int:
    """Continue from rank 0's last checkpoint (`ckpt`, on every process)."""
    step = _restore(state, window, ckpt, ranks)
    if best is not None and ckpt.get("best") is not None:
        best.load_state_dict(ckpt["best"])
    if ranks.writer:
        run.truncate_metrics(step)
        health.resume(ckpt.get("health"), run.read_metrics())
    return step


def _resumable_checkpoint(run: RunDir, cfg: TrainConfig) -> dict[str, Any]:
    ckpt = load_checkpoint(run.last_checkpoint)
    run.remove_unfinished_writes()
    saved = checkpoint_config(ckpt, run.last_checkpoint)
    if cfg.data.channels == 0:  # as the images are: as they were when the run began
        cfg.data.channels = saved.data.channels
    before, now = saved.model_signature(), cfg.model_signature()
    if before != now:
        # `points`: the run trained on 2-D mixtures (True) or on images (False)
        changed = [f"{k} {before.get(k)} -> {v}" for k, v in sorted(now.items())
                   if before.get(k) != v]
        raise CheckpointError(f"{run.path}: cannot resume with a different model "
                              f"(changed: {', '.join(changed)})")
    return ckpt


def _restore(state: GanState, window: StatsWindow, ckpt: dict[str, Any], ranks: Ranks) -> int:
    """Weights and optimizers from the checkpoint; this process's own random streams and
    partly filled logging window (it goes on); return the step."""
    own = rank_streams(ckpt, ranks.rank, ranks.world)
    step = restore(state, {**ckpt, "rng": own["rng"]})
    window.load_state_dict(own["stats_window"])
    if own["rng"] is None:  # more processes than saved the run: this one starts fresh streams
        seed = rank_seed(state.cfg.train.seed, ranks.rank) + step
        torch.manual_seed(seed)
        state.noise.manual_seed(seed + 1)
    return step


def _save_checkpoint(state: GanState, window: StatsWindow, best: BestTracker | None,
                     health: HealthMonitor, step: int, paths: list[Path], ranks: Ranks,
                     checkpoints: CheckpointWriter) -> bool:
    """Rank 0 writes the checkpoint to `paths` (none: nothing to write) unless some statistics
    went non-finite; every process hands it its random streams and logging window first, so that
    a resume with the same number of processes is exact. The write itself goes on in the
    background (checkpoint_writer.py). Returns whether this process handed one to it."""
    streams = ranks.gather({"rng": rng_state(state), "stats_window": window.state_dict()})
    finite = all(torch.isfinite(s["stats_window"]["sum"]).all() for s in streams)
    if not (ranks.writer and paths and finite):
        return False
    ckpt = state_dict(state, step)
    ckpt["stats_window"] = window.state_dict()
    if ranks.distributed:
        ckpt["ranks"] = streams
    ckpt["best"] = best.state_dict() if best is not None else None
    ckpt["health"] = health.state_dict()
    checkpoints.save(ckpt, paths)
    return True


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
    if "augment_p" in record:
        text += f" aug-p {record['augment_p']:.2f}"
    latest = health.timeline.diagnoses[-1] if health.timeline.diagnoses else None
    if latest is not None and latest.step_end == record["step"]:
        text += f" | {latest.kind} ({latest.severity})"
    return text
