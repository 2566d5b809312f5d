"""What to change when a failure mode shows, fitted to the run it showed in.

A remedy that names settings is offered only to a run those settings would change: telling a run
with minibatch stddev on to turn it on, or a 2-D mixture to try a PatchGAN head, wastes the three
lines `steadygan diagnose` prints. A setting whose remedy is "more" or "less" of something names
its direction (`model.d_dropout>=0.3`): "more dropout, 0.3" is no remedy for a run at 0.5.
Remedies are listed most useful first.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

from steadygan.config import FOLDER_AUGMENT, TrainConfig

# `section.key>=value`: the remedy is at least this much, so a run already past it has it
_DIRECTIONS = {">=": operator.lt, "<=": operator.gt}


def _assignment(setting: str) -> str:
    """`section.key>=value` as the `section.key=value` a user would pass to --set."""
    for sign in _DIRECTIONS:
        setting = setting.replace(sign, "=")
    return setting


def _short_of(cfg: TrainConfig, setting: str) -> bool:
    """Whether the run falls short of a directed setting (always true for a plain `=`)."""
    for sign, short in _DIRECTIONS.items():
        if sign in setting:
            name, value = setting.split(sign)
            section, key = name.split(".")
            return short(getattr(getattr(cfg, section), key), float(value))
    return True


@dataclass(frozen=True)
class Remedy:
    text: str
    # `section.key=value`s (or `>=` / `<=` for more / less of it) applying it: offered if they
    # change the run, in their direction
    sets: tuple[str, ...] = ()
    when: tuple[str, ...] = ()  # offered only to runs that already have these settings
    unless: tuple[str, ...] = ()  # not offered to runs that already have these settings

    def fits(self, cfg: TrainConfig) -> bool:
        return ((not self.sets or (cfg.changed_by(map(_assignment, self.sets))
                                   and all(_short_of(cfg, s) for s in self.sets)))
                and (not self.when or cfg.has(self.when))
                and not (self.unless and cfg.has(self.unless)))


CONTROLLER_ON = "balance.mode=auto"
CONTROLLER = Remedy("the balance controller does this by itself (balance.mode=auto, the default)",
                    sets=(CONTROLLER_ON,))
CONTROLLER_ROOM = Remedy("give the balance controller room: a lower balance.lr_min or a higher "
                         "balance.lr_max", when=(CONTROLLER_ON,))
SPECTRAL_NORM = Remedy("spectral norm in D (model.d_norm=spectral)",
                       sets=("model.d_norm=spectral",))
R1 = Remedy("an R1 penalty on D (train.r1_gamma=1)", sets=("train.r1_gamma>=1",))
EMA = Remedy("an EMA of G's weights (train.ema=true)", sets=("train.ema=true",))
LOWER_BOTH = Remedy("lower both learning rates (halve train.lr_g and train.lr_d)")
# a folder of a few hundred images: D learns them by heart, then G collapses (32x32, 200 digits:
# from step 5,250 without it, healthy to 8,000 with it; README, "Small folders"). The folder
# default since 2026-11-29; offered to folder runs that turned it off.
AUGMENT = Remedy("if the folder holds few images (hundreds), augment what D sees as it overfits "
                 "(train.augment=translation,cutout with train.augment_target=0.8, the folder "
                 "default)", sets=tuple(FOLDER_AUGMENT),
                 when=("data.name=folder", "train.augment=none"))

REMEDIES: dict[str, tuple[Remedy, ...]] = {
    "d_overpowering": (
        Remedy("lower train.lr_d (halve it) or raise train.lr_g: D is learning faster than G"),
        CONTROLLER, AUGMENT, CONTROLLER_ROOM,
        Remedy("more dropout in D (model.d_dropout=0.3)", sets=("model.d_dropout>=0.3",)),
        Remedy("label flipping (labels.flip=0.1, the default)", sets=("labels.flip>=0.1",)),
        Remedy("soft labels (labels.smooth=0.1, the default)", sets=("labels.smooth>=0.1",)),
        Remedy("a PatchGAN head (model.d_head=patch)", sets=("model.d_head=patch",)),
        SPECTRAL_NORM,
        Remedy("a smaller D (model.d_width; model.mlp_hidden for the 2-D mixtures)"),
    ),
    "g_overpowering": (
        Remedy("lower train.lr_g or raise train.lr_d: G is learning faster than D"),
        CONTROLLER, CONTROLLER_ROOM,
        Remedy("more D steps per G step (train.n_critic=2)", sets=("train.n_critic>=2",)),
        Remedy("less label noise (a lower labels.flip)", unless=("labels.flip=0",)),
    ),
    "mode_collapse": (
        Remedy("minibatch standard deviation in D (model.d_minibatch_std=true)",
               sets=("model.d_minibatch_std=true",)),
        Remedy("PacGAN packing: D judges two samples at once (model.pack=2)",
               sets=("model.pack>=2",)),
        AUGMENT, LOWER_BOTH, EMA, R1, SPECTRAL_NORM,
    ),
    "oscillation": (
        LOWER_BOTH,
        Remedy("Adam beta1 = 0.5 (train.beta1=0.5)", sets=("train.beta1<=0.5",)),
        EMA, R1,
    ),
    "divergence": (
        Remedy("lower both learning rates (steadygan halves them on rollback)"),
        SPECTRAL_NORM, R1,
        Remedy("check the data: images must be uint8 (0..255) and load as [-1, 1]"),
    ),
    "converged": (Remedy("stop here, or lower both learning rates to refine"),),
}


def remedies_for(kind: str, cfg: TrainConfig | None = None) -> list[str]:
    """The remedies for this kind of diagnosis; given the run's settings, those that fit it."""
    return [r.text for r in REMEDIES.get(kind, ()) if cfg is None or r.fits(cfg)]
