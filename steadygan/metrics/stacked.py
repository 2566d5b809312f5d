"""Mode coverage on Stacked MNIST, by the VEEGAN / PacGAN protocol.

- The project's MNIST classifier labels each channel separately; a sample's
  mode is 100 * argmax_R + 10 * argmax_G + argmax_B, one of 1000.
- modes_covered: modes with at least one sample (no confidence threshold,
  as in those papers; the figures are comparable with theirs only so).
- kl: KL(mode histogram || uniform over 1000) in nats, every sample voting.
- digit_shares: the share of each digit over all three channels (a digit
  G draws rarely in every channel is the usual cause of a high kl).
- Published figures use STACKED_EVAL_SIZE = 26,000 samples (the papers'
  number); fewer samples leave modes empty by chance alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from steadygan.data.stacked import NUM_MODES
from steadygan.metrics.classes import kl_to_uniform, share_list
from steadygan.metrics.classifier import embed, load_classifier
from steadygan.metrics.inputs import (IMAGE_SIZE, RESIZED_SIZES, MetricInputError, require_some,
                                      require_uint8)

STACKED_EVAL_SIZE = 26_000
# Samples per classifier call: bounds the float64 feature matrix embed returns.
_CHUNK = 5_000


def validate_stacked(images: object, name: str = "images") -> np.ndarray:
    """Return images as uint8 (N, 3, S, S) with N >= 1 and S 28 (or 32 / 64: each channel is
    then measured at 28, as digits are), or raise MetricInputError."""
    images = require_uint8(images, name)
    sides = (IMAGE_SIZE, *RESIZED_SIZES)
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3] \
            or images.shape[2] not in sides:
        raise MetricInputError(
            f"{name}: expected shape (N, 3, {IMAGE_SIZE}, {IMAGE_SIZE}) for Stacked MNIST (or "
            f"{' / '.join(map(str, RESIZED_SIZES))} pixels), got {images.shape}"
        )
    return require_some(images, name)


def stacked_mode_labels(
    images: np.ndarray, classifier: torch.nn.Module | None = None, device: str = "cpu"
) -> np.ndarray:
    """Mode 0..999 of each sample, int64 (N,)."""
    images = validate_stacked(images)
    model = classifier if classifier is not None else load_classifier(device)
    modes = []
    for start in range(0, len(images), _CHUNK):
        chunk = images[start : start + _CHUNK]
        # (n, 3, S, S) -> (3n, S, S): each channel is one gray digit (embed brings S to 28).
        _, proba = embed(model, chunk.reshape(-1, *chunk.shape[2:]))
        digits = proba.argmax(axis=1).reshape(len(chunk), 3)
        modes.append(digits @ np.array([100, 10, 1]))
    return np.concatenate(modes).astype(np.int64)


def modes_summary(modes: np.ndarray) -> dict[str, Any]:
    """{"modes_covered": of 1000, "kl": to uniform in nats, "digit_shares": over the channels,
    "n": samples} of mode labels."""
    modes = np.asarray(modes)
    if (
        not np.issubdtype(modes.dtype, np.integer)
        or modes.ndim != 1
        or len(modes) == 0
        or modes.min() < 0
        or modes.max() >= NUM_MODES
    ):
        raise MetricInputError(
            f"modes: expected a non-empty 1-d array of integer modes 0..{NUM_MODES - 1}"
        )
    histogram = np.bincount(modes, minlength=NUM_MODES) / len(modes)
    digits = np.concatenate([modes // 100, modes // 10 % 10, modes % 10])
    return {
        "modes_covered": int((histogram > 0).sum()),
        "kl": kl_to_uniform(histogram),
        "digit_shares": share_list(np.bincount(digits, minlength=10) / len(digits)),
        "n": len(modes),
    }


def stacked_modes(
    images: np.ndarray, classifier: torch.nn.Module | None = None, device: str = "cpu"
) -> dict[str, Any]:
    """Modes covered (of 1000), KL to uniform, digit shares and N of uint8 stacks (N, 3, 28, 28)."""
    return modes_summary(stacked_mode_labels(images, classifier, device))
