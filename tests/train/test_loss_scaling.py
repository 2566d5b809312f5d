"""fp16 autocast with loss scaling: one scaler per network, overflows skipped, resumed exactly,
and R1's gradient penalty kept in fp16's range."""
import math

import pytest
import torch

from steadygan.config import ConfigError
from steadygan.train.checkpoint import load_checkpoint
from steadygan.train.graphed import use_cuda_graph
from steadygan.train.loop import build_state, train
from steadygan.train.losses import r1_penalty
from steadygan.train.step import STAT_NAMES, train_step


def test_fp16_trains_with_a_loss_scale_per_network_and_resumes_exactly(tiny_cfg, tmp_path):
    cfg = tiny_cfg.with_overrides(["train.precision=fp16", "train.steps=12"])
    straight = train(cfg.with_overrides([f"run.out={tmp_path / 'straight'}"]))
    assert all(math.isfinite(straight.last_record[k]) for k in STAT_NAMES)
    ckpt = load_checkpoint(straight.run_dir / "checkpoints" / "last.pt")
    assert set(ckpt["scalers"]) == {"d", "g"}
    assert all(ckpt["scalers"][net]["scale"] > 1.0 for net in ("d", "g"))

    split = cfg.with_overrides([f"run.out={tmp_path / 'split'}"])
    train(split.with_overrides(["train.steps=6"]))
    resumed = load_checkpoint(train(split, resume=True).run_dir / "checkpoints" / "last.pt")
    assert resumed["step"] == 12 and resumed["scalers"] == ckpt["scalers"]
    for key in ("G", "D", "G_ema"):
        for name, tensor in ckpt[key].items():
            assert torch.equal(tensor, resumed[key][name]), f"{key}.{name} differs"


def test_an_overflowing_step_is_skipped_and_its_scale_halved_not_called_a_divergence(tiny_cfg):
    state = build_state(tiny_cfg.with_overrides(["train.precision=fp16"]), torch.device("cpu"))
    assert state.autocast_dtype == torch.float16
    real = torch.rand(16, 1, 28, 28) * 2 - 1
    train_step(state, [real])  # the scalers' state exists after a first step
    for scaler in (state.scaler_d, state.scaler_g):
        # so large a scale that every gradient overflows
        scaler.load_state_dict({**scaler.state_dict(), "scale": 2.0**100})
    before = [p.detach().clone() for p in (*state.G.parameters(), *state.D.parameters())]
    stats = dict(zip(STAT_NAMES, train_step(state, [real]).tolist()))
    after = [*state.G.parameters(), *state.D.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, after))  # neither network moved
    assert stats["grad_norm_d"] == 0.0 and stats["grad_norm_g"] == 0.0
    assert all(math.isfinite(v) for v in stats.values())  # nothing for the divergence detector
    assert state.scaler_d.get_scale() == state.scaler_g.get_scale() == 2.0**99


def test_fp32_and_bf16_have_no_loss_scaling(tiny_cfg):
    for precision in ("fp32", "bf16"):
        state = build_state(tiny_cfg.with_overrides([f"train.precision={precision}"]),
                            torch.device("cpu"))
        assert state.scaler_d is None and state.scaler_g is None
    result = train(tiny_cfg.with_overrides(["train.steps=6"]))
    assert load_checkpoint(result.run_dir / "checkpoints" / "last.pt")["scalers"] is None


def test_fp16_steps_run_eagerly_on_cuda_and_refuse_a_forced_graph():
    cuda = torch.device("cuda")
    assert use_cuda_graph("auto", cuda, distributed=False) is True
    assert use_cuda_graph("auto", cuda, distributed=False, loss_scaling=True) is False
    with pytest.raises(ConfigError, match="train.cuda_graph: .* fp16 with loss scaling"):
        use_cuda_graph("on", cuda, distributed=False, loss_scaling=True)


def test_precision_must_be_one_of_the_four(tiny_cfg):
    with pytest.raises(ConfigError, match="train.precision"):
        tiny_cfg.with_overrides(["train.precision=fp8"]).validate()


def _tiny_critic() -> torch.nn.Module:
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Linear(16, 1))
    with torch.no_grad():  # input gradients of about 3e-9, far below fp16's smallest number
        for p in critic.parameters():
            p.mul_(3e-5 / p.abs().mean())
    return critic


def _penalty(critic: torch.nn.Module, real: torch.Tensor, dtype: torch.dtype | None,
             scaler: torch.amp.GradScaler | None) -> torch.Tensor:
    with torch.autocast("cpu", dtype=dtype or torch.float16, enabled=dtype is not None):
        logits = critic(real)
    return r1_penalty(logits, real, scaler)


def test_fp16_r1_penalty_scales_its_inner_gradient_so_that_it_does_not_underflow():
    critic, real = _tiny_critic(), torch.randn(4, 8, requires_grad=True)
    exact = _penalty(critic, real, None, None).item()
    assert exact > 0
    # unscaled, the gradients flush to 0
    assert _penalty(critic, real, torch.float16, None).item() < 0.01 * exact
    scaled = _penalty(critic, real, torch.float16, torch.amp.GradScaler("cpu")).item()
    assert math.isclose(scaled, exact, rel_tol=0.01)


def test_an_overflowing_fp16_r1_penalty_reads_zero_and_poisons_ds_gradients_for_the_scaler():
    critic, real = _tiny_critic(), torch.randn(4, 8, requires_grad=True)
    penalty = _penalty(critic, real, torch.float16, torch.amp.GradScaler("cpu", init_scale=2.0**40))
    assert penalty.item() == 0.0  # not a divergence in the logs
    penalty.backward()
    grads = torch.cat([critic[0].weight.grad.flatten(), critic[1].weight.grad.flatten()])
    assert not torch.isfinite(grads).all()  # the scaler will skip this step


@pytest.mark.parametrize("settings", [
    [],  # D's BatchNorm
    ["model.d_norm=spectral"],
    ["train.n_critic=2"],
    ["train.d_batches=mixed"],
    ["train.loss=hinge", "model.d_head=patch"],
])
def test_fp16_with_r1_trains_d_rather_than_skipping_every_step(tiny_cfg, settings):
    # fp16 BatchNorm's double backward gave NaN at any scale: every D step was skipped, the
    # scale halved 12 times in 12 steps (2^16 -> 16), and D's logged gradient norm stayed 0
    cfg = tiny_cfg.with_overrides(["train.precision=fp16", "train.r1_gamma=1", "train.steps=12",
                                   *settings])
    result = train(cfg)
    assert result.last_record["grad_norm_d"] > 0
    scalers = load_checkpoint(result.run_dir / "checkpoints" / "last.pt")["scalers"]
    assert scalers["d"]["scale"] >= 2.0**12  # a few overflows at most, as in any fp16 run
