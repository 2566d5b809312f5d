"""`train.compile`: the first step through torch.compile'd G and D, with a way back.

Compilation happens inside the first step, and it can fail there: on an H200 with torch 2.11 the
inductor asserted channels_last strides in ConvTranspose's backward (2026-11-28), after D's update
of that step had been applied. So the state that step changes is copied first; if the step
raises, the copy goes back, the step calls the plain models from then on, and the same step runs
again, eagerly: the run is the one `train.compile=false` would have trained.
"""
from __future__ import annotations

import sys
from typing import Callable

import torch

from steadygan.train.checkpoint import host_copy, restore, state_dict
from steadygan.train.step import GanState


def compiled(state: GanState) -> bool:
    return state.G_step is not state.G or state.D_step is not state.D


def first_compiled_step(state: GanState, step: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Runs `step` (which changes `state`); on an exception, restores and reruns it uncompiled."""
    saved = host_copy(state_dict(state, step=0))  # what a checkpoint holds: weights to RNGs
    try:
        return step()
    except Exception as error:  # noqa: BLE001 - whatever compiling raised: train on uncompiled
        restore(state, saved)
        for model in (state.G, state.D):
            model.requires_grad_(True)  # the G step turns D's off for its pass
            model.zero_grad(set_to_none=True)
        state.G_step, state.D_step = state.G, state.D
        first_line = (str(error).strip().splitlines() or [""])[0]
        print(f"steadygan: train.compile failed in the first step ({type(error).__name__}: "
              f"{first_line[:200]}); training goes on without it", file=sys.stderr)
        return step()
