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
