"""`steadygan eval`: domain metrics of a run's generator, or of images made by any program."""
from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from steadygan.atomic import atomic_write_text
from steadygan.config import ConfigError, TrainConfig
from steadygan.metrics.classes import share_rows, shares_in
from steadygan.metrics.domain import evaluate_images
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.stacked import STACKED_EVAL_SIZE, stacked_modes
from steadygan.metrics.toy2d import mixture_metrics
from steadygan.sample import TrainedGenerator
from steadygan.train.digits_check import DigitsCheck
from steadygan.train.rundir import RunDir

# The order and the formats of the printed table.
_ROWS = (("inception_fid", "Inception FID", "{:.3f}"), ("modes_covered", "modes covered", "{}"), ("high_quality", "high-quality share", "{:.3f}"),
         ("reverse_kl", "reverse KL over modes", "{:.4f}"), ("kl", "KL to uniform modes", "{:.4f}"),
         ("fid", "domain FID", "{:.3f}"), ("kid_mean", "KID", "{:.5f}"),
         ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
         ("density", "density", "{:.3f}"), ("coverage", "coverage", "{:.3f}"),
         ("classes_covered", "classes covered", "{}/10"), ("class_kl", "class KL to uniform", "{:.4f}"),
         ("mean_confidence", "mean confidence", "{:.3f}"),
         ("nn_ratio", "nearest-train ratio",
          "{:.3f} (1: as near unseen digits as the training ones; under 1: nearer the training ones)"),
         ("copy_share", "near copies", "{:.1%} of samples (held-out digits: 1.0%)"),
         ("pixel_nn_ratio", "nearest/second ratio",
          "{:.3f} in pixels (1: a sample's nearest training image stands out from the next no "
          "more than a training image's nearest other does; under 1: more, as for copies)"),
         ("pixel_copy_share", "near copies",
          "{:.1%} of samples, in pixels (the training images themselves: 1.0%)"),
         ("n", "samples", "{}"))


def has_domain_metrics(cfg: TrainConfig) -> bool:
    """Whether `evaluate_run` can measure what this configuration trains: 2-D mixtures, Stacked
    MNIST and grayscale digits (other images have no instrument without a download)."""
    return cfg.data.instrument() is not None


def why_no_domain_metrics(run_dir: str | Path, cfg: TrainConfig) -> str | None:
    """Why `evaluate_run` cannot measure this run, or None: images of another kind, or a folder
    whose training found its grayscale images are not MNIST digits (measuring them would only give
    their distance to MNIST)."""
    data = cfg.data
    if not has_domain_metrics(cfg):
        return (f"domain metrics need grayscale digits, Stacked MNIST or 2-D "
                f"mixtures; this run makes {data.image_size}x{data.image_size}x{data.channels} "
                "images")
    check = DigitsCheck.found_in(RunDir(run_dir).read_metrics())
    if check is not None and check.digits is False:
        return f"{check.finding('its training images')}, so domain metrics would only " \
               "measure the distance to MNIST"
    return None


EVAL_SIZE = 10_000  # samples per evaluation: DESIGN.md's 10,000 against the MNIST test set


def default_samples(cfg: TrainConfig) -> int:
    """Samples an evaluation of this run takes when not told: the papers' 26,000 for Stacked
    MNIST (with fewer, some of its 1000 modes stay empty by chance), 10,000 otherwise."""
    return STACKED_EVAL_SIZE if cfg.data.name == "stacked-mnist" else EVAL_SIZE


def evaluate_run(run_dir: str | Path, n: int | None = None, checkpoint: str | Path | None = None,
                 ema: bool = True, data_dir: str | None = None, device: str = "auto",
                 seed: int = 0, announce: Callable[[str], None] | None = None,
                 near_copies: bool = True,
                 nearest_png: str | Path | None = None) -> dict[str, Any]:
    """Sample n from the run's generator and measure them with the metric of its domain:
    digits -> domain FID etc. against the MNIST test set; Stacked MNIST -> modes of 1000;
    2-D mixtures -> modes covered, high-quality share, reverse KL. n: default_samples.
    announce: told what is measured before the work starts (tens of seconds on a CPU).
    near_copies: for digits, also how near the samples lie to the training images (nn_ratio,
    copy_share, closest_pairs), when those can be read; for images no instrument knows (RGB
    folders, other sizes), which are refused without it, that check alone, in pixel space
    (pixel_nn_ratio, pixel_copy_share, closest_pairs). nearest_png: where to draw the samples
    nearest a training image, each above its training image."""
    generator = TrainedGenerator(run_dir, checkpoint, ema=ema, device=device)
    n = default_samples(generator.cfg) if n is None else n
    unmeasurable = why_no_domain_metrics(run_dir, generator.cfg)
    if unmeasurable:
        why = f"{run_dir}: {unmeasurable}; for these, Inception FID against a folder of real " \
              "images: --inception-ref DIR"
        training = training_images(generator.cfg, data_dir, announce) if near_copies else None
        if training is None:
            raise ConfigError(why)
        _announce_samples(generator, n, announce,
                          f"; {unmeasurable}: measuring their near copies in pixel space "
                          "(Inception FID: --inception-ref DIR)")
        samples = generator.sample(n, seed)
        try:
            result = pixel_near_copies(samples, training, str(generator.device), nearest_png)
        except MetricInputError as exc:
            raise ConfigError(f"{why}; and no near-copy check: {exc}") from None
    else:
        _announce_samples(generator, n, announce)
        result = _domain_metrics(generator, n, seed, data_dir, announce, near_copies, nearest_png)
    return {**result, **_provenance(generator, seed)}


def _provenance(generator: TrainedGenerator, seed: int) -> dict[str, Any]:
    """Which weights, at which step, with which latents an evaluation measured."""
    return {"step": generator.step, "checkpoint": str(generator.path),
            "ema": generator.uses_ema, "seed": seed}


def _announce_samples(generator: TrainedGenerator, n: int,
                      announce: Callable[[str], None] | None, what: str = "") -> None:
    if announce is not None:
        weights = "EMA of G" if generator.uses_ema else "G"
        announce(f"evaluating {n:,} samples of {generator.path} (step {generator.step}, "
                 f"{weights}) on {generator.device}{what}")


def _domain_metrics(generator: TrainedGenerator, n: int, seed: int, data_dir: str | None,
                    announce: Callable[[str], None] | None, near_copies: bool,
                    nearest_png: str | Path | None) -> dict[str, Any]:
    """`evaluate_run`'s measurement of a run its domain's instrument knows."""
    data = generator.cfg.data
    if data.instrument() == "mixture":
        result = dict(mixture_metrics(generator.sample(n, seed), data.name))
    elif data.instrument() == "stacked":
        result = dict(stacked_modes(generator.sample(n, seed), device=str(generator.device)))
    else:
        # the classifier runs where G does: on a GPU its pass over 10,000 digits is a fraction of
        # a second, on one CPU thread (a sweep worker's) about 4 s of a short trial
        training = training_images(generator.cfg, data_dir, announce) if near_copies else None
        samples = generator.sample(n, seed)
        result = evaluate_images(samples, data_dir=data_dir, device=str(generator.device),
                                 training_images=training)
        if nearest_png is not None and training is not None:
            save_closest_pairs(samples, training, result["closest_pairs"], nearest_png)
    return result


def pixel_near_copies(samples: np.ndarray, training: np.ndarray, device: str = "cpu",
                      nearest_png: str | Path | None = None) -> dict[str, Any]:
    """The near-copy check of images no classifier knows (metrics.memorization_within): uint8
    samples and training images (N, C, H, W) of one size, compared pixel by pixel."""
    from steadygan.metrics.memorization import memorization_within, pixel_features

    found = memorization_within(pixel_features(samples), pixel_features(training), device)
    if nearest_png is not None:
        save_closest_pairs(samples, training, found.closest_pairs, nearest_png)
    return {"pixel_nn_ratio": found.nn_ratio, "pixel_copy_share": found.copy_share,
            "closest_pairs": found.closest_pairs, "n": len(samples)}


def save_closest_pairs(samples: np.ndarray, training: np.ndarray,
                       pairs: list[tuple[int, int]], path: str | Path) -> None:
    """Two rows: the samples of `pairs` (nearest a training image first), and under each the
    training image nearest it."""
    from steadygan.data.grid import save_grid

    above = [samples[i] for i, _ in pairs]
    below = [training[j] for _, j in pairs]
    save_grid(np.stack(above + below), path, nrow=len(pairs))


def training_images(cfg: TrainConfig, data_dir: str | None = None,
                    announce: Callable[[str], None] | None = None) -> np.ndarray | None:
    """The images a run trained on, for the near-copy check: the bundled subset, its folder, or
    the MNIST training files (in the run's data.dir, else `data_dir`, else the usual places).
    None, said through `announce`, when they cannot be read here (a folder moved, no MNIST)."""
    from steadygan.data.errors import DataError
    from steadygan.data.sources import load_dataset

    d = cfg.data
    folder = d.dir or (data_dir if d.name == "mnist" else None)
    try:
        return load_dataset(d.name, folder or None, d.image_size, d.channels, progress=False)[0]
    except (DataError, OSError) as exc:
        if announce is not None:
            announce(f"no near-copy check: the training images cannot be read ({exc})")
        return None


def evaluate_run_inception(run_dir: str | Path, reference_dir: str | Path, n: int = EVAL_SIZE,
                           checkpoint: str | Path | None = None, ema: bool = True,
                           device: str = "auto", seed: int = 0,
                           announce: Callable[[str], None] | None = None,
                           nearest_png: str | Path | None = None) -> dict[str, Any]:
    """Inception FID of n samples of an image run against a folder of real images; for a run
    `evaluate_run` cannot measure, also its pixel-space near copies (of the same samples) when
    its training images can be read."""
    from steadygan.metrics.inception import inception_fid

    generator = TrainedGenerator(run_dir, checkpoint, ema=ema, device=device)
    if generator.cfg.data.instrument() == "mixture":
        raise ConfigError(f"{run_dir}: Inception FID is for images, this run makes 2-D points")
    samples = generator.sample(n, seed)
    result = {"inception_fid": inception_fid(samples, reference_dir,
                                             generator.device.type == "cuda")}
    if why_no_domain_metrics(run_dir, generator.cfg) is not None:
        training = training_images(generator.cfg, None, announce)
        try:
            if training is not None:
                result.update(pixel_near_copies(samples, training, str(generator.device),
                                                nearest_png))
        except MetricInputError as exc:
            if announce is not None:
                announce(f"no near-copy check: {exc}")
    return {**result, "n": n, "reference": str(reference_dir), **_provenance(generator, seed)}


def evaluate_npz(path: str | Path, data_dir: str | None = None) -> dict[str, Any]:
    """Metrics of the first array in an .npz file: digits (N x 28 x 28 or N x 1 x 28 x 28 uint8;
    32 or 64 pixels measured at 28) or Stacked MNIST (N x 3 x 28 x 28 uint8, modes of 1000; the
    same sizes)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    images = _first_array(path)
    if images.ndim == 4 and images.shape[1] == 3:
        result = dict(stacked_modes(images))
    else:
        result = evaluate_images(images, data_dir=data_dir)
    result["source"] = str(path)
    return result


def _first_array(path: Path) -> np.ndarray:
    """The first array of an .npz archive (or the one array of an .npy file); a file that is
    neither, empty or cut short is a ConfigError naming it."""
    try:
        loaded = np.load(path)
        if isinstance(loaded, np.ndarray):  # an .npy file: one array, nothing to choose
            return loaded
        with loaded as archive:
            if not archive.files:
                raise ConfigError(f"{path}: holds no arrays")
            return archive[archive.files[0]]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc) or type(exc).__name__
        raise ConfigError(f"{path}: not a readable .npz file ({reason})") from None


def write_json(result: dict[str, Any], path: str | Path) -> None:
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")


def format_table(result: dict[str, Any]) -> str:
    rows = [f"{label:<22}{fmt.format(result[key])}" for key, label, fmt in _ROWS if key in result]
    return "\n".join(rows + _digit_rows(result))


def _digit_rows(result: dict[str, Any]) -> list[str]:
    """Which digits the generator draws, and those it draws at under half their share: a
    digit left behind is where a high class KL comes from."""
    shares = shares_in(result)
    return [f"{label:<22}{text}" for label, text in share_rows(shares)] if shares else []
