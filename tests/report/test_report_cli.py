"""`steadygan report`: bad input, --out, and a folder of runs."""
import os
import sys
from urllib.parse import unquote

import pytest

from steadygan.cli import main

from report_fixtures import assert_self_contained, train_run


def _one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("steadygan: error: ") and fragment in err, err
    assert "\n" not in err and "Traceback" not in err
    assert captured.out == ""


def test_missing_dir(tmp_path, capsys):
    _one_line_error(capsys, ["report", str(tmp_path / "nope")], "nope: not found")


def test_file_instead_of_dir(tmp_path, capsys):
    (tmp_path / "metrics.jsonl").write_text("{}\n")
    _one_line_error(capsys, ["report", str(tmp_path / "metrics.jsonl")], "not a directory")


def test_empty_dir(tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)  # a subfolder that is no run either
    _one_line_error(capsys, ["report", str(tmp_path / "empty")],
                    "not a run directory (no config.toml or metrics.jsonl) and holds no run")
    assert not (tmp_path / "empty" / "report.html").exists()


def test_out_is_a_directory(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text("")
    _one_line_error(capsys, ["report", str(tmp_path / "run"), "--out", str(tmp_path)],
                    "is a folder; name a file to write")


def test_without_matplotlib(tmp_path, capsys, monkeypatch):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text(
        '{"kind": "train", "step": 4, "loss_d": 1.0}\n')
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if absent
    _one_line_error(capsys, ["report", str(tmp_path / "run")], "pip install 'steadygan[report]'")


def test_metrics_only_run_with_out(tmp_path, capsys):
    """A folder with nothing but a (tiny, hand-written) metrics.jsonl is a run; --out is used."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(
        '{"kind": "train", "step": 4, "loss_d": 1.2, "loss_g": 0.8, "d_acc_real": 0.75, '
        '"d_acc_fake": 0.25, "g_acc": 0.7}\n')
    out = tmp_path / "deep" / "er" / "r.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    text = out.read_text()
    page = assert_self_contained(text)
    assert len(page.plots()) == 5
    assert '<div class="v">0.5</div>' in text  # D-acc = mean(0.75, 0.25)
    assert "config.toml is missing" in text and "no diagnoses recorded" in text


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    train_run(folder / "alpha", extra=("run.eval_every=0",))
    train_run(folder / "beta #2", extra=("train.steps=8", "run.eval_every=8"))  # a name to quote
    (folder / "notes").mkdir()  # not a run: no config.toml, no metrics.jsonl
    (folder / "results.csv").write_text("run,fid,comment\nalpha,31.5,<b>first</b>\nbeta,29.0,\n")
    (folder / "beta #2" / "eval.json").write_text('{"fid": 77.25}')
    return folder


def _rows(text):
    body = text[text.index("<tbody>"):text.index("</tbody>")]
    return body.split("<tr>")[1:]


def test_folder_of_runs(runs_folder, capsys):
    assert main(["report", str(runs_folder)]) == 0
    wrote = capsys.readouterr().out.strip()
    assert wrote == f"wrote {runs_folder / 'report.html'} and 2 run reports"
    text = (runs_folder / "report.html").read_text()
    page = assert_self_contained(text)
    assert page.title == f"steadygan report: {runs_folder.name}"
    assert page.hrefs == ["alpha/report.html", "beta%20%232/report.html"]
    for name in ("alpha", "beta #2"):
        own = (runs_folder / name / "report.html").read_text()
        assert f"<title>steadygan report: {name}</title>" in own
    alpha, beta = _rows(text)[:2]
    assert ">24<" in alpha and ">8<" in beta  # steps
    assert "(step 8)" in beta and ">77.2" in beta  # best live FID, eval.json FID
    assert "notes" not in page.hrefs
    assert 'alt="final samples of alpha"' in alpha and 'alt="final samples of beta #2"' in beta
    csv_part = text[text.index('id="results"'):]
    assert "<td>31.5</td>" in csv_part and "&lt;b&gt;first&lt;/b&gt;" in csv_part


def test_folder_index_elsewhere(runs_folder, tmp_path, capsys):
    out = tmp_path / "site" / "index.html"
    assert main(["report", str(runs_folder), "--out", str(out)]) == 0
    page = assert_self_contained(out.read_text())
    for href in page.hrefs:
        assert (out.parent / unquote(href)).resolve().is_file(), href
        assert not os.path.isabs(href)
