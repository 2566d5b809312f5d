"""Run a sweep: each trial trains, evaluates and diagnoses (sweep/trial.py) in a process apart
from the sweep's (so N of them can share a GPU or the cores), each in its own run directory;
finished trials are skipped, so an interrupted sweep is resumed by running the same command again.
The local backend keeps `workers` processes for all its trials; the Ray backend (ray_backend.py)
starts one per trial. Both call the same TrialRunner, so their results.csv are the same."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import multiprocessing
import signal
import sys
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

from tqdm.auto import tqdm

from steadygan.atomic import atomic_write_text
from steadygan.config import MIXTURE_SOURCES, ConfigError, TrainConfig, dump_toml, load_config
from steadygan.data.stacked import NUM_MODES
from steadygan.sweep.environ import environ_for_children
from steadygan.sweep.gpu_sharing import pin_worker_to_gpu, sharing_gpu, visible_gpus
from steadygan.sweep.grid import Trial, controller_note
from steadygan.sweep.trial import execute, headline_metric, stop_with_parent
from steadygan.train.device import resolve_device

RESULT_FILE = "trial.json"  # written last in a trial's run directory: the trial is finished
BACKENDS = ("local", "ray")
RAY_HINT = 'the ray backend needs Ray Tune: pip install "steadygan[ray]"'


def run_sweep(base: TrainConfig, trials: list[Trial], out: Path, workers: int = 1,
              eval_samples: int | None = None, data_dir: str | None = None,
              fid_threshold: float = 10.0, progress: bool = True, backend: str = "local",
              mps: str = "auto"
              ) -> list[dict[str, Any]]:
    """Every trial's result dict, in the order of `trials`; also written to out/results.csv.
    eval_samples: None for the domain's default (evaluate.default_samples).
    mps: whether local workers on one GPU get a CUDA MPS daemon (gpu_sharing.py)."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    run_on_ray = _ray_runner() if backend == "ray" else None  # fail before writing anything
    note = controller_note(base, [a.partition("=")[0] for t in trials for a in t.assignments])
    if note:
        print(note, file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    run_one = TrialRunner.for_sweep(base, out, eval_samples, data_dir, fid_threshold)
    # a resumed sweep hands the backend only what is left: no idle workers, and no Ray instance
    # (15 s to start here) or MPS daemon for a sweep that has nothing left to run
    results = {t.name: run_one.result_of(t) for t in trials}
    pending = [t for t in trials if results[t.name] is None]
    workers = max(1, min(workers, len(pending)))
    # Ray hands out GPU shares itself; the local workers get CUDA MPS when they share one GPU
    device = resolve_device(base.train.device)
    gpu = contextlib.nullcontext() if run_on_ray or not pending else \
        sharing_gpu(device.type, workers, mps)
    with gpu, tqdm(total=len(trials), initial=len(trials) - len(pending), desc="sweep",
                   unit="trial", disable=not progress) as bar:
        done = partial(bar.update, 1)
        if pending:
            ran = run_on_ray(run_one, pending, workers, base.train.device, out / "ray", done) \
                if run_on_ray else run_locally(run_one, pending, workers, done,
                                               visible_gpus(device))
            results.update((t.name, r) for t, r in zip(pending, ran))
    ordered = [results[t.name] for t in trials]
    write_results(ordered, out / "results.csv")
    return ordered


def _changed_settings(before: TrainConfig, now: TrainConfig) -> list[str]:
    """"section.key old -> new" for every setting the trials read that differs (progress bars and
    the folder are not read: a trial has its own)."""
    ignored = {("run", "progress"), ("run", "out")}
    old, new = before.to_dict(), now.to_dict()
    return [f"{section}.{key} {old[section].get(key)} -> {value}"
            for section, values in new.items() for key, value in values.items()
            if (section, key) not in ignored and old[section].get(key) != value]


def _ray_runner() -> Callable[..., list[dict[str, Any]]]:
    try:
        from steadygan.sweep.ray_backend import run_on_ray
    except ImportError as exc:  # ray absent, or ray without its tune dependencies
        raise ConfigError(f"{RAY_HINT} ({exc})") from None
    return run_on_ray


def run_locally(run_one: "TrialRunner", trials: list[Trial], workers: int,
                done: Callable[[], None], gpus: list[str] | None = None) -> list[dict[str, Any]]:
    """The trials in `workers` long-lived processes (spawned, so each has its own torch and
    threads, and imports once for all its trials); a thread per worker hands them out. With
    several `gpus` (CUDA_VISIBLE_DEVICES entries) each worker keeps to one, in turn."""
    results = []
    spawn = multiprocessing.get_context("spawn")
    started = spawn.Value("i", 0)  # workers started so far: the next one's turn among the GPUs
    with _terminate_as_interrupt(), _trial_threads_for_children(), \
            ProcessPoolExecutor(max(1, workers), mp_context=spawn, initializer=_worker_start,
                                initargs=(started, gpus or [])) as processes, \
            ThreadPoolExecutor(max(1, workers)) as threads:
        in_pool = replace(run_one, pool=processes)
        for result in threads.map(in_pool, trials):
            results.append(result)
            done()
    return results


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, a cluster scheduler's notice) stops the sweep as Ctrl-C does: the workers get
    SIGINT, so their trials checkpoint and stop, and the sweep ends with exit code 130. Without it
    the sweep process died alone and its workers trained on, orphaned, to the end of their trials."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (a sweep run from a thread keeps its own)
        return

    def stop(signum: int, frame: Any) -> None:
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGINT)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _trial_threads() -> str:
    """Trials side by side share the cores: one thread each unless OMP_NUM_THREADS says more."""
    return os.environ.get("OMP_NUM_THREADS", "1")


def _trial_threads_for_children() -> contextlib.AbstractContextManager[None]:
    """The workers inherit OMP_NUM_THREADS at their start: numpy's BLAS reads it when it loads,
    before any worker code runs (without it each worker's BLAS took every core: on a 16-core GPU
    machine, 16 workers x 16 threads for the evaluations' matrix products)."""
    return environ_for_children({"OMP_NUM_THREADS": _trial_threads()})


def _worker_start(started: Any, gpus: list[str]) -> None:
    import torch

    with started.get_lock():
        index, started.value = started.value, started.value + 1
    pin_worker_to_gpu(index, gpus)
    torch.set_num_threads(int(_trial_threads()))
    # An idle worker ignores Ctrl-C (the sweep process handles it); a training trial installs its
    # own handler, so it checkpoints and stops, and restores this one when it returns.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_with_parent()


@dataclass(frozen=True)
class TrialRunner:
    """Runs one trial in out/trials/<name>; the one trial function of every backend. Plain
    data, so it pickles: Ray ships it to its worker processes."""
    base_file: Path
    trials_dir: Path
    eval_samples: int | None
    data_dir: str | None
    data_name: str  # which success rule applies
    fid_threshold: float
    pool: Executor | None = field(default=None, compare=False)  # None: a process per trial

    @classmethod
    def for_sweep(cls, base: TrainConfig, out: Path, eval_samples: int | None, data_dir: str | None,
                  fid_threshold: float) -> TrialRunner:
        """Writes out/base.toml, the config every trial starts from; a sweep begun with other
        settings is refused, since its finished trials would be compared with new ones."""
        base_file = out / "base.toml"
        if base_file.is_file() and any((out / "trials").glob("*")):
            changed = _changed_settings(load_config(base_file), base)
            if changed:
                raise ConfigError(f"--out: {out} holds a sweep begun with other settings "
                                  f"({', '.join(changed[:4])}); the same command resumes it, "
                                  "another --out starts a new one")
        atomic_write_text(base_file, dump_toml(base))
        return cls(base_file, out / "trials", eval_samples, data_dir, base.data.name,
                   fid_threshold)

    def result_of(self, trial: Trial) -> dict[str, Any] | None:
        """A finished trial's result (a rerun skips it), or None."""
        done = self.trials_dir / trial.name / RESULT_FILE
        if not done.exists():
            return None
        try:
            result = json.loads(done.read_text())
            if isinstance(result, dict):
                return result
            problem = f"a JSON {type(result).__name__}"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problem = type(exc).__name__
        # written atomically, so damaged after the sweep wrote it
        raise ConfigError(f"{done}: not a trial's result ({problem}); delete it and the same "
                          "command runs that trial again")

    def __call__(self, trial: Trial) -> dict[str, Any]:
        run = self.trials_dir / trial.name
        done = run / RESULT_FILE
        finished = self.result_of(trial)
        if finished is not None:
            return finished
        code, text = self._execute({"run": str(run), "base": str(self.base_file),
                                    "settings": trial.settings(),
                                    "eval_samples": self.eval_samples, "data_dir": self.data_dir})
        result: dict[str, Any] = {"trial": trial.name, "seed": trial.seed}
        if trial.label:
            result["variant"] = trial.label
        else:
            result.update(dict(a.split("=", 1) for a in trial.assignments))
        if code != 0:  # bad input, a crash or Ctrl-C: no trial.json, so a rerun retries it
            result["error"] = text
            return result
        result.update(json.loads(text))
        result["success"] = succeeded(result, self.data_name, self.fid_threshold)
        atomic_write_text(done, json.dumps(result, indent=1))
        return result

    def _execute(self, spec: dict[str, Any]) -> tuple[int, str]:
        if self.pool is None:
            return _in_subprocess(spec)
        try:
            return self.pool.submit(execute, spec).result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): retried next time
            return 1, f"the worker process running {spec['run']} died"


def _in_subprocess(spec: dict[str, Any]) -> tuple[int, str]:
    """The trial in a fresh `python -m steadygan.sweep.trial` (what Ray's workers run)."""
    env = {**os.environ, "OMP_NUM_THREADS": _trial_threads()}
    ran = subprocess.run([sys.executable, "-m", "steadygan.sweep.trial", json.dumps(spec)],
                         env=env, capture_output=True, text=True)
    if ran.returncode == 0:
        return 0, ran.stdout.strip().splitlines()[-1]
    last = ran.stderr.strip().splitlines()[-1:] or [f"exit code {ran.returncode}"]
    return ran.returncode, last[0].removeprefix("steadygan: error: ")


def succeeded(result: dict[str, Any], data_name: str, fid_threshold: float,
              min_quality: float = 0.5, max_kl: float = 0.1) -> bool:
    """DESIGN.md's success for digits; for Stacked MNIST its analogue over the 1000 modes (every
    mode covered, KL to uniform under max_kl); for 2-D mixtures every mode with enough quality;
    for images without a domain metric, training to the end without a failure diagnosis."""
    if result.get("diverged") or "error" in result:
        return False
    if headline_metric([result]) is None:  # no domain metric was taken
        return result.get("verdict") not in (None, "failure")
    if data_name in MIXTURE_SOURCES:
        return ("modes_covered" in result and result["modes_covered"] == result["n_modes"]
                and result["high_quality"] >= min_quality)
    if data_name == "stacked-mnist":
        return ("modes_covered" in result and result["modes_covered"] == NUM_MODES
                and result["kl"] < max_kl)
    return ("fid" in result and result["fid"] < fid_threshold
            and result["classes_covered"] == 10 and result["class_kl"] < max_kl)


def write_results(results: list[dict[str, Any]], path: Path) -> None:
    columns: list[str] = []
    for result in results:
        columns += [k for k in result if k not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)
    atomic_write_text(path, text.getvalue())
