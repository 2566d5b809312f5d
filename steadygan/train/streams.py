"""Seed offsets of the random draws a run makes besides training's own, one per purpose: two
purposes on one offset would draw the same latents (the walks once shared the live evaluation's).
"""
from __future__ import annotations

from steadygan.config import TrainConfig

FIXED_SAMPLES = 12345  # the sample grids' latents: a person sees the same z evolve
LIVE_EVAL = 54321  # the live evaluation's latents (bench/quality.py scores the reference's alike)
WALKS = 24680  # samples/walk.png's latent walks
DIVERSITY = 777  # the health monitor's real images and latents for its diversity reads


def seed_for(cfg: TrainConfig, offset: int) -> int:
    return cfg.train.seed + offset
