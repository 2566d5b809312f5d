"""`steadygan ablate`: the baseline, and the baseline with one technique changed, over seeds.

Every piece of GAN folklore gets a row: what happens to FID, classes and success when it is
switched off (or on). The trials run through the sweep runner, so ablations resume and share a
GPU the same way.
"""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from steadygan.config import ConfigError, TrainConfig
from steadygan.sweep.grid import Trial
from steadygan.sweep.trial import headline_metric, partner_metric

# technique -> the one change against the baseline (the defaults, or the given config)
ABLATIONS: dict[str, tuple[str, ...]] = {
    "baseline": (),
    "no_balance_controller": ("balance.mode=off",),
    "no_dropout_in_d": ("model.d_dropout=0",),
    "no_label_flipping": ("labels.flip=0",),
    "no_soft_labels": ("labels.smooth=0",),
    "two_sided_soft_labels": ("labels.one_sided=false",),
    "no_ema": ("train.ema=false",),
    "mixed_real_fake_batches": ("train.d_batches=mixed",),
    "adam_beta1_0.9": ("train.beta1=0.9",),
    "relu_not_leaky_in_d": ("model.leaky_slope=0",),
    "upsample_conv_not_convtranspose": ("model.g_upsample=upsample_conv",),
    "patchgan_head": ("model.d_head=patch",),  # a map a quarter of the image size: 7 x 7 at 28 px
    "spectral_norm_in_d": ("model.d_norm=spectral",),
    "minibatch_stddev": ("model.d_minibatch_std=true",),
    "no_minibatch_stddev": ("model.d_minibatch_std=false",),  # the mixtures have it on
    "hinge_loss": ("train.loss=hinge",),
    "r1_penalty": ("train.r1_gamma=1",),
    "pacgan_pack2": ("model.pack=2",),
}
PARTNER_TITLES = {"high_quality": "high quality", "kl": "KL to uniform"}  # trial.partner_metric


def applies(name: str, base: TrainConfig) -> bool:
    """Whether the variant changes anything for this base (its data's models and settings):
    PacGAN packing is the mixtures' MLP D's, PatchGAN and spectral norm the image D's."""
    if name == "two_sided_soft_labels":
        return base.labels.smooth > 0
    return base.changed_by(ABLATIONS[name])


def ablation_trials(base: TrainConfig, names: list[str] | None, seeds: int) -> list[Trial]:
    """Without names: every variant that changes something for this base."""
    chosen = names or [n for n in ABLATIONS if n == "baseline" or applies(n, base)]
    unknown = [n for n in chosen if n not in ABLATIONS]
    if unknown:
        raise ConfigError(f"--only: unknown ablation(s) {', '.join(unknown)} "
                          f"(known: {', '.join(ABLATIONS)})")
    twice = sorted({n for n in chosen if chosen.count(n) > 1})
    if twice:
        raise ConfigError(f"--only: names {', '.join(twice)} more than once")
    if seeds < 1:
        raise ConfigError(f"--seeds: must be >= 1, got {seeds}")
    for name in chosen:  # every variant must be valid for this base (e.g. patch sizes)
        try:
            base.with_overrides(list(ABLATIONS[name])).validate()
        except ConfigError as exc:
            raise ConfigError(f"ablation {name}: {exc}") from None
    idle = [n for n in chosen if n != "baseline" and not applies(n, base)]
    if idle:
        raise ConfigError(f"--only: {', '.join(idle)} change(s) nothing for data.name="
                          f"{base.data.name} with these settings")
    return [Trial(ABLATIONS[name], seed, label=name) for name in chosen for seed in range(seeds)]


def ablation_table(results: list[dict[str, Any]]) -> str:
    """Markdown: per variant the median metric with its range over seeds, classes or modes, the
    other half of the success rule where there is one (the 2-D mixtures' share of high-quality
    samples, Stacked MNIST's KL to uniform modes), success."""
    metric = headline_metric(results)
    if metric is None:
        return _verdict_table(results)
    second = partner_metric(results)
    header = f" median {PARTNER_TITLES[second]} |" if second else ""
    lines = [f"| variant | median {metric} | range over seeds | classes / modes |{header} "
             "success |",
             "|---|---|---|---|---|" + ("---|" if second else "")]
    for name in dict.fromkeys(r["variant"] for r in results):
        rows = [r for r in results if r["variant"] == name]
        values = [float(r[metric]) for r in rows if metric in r]
        covered = [float(r.get("classes_covered", r.get("modes_covered", "nan"))) for r in rows
                   if "classes_covered" in r or "modes_covered" in r]
        column = ""
        if second:
            seconds = [float(r[second]) for r in rows if second in r]
            column = f" {statistics.median(seconds):.2f} |" if seconds else " |"
        wins = sum(bool(r.get("success")) for r in rows)
        lines.append(
            f"| {name} | {statistics.median(values):.2f} | {min(values):.1f}..{max(values):.1f} | "
            f"{statistics.mean(covered):.1f} |{column} {wins}/{len(rows)} |" if values else
            f"| {name} | failed | | |{column} 0/{len(rows)} |")
    return "\n".join(lines) + "\n"


def _verdict_table(results: list[dict[str, Any]]) -> str:
    """For images without a domain metric: per variant its verdicts over seeds, and success
    (training to the end without a failure diagnosis)."""
    lines = ["| variant | verdicts over seeds | success |", "|---|---|---|"]
    for name in dict.fromkeys(r["variant"] for r in results):
        rows = [r for r in results if r["variant"] == name]
        verdicts = Counter(r.get("verdict", "error") for r in rows).most_common()
        wins = sum(bool(r.get("success")) for r in rows)
        lines.append(f"| {name} | {', '.join(f'{v} {n}' for v, n in verdicts)} | "
                     f"{wins}/{len(rows)} |")
    lines.append("\nNo domain metric for these images: success means training to the end "
                 "without a failure diagnosis.")
    return "\n".join(lines) + "\n"
