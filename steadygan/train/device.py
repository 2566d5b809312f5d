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


def autocast_dtype(train: TrainSection, device: torch.device,
                   convolutional: bool = True) -> torch.dtype | None:
    """bf16 autocast where it is fast and safe; None means plain fp32.

    `auto` picks bf16 on GPUs with bf16 tensor cores (Ampere and newer), and on CPUs with AMX
    matrix units for the convolutional image models (1.8x the fp32 reference on this project's
    CPU, same FID); the 2-D mixtures' small MLPs stay fp32: they gain nothing, and bf16 cannot
    place a point near 4 closer than 0.03. Older GPUs (V100, T4) have no bf16 tensor cores and
    stay fp32 under `auto`; `bf16` asks for it anyway, `fp16` uses their fp16 tensor cores (with
    loss scaling: step.py)."""
    if train.precision == "bf16":
        return torch.bfloat16
    if train.precision == "fp16":
        return torch.float16
    if train.precision == "auto" and (
            (device.type == "cuda" and cuda_has_bf16(device))
            or (device.type == "cpu" and convolutional and cpu_has_amx())):
        return torch.bfloat16
    return None


def loss_scaling(train: TrainSection) -> bool:
    """fp16's narrow range needs its losses scaled (step.py); fp32 and bf16 need nothing."""
    return train.precision == "fp16"


def cuda_has_bf16(device: torch.device) -> bool:
    """bf16 tensor cores: compute capability 8.0 (Ampere) and newer, or an AMD GPU under ROCm
    (as torch.cuda.is_bf16_supported(including_emulation=False) judges, for this device rather
    than the current one)."""
    return bool(torch.version.hip) or torch.cuda.get_device_capability(device)[0] >= 8


def cpu_has_amx() -> bool:
    """Intel AMX (Sapphire Rapids and later): oneDNN runs bf16 convolutions on its tiles."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private, so guarded
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False
