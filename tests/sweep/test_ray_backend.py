import sys

import pytest

from steadygan.cli import main

from test_sweep import TINY, _rows

GRID = ["--grid", "train.lr_d=1e-3,2e-3"]  # 2 x 1 seed: two trials


def test_the_ray_backend_reaches_the_local_results_and_a_finished_sweep_skips_ray(
        tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # where ~/ray_results would appear
    local, on_ray = tmp_path / "local", tmp_path / "on_ray"
    assert main(["sweep", *GRID, "--out", str(local), *TINY]) == 0
    assert main(["sweep", *GRID, "--out", str(on_ray), "--backend", "ray", "--workers", "2",
                 *TINY]) == 0
    assert "2 trials" in capsys.readouterr().out.splitlines()[-1]
    rows = _rows(on_ray)
    assert len(rows) == 2 and "modes_covered" in rows[0] and "reverse_kl" in rows[0]
    assert rows == _rows(local)  # same seeded trials, same processes: the same metrics, in order
    assert sorted(p.name for p in (on_ray / "ray").glob("*/*") if p.is_dir()) == [
        "lr_d-1e-3_s0", "lr_d-2e-3_s0"]  # Ray's own files stay in the sweep directory
    assert not (tmp_path / "home" / "ray_results").exists()
    assert not ray.is_initialized()  # the sweep's own instance is shut down

    # run again: every trial has its result, so Ray is not even started (a resumed sweep hands
    # the backend only its unfinished trials: test_sweep.py)
    trial_files = sorted((on_ray / "trials").glob("*/trial.json"))
    before = {p: p.stat().st_mtime_ns for p in trial_files}
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray started for nothing"))
    assert main(["sweep", *GRID, "--out", str(on_ray), "--backend", "ray", *TINY]) == 0
    assert {p: p.stat().st_mtime_ns for p in trial_files} == before
    assert _rows(on_ray) == rows


@pytest.mark.parametrize("command", [["sweep", *GRID], ["ablate", "--only", "baseline"]])
def test_without_ray_the_ray_backend_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys,
                                                             command):
    monkeypatch.setitem(sys.modules, "ray", None)  # import fails as if absent
    monkeypatch.delitem(sys.modules, "steadygan.sweep.ray_backend", raising=False)
    out = tmp_path / "s"
    assert main([*command, "--out", str(out), "--backend", "ray", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install "steadygan[ray]"' in err and "\n" not in err
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("gpus, device, workers, expected", [
    (0, "auto", 2, {"cpu": 1}),
    (1, "cpu", 2, {"cpu": 1}),
    (1, "auto", 4, {"cpu": 1, "gpu": 0.25}),
    (1, "cuda", 1, {"cpu": 1, "gpu": 1.0}),
    (2, "cuda", 8, {"cpu": 1, "gpu": 0.25}),
])
def test_each_ray_trial_asks_for_a_cpu_and_its_share_of_the_gpus(monkeypatch, gpus, device,
                                                                  workers, expected):
    pytest.importorskip("ray")
    from steadygan.sweep import ray_backend

    monkeypatch.setattr(ray_backend.torch.cuda, "device_count", lambda: gpus)
    assert ray_backend._resources(device, workers) == expected
