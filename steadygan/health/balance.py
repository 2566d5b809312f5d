"""The balance controller: the practitioner's manual recipe, done every K steps.

Watch D's accuracy; when it leaves the target band, the side that learns too fast is slowed and the
other sped up, by one small multiplicative step; learning rates stay inside [lr_min, lr_max].
With `pace` on it also watches G's samples for fixed z (their spread relative to real data, and
how far they move between reads):
- jumping about (before the accuracy band is consulted): Adam's momentum makes the game oscillate
  (why DCGAN chose beta1 0.5 over 0.9), so beta1 steps down towards beta1_min;
- bunched, D and G balanced (momentum at its floor if they jump): both learn too slowly to
  spread the samples, so both speed up.
Like stylegan2-ada's augmentation controller it is gentle (sign-based steps at an interval) and
clamped (their p once ran away to 21.8); every action is logged with the numbers behind it.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from steadygan.config import BalanceSection

BETA1_STEP = 0.1  # one momentum action lowers Adam's beta1 by this much


class BalanceController:
    def __init__(self, cfg: BalanceSection, lr_g: float, lr_d: float, beta1: float = 0.5,
                 warmup_steps: int = 0) -> None:
        self.cfg, self.warmup_steps = cfg, warmup_steps
        self.lr_g, self.lr_d = self._clamp(lr_g), self._clamp(lr_d)
        self.beta1 = beta1
        # EMAs over log records: D's accuracy, G's sample spread and motion
        self.smoothed: float | None = None
        self.diversity: float | None = None
        self.motion: float | None = None
        self.actions = 0

    def start_clamp(self, lr_g: float, lr_d: float) -> dict[str, Any] | None:
        """The action record of the clamp at the start, when it changed the configured rates
        (a user who asked for lr 1e-2 should see that the controller runs it at lr_max)."""
        if (lr_g, lr_d) == (self.lr_g, self.lr_d):
            return None
        return {"kind": "balance", "step": 0,
                "reason": f"learning rates clamped into [{self.cfg.lr_min:g}, {self.cfg.lr_max:g}]",
                "lr_g_before": lr_g, "lr_d_before": lr_d, "lr_g": self.lr_g, "lr_d": self.lr_d,
                "beta1_before": self.beta1, "beta1": self.beta1}

    def _clamp(self, lr: float) -> float:
        return min(max(lr, self.cfg.lr_min), self.cfg.lr_max)

    def observe(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Take one train record; return the action record when the optimizers change."""
        d_acc = 0.5 * (record["d_acc_real"] + record["d_acc_fake"])
        self.smoothed = self._smooth(self.smoothed, d_acc)
        self.diversity = self._smooth(self.diversity, record.get("diversity"))
        self.motion = self._smooth(self.motion, record.get("motion"))
        lr_d, lr_g, beta1, reason = self._decide(record["step"])
        if reason is None:
            return None
        lr_d, lr_g = self._clamp(lr_d), self._clamp(lr_g)
        if (lr_d, lr_g, beta1) == (self.lr_d, self.lr_g, self.beta1):
            return None  # clamped already: nothing left to do in this direction
        action = {"kind": "balance", "step": record["step"], "reason": reason,
                  "d_acc": d_acc, "d_acc_smoothed": self.smoothed,
                  "diversity_smoothed": self.diversity, "motion_smoothed": self.motion,
                  "band": [self.cfg.band_low, self.cfg.band_high],
                  "lr_g_before": self.lr_g, "lr_d_before": self.lr_d, "lr_g": lr_g, "lr_d": lr_d,
                  "beta1_before": self.beta1, "beta1": beta1}
        self.lr_g, self.lr_d, self.beta1 = lr_g, lr_d, beta1
        self.actions += 1
        return action

    def _decide(self, step: int) -> tuple[float, float, float, str | None]:
        """(lr_d, lr_g, beta1, reason) after this read; reason None when nothing is to be done."""
        c, f = self.cfg, self.cfg.factor
        pacing = c.pace and step > self.warmup_steps
        # Momentum first: while the samples jump about, D's accuracy swings with them and says
        # little about which side is faster (measured on ring8: with beta1 0.9 the jumps outlast
        # the bunching, and the runs that kept 0.7-0.8 ended with samples between the modes).
        jumping = pacing and self.motion is not None and self.motion > c.motion_high
        if jumping and self.beta1 > c.beta1_min:
            beta1 = max(c.beta1_min, round(self.beta1 - BETA1_STEP, 6))
            return self.lr_d, self.lr_g, beta1, "G's samples jump about: momentum too high"
        if self.smoothed > c.band_high:
            return self.lr_d / f, self.lr_g * f, self.beta1, "D too strong"
        if self.smoothed < c.band_low:
            return self.lr_d * f, self.lr_g / f, self.beta1, "G too strong"
        bunched = pacing and self.diversity is not None and self.diversity < c.diversity_low
        if bunched:
            return self.lr_d * f, self.lr_g * f, self.beta1, "G's samples stay bunched: too slow"
        return self.lr_d, self.lr_g, self.beta1, None

    def _smooth(self, average: float | None, value: float | None) -> float | None:
        if value is None or not math.isfinite(value):
            return average
        a = self.cfg.smoothing
        return value if average is None else (1 - a) * average + a * value

    def apply(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
        for opt, lr in ((opt_g, self.lr_g), (opt_d, self.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr
                group["betas"] = (self.beta1, group["betas"][1])

    def state_dict(self) -> dict[str, Any]:
        return {"lr_g": self.lr_g, "lr_d": self.lr_d, "beta1": self.beta1,
                "smoothed": self.smoothed, "diversity": self.diversity, "motion": self.motion,
                "actions": self.actions}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr_g, self.lr_d = float(state["lr_g"]), float(state["lr_d"])
        self.beta1 = float(state.get("beta1", self.beta1))
        self.smoothed, self.actions = state["smoothed"], int(state["actions"])
        self.diversity, self.motion = state.get("diversity"), state.get("motion")
