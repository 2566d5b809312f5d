"""Environment variables a sweep sets for the worker processes it spawns, for one block only."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator


@contextlib.contextmanager
def environ_for_children(values: dict[str, str]) -> Iterator[None]:
    """os.environ holds `values` inside the block (processes spawned there inherit them) and is as
    it was after it."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
