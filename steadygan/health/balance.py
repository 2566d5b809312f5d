"""The balance controller: the practitioner's manual recipe, done every K steps.

Watch D's accuracy; when it leaves the target band, the side that learns too fast is slowed and the
other sped up, by one small multiplicative step; learning rates stay inside [lr_min, lr_max].
Like stylegan2-ada's augmentation controller it is gentle (sign-based steps at an interval) and
clamped (their p once ran away to 21.8); every action is logged with the numbers behind it.
"""
from __future__ import annotations

from typing import Any

import torch

from steadygan.config import BalanceSection


class BalanceController:
    def __init__(self, cfg: BalanceSection, lr_g: float, lr_d: float) -> None:
        self.cfg = cfg
        self.lr_g, self.lr_d = self._clamp(lr_g), self._clamp(lr_d)
        self.smoothed: float | None = None  # EMA of D's accuracy over log records
        self.actions = 0

    def _clamp(self, lr: float) -> float:
        return min(max(lr, self.cfg.lr_min), self.cfg.lr_max)

    def observe(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Take one train record; return the action record when learning rates change."""
        d_acc = 0.5 * (record["d_acc_real"] + record["d_acc_fake"])
        a = self.cfg.smoothing
        self.smoothed = d_acc if self.smoothed is None else (1 - a) * self.smoothed + a * d_acc
        step = self.cfg.factor
        if self.smoothed > self.cfg.band_high:
            reason, lr_d, lr_g = "D too strong", self.lr_d / step, self.lr_g * step
        elif self.smoothed < self.cfg.band_low:
            reason, lr_d, lr_g = "G too strong", self.lr_d * step, self.lr_g / step
        else:
            return None
        lr_d, lr_g = self._clamp(lr_d), self._clamp(lr_g)
        if (lr_d, lr_g) == (self.lr_d, self.lr_g):
            return None  # both clamped already: nothing left to do in this direction
        before = (self.lr_g, self.lr_d)
        self.lr_g, self.lr_d = lr_g, lr_d
        self.actions += 1
        return {"kind": "balance", "step": record["step"], "reason": reason,
                "d_acc": d_acc, "d_acc_smoothed": self.smoothed,
                "band": [self.cfg.band_low, self.cfg.band_high],
                "lr_g_before": before[0], "lr_d_before": before[1], "lr_g": lr_g, "lr_d": lr_d}

    def apply(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer) -> None:
        for group in opt_g.param_groups:
            group["lr"] = self.lr_g
        for group in opt_d.param_groups:
            group["lr"] = self.lr_d

    def state_dict(self) -> dict[str, Any]:
        return {"lr_g": self.lr_g, "lr_d": self.lr_d, "smoothed": self.smoothed,
                "actions": self.actions}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr_g, self.lr_d = float(state["lr_g"]), float(state["lr_d"])
        self.smoothed, self.actions = state["smoothed"], int(state["actions"])
