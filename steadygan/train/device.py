"""Where training runs and in which precision."""
from __future__ import annotations

import torch

from steadygan.config import ConfigError, TrainSection


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit device must exist.

    With `local_rank` (one of several processes on a machine, started by torchrun) CUDA means
    this process's own GPU, cuda:LOCAL_RANK, whatever index was asked for."""
    device = _named_device(name)
    if local_rank is None:
        return device
    if device.type == "mps" and name == "auto":
        return torch.device("cpu")  # one MPS device cannot be shared by several processes
    if device.type == "mps":
        raise ConfigError(f"train.device: '{name}': several processes cannot share MPS; "
                          f"use cuda or cpu with torchrun")
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"train.device: process {local_rank} on this machine has no GPU of "
                              f"its own ({torch.cuda.device_count()} CUDA device(s)); start at "
                              f"most that many with torchrun --nproc_per_node")
        return torch.device("cuda", local_rank)
    return device


def _named_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: '{name}' requested but CUDA is not available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"train.device: '{name}' does not exist "
                          f"({torch.cuda.device_count()} CUDA device(s))")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device: '{name}' requested but MPS is not available here")
    return device


def autocast_dtype(train: TrainSection, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where it is fast and safe (CUDA); None means plain fp32."""
    if train.precision == "bf16" or (train.precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None
