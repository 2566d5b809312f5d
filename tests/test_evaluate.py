import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from steadygan.cli import main
from steadygan.data.mnist import load_mnist

from conftest import tiny_train_args


@pytest.fixture
def digits_run(tmp_path):
    assert main(tiny_train_args(tmp_path / "run")) == 0
    return tmp_path / "run"


def test_eval_of_a_run_writes_eval_json(capsys, digits_run, mnist_dir):
    assert main(["eval", str(digits_run), "--samples", "600", "--data-dir", str(mnist_dir),
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    assert "domain FID" in printed.out and "classes covered" in printed.out
    # what is measured is said before the work starts, on stderr
    last = digits_run / "checkpoints" / "last.pt"
    assert printed.err.startswith(f"evaluating 600 samples of {last} (step 4, EMA of G) on cpu\n")
    result = json.loads((digits_run / "eval.json").read_text())
    assert result["n"] == 600 and result["step"] == 4 and result["ema"] is True
    assert result["fid"] > 50  # four steps of training do not make digits
    # blobs lie as far from the training digits as from unseen ones: no near copies
    assert 0.9 < result["nn_ratio"] < 1.1 and result["copy_share"] < 0.01
    assert f"nearest-train ratio   {result['nn_ratio']:.3f} (1: as near unseen" in printed.out
    assert f"near copies           {result['copy_share']:.1%} of samples" in printed.out
    # the samples nearest a training image, each above the bundled digit nearest it
    from steadygan.data.sources import load_dataset

    pairs = result["closest_pairs"]
    assert len(pairs) == 8
    assert f"wrote {digits_run / 'eval_nearest.png'} (the 8 samples" in printed.out
    grid = np.asarray(Image.open(digits_run / "eval_nearest.png"))
    assert grid.shape == (2 * 30 + 2, 8 * 30 + 2)
    training, _ = load_dataset("bundled", None, 28, 1, progress=False)
    for column, (_, j) in enumerate(pairs):
        assert np.array_equal(grid[32:60, 2 + 30 * column:30 + 30 * column], training[j, 0])


def test_eval_says_when_the_training_images_are_gone_and_measures_the_rest(capsys, tmp_path,
                                                                           mnist_dir):
    from steadygan.data.sources import load_dataset

    digits, _ = load_dataset("bundled", None, 28, 1, progress=False)
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(digits[:64, 0]):
        Image.fromarray(image).save(folder / f"{i}.png")
    assert main(tiny_train_args(tmp_path / "run", 4, "--data", "folder",
                                "--data-dir", str(folder))) == 0
    assert main(["eval", str(tmp_path / "run"), "--samples", "300", "--data-dir",
                 str(mnist_dir)]) == 0
    assert (tmp_path / "run" / "eval_nearest.png").is_file()
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "--samples", "300", "--data-dir",
                 str(mnist_dir)]) == 0
    printed = capsys.readouterr()
    assert f"no near-copy check: the training images cannot be read ({folder}" in printed.err
    assert "domain FID" in printed.out and "near copies" not in printed.out
    assert not (tmp_path / "run" / "eval_nearest.png").exists()  # the last eval's, not this one's
    result = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert "fid" in result and "copy_share" not in result


def test_a_run_of_32_pixel_digits_is_measured_at_28_live_and_by_eval(capsys, tmp_path,
                                                                       mnist_dir):
    run = tmp_path / "run32"
    assert main(tiny_train_args(run, 4, "--image-size", "32", "--set", "run.eval_every=4",
                                "--set", "run.eval_samples=500")) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    live = [r for r in records if r["kind"] == "eval"]
    assert [r["step"] for r in live] == [4] and live[0]["fid_live"] > 50  # four steps: blobs
    assert (run / "checkpoints" / "best.pt").is_file()
    capsys.readouterr()
    assert main(["eval", str(run), "--samples", "500", "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr()
    assert "domain FID" in printed.out and "in pixel space" not in printed.err  # not the fallback
    result = json.loads((run / "eval.json").read_text())
    assert result["fid"] > 50 and 0.9 < result["nn_ratio"] < 1.1 and result["copy_share"] < 0.01
    grid = np.asarray(Image.open(run / "eval_nearest.png"))  # drawn at the run's own size
    assert grid.shape == (2 * 34 + 2, 8 * 34 + 2)


def test_eval_of_real_digits_from_an_npz(capsys, tmp_path, mnist_dir):
    images, _ = load_mnist(mnist_dir, "train")
    np.savez(tmp_path / "real.npz", images[:2000, None])
    assert main(["eval", "--npz", str(tmp_path / "real.npz"), "--data-dir", str(mnist_dir),
                 "--out", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["fid"] < 5 and result["classes_covered"] == 10 and result["class_kl"] < 0.02
    out = capsys.readouterr().out  # real digits: every share printed, none of them rare
    shares = " ".join(f"{d}:{100 * s:.1f}" for d, s in enumerate(result["class_shares"]))
    assert f"digit shares (%)      {shares}\n" in out and "rare digits" not in out


def test_eval_of_stacked_mnist_from_an_npz(capsys, tmp_path):
    from steadygan.data.sources import load_dataset
    from steadygan.data.stacked import make_stacked_mnist

    digits, labels = load_dataset("bundled", None, 28, 1)
    stacks, _ = make_stacked_mnist(digits[:, 0], labels, 3000, seed=1)
    np.savez(tmp_path / "stacks.npz", stacks)
    assert main(["eval", "--npz", str(tmp_path / "stacks.npz"), "--out",
                 str(tmp_path / "s.json")]) == 0
    result = json.loads((tmp_path / "s.json").read_text())
    # 3,000 even draws over 1000 modes: about 950 covered, KL about 0.17 from sampling alone
    assert result["n"] == 3000 and result["modes_covered"] > 900 and result["kl"] < 0.3
    assert "rare digits" not in capsys.readouterr().out
    np.savez(tmp_path / "one.npz", np.repeat(stacks[:1], 500, axis=0))  # a collapse to one stack
    assert main(["eval", "--npz", str(tmp_path / "one.npz"), "--out", str(tmp_path / "o.json")]) == 0
    result = json.loads((tmp_path / "o.json").read_text())
    assert result["modes_covered"] == 1 and abs(result["kl"] - np.log(1000)) < 1e-9
    # one stack repeated: its three digits (or fewer) are all that is drawn, the others rare
    drawn = {d for d, share in enumerate(result["digit_shares"]) if share > 0}
    assert 1 <= len(drawn) <= 3 and sum(result["digit_shares"]) == pytest.approx(1, abs=1e-3)
    rare = re.search(r"^rare digits +(.*); 10 % each if even$", capsys.readouterr().out, re.M)
    assert rare and {int(d) for d in re.findall(r"(\d) \(0\.0 %\)", rare.group(1))} == \
        set(range(10)) - drawn


def _one_line(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err, err
    return err


def _one_line_after_announcement(capsys, argv):
    """The error of an eval that failed after saying what it measures: one line after that."""
    assert main(argv) == 2
    announced, error = capsys.readouterr().err.strip().split("\n")
    assert announced.startswith("evaluating ")
    return error


def test_eval_bad_input(capsys, tmp_path, digits_run):
    _one_line(capsys, ["eval"], "either a run directory or --npz")
    _one_line(capsys, ["eval", "--npz", str(tmp_path / "none.npz")], "file not found")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    _one_line(capsys, ["eval", "--npz", str(tmp_path / "junk.npz")], "not a readable .npz")
    np.savez(tmp_path / "float.npz", np.random.rand(100, 28, 28))
    _one_line(capsys, ["eval", "--npz", str(tmp_path / "float.npz")], "uint8")
    np.savez(tmp_path / "two.npz", np.zeros((100, 2, 28, 28), np.uint8))
    _one_line(capsys, ["eval", "--npz", str(tmp_path / "two.npz")], "channel")
    np.savez(tmp_path / "rgb.npz", np.zeros((100, 3, 48, 48), np.uint8))
    _one_line(capsys, ["eval", "--npz", str(tmp_path / "rgb.npz")], "(N, 3, 28, 28)")
    _one_line(capsys, ["eval", str(tmp_path / "norun")], "run directory not found")
    _one_line(capsys, ["eval", str(digits_run), "--checkpoint", "best"],
              "best.pt: not found; a live evaluation writes it")
    _one_line(capsys, ["eval", str(digits_run), "--samples", "1"], "--samples: must be >= 2")


def _rgb_run(tmp_path, *extra):
    assert main(tiny_train_args(tmp_path / "rgb", 2, "--image-size", "32", "--channels", "3",
                                *extra)) == 0
    return tmp_path / "rgb"


def test_eval_of_an_rgb_run_measures_its_near_copies_in_pixel_space(capsys, tmp_path):
    from steadygan.data.sources import load_dataset

    run = _rgb_run(tmp_path)
    capsys.readouterr()
    assert main(["eval", str(run), "--samples", "300", "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    # why no domain metric, what is measured instead, and where Inception FID is
    assert "this run makes 32x32x3 images: measuring their near copies in pixel space " \
           "(Inception FID: --inception-ref DIR)" in printed.err
    result = json.loads((run / "eval.json").read_text())
    assert result["n"] == 300 and result["step"] == 2 and "fid" not in result
    # two steps make blobs: as far from their nearest training image as from the next
    assert result["pixel_nn_ratio"] > 1 and result["pixel_copy_share"] == 0
    assert f"nearest/second ratio  {result['pixel_nn_ratio']:.3f} in pixels" in printed.out
    assert "near copies           0.0% of samples, in pixels" in printed.out
    grid = np.asarray(Image.open(run / "eval_nearest.png"))
    assert grid.shape == (2 * 34 + 2, 8 * 34 + 2, 3)
    training, _ = load_dataset("bundled", None, 32, 3, progress=False)
    for column, (_, j) in enumerate(result["closest_pairs"]):
        shown = grid[36:68, 2 + 34 * column:34 + 34 * column].transpose(2, 0, 1)
        assert np.array_equal(shown, training[j])


def test_eval_refuses_an_image_run_of_too_few_or_gone_training_images(capsys, tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(120):  # 20 distinct images, each 6 times
        Image.fromarray(np.full((32, 32, 3), 12 * (i % 20), np.uint8)).save(folder / f"{i}.png")
    run = _rgb_run(tmp_path, "--data", "folder", "--data-dir", str(folder))
    # how near 20 images lie to one another says too little to tell a copy from a new image
    message = _one_line_after_announcement(capsys, ["eval", str(run), "--samples", "50"])
    assert "this run makes 32x32x3 images; for these, Inception FID" in message
    assert message.endswith("; and no near-copy check: it needs at least 100 distinct training "
                            "images to know how near they lie to one another, got 20")
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    capsys.readouterr()
    assert main(["eval", str(run), "--samples", "50"]) == 2
    first, refusal = capsys.readouterr().err.strip().split("\n")
    assert first.startswith(f"no near-copy check: the training images cannot be read ({folder}")
    assert "this run makes 32x32x3 images; for these, Inception FID" in refusal
    assert "--inception-ref DIR" in refusal and not (run / "eval.json").exists()


def test_inception_fid_without_the_extra_says_how_to_install(capsys, tmp_path, digits_run,
                                                             monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # makes the import fail
    (tmp_path / "real").mkdir()
    _one_line(capsys, ["eval", str(digits_run), "--inception-ref", str(tmp_path / "real"),
                       "--samples", "10"], "pip install 'steadygan[inception]'")
    _one_line(capsys, ["eval", str(digits_run), "--inception-ref", str(tmp_path / "none")],
              "reference image folder not found")


def test_inception_fid_hands_torch_fidelity_a_folder_of_rgb_pngs(capsys, tmp_path, digits_run,
                                                                 monkeypatch):
    """torch-fidelity needs downloaded weights; check our side of the call with a stand-in."""
    seen = {}

    def calculate_metrics(input1, input2, fid, cuda, verbose):
        files = sorted(Path(input1).iterdir())
        seen.update(n=len(files), mode=Image.open(files[0]).mode, input2=input2, fid=fid)
        return {"frechet_inception_distance": 12.5}

    monkeypatch.setitem(sys.modules, "torch_fidelity",
                        types.SimpleNamespace(calculate_metrics=calculate_metrics))
    (tmp_path / "real").mkdir()
    assert main(["eval", str(digits_run), "--inception-ref", str(tmp_path / "real"),
                 "--samples", "12", "--device", "cpu"]) == 0
    assert seen == {"n": 12, "mode": "RGB", "input2": str(tmp_path / "real"), "fid": True}
    assert json.loads((digits_run / "eval.json").read_text())["inception_fid"] == 12.5
    assert "Inception FID" in capsys.readouterr().out
    # a digits run's near copies are measured by eval, in the classifier's space
    assert not {"copy_share", "pixel_copy_share"} & set(json.loads(
        (digits_run / "eval.json").read_text()))
    # an image run no classifier knows: the same samples' near copies too, and their picture
    run = _rgb_run(tmp_path)
    assert main(["eval", str(run), "--inception-ref", str(tmp_path / "real"), "--samples", "40",
                 "--device", "cpu"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["inception_fid"] == 12.5 and seen["n"] == 40
    assert result["pixel_nn_ratio"] > 1 and result["pixel_copy_share"] == 0
    assert (run / "eval_nearest.png").is_file()


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_eval_on_cuda_runs_the_classifier_there_and_matches_the_cpu(capsys, digits_run, mnist_dir,
                                                                     tmp_path):
    import torch

    results = {}
    for device in ("cpu", "cuda"):
        torch.backends.cudnn.allow_tf32 = True  # PyTorch's default; the features pass turns it off
        assert main(["eval", str(digits_run), "--samples", "600", "--data-dir", str(mnist_dir),
                     "--device", device]) == 0
        results[device] = json.loads((digits_run / "eval.json").read_text())
        assert torch.backends.cudnn.allow_tf32 is True  # and gives it back
    cpu, cuda = results["cpu"], results["cuda"]
    assert cuda["classes_covered"] == cpu["classes_covered"]
    assert cuda["fid"] == pytest.approx(cpu["fid"], rel=5e-3)
    assert cuda["precision"] == pytest.approx(cpu["precision"], abs=0.02)
