"""Live evaluation during training and the best checkpoint it selects (by FID, never by loss)."""
from __future__ import annotations

import math
from typing import Any

import torch

from steadygan.config import TrainConfig
from steadygan.models.generate import generate


def live_eval_applies(cfg: TrainConfig) -> bool:
    """The domain classifier reads 28x28 grayscale digits; other data get no live FID."""
    return cfg.run.eval_every > 0 and (cfg.data.image_size, cfg.data.channels) == (28, 1)


class BestTracker:
    """Every run.eval_every steps: FID of run.eval_samples fixed-latent samples; remembers the best."""

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        from steadygan.metrics.live import LiveFid  # the classifier loads only when used

        self.every = cfg.run.eval_every
        self.evaluate_images = LiveFid(str(device))
        gen = torch.Generator().manual_seed(cfg.train.seed + 54321)
        self.z = torch.randn(cfg.run.eval_samples, cfg.model.z_dim, generator=gen).to(device)
        self.best_fid, self.best_step = math.inf, -1

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 or step == total

    def evaluate(self, G: torch.nn.Module, step: int) -> tuple[dict[str, Any], bool]:
        """The metrics record for `step`, and whether it is the best so far."""
        record: dict[str, Any] = {"kind": "eval", "step": step}
        record.update(self.evaluate_images(generate(G, self.z)))
        improved = record["fid_live"] < self.best_fid
        if improved:
            self.best_fid, self.best_step = record["fid_live"], step
        record.update(best_fid_live=self.best_fid, best_step=self.best_step)
        return record, improved

    def state_dict(self) -> dict[str, Any]:
        return {"best_fid": self.best_fid, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_fid, self.best_step = float(state["best_fid"]), int(state["best_step"])
