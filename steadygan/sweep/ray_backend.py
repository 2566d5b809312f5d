"""`--backend ray`: the sweep's trials as Ray Tune trials, one CPU (and a share of the GPUs)
each. The trial itself is the local backend's TrialRunner, unchanged, so resuming (finished
trials are skipped) and results.csv work the same; Ray only schedules. Imported only when the
ray backend is chosen: Ray is an optional extra (steadygan[ray])."""
from __future__ import annotations

import contextlib
import io
import logging
import math
import numbers
import os
from pathlib import Path
from typing import Any, Callable

import ray
import torch
from ray import tune

from steadygan.sweep.grid import Trial

RunOne = Callable[[Trial], dict[str, Any]]
ROW = "steadygan_row"  # the whole result dict, text fields included, as reported to Ray


def run_on_ray(run_one: RunOne, trials: list[Trial], workers: int, device: str, storage: Path,
               done: Callable[[], None]) -> list[dict[str, Any]]:
    """Run `run_one` on every trial under Ray Tune, `workers` at a time; the result dicts in the
    order of `trials`. Ray's own files (experiment state, per-trial logs) go under `storage`."""
    started = not ray.is_initialized()
    if started:  # a local instance of our own; a caller's ray.init (a cluster) is used as it is
        ray.init(address="local", num_cpus=workers, num_gpus=torch.cuda.device_count(),
                 include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        return _fit(run_one, trials, workers, _resources(device, workers), storage, done)
    finally:
        if started:
            ray.shutdown()


def _resources(device: str, workers: int) -> dict[str, float]:
    """One CPU per trial (a trial is mostly one process at a time); when it trains on CUDA, an
    even share of the GPUs, so `workers` trials fit side by side as with the local backend."""
    gpus = torch.cuda.device_count()
    on_cuda = gpus > 0 and (device == "auto" or device.startswith("cuda"))
    return {"cpu": 1, "gpu": min(1.0, gpus / workers)} if on_cuda else {"cpu": 1}


def _fit(run_one: RunOne, trials: list[Trial], workers: int, resources: dict[str, float],
         storage: Path, done: Callable[[], None]) -> list[dict[str, Any]]:
    trainable = tune.with_parameters(steadygan_trial, run_one=run_one, trials=trials,
                                     cwd=os.getcwd())
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        param_space={"index": tune.grid_search(list(range(len(trials))))},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=workers,
            trial_dirname_creator=lambda t: trials[t.config["index"]].name),
        run_config=tune.RunConfig(storage_path=str(storage.resolve()), verbose=0,
                                  callbacks=[_Progress(done)]))
    with contextlib.redirect_stdout(io.StringIO()):  # Tune prints a banner even when silent
        grid = tuner.fit()
    return _rows(grid, len(trials))


def _rows(grid: Any, n: int) -> list[dict[str, Any]]:
    """The reported rows by trial index; a trial's exception is raised as the local backend
    would, and a trial without a row means Tune was stopped (Ctrl-C) before it finished."""
    by_index: dict[int, dict[str, Any]] = {}
    for result in grid:
        if result.error:  # a bug, not a failed training (that is a result)
            raise result.error
        if ROW not in (result.metrics or {}):
            raise KeyboardInterrupt
        by_index[result.config["index"]] = result.metrics[ROW]
    return [by_index[i] for i in range(n)]


def steadygan_trial(config: dict[str, Any], run_one: RunOne, trials: list[Trial],
                    cwd: str) -> None:
    """The Tune trainable: one trial, its numeric fields as Tune metrics, the whole row kept."""
    os.chdir(cwd)  # Tune starts a trial in a working dir of its own; our paths are relative
    result = run_one(trials[config["index"]])
    tune.report({**numeric(result), ROW: result})


def numeric(result: dict[str, Any]) -> dict[str, float]:
    """The fields Tune can plot and compare (metrics, seed, success as 0/1); an infinite KL
    stays in the row only (Tune's TensorBoard logger warns about it)."""
    return {k: float(v) for k, v in result.items()
            if isinstance(v, numbers.Real) and math.isfinite(v)}


class _Progress(tune.Callback):
    """Ticks the sweep's progress bar as trials finish."""

    def __init__(self, done: Callable[[], None]) -> None:
        self._done = done

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._done()
