"""What the training loop asks of the health module at each statistics read (every K steps):
diversity of G's samples, the detectors, the balance controller, and the diagnoses file."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from steadygan.atomic import atomic_write_text
from steadygan.config import TrainConfig
from steadygan.health.balance import BalanceController
from steadygan.health.diagnosis import Diagnosis
from steadygan.health.stats import diversity_ratio, motion
from steadygan.health.timeline import Timeline
from steadygan.train.rundir import RunDir
from steadygan.train.step import GanState
from steadygan.train import streams

N_DIVERSITY = 64  # samples in the diversity estimate: cheap, and stable enough for a trend


class HealthMonitor:
    def __init__(self, cfg: TrainConfig, run: RunDir, state: GanState, domain: Any,
                 data: torch.Tensor) -> None:
        self.run, self.state, self.domain = run, state, domain
        self.detect = cfg.health.detect
        self.timeline = Timeline(cfg.health.window, cfg.health.warmup_steps, cfg)
        self.controller = (BalanceController(cfg.balance, cfg.train.lr_g, cfg.train.lr_d,
                                             cfg.train.beta1, cfg.health.warmup_steps)
                           if cfg.balance.mode == "auto" else None)
        self.start_clamp: dict[str, Any] | None = None  # the clamp's action record, if it moved
        if self.controller is not None:
            self.controller.apply(state.opt_g, state.opt_d)  # clamp into [lr_min, lr_max] now
            self.start_clamp = self.controller.start_clamp(cfg.train.lr_g, cfg.train.lr_d)
        gen = torch.Generator().manual_seed(streams.seed_for(cfg, streams.DIVERSITY))
        pick = torch.randperm(len(data), generator=gen)[:N_DIVERSITY].to(data.device)
        self.real = data[pick].cpu().numpy()
        self.z = torch.randn(N_DIVERSITY, cfg.model.z_dim, generator=gen).to(state.device)
        self.previous: np.ndarray | None = None  # the last read's samples, for their motion

    def sample_statistics(self) -> dict[str, float]:
        """G's samples for fixed z: their spread relative to real data (1 healthy, 0 collapsed),
        and how far they moved since the last read, in units of the real data's spread."""
        fake = self.domain.generate(self.state.G, self.z)
        if not np.isfinite(fake).all():
            return {"diversity": float("nan"), "motion": float("nan")}
        stats = {"diversity": diversity_ratio(fake, self.real)}
        if self.previous is not None:
            stats["motion"] = motion(self.previous, fake, self.real)
        self.previous = fake
        return stats

    def observe(self, record: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Diagnosis]]:
        """Take a metrics record; return extra records (controller actions) and new diagnoses."""
        extra: list[dict[str, Any]] = []
        new = self.timeline.add(record) if self.detect else []
        if record.get("kind", "train") == "train" and self.controller is not None and \
                all(np.isfinite(record[k]) for k in ("d_acc_real", "d_acc_fake")):
            action = self.controller.observe(record)
            if action is not None:
                self.controller.apply(self.state.opt_g, self.state.opt_d)
                extra.append(action)
        if new:
            self.write_diagnoses()
        return extra, new

    def halve_learning_rates(self) -> tuple[float, float]:
        """After a rollback: both sides slower, the controller's memory too."""
        for opt in (self.state.opt_g, self.state.opt_d):
            for group in opt.param_groups:
                group["lr"] *= 0.5
        lr_g = self.state.opt_g.param_groups[0]["lr"]
        lr_d = self.state.opt_d.param_groups[0]["lr"]
        if self.controller is not None:
            self.controller.lr_g, self.controller.lr_d = lr_g, lr_d
        return lr_g, lr_d

    def write_diagnoses(self) -> None:
        atomic_write_text(self.run.diagnoses_path, "".join(
            json.dumps(d.to_dict()) + "\n" for d in self.timeline.diagnoses))

    # ---- checkpoint / resume -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"controller": self.controller.state_dict() if self.controller else None,
                "previous_samples": self.previous}

    def resume(self, state: dict[str, Any] | None, records: list[dict[str, Any]]) -> None:
        if self.controller is not None and state and state.get("controller"):
            self.controller.load_state_dict(state["controller"])
        self.previous = state.get("previous_samples") if state else None
        self.timeline = Timeline.of_run(records, self.timeline.window, self.timeline.warmup_steps,
                                        self.timeline.settings)
        self.write_diagnoses()
