"""Where training runs and in which precision."""
from __future__ import annotations

import torch

from steadygan.config import ConfigError, TrainSection


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit device must exist."""
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
