"""Failures induced on purpose in real (small, seeded, CPU) training, and a healthy control."""
import json
import math

import pytest
import torch

from steadygan.cli import main
from steadygan.config import TrainConfig
from steadygan.health.diagnose import diagnose_run
from steadygan.train import loop
from steadygan.train.checkpoint import load_checkpoint
from steadygan.train.loop import train

# a quarter of the default widths, for failures that form in small models as in the default
# ones (a G that ignores z, a NaN, a D whose rate is 20,000 times G's): a third of the time.
# The controller's rescue of that D is measured at the default widths: at these, seeds 1 and 4
# of 0-4 still ended with D at 86-93 % after 700 steps (2026-11-29)
NARROW = ["model.g_width=32", "model.d_width=16"]
BASE = ["train.batch_size=32", "run.log_every=25", "run.sample_every=10000",
        "run.checkpoint_every=100", "run.eval_every=0", "run.progress=false", "train.device=cpu"]


def _run(tmp_path, name, *settings, steps=300):
    cfg = TrainConfig().with_overrides(BASE + [f"train.steps={steps}",
                                               f"run.out={tmp_path / name}", *settings])
    return train(cfg).run_dir


def _records(run, kind):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("kind") == kind]


def _diagnoses(run):
    path = run / "diagnoses.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def test_d_overpowering_is_diagnosed_within_400_steps(tmp_path, capsys):
    # the controller off: on (the default) it clamps these rates and the failure never forms.
    # After the 200 warm-up steps D wins 99 % and more; the detector's trend (G's loss or gradient
    # not recovering across a 4-record window) then rests on noise. At the default widths the
    # first window that confirms it ended at step 300 for seeds 2-4 and at 325 and 350 for seeds
    # 1 and 0 (2026-11-28); at NARROW ones at step 300 for seeds 0-4 (2026-11-29)
    run = _run(tmp_path, "dstrong", "train.lr_d=2e-2", "train.lr_g=1e-6", "balance.mode=off",
               *NARROW, steps=400)
    found = [d for d in _diagnoses(run) if d["kind"] == "d_overpowering"]
    assert found and found[0]["step_end"] <= 400
    assert any(d["severity"] == "failure" for d in found)
    remedies = found[0]["remedies"]
    assert any("lr_d" in remedy for remedy in remedies)
    # fitted to the run: the controller was off, its labels already noisy
    assert any("balance.mode=auto" in r for r in remedies)
    assert not any("give the balance controller room" in r or "labels.flip" in r for r in remedies)
    assert main(["diagnose", str(run)]) == 1
    out = capsys.readouterr().out
    assert "verdict: failure" in out and "try: the balance controller does this by itself" in out
    assert [d["remedies"] for d in _diagnoses(run) if d["kind"] == "d_overpowering"][0] == remedies


def test_a_generator_that_ignores_z_is_diagnosed_as_collapsed(tmp_path, monkeypatch):
    original = loop.domain_for

    def collapsing_domain(cfg):
        domain = original(cfg)
        build = domain.build_models

        def build_models():
            G, D = build()
            forward = G.forward
            G.forward = lambda z: forward(torch.zeros_like(z))  # every z gives the same image
            return G, D
        domain.build_models = build_models
        return domain
    monkeypatch.setattr(loop, "domain_for", collapsing_domain)
    run = _run(tmp_path, "collapse", *NARROW, steps=325)
    found = [d for d in _diagnoses(run) if d["kind"] == "mode_collapse"]
    assert found and found[0]["severity"] == "failure"
    assert found[0]["evidence"]["diversity_ratio"] < 0.05


def test_injected_nan_is_rolled_back_and_training_finishes(tmp_path, monkeypatch):
    original_step, calls = loop.train_step, {"n": 0}

    def poisoned_step(state, reals):
        calls["n"] += 1
        if calls["n"] == 130:  # once, between the checkpoints at 100 and 200
            with torch.no_grad():
                next(state.G.parameters()).fill_(math.nan)
        return original_step(state, reals)
    monkeypatch.setattr(loop, "train_step", poisoned_step)
    run = _run(tmp_path, "nan", *NARROW, steps=200)
    rollbacks = _records(run, "rollback")
    assert len(rollbacks) == 1 and rollbacks[0]["to_step"] == 100
    assert rollbacks[0]["lr_g"] == pytest.approx(1e-4) and rollbacks[0]["lr_d"] == pytest.approx(1e-4)
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert ckpt["step"] == 200
    assert all(torch.isfinite(t).all() for t in ckpt["G"].values() if t.is_floating_point())
    assert [d["kind"] for d in _diagnoses(run)] == ["divergence"]
    assert diagnose_run(run).verdict() == "recovered"


def test_divergence_gives_up_after_the_allowed_rollbacks(tmp_path, monkeypatch):
    original_step = loop.train_step

    def always_nan(state, reals):
        with torch.no_grad():
            next(state.G.parameters()).fill_(math.nan)
        return original_step(state, reals)
    monkeypatch.setattr(loop, "train_step", always_nan)
    with pytest.raises(loop.TrainingDiverged, match="after 2 rollback"):
        _run(tmp_path, "hopeless", "health.max_rollbacks=2", *NARROW, steps=100)


# two seeds (a third, seed 2, passed alike until 2026-11-29, when it went for the suite's time)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_healthy_default_run_raises_no_false_alarm(tmp_path, seed, request):
    # seed 0 is the shared default run (BASE's settings, checkpoints every 20 steps, not 100:
    # a checkpoint reads the state and changes nothing)
    run = request.getfixturevalue("default_run") if seed == 0 else \
        _run(tmp_path, f"healthy{seed}", f"train.seed={seed}", steps=300)
    assert [d for d in _diagnoses(run) if d["severity"] != "info"] == []
    # the balance controller is on by default and leaves a healthy run almost alone: at most the
    # two early speed-ups of a G still settling (seed 0: one, seeds 1 and 2: two), nothing slowed
    actions = _records(run, "balance")
    assert TrainConfig().balance.mode == "auto" and len(actions) <= 2
    assert all(a["reason"].endswith("too slow") for a in actions)


def test_the_controller_rescues_d_overpowering(tmp_path):
    # 500 steps: seeds 0-2 all ended with G fooling D 14-15 % of the time and D at 76-79 %
    # (2026-11-29; each had passed the bounds below by step 450)
    rescued = _run(tmp_path, "rescued", "train.lr_d=2e-2", "train.lr_g=1e-6", "balance.mode=auto",
                   steps=500)
    last = _records(rescued, "train")[-1]
    assert last["g_acc"] > 0.05 and 0.5 * (last["d_acc_real"] + last["d_acc_fake"]) < 0.9
    assert diagnose_run(rescued).verdict() in ("recovered", "warnings", "healthy")


def test_the_controller_turns_a_failing_ring_run_into_a_success(tmp_path):
    """Adam's beta1 0.9 with lr 1e-4 on the 8-Gaussian ring: no sample near a mode without the
    controller; with it, momentum steps down (towards 0.5), both sides speed up, and every mode is
    covered with high-quality samples."""
    from steadygan.metrics.toy2d import mixture_metrics
    from steadygan.sample import TrainedGenerator

    def final_metrics(mode):
        cfg = TrainConfig.for_data("ring8").with_overrides([
            "train.lr_g=1e-4", "train.lr_d=1e-4", "train.beta1=0.9", "train.steps=3000",
            f"balance.mode={mode}", "run.progress=false",
            "train.device=cpu", f"run.out={tmp_path / mode}"])
        run = train(cfg).run_dir
        return run, mixture_metrics(TrainedGenerator(run).sample(4000), "ring8")

    _, off = final_metrics("off")
    run, on = final_metrics("auto")
    assert off["modes_covered"] < 8 or off["high_quality"] < 0.5  # fails by DESIGN.md's rule
    assert on["modes_covered"] == 8 and on["high_quality"] >= 0.5
    momentum = [a for a in _records(run, "balance") if a["reason"].endswith("momentum too high")]
    assert momentum and momentum[-1]["beta1"] <= 0.8  # it lowered Adam's momentum
    assert any(a["reason"].endswith("too slow") for a in _records(run, "balance"))


def test_the_controller_says_when_it_clamps_the_configured_rates(tiny_cfg, capsys):
    cfg = tiny_cfg.with_overrides(["balance.mode=auto", "train.lr_g=1e-2", "train.lr_d=1e-5",
                                   "balance.lr_min=1e-4", "balance.lr_max=4e-4"])
    run = train(cfg).run_dir
    first = _records(run, "balance")[0]
    assert first["step"] == 0 and first["reason"].startswith("learning rates clamped")
    assert (first["lr_g_before"], first["lr_g"], first["lr_d_before"], first["lr_d"]) == (
        1e-2, 4e-4, 1e-5, 1e-4)
    assert "lr_g 0.01 -> 0.0004, lr_d 1e-05 -> 0.0001" in capsys.readouterr().err
    # rates inside the range: no record, no line
    quiet = train(tiny_cfg.with_overrides(["balance.mode=auto", f"run.out={run}_quiet"])).run_dir
    assert not [a for a in _records(quiet, "balance") if a["step"] == 0]
    assert "clamped" not in capsys.readouterr().err
