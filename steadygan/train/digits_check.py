"""Whether a folder of grayscale images holds MNIST digits, and what later tools learn of it.

Such a folder gets the digits' live evaluation only when its own images score as MNIST digits:
2,000 of the bundled subset 0.6, 500 of them 1.7; MNIST without its 1s and 7s 13.5, only 1s 146,
inverted digits 87 (2026-11-28). Otherwise its live FID would measure the distance to MNIST, and
its class count would read as a collapse. The training writes the outcome to metrics.jsonl as a
step-0 `"kind": "data"` record, so that `steadygan eval` and sweeps judge the run the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch

DIGITS_FID_MAX, DIGITS_CHECKED, DIGITS_NEEDED = 5.0, 2000, 500
RECORD_KIND = "data"


@dataclass(frozen=True)
class DigitsCheck:
    n_images: int
    own_fid: float | None  # None: too few images to tell

    @property
    def digits(self) -> bool | None:
        """True or False; None when there were too few images to tell."""
        return None if self.own_fid is None else self.own_fid <= DIGITS_FID_MAX

    def finding(self, images: str = "its grayscale images") -> str:
        """What the check found, in words."""
        if self.own_fid is None:
            return (f"{self.n_images} images are too few to tell whether they are MNIST digits "
                    f"({DIGITS_NEEDED} or more)")
        verdict = "are" if self.digits else "are not"
        return (f"{images} {verdict} MNIST digits (their own domain FID is "
                f"{self.own_fid:.1f}, MNIST's under {DIGITS_FID_MAX:g})")

    def record(self) -> dict[str, Any]:
        return {"kind": RECORD_KIND, "step": 0, "digits": self.digits, "own_fid": self.own_fid,
                "n_images": self.n_images}

    @classmethod
    def found_in(cls, records: Iterable[dict[str, Any]]) -> DigitsCheck | None:
        """The check a run's metrics records hold, or None (no folder of grayscale images)."""
        for r in records:
            if r.get("kind") == RECORD_KIND:
                fid = r.get("own_fid")
                return cls(int(r.get("n_images", 0)), None if fid is None else float(fid))
        return None


def check_digits(fid: Callable[[np.ndarray], dict[str, Any]], real: torch.Tensor) -> DigitsCheck:
    """Score the folder's own images (`real`, uint8 on any device) with the live FID."""
    if len(real) < DIGITS_NEEDED:
        return DigitsCheck(len(real), None)
    # spread over the folder: its files may come sorted by class
    spread = torch.linspace(0, len(real) - 1, min(len(real), DIGITS_CHECKED)).long()
    return DigitsCheck(len(real), float(fid(real[spread.to(real.device)].cpu().numpy())["fid_live"]))
