"""Running training steps: eagerly, or replayed as one CUDA graph.

At batch 128 a step is a few hundred small kernels, and launching them one by one from Python takes
longer than the GPU needs to run them. A CUDA graph records the whole step once (real batches by
index, D and G updates, EMA, the statistics sum) and then launches it as one unit.

What a graph bakes in must not change behind its back, so it is recorded again when it would:
- an optimizer setting moves (the balance controller's lr or beta1; a rollback's halved lrs),
- a checkpoint restore replaces the optimizers' state tensors (`invalidate()`).
The first recording comes after a few eager steps on a side stream (PyTorch's recipe), so that
lazily created optimizer state and cuDNN's algorithm choices happen outside the capture.
If recording fails (an operation the graph cannot hold), training goes on eagerly and says so.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import torch

from steadygan.config import ConfigError
from steadygan.train.compile_fallback import compiled, first_compiled_step
from steadygan.train.step import (GanState, ema_decay_at, scaled_learning_rates, update_ema,
                                  warmup_factor)

StepFn = Callable[[GanState, list[torch.Tensor]], torch.Tensor]


class StepRunner:
    """One generator step and its n_critic D steps, eagerly: reals by index, the update, EMA, and
    the statistics added to the window."""

    graph_captures = 0  # how many graphs were recorded (none here)

    def __init__(self, state: GanState, step_fn: StepFn, data: torch.Tensor,
                 to_batch: Callable[[torch.Tensor], torch.Tensor],
                 indices: Callable[[int], torch.Tensor], window: Any) -> None:
        self.state, self.step_fn, self.data, self.to_batch = state, step_fn, data, to_batch
        self.indices, self.window = indices, window
        self.n_critic = state.cfg.train.n_critic
        self._compile_untried = compiled(state)  # the first step compiles, and may fail

    def batch_indices(self, step: int) -> list[torch.Tensor]:
        return [self.indices(step * self.n_critic + i) for i in range(self.n_critic)]

    def run(self, step: int) -> None:
        t = self.state.cfg.train
        with scaled_learning_rates(self.state, warmup_factor(step, t.lr_warmup_steps)):
            self.window.add(self._advance(self.batch_indices(step),
                                          ema_decay_at(step, t.ema_decay)))

    def _advance(self, indices: list[torch.Tensor], decay: float | torch.Tensor) -> torch.Tensor:
        """The step itself, eager or being recorded: its statistics (not yet in the window)."""
        s = self.state
        reals = [self.to_batch(self.data[idx]) for idx in indices]
        if self._compile_untried:
            self._compile_untried = False
            stats = first_compiled_step(s, lambda: self.step_fn(s, reals))
        else:
            stats = self.step_fn(s, reals)
        if s.G_ema is not None:
            update_ema(s.G_ema, s.G, decay)
        return stats

    def invalidate(self) -> None:
        """The state's tensors were replaced (a checkpoint restore); nothing is cached here."""


class GraphedStepRunner(StepRunner):
    """The same step, recorded once as a CUDA graph and replayed (see the module's docstring)."""

    WARMUP_STEPS = 3  # eager steps before the first recording

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        device = self.state.device
        self._warmup_left = self.WARMUP_STEPS
        self._graph: torch.cuda.CUDAGraph | None = None
        self._settings: tuple = ()
        self._failed = False
        self.graph_captures = 0
        # the graph's inputs: copied into before each replay, at fixed addresses
        bs = self.state.cfg.train.batch_size
        self._index_slots = [torch.zeros(bs, dtype=torch.long, device=device)
                             for _ in range(self.n_critic)]
        self._decay = torch.zeros((), device=device)

    def run(self, step: int) -> None:
        if self._failed:
            return super().run(step)
        if step < self.state.cfg.train.lr_warmup_steps:
            return super().run(step)  # eager while the rates warm up: a graph holds constants
        if self._warmup_left > 0:  # the side-stream steps right before the recording
            self._warmup_left -= 1
            return self._run_on_side_stream(step)
        if self._graph is None or self._settings != self._current_settings():
            if not self._capture():
                return super().run(step)
        for slot, idx in zip(self._index_slots, self.batch_indices(step)):
            slot.copy_(idx)
        self._decay.fill_(ema_decay_at(step, self.state.cfg.train.ema_decay))
        self._graph.replay()
        self.window.count_step()

    def invalidate(self) -> None:
        self._graph = None

    def _current_settings(self) -> tuple:
        """What the recorded kernels hold as constants and a run may change: the optimizers'
        settings (the rest, such as label noise or the loss, is fixed by the config). Read every
        step, so kept to a few dictionary lookups."""
        s = self.state
        return tuple((g["lr"], g["betas"], g["eps"], g["weight_decay"])
                     for opt in (s.opt_g, s.opt_d) for g in opt.param_groups)

    def _run_on_side_stream(self, step: int) -> None:
        device = self.state.device
        side, main = torch.cuda.Stream(device), torch.cuda.current_stream(device)
        side.wait_stream(main)
        with torch.cuda.stream(side):
            super().run(step)
        main.wait_stream(side)

    def _capture(self) -> bool:
        self._graph = None  # its memory goes back before the new one is recorded
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._record()
        except Exception as error:  # noqa: BLE001 - any failure means: train on eagerly
            self._give_up(error)
            return False
        self._graph, self._settings = graph, self._current_settings()
        self.graph_captures += 1
        return True

    def _record(self) -> None:
        # the sum is recorded; the count rises per replay, in run()
        self.window.sum.add_(self._advance(self._index_slots, self._decay))

    def _give_up(self, error: Exception) -> None:
        self._failed = True
        torch.cuda.synchronize(self.state.device)
        for opt in (self.state.opt_g, self.state.opt_d):
            opt.zero_grad(set_to_none=True)  # gradients may point into the abandoned graph's memory
        try:
            _release_generator_from_capture(self.state.device)
        except (AttributeError, RuntimeError):  # a torch without graph-safe generator states
            raise RuntimeError(f"CUDA graph capture failed ({error}); rerun with "
                               f"--set train.cuda_graph=off") from error
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        print(f"steadygan: CUDA graph capture failed ({type(error).__name__}: {first_line}); "
              f"training goes on eagerly (train.cuda_graph=off skips the attempt)", file=sys.stderr)


def _release_generator_from_capture(device: torch.device) -> None:
    """A capture that failed never ran its epilogue, so the default CUDA generator still believes
    it is recording and refuses eager draws. Hand it a fresh state at the same seed and offset."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    default = torch.cuda.default_generators[index]
    fresh = torch.Generator(device=device)
    fresh.set_state(default.get_state())
    default.graphsafe_set_state(fresh)


def use_cuda_graph(setting: str, device: torch.device, distributed: bool,
                   loss_scaling: bool = False) -> bool:
    """`auto`: on a CUDA device in one process. Under torchrun the gradient all-reduce sits
    between the backward pass and the update, so the step stays eager there; so does fp16's
    loss scaling, whose recording has not been checked on a GPU."""
    if setting == "off":
        return False
    available = device.type == "cuda" and not distributed and not loss_scaling
    if setting == "on" and not available:
        where = ("several processes (torchrun)" if distributed else
                 "fp16 with loss scaling" if device.type == "cuda" else f"device {device}")
        raise ConfigError(f"train.cuda_graph: 'on' needs one process on a CUDA device in fp32 or "
                          f"bf16; this run uses {where} (use auto or off)")
    return available


def make_step_runner(state: GanState, step_fn: StepFn, data: torch.Tensor,
                     to_batch: Callable[[torch.Tensor], torch.Tensor],
                     indices: Callable[[int], torch.Tensor], window: Any) -> StepRunner:
    runner = GraphedStepRunner if state.graphed else StepRunner
    return runner(state, step_fn, data, to_batch, indices, window)

