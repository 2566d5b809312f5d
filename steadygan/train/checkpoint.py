"""Checkpoints: written atomically, holding everything needed to continue bit for bit."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from steadygan.atomic import atomic_writer
from steadygan.config import ConfigError, TrainConfig
from steadygan.train.step import GanState

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not fit the run; one-line message."""


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save that leaves either the old file or the new one, never half a checkpoint."""
    with atomic_writer(path) as f:
        torch.save(obj, f)


def rng_state(s: GanState) -> dict[str, Any]:
    """This process's random streams: global torch (dropout), the noise generator, CUDA's."""
    rng: dict[str, Any] = {"torch": torch.get_rng_state(), "noise": s.noise.get_state()}
    if s.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(s.device)
    return rng


def state_dict(s: GanState, step: int) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "step": step,
        "config": s.cfg.to_dict(),
        "G": s.G.state_dict(),
        "D": s.D.state_dict(),
        "G_ema": s.G_ema.state_dict() if s.G_ema is not None else None,
        "opt_g": s.opt_g.state_dict(),
        "opt_d": s.opt_d.state_dict(),
        "rng": rng_state(s),
        "scalers": ({"d": s.scaler_d.state_dict(), "g": s.scaler_g.state_dict()}
                    if s.scaler_d is not None else None),  # fp16's pair, or neither
        # adaptive augmentation's probability (train.augment_target > 0), or None
        "augment_p": s.augment_p_now if s.augment_p is not None else None,
    }


def host_copy(value: Any) -> Any:
    """A copy of `value` that the training cannot change: every tensor copied to the CPU (a
    copy even when it is there already), every container and array copied.

    From a GPU every tensor's copy is queued into pinned memory and all of them are waited for
    once: a checkpoint holds some hundred tensors, and copying each on its own made the host
    wait for the GPU each time."""
    gpus: set[torch.device] = set()
    copied = _host_copy(value, gpus)
    for device in gpus:
        torch.cuda.synchronize(device)
    return copied


def _host_copy(value: Any, gpus: set[torch.device]) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.device.type != "cuda":
            return value.to("cpu", copy=True)
        pinned = torch.empty_like(value, device="cpu", pin_memory=True)  # same strides
        gpus.add(value.device)
        return pinned.copy_(value, non_blocking=True)
    if isinstance(value, dict):
        return {k: _host_copy(v, gpus) for k, v in value.items()}
    if isinstance(value, list):
        return [_host_copy(v, gpus) for v in value]
    if isinstance(value, tuple):
        return tuple(_host_copy(v, gpus) for v in value)
    return copy.deepcopy(value)  # numbers and strings as they are, arrays copied


# what a resume reads, and what sampling from a checkpoint reads
RESUME_KEYS = ("step", "config", "G", "D", "G_ema", "opt_g", "opt_d", "rng", "stats_window")
SAMPLE_KEYS = ("step", "config", "G")  # G_ema: used where there is one


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu",
                    needs: tuple[str, ...] = RESUME_KEYS) -> dict[str, Any]:
    """The checkpoint at `path`, holding at least the entries `needs`."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: not a steadygan checkpoint (format {FORMAT_VERSION})")
    missing = [key for key in needs if key not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: damaged checkpoint, without {', '.join(missing)}")
    return ckpt


def checkpoint_config(ckpt: dict[str, Any], path: Path) -> TrainConfig:
    try:
        return TrainConfig.from_dict(ckpt["config"], source=str(path))
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None


def rank_streams(ckpt: dict[str, Any], rank: int, world: int) -> dict[str, Any]:
    """The random streams ("rng") and partial statistics window ("stats_window") that process
    `rank` of `world` continues with. A checkpoint of a multi-process run keeps every rank's under
    "ranks" (rank 0's are also the top-level ones), so resuming with the same number of processes
    is exact. With another number, every rank takes rank 0's window and a rank without saved
    streams gets "rng": None (the caller seeds fresh ones)."""
    saved = ckpt.get("ranks") or [{"rng": ckpt["rng"], "stats_window": ckpt["stats_window"]}]
    if len(saved) == world:
        return saved[rank]
    return {"rng": saved[rank]["rng"] if rank < len(saved) else None,
            "stats_window": saved[0]["stats_window"]}


def restore(s: GanState, ckpt: dict[str, Any]) -> int:
    """Load weights, optimizer state and random streams (unless "rng" is None); return the step
    to continue from."""
    s.G.load_state_dict(ckpt["G"])
    s.D.load_state_dict(ckpt["D"])
    if s.G_ema is not None and ckpt["G_ema"] is not None:
        s.G_ema.load_state_dict(ckpt["G_ema"])
    s.opt_g.load_state_dict(ckpt["opt_g"])
    s.opt_d.load_state_dict(ckpt["opt_d"])
    scalers = ckpt.get("scalers")  # fp16 only; a run resumed in fp16 from fp32 starts afresh
    if scalers and s.scaler_d is not None:
        s.scaler_d.load_state_dict(scalers["d"])
        s.scaler_g.load_state_dict(scalers["g"])
    if s.augment_p is not None:  # a run that did not adapt before starts from 0
        s.set_augment_p(ckpt.get("augment_p") or 0.0)
    rng = ckpt["rng"]
    if rng is not None:
        torch.set_rng_state(rng["torch"])
        s.noise.set_state(rng["noise"])
        if "cuda" in rng and s.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], s.device)
    return int(ckpt["step"])
