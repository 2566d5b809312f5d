"""Bad input outside the settings: paths a command writes, devices, damaged run files, runaway
sizes. Each is one line and exit code 2, found before the work it would waste."""
import json
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from steadygan import cli
from steadygan.cli import main
from steadygan.config import load_config
from steadygan.train.checkpoint import RESUME_KEYS, SAMPLE_KEYS

from conftest import one_line_error as _one_line_error, tiny_train_args


@pytest.fixture
def places(tmp_path):
    """A file and a folder where the other is expected."""
    (tmp_path / "afile").write_text("not a folder")
    for folder in ("adir", "grid.png", "samples.npz", "result.json", "weights.pt"):
        (tmp_path / folder).mkdir()
    return tmp_path


def test_train_refuses_an_out_that_is_not_a_folder(capsys, places):
    _one_line_error(capsys, tiny_train_args(places / "afile"), "run.out: ")
    _one_line_error(capsys, tiny_train_args(places / "afile" / "run"),
                    "cannot create the folder")


def test_sweep_and_ablate_refuse_an_out_that_is_a_file(capsys, places):
    out = str(places / "afile")
    _one_line_error(capsys, ["sweep", "--data", "ring8", "--grid", "train.lr_d=1e-4,3e-4",
                             "--steps", "2", "--out", out], "is a file, not a folder")
    _one_line_error(capsys, ["ablate", "--data", "ring8", "--only", "no_ema", "--steps", "2",
                             "--out", out], "is a file, not a folder")
    _one_line_error(capsys, ["sweep", "--data", "ring8", "--grid", "train.lr_d=1e-4,3e-4",
                             "--steps", "2", "--out", f"{out}/sweep"],
                    f"cannot create the folder {out}/sweep ({out} is a file)")


def test_sample_refuses_outputs_it_could_not_write_before_sampling(capsys, trained_run, places,
                                                                   monkeypatch):
    from steadygan import sample

    def never(*args, **kwargs):
        raise AssertionError("the generator was loaded before the outputs were checked")
    monkeypatch.setattr(sample.TrainedGenerator, "__init__", never)
    for flag, path in (("--out", "grid.png"), ("--npz", "samples.npz")):
        _one_line_error(capsys, ["sample", str(trained_run), flag, str(places / path)],
                        f"{flag}: {places / path} is a folder")
    _one_line_error(capsys, ["sample", str(trained_run), "--out", str(places / "afile" / "g.png")],
                    "is a file, not a folder")


def test_eval_checks_its_out_before_evaluating(capsys, trained_run, places, monkeypatch):
    import steadygan.evaluate

    def never(*args, **kwargs):
        raise AssertionError("evaluated before --out was checked")
    monkeypatch.setattr(steadygan.evaluate, "evaluate_run", never)
    _one_line_error(capsys, ["eval", str(trained_run), "--out", str(places / "result.json")],
                    "--out: ")
    _one_line_error(capsys, ["eval", str(trained_run), "--out", str(places / "afile" / "r.json")],
                    "is a file, not a folder")


def test_classifier_checks_its_arguments_before_training(capsys, places, monkeypatch):
    import steadygan.metrics.classifier_tool as tool

    def never(*args, **kwargs):
        raise AssertionError("trained before the arguments were checked")
    monkeypatch.setattr(tool, "train_and_save", never)
    for extra, fragment in ((["--out", str(places / "weights.pt")], "is a folder"),
                            (["--threads", "0"], "--threads: must be >= 1"),
                            (["--device", "bogus"], "--device: must be auto, cpu")):
        _one_line_error(capsys, ["classifier", "train", *extra], fragment)


@pytest.mark.parametrize("limit, fragment", [
    (0, "--limit: training needs at least 2 images, got 0"),
    (-5, "--limit: training needs at least 2 images, got -5"),  # was: quietly all but 5
    (100, "make 4 steps; the one-cycle schedule needs at least 10"),
])
def test_classifier_limits_that_cannot_train(capsys, tmp_path, mnist_dir, limit, fragment):
    _one_line_error(capsys, ["classifier", "train", "--data-dir", str(mnist_dir), "--limit",
                             str(limit), "--out", str(tmp_path / "w.pt")], fragment)
    assert not (tmp_path / "w.pt").exists()


@pytest.mark.parametrize("device", ["bogus", "cuda:x", "cuda:"])
def test_unknown_devices_are_one_line_in_every_command(capsys, trained_run, tmp_path, device):
    for argv in (["eval", str(trained_run)], ["sample", str(trained_run), "--n", "2",
                                              "--out", str(tmp_path / "g.png")]):
        _one_line_error(capsys, argv + ["--device", device], f"--device: must be auto, cpu, "
                                                             f"cuda, cuda:N or mps, got '{device}'")
    _one_line_error(capsys, tiny_train_args(tmp_path / "r") + ["--set", f"train.device={device}"],
                    "train.device: must be")


def test_epochs_must_be_finite(capsys, tmp_path):
    _one_line_error(capsys, ["train", "--epochs", "inf", "--out", str(tmp_path / "r")],
                    "train.epochs: must be a finite number, got inf")
    assert not (tmp_path / "r").exists()


def test_eval_npz_that_is_empty_cut_short_or_an_npy(capsys, tmp_path):
    digits = np.zeros((20, 28, 28), np.uint8)
    np.savez(tmp_path / "good.npz", images=digits)
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:300])
    for name in ("empty.npz", "cut.npz"):
        _one_line_error(capsys, ["eval", "--npz", str(tmp_path / name)],
                        f"{tmp_path / name}: not a readable .npz file")
    assert zipfile.is_zipfile(tmp_path / "good.npz")
    from steadygan.evaluate import _first_array
    np.save(tmp_path / "plain.npy", digits)  # one array: nothing to choose, so it is read
    assert np.array_equal(_first_array(tmp_path / "plain.npy"), digits)


def test_metrics_records_without_a_step_are_skipped_by_every_reader(capsys, trained_run):
    with (trained_run / "metrics.jsonl").open("a") as f:
        f.write("{}\n" + json.dumps({"kind": "train", "step": "x"}) + "\n")
    assert main(["diagnose", str(trained_run)]) == 0
    assert main(["report", str(trained_run)]) == 0
    assert main(["train", "--resume", str(trained_run), "--steps", "6", "--no-progress"]) == 0
    steps = [json.loads(l).get("step") for l in
             (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert all(isinstance(s, int) for s in steps) and max(steps) == 6


@pytest.mark.parametrize("key", RESUME_KEYS)
def test_a_checkpoint_without_an_entry_names_it(capsys, trained_run, key):
    path = trained_run / "checkpoints" / "last.pt"
    ckpt = torch.load(path, weights_only=False)
    del ckpt[key]
    torch.save(ckpt, path)
    _one_line_error(capsys, ["train", "--resume", str(trained_run), "--steps", "8"],
                    f"{path}: damaged checkpoint, without {key}")
    if key in SAMPLE_KEYS:
        _one_line_error(capsys, ["sample", str(trained_run), "--n", "2", "--out",
                                 str(trained_run / "g.png")], f"without {key}")
    else:  # sampling does not read it
        assert main(["sample", str(trained_run), "--n", "2", "--out",
                     str(trained_run / "g.png")]) == 0


def test_resume_asking_for_fewer_steps_than_done_changes_nothing(capsys, trained_run):
    before = {p.name: p.read_bytes() for p in trained_run.iterdir() if p.is_file()}
    _one_line_error(capsys, ["train", "--resume", str(trained_run), "--steps", "2"],
                    "train.steps: ")
    assert capsys.readouterr().err == ""
    after = {p.name: p.read_bytes() for p in trained_run.iterdir() if p.is_file()}
    assert after == before and load_config(trained_run / "config.toml").train.steps == 4


def test_resume_refuses_another_out_but_a_moved_run_goes_on(capsys, trained_run, tmp_path):
    _one_line_error(capsys, ["train", "--resume", str(trained_run), "--out",
                             str(tmp_path / "elsewhere")], "not allowed with --resume")
    moved = tmp_path / "moved"
    trained_run.rename(moved)  # its config.toml still names the old folder
    assert main(["train", "--resume", str(moved), "--steps", "6", "--no-progress"]) == 0
    assert main(["train", "--resume", str(moved), "--out", str(moved), "--steps", "8",
                 "--no-progress"]) == 0
    assert not trained_run.exists()


def test_a_resume_removes_what_a_killed_write_left(trained_run):
    left = [trained_run / "checkpoints" / ".last.pt.k1x2.tmp", trained_run / ".config.toml.a.tmp",
            trained_run / "samples" / ".final.png.b.tmp"]
    for path in left:
        path.write_bytes(b"half a file")
    kept = trained_run / "checkpoints" / "notes.tmp"  # not a name atomic.py gives
    kept.write_text("mine")
    assert main(["train", "--resume", str(trained_run), "--steps", "6", "--no-progress"]) == 0
    assert not any(p.exists() for p in left) and kept.exists()


def test_ablate_refuses_a_variant_named_twice(capsys, tmp_path):
    _one_line_error(capsys, ["ablate", "--data", "ring8", "--only", "no_ema", "no_ema",
                             "--out", str(tmp_path / "a")], "--only: names no_ema more than once")


def test_out_of_memory_is_one_line_and_other_errors_are_not_hidden(capsys, monkeypatch):
    def allocate(args):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: "
                           "can't allocate memory: you tried to allocate 400000000000 bytes.")
    monkeypatch.setattr(cli, "_config", allocate)
    err = _one_line_error(capsys, ["config"], "out of memory (")
    assert "lower train.batch_size" in err

    def denied(args):
        raise PermissionError(13, "Permission denied", "/root/run")
    monkeypatch.setattr(cli, "_config", denied)
    _one_line_error(capsys, ["config"], "steadygan: error: /root/run: Permission denied")

    def bug(args):
        raise RuntimeError("a bug of ours")
    monkeypatch.setattr(cli, "_config", bug)
    with pytest.raises(RuntimeError, match="a bug of ours"):
        main(["config"])


def test_eval_and_report_outputs_keep_off_the_run_s_own_files(capsys, trained_run):
    last = trained_run / "checkpoints" / "last.pt"
    before = last.read_bytes()
    _one_line_error(capsys, ["eval", str(trained_run), "--out", str(last)], "must end in .json")
    for own in (last, trained_run / "config.toml", trained_run / "metrics.jsonl"):
        _one_line_error(capsys, ["report", str(trained_run), "--out", str(own)],
                        "must end in .html")
    assert last.read_bytes() == before
    assert main(["train", "--resume", str(trained_run), "--steps", "6", "--no-progress"]) == 0


def test_a_refused_evaluation_keeps_the_last_one_s_picture(capsys, trained_run):
    picture = trained_run / "eval_nearest.png"
    picture.write_bytes(b"the previous evaluation's")
    _one_line_error(capsys, ["eval", str(trained_run), "--checkpoint", "77"],
                    "no checkpoint of step 77")
    assert picture.read_bytes() == b"the previous evaluation's"
    assert [p.name for p in trained_run.glob(".eval_nearest*")] == []


def test_an_empty_resume_or_a_value_argparse_swallowed_is_refused(capsys, trained_run):
    _one_line_error(capsys, ["train", "--resume", ""], "--resume: give the folder")
    for argv in (["diagnose", str(trained_run), "--window=--"],
                 ["sample", str(trained_run), "--out", "g.png", "--checkpoint=--"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert info.value.code == 2 and "expected one argument" in err and "\n" not in err


def test_a_named_pipe_among_the_images_is_named_not_read(capsys, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "a.png")
    os.mkfifo(folder / "b.png")  # reading it would block forever
    _one_line_error(capsys, tiny_train_args(tmp_path / "r", 2, "--data", "folder", "--data-dir",
                                            str(folder)), f"{folder / 'b.png'}: not a regular file")


def test_a_report_notes_a_sample_picture_too_large_to_open(capsys, trained_run):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0)  # 400 million pixels
    (trained_run / "samples" / "final.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    assert main(["report", str(trained_run)]) == 0
    assert "samples/final.png is unreadable" in (trained_run / "report.html").read_text()


def test_ctrl_c_while_the_program_starts_is_one_line(capsys, monkeypatch):
    def importing_torch(argv=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "main", importing_torch)
    with pytest.raises(SystemExit) as info:
        cli.entry()
    assert info.value.code == 130
    assert capsys.readouterr().err == "steadygan: interrupted\n"


def test_a_failed_rename_names_its_target_not_the_temp_file(capsys, monkeypatch):
    def rename(args):
        raise IsADirectoryError(21, "Is a directory", "RUN/.diagnoses.jsonl.x1.tmp",
                                None, "RUN/diagnoses.jsonl")
    monkeypatch.setattr(cli, "_config", rename)
    _one_line_error(capsys, ["config"], "steadygan: error: RUN/diagnoses.jsonl: Is a directory")


def test_a_resume_hint_can_be_pasted_into_a_shell(capsys, tmp_path):
    run = tmp_path / "my run"
    assert main(tiny_train_args(run)) == 0
    err = _one_line_error(capsys, tiny_train_args(run), "already holds a run")
    assert f"--resume '{run}'" in err
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0  # nothing left to do
    assert capsys.readouterr().out.startswith(f"done: 4 steps in {run}; samples: ")
