"""Run configuration: dataclasses, TOML load/save, dotted overrides and validation.

Every value a user can set lives here, with its default and its check, so that a bad value is
refused with one line naming the setting before any work starts.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """A setting or config file is invalid; the message is one line naming it."""


SUPPORTED_IMAGE_SIZES = (28, 32, 64)
MEMORY_FORMATS = ("channels_last", "contiguous")  # train.memory_format
IMAGE_SOURCES = ("bundled", "mnist", "folder", "stacked-mnist")
MIXTURE_SOURCES = ("ring8", "grid25")  # 2-D points, trained with an MLP G / D pair
DIR_SOURCES = ("mnist", "folder", "stacked-mnist")  # the sources that read data.dir
# the settings only the DCGAN image models read, and those only the mixtures' MLP pair reads
IMAGE_MODEL_SETTINGS = frozenset(f"model.{k}" for k in (
    "g_width", "d_width", "g_extra_layers", "d_extra_layers", "g_upsample", "d_norm", "d_head",
    "patch_size"))
MLP_MODEL_SETTINGS = frozenset(("model.mlp_hidden", "model.mlp_depth", "model.pack"))
DATA_SOURCES = IMAGE_SOURCES + MIXTURE_SOURCES

# A small MLP on 2-D points wants a faster optimizer and none of the image-GAN label tricks
# (measured: with the image defaults G never leaves the origin on ring8 in 3,000 steps).
# Two noise dimensions and minibatch stddev in D: at the default budget grid25 went from 0/4
# seeds (15-25 modes, 19-54 % of samples on a mode) to 4/4 (25 modes, 54-80 %), ring8 from 3/4
# (56-87 %) to 4/4 (96-97 %). 256 units gave 75-93 % on grid25 at half the speed.
# A 500-step learning-rate warm-up: with the controller, the lr 1e-3 / 1e-2 x beta1 0.9 cells of
# the robustness grid went from 1/8 to 8/8 on grid25 and 6/8 to 8/8 on ring8 (all cells, 4 seeds:
# grid25 21/32 -> 27/32, ring8 28/32 -> 29/32); grid25's default cell lost one seed in four.
MIXTURE_DEFAULTS = ["train.lr_g=1e-3", "train.lr_d=1e-3", "train.batch_size=256",
                    "model.z_dim=2", "model.d_minibatch_std=true",
                    "labels.flip=0", "labels.smooth=0", "model.d_dropout=0",
                    "run.sample_every=500", "run.checkpoint_every=500", "balance.lr_max=2e-3",
                    "train.lr_warmup_steps=500"]
# 25 sharp modes take longer than 8: the default recipe's share of grid25 samples on a mode was
# still climbing at 12 epochs (54-80 % over four seeds, 25 modes) and levels off near 90 % by
# 18-20 epochs (two seeds: 92-93 % at 24). ring8 is at 96 % by 12.
# A folder may hold only hundreds of images, which D learns by heart: adaptive augmentation
# (200 digits at 32x32, batch 16: without it G collapsed from step 5,250 in two seeds of two,
# with it both stayed healthy to 8,000; at 28x28, where D did not overfit, FID 23.9 against
# 24.3 without it and 29.4 with augmentation always on; README, "Small folders").
FOLDER_AUGMENT = ["train.augment=translation,cutout", "train.augment_target=0.8"]
SOURCE_DEFAULTS = {"grid25": ["train.epochs=24"], "stacked-mnist": ["data.channels=3"],
                   "folder": FOLDER_AUGMENT + ["data.channels=0"]}


@dataclass
class DataSection:
    name: str = "bundled"  # bundled | mnist | folder | stacked-mnist | ring8 | grid25
    dir: str = ""  # folder for data=mnist (optional) or data=folder (required)
    image_size: int = 28
    channels: int = 1  # 1 or 3; 0 (folders, their default): as the images are, found at load
    n_points: int = 100_000  # training points drawn from a 2-D mixture

    def instrument(self) -> str | None:
        """Which domain metric measures what this data trains: "mixture" (the modes of a 2-D
        mixture), "stacked" (the 1000 modes of Stacked MNIST), "digits" (domain FID and classes
        of grayscale images; a folder's must also pass the digits check) or None (other images:
        no instrument without a download). 32 and 64 pixels are measured at 28."""
        if self.name in MIXTURE_SOURCES:
            return "mixture"
        if self.name == "stacked-mnist":
            return "stacked" if self.channels == 3 else None
        return "digits" if self.channels == 1 else None


@dataclass
class ModelSection:
    z_dim: int = 100
    g_width: int = 128  # channels of G's last hidden layer; doubles towards the input
    d_width: int = 64  # channels of D's first layer; doubles with each downsampling
    g_extra_layers: int = 0  # stride-1 conv layers at full resolution (depth)
    d_extra_layers: int = 0
    g_upsample: str = "convtranspose"  # convtranspose | upsample_conv
    d_norm: str = "batch"  # batch | none | spectral
    d_dropout: float = 0.25  # dropout in D only, never in G
    leaky_slope: float = 0.2  # 0 makes D's activations plain ReLU
    d_head: str = "logit"  # logit (one per image) | patch (N x N map of logits)
    patch_size: int = 0  # N of the PatchGAN map; 0: a quarter of the image (7 at 28 px, 16 at 64)
    d_minibatch_std: bool = False  # append a batch-stddev channel before D's head
    mlp_hidden: int = 128  # 2-D mixtures: width and depth of the MLP G and D
    mlp_depth: int = 3
    pack: int = 1  # 2-D mixtures: PacGAN packing, D judges `pack` samples at once

    def patch_map(self, image_size: int) -> int:
        """N of the N x N map of the patch head for images of this size."""
        return self.patch_size or image_size // 4


@dataclass
class TrainSection:
    batch_size: int = 64
    epochs: float = 12.0
    steps: int = 0  # generator steps; 0 derives them from epochs
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "bce"  # bce | hinge | lsgan
    r1_gamma: float = 0.0
    n_critic: int = 1  # D steps per G step
    d_batches: str = "separate"  # separate | mixed (real and fake in one D batch)
    # differentiable augmentation of all D sees, real and fake, in both steps: none, or a comma
    # list of color, translation, cutout (steadygan.train.augment); for folders of few images
    augment: str = "none"
    # 0: those augmentations change every image. Above 0 they are adaptive: each changes an image
    # with probability p, from 0, moved at each statistics read so that D calls this share of its
    # real images real (stylegan2-ada's target r_t 0.6 is 0.8 here); p moves by the real images
    # seen since the last read / augment_speed, so from 0 to 1 in augment_speed images at the most
    augment_target: float = 0.0
    augment_speed: int = 50_000
    # learning rates rise linearly over the first N steps (the mixtures' 500: with beta1 0.9 at
    # lr 1e-3 and above, their first few hundred steps decided the run; see MIXTURE_DEFAULTS)
    lr_warmup_steps: int = 0
    ema: bool = True
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    # auto (bf16 on Ampere and newer GPUs, and AMX CPUs for images) | fp32 | bf16 | fp16
    precision: str = "auto"
    cuda_graph: str = "auto"  # auto (on CUDA, one process) | on | off: replay the step as one graph
    compile: bool = False  # torch.compile G and D (fuses their elementwise work; slow first steps)
    # channels_last: faster convolutions on CPU (oneDNN) and tensor cores on CUDA; contiguous:
    # what torch.compile on CUDA may need (torch 2.11's inductor failed with channels_last)
    memory_format: str = "channels_last"  # channels_last | contiguous
    # CUDA: cuDNN times its algorithms once for each new shape and keeps the fastest (a run's
    # shapes are fixed, so that happens in the first steps); false: its heuristic choice
    cudnn_benchmark: bool = True
    # CUDA: 2 runs D on the real batch on a second stream, beside G's forward pass (and their
    # backward passes beside each other); at batch 128 a step is hundreds of small kernels that
    # leave most of the GPU idle one after another. 1: one stream. Not yet measured on a GPU
    cuda_streams: int = 1

    def adapts_augmentation(self) -> bool:
        """Adaptive augmentation is on: a target and augmentations to adapt. train.augment=none
        turns augmentation off whatever the target (a folder's default target is 0.8)."""
        from steadygan.train.augment import parse_policy

        return self.augment_target > 0 and bool(parse_policy(self.augment))


@dataclass
class LabelSection:
    flip: float = 0.1  # probability that a D target is swapped real <-> fake
    smooth: float = 0.1  # soft labels: real in [1 - s, 1], fake in [0, s]
    one_sided: bool = True  # smooth only the real labels


@dataclass
class BalanceSection:
    # auto | off: the controller moves lr_g / lr_d to keep D's accuracy in band. On by default: over
    # the robustness grid (lr 1e-5..1e-2 x beta1 0.5 / 0.9) it succeeds in 79 of 80 trials on ring8,
    # grid25 and full MNIST (30,000 steps), against 16 of 72 off; default runs take 0 to 2 actions.
    mode: str = "auto"
    # Below 0.5, not at it: a D at chance is the balance we want, and cutting G's rate there froze
    # grid25 runs with D slowly winning (0.55 -> 0.4, four seeds across the lr x beta1 grid:
    # grid25 7/32 -> 11/32 successes, ring8 26/32 -> 28/32; see BENCHMARKS.md)
    band_low: float = 0.4  # smoothed D accuracy below this: G learns too fast
    band_high: float = 0.9  # above this: D learns too fast (healthy default runs peak near 0.88)
    factor: float = 1.5  # one action multiplies / divides each learning rate by this
    smoothing: float = 0.5  # EMA weight of the newest D accuracy
    lr_min: float = 1e-6
    lr_max: float = 4e-4
    pace: bool = True  # also act on G's samples: jumping = momentum too high, bunched = too slow
    # Smoothed sample spread (relative to real data) counted as bunched. At 0.5 the speed-ups
    # stopped while G was still settling: grid25 starts left at 3.4e-4 or with 22 of 25 modes,
    # MNIST's lr-1e-5 starts at 1.1e-4. At 0.8, with the controller: grid25 27/32 -> 31/32, ring8
    # 29/32 -> 32/32; bundled MNIST's grid median FID 35.6 -> 27.8, no cell worse (BENCHMARKS.md).
    # Default runs take up to two actions (both rates x 1.5 from step 250).
    diversity_low: float = 0.8
    motion_high: float = 1.0  # smoothed motion between reads (in real spreads) counted as jumping
    beta1_min: float = 0.5  # the momentum rule lowers Adam's beta1 no further than this


@dataclass
class HealthSection:
    detect: bool = True  # failure-mode detectors run live, writing diagnoses.jsonl
    window: int = 4  # log records per detector window
    warmup_steps: int = 200  # no verdicts on the first steps, when every GAN looks unbalanced
    max_rollbacks: int = 3  # on NaN / Inf: back to the last checkpoint with halved lrs, this often


@dataclass
class RunSection:
    out: str = ""  # run directory; empty: runs/<date>-<time>
    log_every: int = 50  # statistics are read from the device every K steps
    sample_every: int = 250
    checkpoint_every: int = 250
    keep_checkpoints: bool = False  # keep checkpoints/step_*.pt beside last.pt
    tensorboard: bool = False  # also write scalars and sample grids to RUN/tb (optional extra)
    report_every: int = 0  # rewrite RUN/report.html every K steps while training; 0 = off
    eval_every: int = 500  # live domain FID (grayscale digits) and best.pt; 0 turns it off
    eval_samples: int = 2000
    progress: bool = True


@dataclass
class TrainConfig:
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    labels: LabelSection = field(default_factory=LabelSection)
    balance: BalanceSection = field(default_factory=BalanceSection)
    health: HealthSection = field(default_factory=HealthSection)
    run: RunSection = field(default_factory=RunSection)

    # ---- conversion -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    @classmethod
    def for_data(cls, name: str) -> "TrainConfig":
        """The defaults for a data source, with data.name set to it: 2-D mixtures get their own
        (MIXTURE_DEFAULTS), and SOURCE_DEFAULTS those of one source alone."""
        defaults = MIXTURE_DEFAULTS if name in MIXTURE_SOURCES else []
        return cls().with_overrides(defaults + SOURCE_DEFAULTS.get(name, []) + [f"data.name={name}"])

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config",
                  base: "TrainConfig | None" = None) -> "TrainConfig":
        cfg = TrainConfig.from_dict(base.to_dict()) if base is not None else cls()
        for section_name, values in data.items():
            section = _section(cfg, section_name, source)
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: [{section_name}] must be a table of settings")
            for key, value in values.items():
                _assign(section, section_name, key, value, source)
        return cfg

    def with_overrides(self, assignments: list[str], source: str = "--set") -> "TrainConfig":
        """Apply `section.key=value` strings; values are parsed by the field's type. `source`:
        where they came from, for the error messages."""
        cfg = TrainConfig.from_dict(self.to_dict())
        for text in assignments:
            if "=" not in text:
                raise ConfigError(f"{source} {text}: expected section.key=value")
            dotted, raw = text.split("=", 1)
            if dotted.count(".") != 1:
                owners = [f"{f.name}.{dotted}" for f in fields(cfg)
                          if dotted in {k.name for k in fields(getattr(cfg, f.name))}]
                hint = f" (did you mean {owners[0]}={raw}?)" if owners else ""
                raise ConfigError(f"{source} {text}: expected section.key=value{hint}")
            section_name, key = dotted.strip().split(".")
            section = _section(cfg, section_name, source)
            _assign(section, section_name, key, _parse_text(raw.strip()), source)
        return cfg

    def value(self, dotted: str) -> Any:
        """The setting `section.key`."""
        section_name, key = dotted.split(".", 1)
        return getattr(getattr(self, section_name), key)

    def validate(self) -> "TrainConfig":
        for check in _CHECKS:
            check(self)
        return self

    # ---- derived values ---------------------------------------------------------------------
    def total_steps(self, n_images: int) -> int:
        if self.train.steps > 0:
            return self.train.steps
        batches = self.train.epochs * (n_images // self.train.batch_size)
        return max(1, math.ceil(batches / self.train.n_critic))

    def model_signature(self) -> dict[str, Any]:
        """The settings a checkpoint's weights depend on; resume refuses to change them."""
        sig = dataclasses.asdict(self.model)
        sig.update(image_size=self.data.image_size, channels=self.data.channels,
                   ema=self.train.ema, points=self.data.name in MIXTURE_SOURCES)
        return sig

    def has(self, assignments: Iterable[str]) -> bool:
        """Whether these `section.key=value` settings are already this configuration's."""
        try:
            return self.with_overrides(list(assignments)).to_dict() == self.to_dict()
        except ConfigError:
            return False

    def changed_by(self, assignments: Iterable[str]) -> bool:
        """Whether these `section.key=value` settings are valid here and change something this
        run's models and training read (the image models' settings mean nothing to the
        mixtures' MLP pair, and the other way round)."""
        try:
            changed = self.with_overrides(list(assignments)).validate()
        except ConfigError:
            return False
        unread = IMAGE_MODEL_SETTINGS if self.data.name in MIXTURE_SOURCES else MLP_MODEL_SETTINGS
        before, after = self.to_dict(), changed.to_dict()
        return any(value != after[section][key] for section, values in before.items()
                   for key, value in values.items() if f"{section}.{key}" not in unread)


# ---- TOML ------------------------------------------------------------------------------------

def load_config(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Settings from a TOML file on top of `base` (the defaults when None)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return TrainConfig.from_dict(data, source=str(path), base=base)


def dump_toml(cfg: TrainConfig) -> str:
    lines: list[str] = []
    for section_name, values in cfg.to_dict().items():
        lines.append(f"[{section_name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


# ---- assignment with type checks ---------------------------------------------------------------

def _section(cfg: TrainConfig, name: str, source: str) -> Any:
    if name not in {f.name for f in fields(cfg)}:
        names = [f.name for f in fields(cfg)]
        raise ConfigError(f"{source}: unknown section '{name}'{_did_you_mean(name, names)} "
                          f"(known: {', '.join(names)})")
    return getattr(cfg, name)


def _assign(section: Any, section_name: str, key: str, value: Any, source: str) -> None:
    types = {f.name: f.type for f in fields(section)}
    where = f"{section_name}.{key}"
    if key not in types:
        hint = _did_you_mean(key, types, prefix=f"{section_name}.")
        raise ConfigError(f"{source}: unknown setting '{where}'{hint} (known: {', '.join(types)})")
    expected = types[key]
    if expected == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {where} must be true or false, got {value!r}")
    elif expected == "int":
        if isinstance(value, bool) or not (isinstance(value, int) or
                                           (isinstance(value, float) and value.is_integer())):
            raise ConfigError(f"{source}: {where} must be an integer, got {value!r}")
        value = int(value)
    elif expected == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {where} must be a number, got {value!r}")
        value = float(value)
    elif not isinstance(value, str):
        raise ConfigError(f"{source}: {where} must be a string, got {value!r}")
    setattr(section, key, value)


def _parse_text(raw: str) -> Any:
    """Parse a command-line value as TOML would, falling back to a bare string."""
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (int, float):
        try:
            return parse(raw)
        except ValueError:
            pass
    return raw.strip('"').strip("'")


# ---- validation --------------------------------------------------------------------------------

def _require(condition: bool, setting: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{setting}: {message}")


def _did_you_mean(word: str, options: Iterable[str], prefix: str = "") -> str:
    """"; did you mean 'train.lr_d'?" for a near miss (a typo, a swapped letter), else ""."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{prefix}{close[0]}'?" if close else ""


def _one_of(value: str, options: tuple[str, ...], setting: str) -> None:
    _require(value in options, setting,
             f"must be one of {', '.join(options)}, got '{value}'{_did_you_mean(value, options)}")


def _check_data(cfg: TrainConfig) -> None:
    d = cfg.data
    _one_of(d.name, DATA_SOURCES, "data.name")
    _require(d.image_size in SUPPORTED_IMAGE_SIZES, "data.image_size",
             f"{d.image_size} not supported (use one of {', '.join(map(str, SUPPORTED_IMAGE_SIZES))})")
    _require(d.channels in (1, 3) or (d.channels == 0 and d.name == "folder"), "data.channels",
             f"must be 1 or 3 (0, as the images are, for folders), got {d.channels}")
    _require(d.name != "folder" or bool(d.dir), "data.dir", "required when data.name = folder")
    _require(d.name != "stacked-mnist" or d.channels == 3, "data.channels",
             f"stacked-mnist has 3 channels, got {d.channels}")
    _require(d.n_points >= 2, "data.n_points", f"must be >= 2, got {d.n_points}")


def _check_model(cfg: TrainConfig) -> None:
    m = cfg.model
    _require(m.z_dim >= 1, "model.z_dim", f"must be >= 1, got {m.z_dim}")
    _require(m.g_width >= 1, "model.g_width", f"must be >= 1, got {m.g_width}")
    _require(m.d_width >= 1, "model.d_width", f"must be >= 1, got {m.d_width}")
    _require(0 <= m.g_extra_layers <= 8, "model.g_extra_layers", "must be in 0..8")
    _require(0 <= m.d_extra_layers <= 8, "model.d_extra_layers", "must be in 0..8")
    _one_of(m.g_upsample, ("convtranspose", "upsample_conv"), "model.g_upsample")
    _one_of(m.d_norm, ("batch", "none", "spectral"), "model.d_norm")
    _require(0.0 <= m.d_dropout < 1.0, "model.d_dropout", f"must be in [0, 1), got {m.d_dropout}")
    _require(0.0 <= m.leaky_slope < 1.0, "model.leaky_slope",
             f"must be in [0, 1), got {m.leaky_slope}")
    _one_of(m.d_head, ("logit", "patch"), "model.d_head")
    _require(m.mlp_hidden >= 1, "model.mlp_hidden", f"must be >= 1, got {m.mlp_hidden}")
    _require(1 <= m.mlp_depth <= 16, "model.mlp_depth", f"must be in 1..16, got {m.mlp_depth}")
    _require(m.pack >= 1, "model.pack", f"must be >= 1, got {m.pack}")
    if cfg.data.name in MIXTURE_SOURCES:
        _require(m.d_head == "logit", "model.d_head", "2-D mixtures use the logit head")
        _require(cfg.train.batch_size % m.pack == 0, "model.pack",
                 f"train.batch_size {cfg.train.batch_size} is not divisible by pack {m.pack}")
        return
    _require(m.pack == 1, "model.pack", "packing is implemented for the 2-D mixtures' MLP D only")
    if m.d_head == "patch":
        size = cfg.data.image_size
        valid = [size >> k for k in range(1, 5) if (size >> k) >= 4 and (size >> k) << k == size]
        _require(m.patch_map(size) in valid, "model.patch_size",
                 f"{m.patch_size} impossible for {size}px images (0, or one of "
                 f"{', '.join(map(str, valid))})")


def _check_train(cfg: TrainConfig) -> None:
    t = cfg.train
    _require(t.batch_size >= 2, "train.batch_size", f"must be >= 2, got {t.batch_size}")
    _require(t.epochs > 0 or t.steps > 0, "train.epochs", "must be > 0 (or set train.steps)")
    _require(math.isfinite(t.epochs), "train.epochs", f"must be a finite number, got {t.epochs}")
    _require(t.steps >= 0, "train.steps", f"must be >= 0, got {t.steps}")
    for name in ("lr_g", "lr_d"):
        lr = getattr(t, name)
        _require(0.0 < lr <= 1.0 and math.isfinite(lr), f"train.{name}",
                 f"must be in (0, 1], got {lr}")
    for name in ("beta1", "beta2"):
        beta = getattr(t, name)
        _require(0.0 <= beta < 1.0, f"train.{name}", f"must be in [0, 1), got {beta}")
    _one_of(t.loss, ("bce", "hinge", "lsgan"), "train.loss")
    _require(t.r1_gamma >= 0.0, "train.r1_gamma", f"must be >= 0, got {t.r1_gamma}")
    _require(1 <= t.n_critic <= 20, "train.n_critic", f"must be in 1..20, got {t.n_critic}")
    _one_of(t.d_batches, ("separate", "mixed"), "train.d_batches")
    _check_augment(cfg)
    _require(0.0 <= t.ema_decay < 1.0, "train.ema_decay", f"must be in [0, 1), got {t.ema_decay}")
    _require(t.lr_warmup_steps >= 0, "train.lr_warmup_steps",
             f"must be >= 0, got {t.lr_warmup_steps}")
    check_device(t.device, "train.device")
    _one_of(t.precision, ("auto", "fp32", "bf16", "fp16"), "train.precision")
    _one_of(t.cuda_graph, ("auto", "on", "off"), "train.cuda_graph")
    _one_of(t.memory_format, MEMORY_FORMATS, "train.memory_format")
    _require(t.cuda_streams in (1, 2), "train.cuda_streams", f"must be 1 or 2, got {t.cuda_streams}")


def check_device(name: str, setting: str) -> None:
    """A device name steadygan understands (whether this machine has it is checked on use)."""
    index = name[len("cuda:"):] if name.startswith("cuda:") else "0"
    known = name in ("auto", "cpu", "cuda", "mps") or (name.startswith("cuda:") and index.isdigit())
    _require(known, setting, f"must be auto, cpu, cuda, cuda:N or mps, got '{name}'")


def _check_augment(cfg: TrainConfig) -> None:
    from steadygan.train.augment import AUGMENTS, parse_policy

    names = parse_policy(cfg.train.augment)
    unknown = [n for n in names if n not in AUGMENTS]
    _require(not unknown, "train.augment", f"unknown augmentation {', '.join(map(repr, unknown))}"
             f" (expected none or a comma list of {', '.join(AUGMENTS)})")
    _require(len(set(names)) == len(names), "train.augment",
             f"names an augmentation twice: {cfg.train.augment!r}")
    _require(not names or cfg.data.name not in MIXTURE_SOURCES, "train.augment",
             f"is for images; {cfg.data.name} trains 2-D points (use none)")
    target = cfg.train.augment_target
    _require(target == 0.0 or 0.5 < target < 1.0, "train.augment_target",
             f"must be 0 (off) or in (0.5, 1), D's accuracy on real images, got {target}")
    _require(cfg.train.augment_speed >= 1, "train.augment_speed",
             f"must be >= 1 (images), got {cfg.train.augment_speed}")


def _check_labels(cfg: TrainConfig) -> None:
    lab = cfg.labels
    _require(0.0 <= lab.flip <= 0.5, "labels.flip",
             f"must be in [0, 0.5] (above 0.5 D learns the opposite task), got {lab.flip}")
    _require(0.0 <= lab.smooth <= 0.5, "labels.smooth", f"must be in [0, 0.5], got {lab.smooth}")


def _check_balance(cfg: TrainConfig) -> None:
    b = cfg.balance
    _one_of(b.mode, ("off", "auto"), "balance.mode")
    _require(0.0 < b.band_low < b.band_high < 1.0, "balance.band_low",
             f"need 0 < band_low < band_high < 1, got {b.band_low} and {b.band_high}")
    _require(0.0 <= b.diversity_low < 1.0, "balance.diversity_low",
             f"must be in [0, 1), got {b.diversity_low}")
    _require(b.motion_high > 0.0, "balance.motion_high", f"must be > 0, got {b.motion_high}")
    _require(0.0 <= b.beta1_min < 1.0, "balance.beta1_min",
             f"must be in [0, 1), got {b.beta1_min}")
    _require(1.0 < b.factor <= 4.0, "balance.factor", f"must be in (1, 4], got {b.factor}")
    _require(0.0 < b.smoothing <= 1.0, "balance.smoothing", f"must be in (0, 1], got {b.smoothing}")
    _require(0.0 < b.lr_min < b.lr_max <= 1.0, "balance.lr_min",
             f"need 0 < lr_min < lr_max <= 1, got {b.lr_min} and {b.lr_max}")


def _check_health(cfg: TrainConfig) -> None:
    h = cfg.health
    _require(2 <= h.window <= 100, "health.window", f"must be in 2..100, got {h.window}")
    _require(h.warmup_steps >= 0, "health.warmup_steps", f"must be >= 0, got {h.warmup_steps}")
    _require(0 <= h.max_rollbacks <= 20, "health.max_rollbacks",
             f"must be in 0..20, got {h.max_rollbacks}")


def _check_run(cfg: TrainConfig) -> None:
    r = cfg.run
    for name in ("log_every", "sample_every", "checkpoint_every"):
        value = getattr(r, name)
        _require(value >= 1, f"run.{name}", f"must be >= 1, got {value}")
    _require(r.eval_every >= 0, "run.eval_every", f"must be >= 0 (0 = off), got {r.eval_every}")
    _require(r.report_every >= 0, "run.report_every",
             f"must be >= 0 (0 = off), got {r.report_every}")
    # the covariance of 128-d features needs clearly more samples than dimensions
    _require(r.eval_samples >= 500, "run.eval_samples", f"must be >= 500, got {r.eval_samples}")


_CHECKS: tuple[Callable[[TrainConfig], None], ...] = (
    _check_data, _check_model, _check_train, _check_labels, _check_balance, _check_health,
    _check_run)
