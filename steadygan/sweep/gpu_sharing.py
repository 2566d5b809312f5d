"""Sweep workers sharing one GPU. Without NVIDIA's Multi-Process Service (CUDA MPS) the GPU runs
one process's kernels at a time, in time slices; under MPS the small kernels of several trials run
side by side. The issue's 48 x 3 MNIST sweep took 5 min 24 s with 12 workers under MPS on an
H200 (BENCHMARKS.md), where one trial after another would take about 40 min.

`sharing_gpu` gives a local sweep's workers an MPS daemon of their own when none is running: its
pipes in a private folder, so no other program's CUDA processes become its clients, and it is
stopped when the sweep ends (a sweep killed with SIGKILL leaves it idle until `quit`). On a
machine with several GPUs the workers are spread over them (`visible_gpus`, `pin_worker_to_gpu`).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import torch

from steadygan.config import ConfigError
from steadygan.sweep.environ import environ_for_children

MPS_MODES = ("auto", "on", "off")
MPS_CONTROL = "nvidia-cuda-mps-control"
DEFAULT_PIPE_DIRECTORY = "/tmp/nvidia-mps"  # where the daemon puts its pipes when not told
# a CUDA context through the daemon: the daemon starts without error even where its server cannot
CUDA_PROBE = (sys.executable, "-c", "import torch; torch.zeros(1, device='cuda'); "
                                    "torch.cuda.synchronize()")


def visible_gpus(device: torch.device) -> list[str]:
    """The GPUs to spread a sweep's workers over, as CUDA_VISIBLE_DEVICES entries: all of them
    when there are several and the trials' device is CUDA with no index; else none."""
    if device.type != "cuda" or device.index is not None:
        return []
    count = torch.cuda.device_count()
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [d.strip() for d in listed.split(",") if d.strip()][:count] if listed \
        else [str(i) for i in range(count)]
    return ids if len(ids) > 1 else []


def pin_worker_to_gpu(worker_index: int, gpus: list[str]) -> None:
    """In a worker, before its first CUDA call: it sees one GPU, the next in turn."""
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[worker_index % len(gpus)]


def cuda_mps_running(environ: dict[str, str] | None = None) -> bool:
    """True when an MPS control daemon listens where this process's CUDA clients would look."""
    env = os.environ if environ is None else environ
    pipes = Path(env.get("CUDA_MPS_PIPE_DIRECTORY", DEFAULT_PIPE_DIRECTORY))
    return (pipes / "control").exists()


@contextlib.contextmanager
def sharing_gpu(device_type: str, workers: int, mode: str = "auto",
                probe: Sequence[str] = CUDA_PROBE) -> Iterator[None]:
    """While the sweep runs, its CUDA workers (more than one) are clients of an MPS daemon: one
    already running, or one started here (mode auto: when it can be; on: or a ConfigError).
    Workers spawned inside the block inherit the daemon's pipe folder from os.environ."""
    if mode not in MPS_MODES:
        raise ConfigError(f"--mps: expected one of {', '.join(MPS_MODES)}, got {mode!r}")
    if mode == "off" or device_type != "cuda" or workers < 2 or cuda_mps_running():
        yield
        return
    pipes, why_not = _start_daemon(probe)
    if pipes is None:
        if mode == "on":
            raise ConfigError(f"--mps on: CUDA MPS could not start ({why_not})")
        print(f"steadygan: {workers} workers take turns on one GPU: CUDA MPS could not start "
              f"({why_not}); --mps off silences this", file=sys.stderr)
        yield
        return
    print(f"steadygan: started CUDA MPS for {workers} workers on one GPU (stopped at the end)",
          file=sys.stderr)
    try:
        with environ_for_children(_daemon_env(pipes)):
            yield
    finally:
        _stop_daemon(pipes)


def _daemon_env(pipes: Path) -> dict[str, str]:
    return {"CUDA_MPS_PIPE_DIRECTORY": str(pipes), "CUDA_MPS_LOG_DIRECTORY": str(pipes / "log")}


def _start_daemon(probe: Sequence[str]) -> tuple[Path | None, str]:
    """(the daemon's pipe folder, "") once a probe process has used CUDA through it, else
    (None, why not)."""
    if shutil.which(MPS_CONTROL) is None:
        return None, f"{MPS_CONTROL} not found"
    pipes = Path(tempfile.mkdtemp(prefix="steadygan-mps-"))
    (pipes / "log").mkdir()
    env = {**os.environ, **_daemon_env(pipes)}
    try:
        started = subprocess.run([MPS_CONTROL, "-d"], env=env, capture_output=True, text=True,
                                 timeout=30)
        if started.returncode != 0:
            shutil.rmtree(pipes, ignore_errors=True)
            return None, _last_line(started, f"{MPS_CONTROL} -d failed")
        probed = subprocess.run(list(probe), env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _stop_daemon(pipes)
        return None, str(exc)
    if probed.returncode != 0:
        _stop_daemon(pipes)
        return None, _last_line(probed, "a CUDA process could not use it")
    return pipes, ""


def _stop_daemon(pipes: Path) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run([MPS_CONTROL], input="quit\n", env={**os.environ, **_daemon_env(pipes)},
                       capture_output=True, text=True, timeout=30)
    shutil.rmtree(pipes, ignore_errors=True)


def _last_line(ran: subprocess.CompletedProcess, fallback: str) -> str:
    lines = (ran.stderr or ran.stdout or "").strip().splitlines()
    return lines[-1] if lines else fallback
