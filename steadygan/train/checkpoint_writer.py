"""Checkpoints written beside the training, not in its way.

Serializing a checkpoint and syncing it to disk takes tens of milliseconds (46 ms for the default
28x28 models with their Adam state, 28.8 MiB, on a 2-core CPU; copying it to host memory 9 ms),
which on a GPU is several training steps; the loop writes one
every run.checkpoint_every steps and best.pt after each improved live evaluation. So the loop
only copies the checkpoint to host memory (the training goes on changing the live tensors) and a
thread writes the copy, atomically as always. One write is in flight at most; the loop waits for
it before the next, before reading last.pt back (a rollback) and before it returns.

A write that fails (a full disk, say) is reported at the next wait as a one-line CheckpointError
naming the file; the file it was replacing is untouched.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from steadygan.train.checkpoint import CheckpointError, atomic_save, host_copy


class CheckpointWriter:
    """Use as a context manager: leaving it waits for the last write (and raises its error,
    unless another one is already on its way out)."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> "CheckpointWriter":
        return self

    def __exit__(self, exc_type: type | None, *exc: Any) -> None:
        if exc_type is None:
            self.wait()
            return
        with contextlib.suppress(Exception):  # the error already leaving comes first
            self.wait()

    def save(self, ckpt: dict[str, Any], paths: list[Path]) -> None:
        """Copy `ckpt` to host memory now; write it to every path in the background."""
        self.wait()
        snapshot = host_copy(ckpt)
        # not a daemon: an interpreter that exits (a second Ctrl-C, an error) finishes the write
        self._thread = threading.Thread(target=self._write, args=(snapshot, paths),
                                        name="steadygan-checkpoint")
        self._thread.start()

    def wait(self) -> None:
        """Until the write in flight is on disk; raises its error, if it had one."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _write(self, snapshot: dict[str, Any], paths: list[Path]) -> None:
        for path in paths:
            try:
                atomic_save(snapshot, path)
            except OSError as exc:
                self._error = CheckpointError(f"{path}: cannot write the checkpoint "
                                              f"({exc.strerror or exc}); the previous one is kept")
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the training thread as is
                self._error = exc
                return

