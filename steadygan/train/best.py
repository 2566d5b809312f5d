"""Live evaluation during training and the best checkpoint it selects (by a metric, never by loss).

Digits get a domain FID against the shipped MNIST statistics; Stacked MNIST gets modes covered
(of 1000) and KL to uniform; 2-D mixtures get modes covered and the share of high-quality
samples. Other data get no live evaluation.
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch

from steadygan.config import TrainConfig
from steadygan.train.domain import ImageDomain, LiveEval, PointDomain
from steadygan.train import streams


class BestTracker:
    """Every run.eval_every steps: evaluate fixed-latent samples and remember the best score."""

    def __init__(self, cfg: TrainConfig, domain: ImageDomain | PointDomain, evaluate: LiveEval,
                 device: torch.device) -> None:
        self.domain, self.evaluate_samples = domain, evaluate
        gen = torch.Generator().manual_seed(streams.seed_for(cfg, streams.LIVE_EVAL))
        self.z = torch.randn(cfg.run.eval_samples, cfg.model.z_dim, generator=gen).to(device)
        self.best_score, self.best_step = math.inf, -1

    @classmethod
    def create(cls, cfg: TrainConfig, domain: ImageDomain | PointDomain, device: torch.device,
               real: torch.Tensor) -> "BestTracker | None":
        """None when run.eval_every is 0 or the data have no live evaluation (`real`: the
        training data, which decide it for a folder of grayscale images)."""
        evaluate = domain.live_eval(device, real) if cfg.run.eval_every > 0 else None
        return cls(cfg, domain, evaluate, device) if evaluate is not None else None

    def evaluate(self, G: torch.nn.Module, step: int) -> tuple[dict[str, Any], bool]:
        """The metrics record for `step`, and whether it is the best so far. Its eval_s says
        what the evaluation cost (the metrics come back to the host, so the time is complete)."""
        started = time.perf_counter()
        metrics, score = self.evaluate_samples(self.domain.generate(G, self.z))
        improved = score < self.best_score
        if improved:
            self.best_score, self.best_step = score, step
        return {"kind": "eval", "step": step, **metrics, "best_step": self.best_step,
                "eval_s": round(time.perf_counter() - started, 3)}, improved

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_score, self.best_step = float(state["best_score"]), int(state["best_step"])
