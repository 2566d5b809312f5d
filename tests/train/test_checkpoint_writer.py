"""Checkpoints written on a background thread: what is written, and what a failed write does."""
import threading

import pytest
import torch

from steadygan.cli import main
from steadygan.train import checkpoint_writer
from steadygan.train.checkpoint import CheckpointError, load_checkpoint
from steadygan.train.checkpoint_writer import CheckpointWriter

from conftest import TINY_SETTINGS


@pytest.mark.parametrize("device", [
    "cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                         reason="needs CUDA"))])
def test_the_file_holds_the_state_at_save_time_not_what_training_did_next(tmp_path, monkeypatch,
                                                                           device):
    trained_on = threading.Event()
    real_save = checkpoint_writer.atomic_save

    def save_later(obj, path):  # the write starts only after the training changed its tensors
        assert trained_on.wait(10)
        real_save(obj, path)

    monkeypatch.setattr(checkpoint_writer, "atomic_save", save_later)
    weights = torch.arange(6.0, device=device)
    kernel = torch.randn(4, 3, 2, 2, device=device).to(memory_format=torch.channels_last)
    kernel_then = kernel.to("cpu", copy=True)
    ckpt = {"format": 1, "G": {"w": weights}, "D": {"k": kernel},
            "opt": {"state": [weights * 2]}, "rng": None}
    with CheckpointWriter() as writer:
        writer.save(ckpt, [tmp_path / "a.pt", tmp_path / "b.pt"])
        weights.add_(100.0)  # the training goes on changing its tensors in place
        kernel.zero_()
        trained_on.set()
    for name in ("a.pt", "b.pt"):
        saved = load_checkpoint(tmp_path / name, needs=())
        assert torch.equal(saved["G"]["w"], torch.arange(6.0))
        assert torch.equal(saved["opt"]["state"][0], torch.arange(6.0) * 2)
        assert torch.equal(saved["D"]["k"], kernel_then)
        assert saved["D"]["k"].is_contiguous(memory_format=torch.channels_last)  # as it was


def _failing_after(monkeypatch, n_ok: int) -> None:
    real_save, calls = checkpoint_writer.atomic_save, []

    def save(obj, path):
        calls.append(path)
        if len(calls) > n_ok:
            raise OSError(28, "No space left on device")
        real_save(obj, path)

    monkeypatch.setattr(checkpoint_writer, "atomic_save", save)


def test_a_failed_write_is_raised_at_the_next_wait_naming_the_file(tmp_path, monkeypatch):
    _failing_after(monkeypatch, 1)
    writer = CheckpointWriter()
    writer.save({"format": 1, "step": 1}, [tmp_path / "last.pt"])
    writer.save({"format": 1, "step": 2}, [tmp_path / "last.pt"])  # waits for the first: fine
    with pytest.raises(CheckpointError, match="last.pt: cannot write the checkpoint "
                                              r"\(No space left on device\)"):
        writer.wait()
    assert load_checkpoint(tmp_path / "last.pt", needs=())["step"] == 1  # the previous one is kept
    writer.wait()  # reported once


def test_train_stops_with_one_line_and_exit_2_when_a_checkpoint_cannot_be_written(
        tmp_path, monkeypatch, capsys):
    _failing_after(monkeypatch, 2)  # step 0's last.pt and step 6's, then the disk is full
    run = tmp_path / "run"
    sets = [arg for setting in TINY_SETTINGS for arg in ("--set", setting)]
    assert main(["train", "--out", str(run), *sets]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("steadygan: error: ") and "last.pt: cannot write the checkpoint" in err
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 6  # resumable from there
