"""The run directory: the contract between training and everything that reads a run later.

    config.toml              resolved configuration
    metrics.jsonl            one record every run.log_every steps
    samples/step_NNNNNN.png  grids from a fixed latent batch; samples/final.png at the end
    checkpoints/last.pt      latest checkpoint (+ step_NNNNNN.pt when kept)
    checkpoints/best.pt      the checkpoint with the lowest live FID (digits)
    diagnoses.jsonl          what the failure-mode detectors found, with evidence and remedies
"""
from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any, Callable

from steadygan.atomic import TEMP_GLOB, atomic_write_text
from steadygan.config import ConfigError, TrainConfig, dump_toml, load_config
from steadygan.jsonl import read_jsonl
from steadygan.outputs import output_folder


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # more places every metrics record goes (TensorBoard); metrics.jsonl stays the contract
        self.metrics_sinks: list[Callable[[dict[str, Any]], None]] = []

    # ---- locations ------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def diagnoses_path(self) -> Path:
        return self.path / "diagnoses.jsonl"

    @property
    def last_checkpoint(self) -> Path:
        return self.path / "checkpoints" / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.path / "checkpoints" / "best.pt"

    def resolve_checkpoint(self, checkpoint: str | Path | None) -> Path:
        """`None` or "last" -> last.pt, "best" -> best.pt, a step number (run.keep_checkpoints)
        -> step_NNNNNN.pt, anything else is a path (or a file's name in RUN/checkpoints)."""
        named = checkpoint in (None, "last", "best") or not Path(checkpoint).exists()
        if named and not self.path.is_dir():
            raise ConfigError(f"{self.path}: run directory not found")
        if checkpoint in (None, "last"):
            return self.last_checkpoint
        if checkpoint == "best":
            if not self.best_checkpoint.exists() and self.last_checkpoint.exists():
                raise ConfigError(f"{self.best_checkpoint}: not found; a live evaluation writes "
                                  "it (run.eval_every > 0, on digits, Stacked MNIST or a mixture), "
                                  "and this run had none: use --checkpoint last")
            return self.best_checkpoint
        path = Path(checkpoint)
        return path if path.exists() else self._named_inside(str(checkpoint))

    def _named_inside(self, name: str) -> Path:
        """A checkpoint named inside the run: step_000500, step_000500.pt, or 500 (a kept step)."""
        inside = self.path / "checkpoints"
        named = [inside / name, inside / f"{name}.pt"]
        if name.isdigit():
            named.append(self.checkpoint_at(int(name)))
        found = next((c for c in named if c.is_file()), None)
        if found is not None:
            return found
        if name.isdigit():
            kept = ", ".join(str(step) for step in sorted(
                int(c.stem[5:]) for c in inside.glob("step_*.pt") if c.stem[5:].isdigit()))
            kept = kept or "none; run.keep_checkpoints=true keeps them"
            raise ConfigError(f"--checkpoint {name}: no checkpoint of step {name} in {inside} "
                              f"(kept steps: {kept})")
        return Path(name)

    def checkpoint_at(self, step: int) -> Path:
        return self.path / "checkpoints" / f"step_{step:06d}.pt"

    def sample_at(self, step: int | None) -> Path:
        name = "final.png" if step is None else f"step_{step:06d}.png"
        return self.path / "samples" / name

    @property
    def walk_png(self) -> Path:
        """The final generator's latent walks (image runs)."""
        return self.path / "samples" / "walk.png"

    # ---- creation ---------------------------------------------------------------------------
    @staticmethod
    def default_path() -> Path:
        return Path("runs") / time.strftime("%Y%m%d-%H%M%S")

    def prepare_new(self) -> None:
        if self.last_checkpoint.exists():
            raise ConfigError(f"run.out: {self.path} already holds a run; "
                              f"continue it with --resume {shlex.quote(str(self.path))} or "
                              "choose another --out")
        output_folder(self.path, "run.out")

    def remove_unfinished_writes(self) -> list[Path]:
        """Delete the temp files of writes a kill cut short (atomic.py names them .NAME.*.tmp;
        a half checkpoint is tens of MiB); return them. Only while no write of this run is
        under way: at a resume, before training starts."""
        stale = [p for folder in (self.path, self.path / "checkpoints", self.path / "samples")
                 for p in folder.glob(TEMP_GLOB) if p.is_file()]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def write_config(self, cfg: TrainConfig) -> None:
        atomic_write_text(self.config_path, dump_toml(cfg))

    def read_config(self) -> TrainConfig:
        if not self.path.is_dir():
            raise ConfigError(f"{self.path}: run directory not found")
        return load_config(self.config_path)

    # ---- metrics ----------------------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        with self.metrics_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        for sink in self.metrics_sinks:
            sink(record)

    def read_metrics(self) -> list[dict[str, Any]]:
        """Its records; lines a kill cut short or damage made unreadable are skipped."""
        if not self.metrics_path.exists():
            return []
        return read_jsonl(self.metrics_path, number_key="step")[0]

    def truncate_metrics(self, step: int) -> None:
        """Drop records written after the checkpoint we resume from: they will be rewritten."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))
