"""`steadygan report RUN` on real runs: finished, interrupted, failing, 2-D mixture."""
import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from steadygan.cli import main
from steadygan.report.plots import plot_accuracy
from steadygan.report.rundata import load_run

from report_fixtures import assert_self_contained, copy_run, decode_png, train_run

N_CURVE_PLOTS = 5  # losses, accuracy, learning rates, gradient norms, D outputs


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    return train_run(tmp_path_factory.mktemp("digits") / "run")


@pytest.fixture
def run(digits_run, tmp_path):
    """A private copy of the finished run, without the health module's diagnoses: each test
    decides whether a diagnoses file is there."""
    path = copy_run(digits_run, tmp_path / "run")
    (path / "diagnoses.jsonl").unlink(missing_ok=True)
    return path


def _report(run, capsys):
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"wrote {run / 'report.html'}"
    return (run / "report.html").read_text(encoding="utf-8")


def test_finished_run(run, capsys):
    text = _report(run, capsys)
    page = assert_self_contained(text)
    assert page.title == "steadygan report: run"
    assert len(page.plots()) == N_CURVE_PLOTS + 1  # + live FID
    labels = [c for c in page.captions if c.startswith(("step", "final", "latent"))]
    assert labels == ["step 8", "step 16", "step 24", "final (step 24)",
                      "latent walks: each row a great circle in z"]
    walk = Image.open(run / "samples" / "walk.png")  # 8 walks of 8 steps, 28 px and 2 px gaps
    assert walk.size == (8 * 30 + 2, 8 * 30 + 2)
    for image in page.plots():
        assert decode_png(image["src"]).size[0] >= 600  # a real figure, not a placeholder
    assert "best live FID" in text and "Live evaluation" in text
    assert "no diagnoses recorded" in text
    assert "Missing or damaged" not in text
    assert "<pre>[data]" in text and 'name = &quot;bundled&quot;' in text
    assert "No eval.json" in text
    assert "Where the time went" in text and "<td>0 - 24</td>" in text


def test_where_the_time_went_has_a_row_per_stretch(run, capsys):
    with (run / "metrics.jsonl").open("a") as f:  # a resumed stretch, as the loop writes it
        f.write(json.dumps({"kind": "timing", "step": 40, "from_step": 24, "wall_s": 10.0,
                            "steps_s": 7.5, "statistics_s": 0.5, "samples_s": 0.5,
                            "evaluation_s": 1.0, "checkpoints_s": 0.5, "reports_s": 0.0}) + "\n")
    text = _report(run, capsys)
    assert "<td>0 - 24</td>" in text and "<td>24 - 40</td>" in text
    assert "<td>7.5 (75 %)</td>" in text and "<td>1.0 (10 %)</td>" in text


def test_headline_numbers(run, capsys):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in records if r.get("kind", "train") == "train"][-1]
    evals = [r for r in records if r.get("kind") == "eval"]
    fids = [r["fid_live"] for r in evals]
    shares = [0.3, 0.3, 0.3, 0.02, 0.08] + [0.0] * 5
    (run / "eval.json").write_text(json.dumps({"fid": 123.456, "classes_covered": 3,
                                               "class_shares": shares}))
    text = _report(run, capsys)
    assert "<td>digit shares (%)</td><td>0:30.0 1:30.0 2:30.0 3:2.0 4:8.0 5:0.0" in text
    assert "<td>rare digits</td><td>5 (0.0 %), 6 (0.0 %), 7 (0.0 %), 8 (0.0 %), 9 (0.0 %), " \
           "3 (2.0 %); 10 % each if even</td>" in text
    d_acc = 0.5 * (last["d_acc_real"] + last["d_acc_fake"])
    assert f'<div class="v">{d_acc:.3g}</div>' in text
    assert f'<div class="v">{last["g_acc"]:.3g}</div>' in text
    best = evals[-1]["best_step"]
    assert f"{min(fids):.3g} (step {best})" in text
    assert "eval FID" in text and "123" in text


def test_interrupted_run(run, capsys):
    (run / "samples" / "final.png").unlink()
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    cut = lines[-1][: len(lines[-1]) // 2]  # a kill in the middle of a write
    (run / "metrics.jsonl").write_text("".join(lines[:-1]) + cut)
    text = _report(run, capsys)
    page = assert_self_contained(text)
    assert "Missing or damaged" in text
    assert "samples/final.png is missing" in text
    assert "metrics.jsonl: the last line is cut short" in text
    assert not any(c.startswith("final") for c in page.captions)
    assert len(page.plots()) >= N_CURVE_PLOTS


@pytest.mark.parametrize("fids, shown", [((90.0, 70.0, 50.0), True), ((50.0, 49.0, 48.5), False)])
def test_a_run_still_improving_at_its_end_says_so(run, capsys, fids, shown):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first = next(i for i, r in enumerate(records) if r.get("kind") == "eval")
    earlier = {**records[first], "step": records[first]["step"] // 2}  # a third evaluation
    records.insert(first, earlier)
    evals = [r for r in records if r.get("kind") == "eval"]
    assert len(evals) == len(fids)
    for record, fid in zip(evals, fids):
        record["fid_live"] = fid
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    text = _report(run, capsys)
    steps = f"steps {evals[0]['step']}-{evals[-1]['step']}"
    assert (f"still improving at the end: live FID 90.0 -&gt; 50.0 over {steps}" in text) == shown
    assert ("still improving" in text) == shown


def test_run_with_only_metrics(run, capsys):
    """A run killed early: no config, no samples, no eval records; the curves still render."""
    for name in ("config.toml", "eval.json"):
        (run / name).unlink(missing_ok=True)
    for png in (run / "samples").iterdir():
        png.unlink()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records if r.get("kind") != "eval"))
    page = assert_self_contained(_report(run, capsys))
    text = (run / "report.html").read_text()
    assert len(page.plots()) == N_CURVE_PLOTS
    assert "config.toml is missing" in text and "no sample grids" in text
    assert "best live FID" not in text


def test_failing_run(run, capsys):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for r in records:
        if r.get("kind", "train") == "train" and r["step"] >= 16:
            r.update(loss_d=math.nan, loss_g=math.inf, grad_norm_d=math.nan, d_acc_real=math.nan)
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    diagnoses = [
        {"kind": "d_overpowering", "step_start": 4, "step_end": 12, "severity": "warning",
         "message": "D wins 98% of calls", "evidence": {"d_acc": 0.98}, "remedies": ["lower lr_d"]},
        {"kind": "divergence", "step_start": 16, "step_end": 24, "severity": "failure",
         "message": "non-finite loss_d, loss_g", "evidence": {"non_finite_records": 3},
         "remedies": ["lower both learning rates", "spectral norm <in D>"]},
        {"kind": "converged", "step_start": 0, "step_end": 4, "severity": "info",
         "message": "nothing to see", "evidence": {}, "remedies": []},
    ]
    (run / "diagnoses.jsonl").write_text("".join(json.dumps(d) + "\n" for d in diagnoses))
    text = _report(run, capsys)
    page = assert_self_contained(text)
    assert len(page.plots()) == N_CURVE_PLOTS + 1
    assert "non-finite values (NaN / Inf) from step 16" in text
    assert '<div class="v">NaN</div>' in text  # the last D accuracy is NaN, and says so
    assert ('<p class="verdict failure">verdict: failed (1 info, 1 warning, 1 failure); '
            "first failure: divergence at steps 16-24: non-finite loss_d, loss_g</p>") in text
    # table rows sorted by start step, coloured by severity, remedies escaped
    rows = [text.index(f'<tr class="{s}">') for s in ("info", "warning", "failure")]
    assert rows == sorted(rows)
    assert "spectral norm &lt;in D&gt;" in text and "non_finite_records = 3" in text


def _set_balance(config, section):
    """Replace the [balance] section of a config.toml (the training loop may write one)."""
    kept, skipping = [], False
    for line in config.read_text().splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[balance]"
        if not skipping:
            kept.append(line)
    config.write_text("\n".join(kept) + "\n" + section)


def _greenish(png):
    """Pixels of the band's light green wash."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((g > r + 6) & (g > b + 6) & (r > 200)).sum())


def test_band_and_controller_actions(run, capsys):
    _set_balance(run / "config.toml", "")
    metrics = run / "metrics.jsonl"  # only this test's actions: the run's own controller's go
    metrics.write_text("".join(line for line in metrics.read_text().splitlines(keepends=True)
                               if '"kind": "balance"' not in line))
    plain = plot_accuracy(load_run(run))
    assert "target band" not in plain.caption
    _set_balance(run / "config.toml",
                 "[balance]\nmode = \"auto\"\nband_low = 0.6\nband_high = 0.8\n")
    with (run / "metrics.jsonl").open("a") as f:
        for step, lr in ((8, 1e-4), (16, 5e-5)):
            f.write(json.dumps({"kind": "balance", "step": step, "reason": "D too strong",
                                "lr_d": lr}) + "\n")
        f.write(json.dumps({"kind": "rollback", "step": 20, "to_step": 16, "lr_d": 2.5e-5}) + "\n")
    banded = plot_accuracy(load_run(run))
    assert _greenish(banded.png) > _greenish(plain.png) + 5000
    text = _report(run, capsys)
    assert "Shaded: the target band for D accuracy" in text and "controller mode auto" in text
    assert "Dotted lines: the 2 balance-controller action(s)." in text
    assert "Dashed red: 1 rollback(s)" in text
    table = text[text.index("Balance controller actions and rollbacks"):]
    assert table.index("D too strong") < table.index("rollback</td>")  # in step order


def test_rollback_supersedes_records(run, capsys):
    """After a rollback the loop logs the same steps again: the curves keep the later ones."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    train = [json.loads(x) for x in lines if json.loads(x).get("kind", "train") == "train"]
    redo = dict(train[-1], loss_d=0.123)
    with (run / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"kind": "rollback", "step": redo["step"], "to_step": redo["step"] - 4})
                + "\n" + json.dumps(redo) + "\n")
    loaded = load_run(run)
    steps = [r["step"] for r in loaded.train]
    assert steps == sorted(set(steps)) and len(steps) == len(train)
    assert loaded.train[-1]["loss_d"] == 0.123


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    return train_run(tmp_path_factory.mktemp("ring") / "run", "ring8", ("train.steps=40",))


def test_mixture_run(ring_run, capsys):
    text = _report(ring_run, capsys)
    page = assert_self_contained(text)
    assert page.title == "steadygan report: run"
    assert len(page.plots()) == N_CURVE_PLOTS + 1
    records = [json.loads(line) for line in (ring_run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r.get("kind") == "eval"]
    best = next(r for r in evals if r["step"] == evals[-1]["best_step"])
    assert "best live modes" in text and "Modes covered, and the share of samples" in text
    assert f"{best['modes_live']} mode" in text and f"(step {best['step']})" in text
    labels = [c for c in page.captions if c.startswith(("step", "final", "latent"))]
    assert labels == ["step 8", "step 16", "step 24", "step 32", "step 40", "final (step 40)"]
    assert not (ring_run / "samples" / "walk.png").exists()  # the scatter plot shows every z
    scatter = [i for i in page.imgs if i.get("alt", "").startswith(("step", "final"))]
    assert all(decode_png(i["src"]).size == (512, 512) for i in scatter)
    assert all(i.get("class") != "pixel" for i in scatter)  # large plots are not pixelated


def test_the_evaluation_shows_the_samples_nearest_a_training_image(run, capsys):
    (run / "eval.json").write_text(json.dumps({"fid": 30.0, "nn_ratio": 1.9, "copy_share": 0.0,
                                               "closest_pairs": [[3, 7]]}))
    Image.fromarray(np.full((62, 242), 128, np.uint8)).save(run / "eval_nearest.png")
    text = _report(run, capsys)
    assert "<td>nn_ratio</td><td>1.9</td>" in text and "closest_pairs" not in text
    assert "the samples nearest a training image (top), each above that image" in text
    (run / "eval_nearest.png").write_bytes(b"torn")
    assert "eval_nearest.png is unreadable" in _report(run, capsys)
