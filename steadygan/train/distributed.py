"""Data-parallel training over the processes torchrun starts: who writes, and what is shared.

`torchrun --nproc_per_node=N -m steadygan train ...` starts N copies of the program with RANK,
LOCAL_RANK and WORLD_SIZE set. Every process holds the whole model and the whole dataset, trains on
its own slice of each global batch (train.batch_size is per process), and averages its gradients
with the others after every backward, so the weights stay identical everywhere. Rank 0 is the only
writer of the run directory and the only judge (health monitor, balance controller, best
checkpoint); it hands the others what they need: the run path, the checkpoint to continue from, the
optimizer settings after each statistics read.

In one process every method here does nothing (or calls its function), so single-process training
runs the same code and gets the same numbers, bit for bit.

Choices:
- Gradients are averaged by an explicit all-reduce of the flattened gradients after each backward,
  not by wrapping G and D in DistributedDataParallel. DDP (torch 2.13, gloo) does cope with this
  step's shape in a check we ran (two D forwards per backward, the G step through a frozen D, R1,
  n_critic), but every forward of a wrapped model with buffers is a collective (buffer broadcast),
  so rank 0's own forwards (samples, health, live FID) would hang unless routed through `.module`,
  and checkpoints would need `module.` prefixes stripped. The explicit average is a few lines,
  correct for any step shape, and leaves models, EMA and checkpoints as they are. What DDP adds,
  overlapping the all-reduce with the backward, is not measured here (a DCGAN's gradients are a
  few MB: one all-reduce per backward).
- BatchNorm keeps per-process statistics (no SyncBatchNorm): each process's batch is as large as a
  single-process batch, the D step normalizes its real and fake batches separately on purpose, and
  SyncBatchNorm adds an all-reduce per layer per forward and does not run on CPU. Running
  statistics are therefore per process; rank 0's are the ones sampled, evaluated and saved.
- Every process gets its own z, label noise and dropout streams (seeded by rank), so the ranks do
  not generate the same fakes.
"""
from __future__ import annotations

import contextlib
import os
import pickle
from typing import Any, Callable, Iterator, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

T = TypeVar("T")


def rank_seed(seed: int, rank: int) -> int:
    """The seed of a rank's own random streams; rank 0 keeps the single-process seed."""
    return seed + rank * 1_000_000_007


class Ranks:
    """This process's place among the training processes, and the few collectives the loop uses."""

    def __init__(self, rank: int = 0, local_rank: int = 0, world: int = 1) -> None:
        self.rank, self.local_rank, self.world = rank, local_rank, world
        self._control: Any = None  # process group for small host-side messages (gloo)

    @classmethod
    def from_env(cls) -> "Ranks":
        """torchrun's environment, or one process when WORLD_SIZE is absent or 1."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def writer(self) -> bool:
        """Only rank 0 writes the run directory, shows progress and judges the run."""
        return self.rank == 0

    @contextlib.contextmanager
    def joined(self, device: torch.device) -> Iterator["Ranks"]:
        """The process group for the run: nccl between GPUs, gloo on CPU; a group that the caller
        created already is used and left open."""
        if not self.distributed:
            yield self
            return
        owned = not dist.is_initialized()
        if owned:
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        # host-side decisions (stop flags, pickled objects) go over gloo, never through the GPU
        self._control = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
        try:
            yield self
            if owned:  # leave together: no rank tears gloo down while rank 0 still writes its
                dist.barrier()  # last files (`python -m steadygan` then skips the interpreter's
                # teardown under torchrun, where gloo could still abort a finished process)
        finally:
            if owned:
                dist.destroy_process_group()

    # ---- tensors ------------------------------------------------------------------------------
    def average_(self, tensor: torch.Tensor) -> None:
        """Replace `tensor` by its mean over the processes (in place)."""
        if self.distributed:
            dist.all_reduce(tensor)
            tensor.div_(self.world)

    def average_gradients(self, model: nn.Module) -> None:
        """Average `model`'s gradients over the processes: one all-reduce of one flat buffer."""
        if not self.distributed:
            return
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        flat = _flatten_dense_tensors(grads)
        self.average_(flat)
        torch._foreach_copy_(grads, list(_unflatten_dense_tensors(flat, grads)))

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite `tensors` with rank 0's values (one broadcast per dtype)."""
        if not self.distributed:
            return
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        with torch.no_grad():
            for group in by_dtype.values():
                flat = _flatten_dense_tensors(group)
                dist.broadcast(flat, src=0)
                torch._foreach_copy_(group, list(_unflatten_dense_tensors(flat, group)))

    def share_weights(self, *models: nn.Module | None) -> None:
        """Start every process from rank 0's weights (they agree already when seeded alike; this
        makes it so regardless of how a model initializes)."""
        self.broadcast_([t for m in models if m is not None
                         for t in (*m.parameters(), *m.buffers())])

    # ---- decisions ----------------------------------------------------------------------------
    def any(self, flag: bool) -> bool:
        """Whether any process says yes (a stop request): every process gets the same answer."""
        if not self.distributed:
            return flag
        t = torch.tensor([int(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self._control)
        return bool(t.item())

    def from_writer(self, fn: Callable[[], T]) -> T:
        """Run `fn` on rank 0 and hand every process its result, or raise its error everywhere
        (so a bad --resume stops all processes with the same message instead of leaving them
        waiting)."""
        if not self.distributed:
            return fn()
        box: list[Any] = [None]
        if self.writer:
            try:
                box = [(fn(), None)]
            except Exception as exc:  # noqa: BLE001 - handed on, raised below on every rank
                box = [(None, exc if _picklable(exc) else RuntimeError(f"rank 0: {exc!r}"))]
        dist.broadcast_object_list(box, src=0, group=self._control)
        value, error = box[0]
        if error is not None:
            raise error
        return value

    def gather(self, obj: T) -> list[T]:
        """Every process's `obj`, in rank order, on rank 0 (an empty list elsewhere)."""
        if not self.distributed:
            return [obj]
        out: list[Any] | None = [None] * self.world if self.writer else None
        dist.gather_object(obj, out, dst=0, group=self._control)
        return out or []

    def share_optimizer_settings(self, *optimizers: torch.optim.Optimizer) -> None:
        """Give every process rank 0's optimizer settings (learning rates, betas: the balance
        controller runs on rank 0 only)."""
        if not self.distributed:
            return
        settings = self.from_writer(lambda: [[{k: v for k, v in g.items() if k != "params"}
                                              for g in o.param_groups] for o in optimizers])
        for opt, groups in zip(optimizers, settings):
            for group, values in zip(opt.param_groups, groups):
                group.update(values)


def _picklable(obj: object) -> bool:
    try:
        pickle.dumps(obj)
        return True
    except Exception:  # noqa: BLE001 - any failure means: send a plain error instead
        return False
