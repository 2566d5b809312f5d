"""Command line: parse, call the package, turn known errors into one line and exit code 2."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from steadygan.config import (DIR_SOURCES, ConfigError, TrainConfig, check_device, dump_toml,
                              load_config)
from steadygan.outputs import output_file, output_folder

if TYPE_CHECKING:  # the training loop imports torch; the CLI imports it only when it trains
    from steadygan.train.loop import RunResult

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130

# Shortcut flags for the settings people change most; everything else goes through --set.
_SHORTCUTS = (
    ("--data", "data.name", str, "dataset: bundled (default, offline MNIST subset), mnist, folder, "
                                 "stacked-mnist, ring8, grid25"),
    ("--data-dir", "data.dir", str, "folder of the MNIST files (--data mnist or stacked-mnist) "
                                    "or of the images (--data folder)"),
    ("--image-size", "data.image_size", int, "image size: 28, 32 or 64"),
    ("--channels", "data.channels", int, "1 (grayscale) or 3 (RGB); for --data folder the "
     "default 0 takes what the images are"),
    ("--epochs", "train.epochs", float, "passes over the data"),
    ("--steps", "train.steps", int, "generator steps (overrides --epochs)"),
    ("--batch-size", "train.batch_size", int, "images per batch (per process under torchrun)"),
    ("--seed", "train.seed", int, "seed of every random stream"),
    ("--device", "train.device", str, "auto, cpu, cuda, cuda:N or mps"),
    ("--out", "run.out", str, "run directory (default runs/<date>-<time>)"),
    ("--report-every", "run.report_every", int, "rewrite RUN/report.html every K steps"),
)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no prefix matching: `sweep --data ring8` must not quietly mean `--data-dir ring8`
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        # `--window=--` reaches an option as [] (argparse takes "--" for the end of options)
        for action in self._actions:
            if isinstance(action, argparse._StoreAction) and action.nargs is None \
                    and getattr(parsed, action.dest, None) == []:
                self.error(f"argument {action.option_strings[0]}: expected one argument")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="steadygan",
        description="Train DCGANs with the stabilization techniques on, watch D/G balance, "
                    "and sample from the result.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tr = sub.add_parser("train", help="train a GAN (default: DCGAN on the bundled MNIST subset)",
                        description="Train a GAN. Settings come from the defaults, then --config, "
                                    "then the shortcut flags, then --set, in that order.")
    tr.add_argument("--config", metavar="TOML", help="config file (see `steadygan config`)")
    _add_shortcuts(tr, [flag for flag, *_ in _SHORTCUTS])
    tr.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="SECTION.KEY=VALUE", help="override any setting; repeatable")
    tr.add_argument("--resume", metavar="RUN",
                    help="continue the run in RUN from its last checkpoint to its configured end")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")

    sa = sub.add_parser("sample", help="generate images from a trained run",
                        description="Write a PNG grid (--out) or N uint8 images (--npz).")
    sa.add_argument("run", metavar="RUN", help="run directory")
    sa.add_argument("-n", "--n", type=int, default=64, help="number of images (default 64)")
    sa.add_argument("--out", metavar="PNG", help="write a grid image")
    sa.add_argument("--npz", metavar="FILE", help="write uint8 array 'images' (N,C,H,W), or "
                                                  "float array 'points' (N,2) for 2-D mixtures")
    sa.add_argument("--checkpoint", metavar="PT",
                    help="last (default), best (of the live evaluations), a step kept by "
                         "run.keep_checkpoints (500) or a checkpoint file")
    sa.add_argument("--ema", action=argparse.BooleanOptionalAction, default=True,
                    help="use the EMA of G's weights when the run kept one (default), or G's raw "
                         "weights with --no-ema")
    sa.add_argument("--seed", type=int, default=0, help="seed of the latent draws")
    sa.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    sa.add_argument("--walk", type=int, metavar="STEPS",
                    help="latent walks instead of independent samples: N // STEPS rows, each "
                         "STEPS images along the great circle between two random latents")

    ev = sub.add_parser("eval", help="domain metrics (FID, KID, precision/recall, classes) and "
                                     "near copies of a run",
                        description="Measure a run's generator (or the images in --npz) against "
                                    "the MNIST test set in the feature space of steadygan's own "
                                    "MNIST classifier, and how near its samples come to the "
                                    "training images (in pixel space for images no classifier "
                                    "here knows: RGB folders, grayscale non-digits); writes "
                                    "RUN/eval.json (or --out) and RUN/eval_nearest.png.")
    ev.add_argument("run", metavar="RUN", nargs="?", help="run directory")
    ev.add_argument("--npz", metavar="FILE",
                    help="evaluate the first array of FILE instead: digits (N x 28 x 28 "
                         "uint8) or Stacked MNIST (N x 3 x 28 x 28 uint8); 32 or 64 pixels "
                         "are measured at 28")
    ev.add_argument("--samples", type=int,
                    help="images to generate (default 10000; 26000 for Stacked MNIST)")
    ev.add_argument("--checkpoint", metavar="PT",
                    help="last (default), best (of the live evaluations), a step kept by "
                         "run.keep_checkpoints (500) or a checkpoint file")
    ev.add_argument("--ema", action=argparse.BooleanOptionalAction, default=True,
                    help="use the EMA of G's weights when the run kept one (default), or G's raw "
                         "weights with --no-ema")
    ev.add_argument("--data-dir", help="folder of the MNIST test files (for the reference "
                                       "statistics, computed once and cached)")
    ev.add_argument("--inception-ref", metavar="DIR",
                    help="also compute Inception FID against the images in DIR (RGB folders; "
                         "needs the optional extra steadygan[inception])")
    ev.add_argument("--out", metavar="JSON", help="where to write the result")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--device", default="auto")

    sw = sub.add_parser("sweep", help="train every combination of a grid x seeds; results.csv",
                        description="Run every combination of the --grid values for each seed "
                                    "(defaults, or CONFIG, with --set applied first), evaluate "
                                    "and diagnose each, and write SWEEP_DIR/results.csv and a "
                                    "heatmap. Run the same command again to resume.")
    sw.add_argument("config", metavar="CONFIG", nargs="?", help="base config file (TOML)")
    sw.add_argument("--grid", action="append", default=[], metavar="SECTION.KEY=V1,V2,...",
                    help="one axis of the grid; repeatable")
    sw.add_argument("--random", action="append", default=[], metavar="SECTION.KEY=LO:HI[:log]",
                    help="random search over a range (log-uniform with :log); repeatable")
    sw.add_argument("--trials", type=int, default=8, help="random points drawn (with --random)")
    sw.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per combination")
    sw.add_argument("--out", required=True, metavar="SWEEP_DIR")
    _add_runner_options(sw)

    ab = sub.add_parser("ablate", help="the baseline and each technique changed alone, over seeds",
                        description="For each technique (dropout in D, label flipping, soft "
                                    "labels, EMA, separate batches, beta1, LeakyReLU, "
                                    "ConvTranspose, PatchGAN, spectral norm, minibatch stddev, "
                                    "hinge, R1) train the baseline with that one thing changed, "
                                    "for each seed; writes results.csv and ablation.md. "
                                    "Resumable like sweep.")
    ab.add_argument("config", metavar="CONFIG", nargs="?", help="baseline config file (TOML)")
    ab.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per variant")
    ab.add_argument("--out", required=True, metavar="DIR")
    ab.add_argument("--only", nargs="+", metavar="NAME", help="these ablations only")
    _add_runner_options(ab)

    di = sub.add_parser("diagnose", help="failure modes a run went through, with remedies",
                        description="Replay RUN's metrics through the failure-mode detectors "
                                    "(D or G overpowering, mode collapse, oscillation, divergence, "
                                    "convergence); writes RUN/diagnoses.jsonl. Exit code 1 when the run "
                                    "ends in a failure, 0 when healthy or recovered, 2 bad input.")
    di.add_argument("run", metavar="RUN", help="run directory (finished or interrupted)")
    di.add_argument("--window", type=int, help="log records per detector window "
                                                "(default: the run's health.window)")

    cl = sub.add_parser("classifier", help="the MNIST classifier behind the domain metrics",
                        description="Train the classifier whose features define domain FID, KID "
                                    "and precision / recall (the package ships trained weights).")
    cl_sub = cl.add_subparsers(dest="action", required=True, metavar="ACTION")
    ct = cl_sub.add_parser("train", help="train it (seeded, CPU-friendly) and write its weights")
    ct.add_argument("--data-dir", help="folder of the MNIST files (default: $STEADYGAN_MNIST_DIR "
                                       "or the user cache, downloading when possible)")
    ct.add_argument("--epochs", type=int, default=4)
    ct.add_argument("--seed", type=int, default=0)
    ct.add_argument("--device", default="cpu")
    ct.add_argument("--threads", type=int, help="torch CPU threads")
    ct.add_argument("--limit", type=int, help="train on the first N images only")
    ct.add_argument("--out", default="mnist_classifier.pt", help="weights file to write")

    rp = sub.add_parser("report", help="an HTML report of a run, or an index of a folder of runs",
                        description="Write one self-contained HTML file (plots, sample grids, "
                                    "diagnoses, config; images embedded, works offline). For a "
                                    "folder of runs: each run's report and an index linking them.")
    rp.add_argument("run", metavar="RUN", help="run directory, or a folder holding run directories")
    rp.add_argument("--out", metavar="HTML", help="where to write it (default RUN/report.html)")

    co = sub.add_parser("config", help="print the resolved configuration as TOML",
                        description="Print defaults (or --config with --set applied) as TOML; "
                                    "a starting point for your own config file.")
    co.add_argument("--config", metavar="TOML")
    _add_shortcuts(co, ["--data"])
    co.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="SECTION.KEY=VALUE")
    return parser


def _add_shortcuts(parser: argparse.ArgumentParser, flags: list[str]) -> None:
    for flag, key, kind, text in _SHORTCUTS:
        if flag in flags:
            parser.add_argument(flag, dest=key, type=kind, metavar=key.split(".")[1].upper(),
                                help=f"{text} [{key}]")


def _add_runner_options(parser: argparse.ArgumentParser) -> None:
    """What sweep and ablate share: how their trials are configured, run and judged."""
    # --data-dir as in train (data.dir); the digit evaluations read MNIST's test files from it too
    _add_shortcuts(parser, ["--data", "--data-dir", "--epochs", "--steps", "--batch-size",
                            "--device"])
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="applied to every trial")
    parser.add_argument("--workers", type=int, default=1, help="trials run side by side")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local: a pool of processes here (default); ray: Ray Tune trials "
                             "(needs steadygan[ray])")
    parser.add_argument("--mps", choices=("auto", "on", "off"), default="auto",
                        help="several local workers on one GPU: start CUDA MPS for them, so their "
                             "kernels run side by side (auto: when it can start; default)")
    parser.add_argument("--samples", type=int,
                        help="samples per evaluation (default 10000; 26000 for Stacked MNIST)")
    parser.add_argument("--fid-threshold", type=float, default=10.0,
                        help="a digit trial succeeds under this domain FID "
                             "(and 10/10 classes, KL < 0.1; Stacked MNIST: 1000/1000 modes, "
                             "KL < 0.1)")
    parser.add_argument("--no-progress", action="store_true")


def _run_trials(args: argparse.Namespace, base: TrainConfig, trials: list) -> list[dict]:
    from steadygan.sweep.local import run_sweep

    _check_samples(args.samples)
    results = run_sweep(base, trials, Path(args.out), args.workers, args.samples,
                        _mnist_test_dir(base),
                        args.fid_threshold, progress=not args.no_progress, backend=args.backend,
                        mps=args.mps)
    errors = [r for r in results if "error" in r]
    if errors:
        raise ConfigError(f"{args.command}: trial {errors[0]['trial']}: {errors[0]['error']}")
    return results


def _check_samples(samples: int | None) -> None:
    if samples is not None and samples < 2:  # None: the domain's default
        raise ConfigError(f"--samples: must be >= 2, got {samples}")


def _mnist_test_dir(cfg: TrainConfig) -> str | None:
    """Where digit evaluations find MNIST's test files: data.dir, unless that is a folder of the
    user's images (then $STEADYGAN_MNIST_DIR, the cache or the download, as everywhere)."""
    return (cfg.data.dir or None) if cfg.data.name != "folder" else None


def _assignments(args: argparse.Namespace) -> list[str]:
    """Shortcut flags first, then --set, as `section.key=value` strings."""
    shortcuts = [f"{key}={getattr(args, key)}" for _, key, _, _ in _SHORTCUTS
                 if getattr(args, key, None) is not None]
    return shortcuts + list(args.overrides)


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults (those of the chosen data source), then --config, then flags and --set."""
    config_file = getattr(args, "config", None)

    def layered(base: TrainConfig) -> TrainConfig:
        cfg = load_config(config_file, base) if config_file else base
        return cfg.with_overrides(_assignments(args))

    data_name = layered(TrainConfig()).data.name
    return layered(TrainConfig.for_data(data_name)).validate()


def _train(args: argparse.Namespace) -> int:
    from steadygan.train.distributed import Ranks
    from steadygan.train.loop import TrainingDiverged, train
    from steadygan.train.rundir import RunDir
    from steadygan.train.timing import timing_line

    if args.resume is not None and not args.resume.strip():
        raise ConfigError("--resume: give the folder of the run to continue")
    if args.resume:
        if args.config:
            raise ConfigError("--config: not allowed with --resume (the run's config.toml is used; "
                              "change settings with --set)")
        cfg = RunDir(args.resume).read_config()
        asked = cfg.with_overrides(_assignments(args))
        if asked.run.out != cfg.run.out and Path(asked.run.out).resolve() != \
                Path(args.resume).resolve():  # a moved run keeps its old run.out: no matter
            raise ConfigError(f"run.out: {asked.run.out}: not allowed with --resume (the run "
                              f"goes on in its own folder, {args.resume})")
        cfg = asked
        cfg.run.out = args.resume
        cfg.validate()
    else:
        cfg = resolve_config(args)
        _check_data_dir_is_read(cfg)
    if args.no_progress:
        cfg.run.progress = False
    try:
        result = train(cfg, resume=bool(args.resume))
    except (*bad_input_errors(), TrainingDiverged) as exc:
        if Ranks.from_env().writer:
            raise
        # torchrun's other processes met the same error: rank 0 alone says so
        return EXIT_FAILED if isinstance(exc, TrainingDiverged) else EXIT_BAD_INPUT
    if result.interrupted:
        return EXIT_INTERRUPTED
    if not result.writer:
        return 0
    rec = result.last_record  # none when a finished run is resumed with nothing left to do
    accuracies = (f"  (D-acc {0.5 * (rec['d_acc_real'] + rec['d_acc_fake']):.2f}, "
                  f"G-acc {rec['g_acc']:.2f})" if rec else "")
    print(f"done: {result.steps} steps in {result.run_dir}{accuracies}; "
          f"samples: {result.run_dir / 'samples' / 'final.png'}")
    if result.timing:
        print(timing_line(result.timing))
    for line in outcome_lines(result):
        print(line)
    return 0


def _check_data_dir_is_read(cfg: TrainConfig) -> None:
    """A data.dir the training would not read is a mistake to point out: its user meant that data
    and would get the bundled subset. (Sweeps pass data.dir with the bundled digits on purpose,
    for their evaluations' MNIST test files, and call the training directly.)"""
    if cfg.data.dir and cfg.data.name not in DIR_SOURCES:
        raise ConfigError(f"data.dir: {cfg.data.dir} is read only for data.name = "
                          f"{', '.join(DIR_SOURCES)}, and this run's is {cfg.data.name}; for the "
                          "MNIST files there use --data mnist, for a folder of images "
                          "--data folder")


def outcome_lines(result: RunResult) -> list[str]:
    """What a finished run came to: its live metric and best.pt, its health and what to run
    next, so that nobody has to open metrics.jsonl to learn whether it worked."""
    from steadygan.health.detectors import rare_digits, still_improving
    from steadygan.report.summary import live_kind, live_text

    lines = []
    if result.last_eval:
        record, kind = result.last_eval, live_kind([result.last_eval])
        text = (f"FID {record['fid_live']:.1f} (step {record['step']})" if kind == "fid"
                else live_text(record, kind))
        lines.append(f"live evaluation at the end: {text}; "
                     f"checkpoints/best.pt is from step {record['best_step']}")
        rare = rare_digits([record])
        if rare:
            lines.append(rare)
    if result.timeline is not None:
        verdict = result.timeline.verdict()
        found = [f"{d.kind} (steps {d.step_start}-{d.step_end})" for d in
                 result.timeline.diagnoses if d.severity in ("failure", "warning")]
        seen = f": {', '.join(found[-3:])}" if found else ""
        run = shlex.quote(str(result.run_dir))
        lines.append(f"health: {verdict}{seen}"
                     + (f"; evidence and remedies: steadygan diagnose {run}" if found else ""))
        ending = still_improving(result.timeline.view)
        if ending is not None:
            lines.append(ending)
    return lines


def _sample(args: argparse.Namespace) -> int:
    from steadygan.sample import TrainedGenerator

    if not args.out and not args.npz:
        raise ConfigError("sample: give --out grid.png and/or --npz samples.npz")
    if args.n < 1:
        raise ConfigError(f"--n: must be >= 1, got {args.n}")
    if args.walk is not None and not 2 <= args.walk <= args.n:
        raise ConfigError(f"--walk: must be in 2..N (--n {args.n}), got {args.walk}")
    for flag, path, suffix in (("--out", args.out, ".png"), ("--npz", args.npz, ".npz")):
        if path:
            output_file(path, flag, suffix)
    check_device(args.device, "--device")
    generator = TrainedGenerator(args.run, args.checkpoint, ema=args.ema, device=args.device)
    if args.walk is None:
        samples, what = generator.sample(args.n, args.seed), f"{args.n} samples"
    else:
        rows = args.n // args.walk
        samples, what = generator.walks(rows, args.walk, args.seed), \
            f"{rows} walks of {args.walk} steps"
    if args.out:
        generator.save_picture(samples, args.out, nrow=args.walk)
        print(f"wrote {args.out} ({what})")
    if args.npz:
        key = "images" if samples.ndim == 4 else "points"
        np.savez_compressed(args.npz, **{key: samples})
        print(f"wrote {args.npz} ({' x '.join(map(str, samples.shape))} {samples.dtype})")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from steadygan.evaluate import (EVAL_SIZE, evaluate_npz, evaluate_run,
                                    evaluate_run_inception, format_table, write_json)

    if bool(args.run) == bool(args.npz):
        raise ConfigError("eval: give either a run directory or --npz FILE")
    _check_samples(args.samples)
    check_device(args.device, "--device")
    if args.out:  # checked now: the evaluation takes minutes, and its result would be lost
        output_file(args.out, "--out", ".json")

    def announce(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    nearest_png: Path | None = None  # a run's samples nearest a training image
    if args.npz:
        result = evaluate_npz(args.npz, args.data_dir)
        out = Path(args.out) if args.out else None
    else:
        nearest_png = Path(args.run) / "eval_nearest.png"
        # drawn aside, and put in place (or an older evaluation's removed) once this one ends:
        # a refused or interrupted evaluation leaves the last one's picture with its eval.json
        drawn = nearest_png.with_name(".eval_nearest.new.png")
        try:
            if args.inception_ref:
                result = evaluate_run_inception(args.run, args.inception_ref,
                                                args.samples or EVAL_SIZE, args.checkpoint,
                                                args.ema, args.device, args.seed, announce, drawn)
            else:
                result = evaluate_run(args.run, args.samples, args.checkpoint, args.ema,
                                      args.data_dir, args.device, args.seed, announce,
                                      nearest_png=drawn)
        except BaseException:
            drawn.unlink(missing_ok=True)
            raise
        out = Path(args.out) if args.out else Path(args.run) / "eval.json"
    print(format_table(result))
    if out is not None:
        write_json(result, out)
        print(f"wrote {out}")
    if nearest_png is not None and drawn.is_file():
        os.replace(drawn, nearest_png)
        print(f"wrote {nearest_png} (the {len(result['closest_pairs'])} samples nearest a "
              "training image, each above it)")
    elif nearest_png is not None and out == Path(args.run) / "eval.json":
        nearest_png.unlink(missing_ok=True)  # the previous evaluation's: not this one's
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from steadygan.sweep.grid import expand, parse_grid, parse_random, sample_random
    from steadygan.sweep.heatmap import save_heatmap
    from steadygan.sweep.ranking import best_trials_text
    from steadygan.sweep.trial import headline_metric

    base = resolve_config(args)
    if not args.grid and not args.random:
        raise ConfigError("sweep: give at least one --grid section.key=v1,v2,... "
                          "or --random section.key=lo:hi")
    if args.workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {args.workers}")
    if args.trials < 1:
        raise ConfigError(f"--trials: must be >= 1, got {args.trials}")
    axes = parse_grid(args.grid, base)
    points = sample_random(parse_random(args.random, base), args.trials) if args.random else None
    trials = expand(axes, args.seeds, points)
    out = output_folder(args.out, "--out", create=False)  # created once the trials can start
    results = _run_trials(args, base, trials)
    wins = sum(bool(r.get("success")) for r in results)
    heatmap = " and heatmap.png" if save_heatmap(results, axes, out / "heatmap.png") else ""
    print(best_trials_text(results))
    print(f"{len(results)} trials, {wins} succeeded; wrote {out / 'results.csv'}{heatmap}")
    trained = [r for r in results if not r.get("diverged")]  # a diverged trial is not evaluated
    if trained and headline_metric(trained) is None:  # other images, or grayscale non-digits
        channels = f"x{base.data.channels}" if base.data.channels else ""  # 0: as they are
        print(f"no domain metric for these {base.data.image_size}x{base.data.image_size}"
              f"{channels} images: a trial succeeded when it trained to the end without "
              "a failure diagnosis (its verdict and diagnoses are in results.csv)")
    return 0


def _ablate(args: argparse.Namespace) -> int:
    from steadygan.atomic import atomic_write_text
    from steadygan.sweep.ablate import ablation_table, ablation_trials

    if args.workers < 1:
        raise ConfigError(f"--workers: must be >= 1, got {args.workers}")
    base = resolve_config(args)
    trials = ablation_trials(base, args.only, args.seeds)
    out = output_folder(args.out, "--out", create=False)  # created once the trials can start
    results = _run_trials(args, base, trials)
    table = ablation_table(results)
    atomic_write_text(out / "ablation.md", table)
    print(table, end="")
    print(f"wrote {out / 'results.csv'} and {out / 'ablation.md'}")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from steadygan.health.diagnose import EXIT_FAILURE, EXIT_HEALTHY, diagnose_run, format_timeline

    if args.window is not None and not 2 <= args.window <= 100:
        raise ConfigError(f"--window: must be in 2..100, got {args.window}")
    timeline = diagnose_run(args.run, args.window)
    print(format_timeline(timeline, args.run))
    return EXIT_FAILURE if timeline.verdict() == "failure" else EXIT_HEALTHY


def _classifier(args: argparse.Namespace) -> int:
    from steadygan.metrics.classifier_tool import train_and_save

    if args.epochs < 1:
        raise ConfigError(f"--epochs: must be >= 1, got {args.epochs}")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads: must be >= 1, got {args.threads}")
    check_device(args.device, "--device")
    output_file(args.out, "--out", ".pt")  # checked now, not after the training
    train_and_save(args.data_dir, Path(args.out), args.epochs, args.seed, args.device,
                   args.threads, args.limit, log=lambda m: print(m, flush=True))
    return 0


def _report(args: argparse.Namespace) -> int:
    from steadygan.report import make_report

    written = make_report(args.run, args.out)  # its --out checked there, before any work
    extra = f" and {len(written) - 1} run reports" if len(written) > 1 else ""
    print(f"wrote {written[0]}{extra}")
    return 0


def _config(args: argparse.Namespace) -> int:
    print(dump_toml(resolve_config(args)), end="")
    return 0


def bad_input_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input (a setting, file or folder): one line and exit code 2."""
    from steadygan.data.errors import DataError
    from steadygan.metrics.inputs import MetricInputError
    from steadygan.train.checkpoint import CheckpointError

    return ConfigError, DataError, CheckpointError, MetricInputError


def main(argv: list[str] | None = None) -> int:
    from steadygan.train.loop import TrainingDiverged

    args = build_parser().parse_args(argv)
    commands = {"train": _train, "sample": _sample, "eval": _eval, "sweep": _sweep,
                "ablate": _ablate,
                "diagnose": _diagnose,
                "report": _report, "classifier": _classifier, "config": _config}
    try:
        return commands[args.command](args)
    except bad_input_errors() as exc:
        print(f"steadygan: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TrainingDiverged as exc:
        print(f"steadygan: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("steadygan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `steadygan eval RUN | head`: the reader left, nothing is wrong
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as exc:  # a file or folder that could not be read or written
        named = exc.filename2 or exc.filename  # a rename's target, not its temp file
        where = f"{named}: " if named else ""
        print(f"steadygan: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (MemoryError, RuntimeError) as exc:
        if not out_of_memory(exc):
            raise
        reason = (str(exc).strip().splitlines() or ["out of memory"])[0]
        print(f"steadygan: error: out of memory ({reason}); lower train.batch_size, the model "
              "widths, --n or --samples", file=sys.stderr)
        return EXIT_BAD_INPUT


def out_of_memory(exc: BaseException) -> bool:
    """An allocation the machine could not give: CPU or GPU memory, or the address space."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" \
        or "can't allocate memory" in str(exc)


def entry() -> None:
    """The program itself, `steadygan ...` or `python -m steadygan ...`: main(), then exit."""
    try:
        code = main()
    except KeyboardInterrupt:  # while torch loads, before main's own handler is in place
        print("steadygan: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # One of several torchrun processes, its work done and written: leave without the
        # interpreter's teardown. There, after a finished run, a C++ thread of the gloo backend
        # could still be joinable and abort the process ("terminate called without an active
        # exception", no Python frame left): 2 finished resumes in 26 under load, 0 in 40 after.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
