"""2-D Gaussian mixtures with the PacGAN code's geometry, for mode-collapse experiments.

ring8:  8 Gaussians evenly spaced on the unit circle (radius 1), std 0.01.
grid25: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05.

The data is not in [-1, 1] (grid25 reaches +-4), so generators for it need a linear output.
"""

from __future__ import annotations

import numpy as np

from steadygan.data.errors import DataError

MIXTURES = ("ring8", "grid25")

_STD = {"ring8": 0.01, "grid25": 0.05}


def _check_name(name: str) -> None:
    if name not in MIXTURES:
        raise DataError(f"data.name={name!r}: unknown 2-D mixture ({', '.join(MIXTURES)})")


def mixture_modes(name: str) -> np.ndarray:
    """The mode centres as float32 (K, 2); a fresh array, so callers may modify it."""
    _check_name(name)
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        modes = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        xs, ys = np.meshgrid(axis, axis, indexing="ij")
        modes = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return modes.astype(np.float32)


def mixture_std(name: str) -> float:
    """The per-coordinate standard deviation shared by every mode of the mixture."""
    _check_name(name)
    return _STD[name]


def sample_mixture(name: str, n: int, seed: int) -> np.ndarray:
    """n points as float32 (n, 2): a uniformly chosen mode plus isotropic Gaussian noise.

    The same (name, n, seed) always gives the same points (its own numpy Generator, no
    global state touched).
    """
    modes = mixture_modes(name)
    if n < 0:
        raise ValueError(f"n={n}: must be >= 0")
    rng = np.random.default_rng(seed)
    which = rng.integers(len(modes), size=n)
    noise = rng.normal(scale=_STD[name], size=(n, 2))
    return (modes[which] + noise).astype(np.float32)
