"""A fixture for the tests that run the classifier (a separate module, not a
conftest.py: the suite imports PROJECT_ROOT `from conftest`, which a second
conftest would shadow)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run the classifier on one thread: on a busy 2-core machine two OpenMP threads
    stall on each other (a tiny training run took 10.8 s on two threads, 1.3 s on one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
