import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def mnist_dir() -> Path:
    """The official MNIST files: $STEADYGAN_MNIST_DIR or ../shared/data/mnist; skip if absent."""
    default = PROJECT_ROOT.parent / "shared" / "data" / "mnist"
    path = Path(os.environ.get("STEADYGAN_MNIST_DIR", default))
    if not path.is_dir():
        pytest.skip(f"MNIST not found at {path} (set STEADYGAN_MNIST_DIR)")
    return path


TINY_SETTINGS = [
    "model.g_width=16", "model.d_width=8", "model.z_dim=16", "train.batch_size=16",
    "train.steps=24", "run.log_every=4", "run.sample_every=12", "run.checkpoint_every=6",
    "run.progress=false", "train.device=cpu", "run.eval_every=0",
]


def tiny_train_args(out, steps=4, *extra):
    """`steadygan train` arguments for a tiny CPU run of `steps` steps into `out`; `extra` last,
    so that its --set overrides the tiny settings'."""
    args = ["train", "--out", str(out), "--steps", str(steps), "--no-progress"]
    for s in TINY_SETTINGS:
        if not s.startswith("train.steps"):
            args += ["--set", s]
    return args + list(extra)


def one_line_error(capsys, argv, fragment) -> str:
    """`steadygan ARGV` fails with exit code 2 and one line on stderr that holds `fragment`."""
    from steadygan.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err, err
    assert "\n" not in err and "Traceback" not in err
    return err


@pytest.fixture
def trained_run(tmp_path) -> Path:
    """A tiny 4-step run of `steadygan train` in tmp_path/run."""
    from steadygan.cli import main

    run = tmp_path / "run"
    assert main(tiny_train_args(run)) == 0
    return run


@pytest.fixture
def tiny_cfg(tmp_path):
    """A seconds-long configuration on the bundled MNIST subset, writing to tmp_path/run."""
    from steadygan.config import TrainConfig

    return TrainConfig().with_overrides(TINY_SETTINGS + [f"run.out={tmp_path / 'run'}"])


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Reference statistics are cached under XDG_CACHE_HOME: keep the tests' copy private."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg_cache"))


# One real run of the default model, shared by the tests that only read it (the false-alarm
# control, the accuracy balance, the FID / KID ranking of its checkpoints): each used to train
# the same 300 steps of its own, about 17 s apiece on this project's 2-core CPU.
DEFAULT_RUN_SETTINGS = [
    "train.batch_size=32", "train.steps=300", "run.log_every=25", "run.sample_every=10000",
    "run.checkpoint_every=20", "run.keep_checkpoints=true", "run.eval_every=0",
    "run.progress=false", "train.device=cpu",
]


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """The default model and stabilizers on the bundled subset, seed 0: 300 steps at batch 32,
    statistics every 25 steps, checkpoints kept every 20. Tests read it; none may change it."""
    from steadygan.config import TrainConfig
    from steadygan.train.loop import train

    out = tmp_path_factory.mktemp("shared") / "default_run"
    return train(TrainConfig().with_overrides(DEFAULT_RUN_SETTINGS + [f"run.out={out}"])).run_dir
