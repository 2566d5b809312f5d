"""Sweep specifications: `--grid section.key=v1,v2,...` and seeds, expanded into trials."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from steadygan.config import ConfigError, TrainConfig


@dataclass(frozen=True)
class Trial:
    assignments: tuple[str, ...]  # "section.key=value", one per grid axis
    seed: int
    label: str = ""  # a name for the variant (ablations); grid trials are named by their values

    @property
    def name(self) -> str:
        """A folder name that says what the trial is: lr_d-0.0001_beta1-0.5_s0."""
        parts = [self.label] if self.label else [
            a.split(".", 1)[1].replace("=", "-") for a in self.assignments]
        return re.sub(r"[^A-Za-z0-9_.+-]", "_", "_".join(parts + [f"s{self.seed}"]))

    def settings(self) -> list[str]:
        return [*self.assignments, f"train.seed={self.seed}"]


def parse_grid(specs: list[str], base: TrainConfig) -> list[tuple[str, list[str]]]:
    """[("train.lr_d", ["1e-5", "1e-4"]), ...]; every value is checked against the config now,
    so a typo fails in a second, not after an hour of trials."""
    axes: list[tuple[str, list[str]]] = []
    for spec in specs:
        if "=" not in spec:
            raise ConfigError(f"--grid {spec}: expected section.key=v1,v2,...")
        key, raw = (part.strip() for part in spec.split("=", 1))
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if not values:
            raise ConfigError(f"--grid {spec}: no values given")
        if key in (k for k, _ in axes):
            raise ConfigError(f"--grid {spec}: {key} is already an axis")
        if key == "train.seed":
            raise ConfigError(f"--grid {spec}: use --seeds for seeds")
        for value in values:
            base.with_overrides([f"{key}={value}"]).validate()  # unknown key, wrong type, range
        axes.append((key, values))
    return axes


def expand(axes: list[tuple[str, list[str]]], seeds: int) -> list[Trial]:
    if seeds < 1:
        raise ConfigError(f"--seeds: must be >= 1, got {seeds}")
    combos = itertools.product(*[[f"{key}={v}" for v in values] for key, values in axes])
    return [Trial(tuple(combo), seed) for combo in combos for seed in range(seeds)]
