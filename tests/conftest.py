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


@pytest.fixture
def tiny_cfg(tmp_path):
    """A seconds-long configuration on the bundled MNIST subset, writing to tmp_path/run."""
    from steadygan.config import TrainConfig

    return TrainConfig().with_overrides(TINY_SETTINGS + [f"run.out={tmp_path / 'run'}"])


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Reference statistics are cached under XDG_CACHE_HOME: keep the tests' copy private."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg_cache"))
