"""Sweep specifications: `--grid section.key=v1,v2,...` and seeds, expanded into trials."""
from __future__ import annotations

import itertools
import math
import random
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
        spec = spec.strip()
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
        seen: dict[object, str] = {}  # two equal values would be one trial folder, trained twice
        for value in values:
            # unknown key, wrong type, range
            parsed = base.with_overrides([f"{key}={value}"], "--grid").validate().value(key)
            if parsed in seen:
                raise ConfigError(f"--grid {spec}: {value} is {seen[parsed]} again")
            seen[parsed] = value
        axes.append((key, values))
    return axes


@dataclass(frozen=True)
class RandomRange:
    key: str
    lo: float
    hi: float
    log: bool  # log-uniform
    integer: bool  # an integer setting: whole numbers only

    def draw(self, rng: random.Random) -> str:
        if self.integer:  # the whole numbers lo..hi, each as likely as its stretch of the range
            x = math.exp(rng.uniform(math.log(self.lo), math.log(self.hi + 1))) if self.log \
                else rng.uniform(self.lo, self.hi + 1)
            return f"{self.key}={min(int(x), int(self.hi))}"
        x = math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))) if self.log \
            else rng.uniform(self.lo, self.hi)
        return f"{self.key}={x:.3g}"


def parse_random(specs: list[str], base: TrainConfig) -> list[RandomRange]:
    """`section.key=lo:hi` (uniform) or `section.key=lo:hi:log` (log-uniform) -> ranges."""
    ranges = []
    for spec in specs:
        key, _, raw = spec.partition("=")
        key = key.strip()
        parts = raw.split(":")
        try:
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
                raise ValueError
            lo, hi, log = float(parts[0]), float(parts[1]), len(parts) == 3
        except ValueError:
            raise ConfigError(f"--random {spec}: expected section.key=lo:hi or lo:hi:log") from None
        if not lo < hi or (log and lo <= 0):
            raise ConfigError(f"--random {spec}: need lo < hi (and lo > 0 for log)")
        for value in (lo, hi):
            checked = base.with_overrides([f"{key}={value:g}"], "--random").validate()
        current = checked.value(key)
        ranges.append(RandomRange(key, lo, hi, log,
                                  isinstance(current, int) and not isinstance(current, bool)))
    return ranges


def sample_random(ranges: list[RandomRange], trials: int, seed: int = 0) -> list[list[str]]:
    """`trials` distinct random points, each a list of `section.key=value` (floats to 3
    significant digits, which name the trial folders: two equal points would share one)."""
    rng = random.Random(seed)
    points: list[list[str]] = []
    for _ in range(100 * trials):
        point = [r.draw(rng) for r in ranges]
        if point not in points:
            points.append(point)
            if len(points) == trials:
                return points
    raise ConfigError(f"--trials {trials}: the --random ranges gave only {len(points)} distinct "
                      f"points in {100 * trials} draws; ask for fewer trials or wider ranges")


def expand(axes: list[tuple[str, list[str]]], seeds: int,
           random_points: list[list[str]] | None = None) -> list[Trial]:
    """Grid combinations (x random points, when given) x seeds."""
    if seeds < 1:
        raise ConfigError(f"--seeds: must be >= 1, got {seeds}")
    combos = list(itertools.product(*[[f"{key}={v}" for v in values] for key, values in axes]))
    if random_points:
        combos = [combo + tuple(point) for combo in combos for point in random_points]
    trials = [Trial(tuple(combo), seed) for combo in combos for seed in range(seeds)]
    folders: dict[str, Trial] = {}
    for trial in trials:  # values that differ only in characters a folder name cannot hold
        if trial.name in folders:
            raise ConfigError(f"sweep: {', '.join(folders[trial.name].assignments)} and "
                              f"{', '.join(trial.assignments)} would share the trial folder "
                              f"{trial.name}")
        folders[trial.name] = trial
    return trials


CONTROLLED_KEYS = ("train.lr_g", "train.lr_d", "train.beta1")  # what the balance controller moves


def controller_note(base: TrainConfig, swept: list[str]) -> str | None:
    """A line for sweeps over the settings the balance controller moves while it is on: such a
    map shows where the controller copes, not how the raw settings behave."""
    moved = [k for k in CONTROLLED_KEYS if k in swept]
    if base.balance.mode != "auto" or not moved or "balance.mode" in swept:
        return None
    return (f"steadygan: the balance controller is on and moves {', '.join(moved)} during each "
            f"trial; --set balance.mode=off maps the settings as given")
