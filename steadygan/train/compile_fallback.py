"""`train.compile`: the first step through torch.compile'd G and D, with a way back.

Compilation happens inside the first step, and it can fail there: on an H200 with torch 2.11 the
inductor asserted channels_last strides in ConvTranspose's backward (2026-11-28), after D's update
of that step had been applied. So the state that step changes is copied first; if the step
raises, the copy goes back, the step calls the plain models from then on, and the same step runs
again, eagerly: the run is the one `train.compile=false` would have trained.
"""
from __future__ import annotations

import copy
import sys
from typing import Any, Callable

import torch

from steadygan.train.step import GanState


def compiled(state: GanState) -> bool:
    return state.G_step is not state.G or state.D_step is not state.D


def first_compiled_step(state: GanState, step: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Runs `step` (which changes `state`); on an exception, restores and reruns it uncompiled."""
    saved = _snapshot(state)
    try:
        return step()
    except Exception as error:  # noqa: BLE001 - whatever compiling raised: train on uncompiled
        _restore(state, saved)
        state.G_step, state.D_step = state.G, state.D
        first_line = (str(error).strip().splitlines() or [""])[0]
        print(f"steadygan: train.compile failed in the first step ({type(error).__name__}: "
              f"{first_line[:200]}); training goes on without it", file=sys.stderr)
        return step()


def _snapshot(state: GanState) -> dict[str, Any]:
    saved: dict[str, Any] = {
        "G": copy.deepcopy(state.G.state_dict()), "D": copy.deepcopy(state.D.state_dict()),
        "opt_g": copy.deepcopy(state.opt_g.state_dict()),
        "opt_d": copy.deepcopy(state.opt_d.state_dict()),
        "noise": state.noise.get_state(), "cpu_rng": torch.get_rng_state()}  # z; dropout
    if state.device.type == "cuda":  # dropout there, and z when the step is graphed
        saved["cuda_rng"] = torch.cuda.get_rng_state(state.device)
    return saved


def _restore(state: GanState, saved: dict[str, Any]) -> None:
    state.G.load_state_dict(saved["G"])
    state.D.load_state_dict(saved["D"])
    state.opt_g.load_state_dict(saved["opt_g"])
    state.opt_d.load_state_dict(saved["opt_d"])
    for model in (state.G, state.D):
        model.requires_grad_(True)  # the G step turns D's off for its pass
        model.zero_grad(set_to_none=True)
    state.noise.set_state(saved["noise"])
    torch.set_rng_state(saved["cpu_rng"])
    if "cuda_rng" in saved:
        torch.cuda.set_rng_state(saved["cuda_rng"], state.device)
