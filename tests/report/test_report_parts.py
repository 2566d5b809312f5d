"""The report's small pieces: grid picking, number formatting, verdicts, damaged files."""
import math

import pytest

from steadygan.report.diagnoses import verdict
from steadygan.health.diagnosis import Diagnosis
from steadygan.jsonl import read_jsonl
from steadygan.report.rundata import load_run
from steadygan.report.runpage import pick_evenly
from steadygan.report.summary import best_live, fmt, live_text


@pytest.mark.parametrize("n, expected", [
    (0, []), (3, [0, 1, 2]), (6, [0, 1, 2, 3, 4, 5]), (7, [0, 1, 2, 4, 5, 6]),
    (100, [0, 20, 40, 59, 79, 99]),
])
def test_pick_evenly(n, expected):
    assert pick_evenly(list(range(n))) == expected


@pytest.mark.parametrize("value, text", [
    (None, "—"), (True, "true"), (1872, "1,872"), (0.69123, "0.691"), (2e-4, "0.0002"),
    (1.0, "1"), (1987.4, "1,987"), (math.nan, "NaN"), (-math.inf, "-Inf"), ("last", "last"),
])
def test_fmt(value, text):
    assert fmt(value) == text


def _d(severity, kind="k", start=0):
    return Diagnosis(kind, start, start + 4, severity, f"{kind} message")


def test_verdict():
    assert verdict(None) == ("none", "no diagnoses recorded")
    assert verdict([]) == ("healthy", "verdict: healthy (the health checks found nothing)")
    assert verdict([_d("info")]) == ("healthy", "verdict: healthy (1 info)")
    assert verdict([_d("warning"), _d("warning")])[0] == "warning"
    klass, text = verdict([_d("warning"), _d("failure", "mode_collapse", 8),
                           _d("failure", "divergence", 12)])
    assert klass == "failure"
    assert text == ("verdict: failed (1 warning, 2 failures); first failure: mode_collapse at "
                    "steps 8-12: mode_collapse message")
    # failures that ended before the last step are recovered, as `steadygan diagnose` says
    klass, text = verdict([_d("failure", "divergence", 12)], last_step=100)
    assert klass == "warning" and text.startswith("verdict: recovered (1 failure)")
    assert verdict([_d("failure", "divergence", 12)], last_step=16)[0] == "failure"


def test_read_jsonl_skips_damage(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 1, "loss_d": NaN}\n[1, 2]\n\n{"step": 2, "loss_d": Infinity}\n{"st')
    records, bad, n_lines = read_jsonl(path)
    assert [r["step"] for r in records] == [1, 2] and math.isnan(records[0]["loss_d"])
    assert bad == [2, 5] and n_lines == 5


def test_damaged_run_files(tmp_path):
    (tmp_path / "config.toml").write_text("[data\nname = ")
    (tmp_path / "metrics.jsonl").write_text('{"step": 4, "loss_d": 1.0}\n{"oops"\n'
                                            '{"step": 8, "loss_d": 0.9}\n')
    (tmp_path / "eval.json").write_text("{")
    (tmp_path / "diagnoses.jsonl").write_text(
        '{"kind": "x", "severity": "failure", "step_start": "soon", "evidence": [1]}\n')
    run = load_run(tmp_path)
    notes = " | ".join(run.notes)
    assert "config.toml is unreadable" in notes and "eval.json is unreadable" in notes
    assert "metrics.jsonl: 1 unreadable line(s) skipped (line 2)" in notes
    assert [r["step"] for r in run.train] == [4, 8]
    assert run.diagnoses == [Diagnosis("x", -1, -1, "failure", "", {}, [])]


def test_best_live_follows_the_loop():
    evals = [{"step": 12, "fid_live": 50.0, "best_step": 12},
             {"step": 24, "fid_live": 40.0, "best_step": 24},
             {"step": 36, "fid_live": math.nan, "best_step": 24}]
    assert best_live(evals)["step"] == 24
    assert best_live(evals[:1] + [{"step": 24, "fid_live": 40.0}])["step"] == 24  # no best_step
    assert best_live([{"step": 4, "modes_live": 3, "hq_live": 0.5},
                      {"step": 8, "modes_live": 3, "hq_live": 0.7}])["step"] == 8
    assert best_live([]) is None


def test_a_stacked_mnist_run_s_live_evaluation_reads_as_modes_and_kl(tmp_path):
    pytest.importorskip("matplotlib")
    from steadygan.report.plots import plot_live_eval
    from steadygan.report.rundata import RunData

    evals = [{"step": 500, "modes_live": 612, "kl_live": 1.31, "best_step": 500},
             {"step": 1000, "modes_live": 801, "kl_live": 0.62, "best_step": 1000}]
    best = best_live(evals)
    assert best["step"] == 1000 and live_text(best, "modes") == "801 modes, KL 0.62 (step 1000)"
    plot = plot_live_eval(RunData(tmp_path, evals=evals))
    assert "KL of the mode histogram to uniform" in plot.caption and len(plot.png) > 1000


def test_the_accuracy_plot_draws_adaptive_augmentation_s_p_when_the_run_logs_it(tmp_path):
    pytest.importorskip("matplotlib")
    from steadygan.report.plots import plot_accuracy
    from steadygan.report.rundata import RunData

    train = [{"step": s, "d_acc_real": 0.85, "d_acc_fake": 0.8, "g_acc": 0.2} for s in (50, 100)]
    plain = plot_accuracy(RunData(tmp_path, train=train))
    assert "augmentation" not in plain.caption
    adapted = [{**r, "augment_p": p} for r, p in zip(train, (0.0, 0.016))]
    config = {"train": {"augment_target": 0.8}}
    plot = plot_accuracy(RunData(tmp_path, train=adapted, config=config))
    assert "probability p of each augmentation" in plot.caption and "above 0.8" in plot.caption
    assert plot.png != plain.png
