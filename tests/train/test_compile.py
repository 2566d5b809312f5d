"""train.compile: the step calls torch.compile'd views of G and D that share their weights."""
import pytest
import torch

from steadygan.train.checkpoint import load_checkpoint
from steadygan.train.loop import BatchOrder, StatsWindow, build_state, train
from steadygan.train.domain import domain_for
from steadygan.train.graphed import StepRunner
from steadygan.train.step import train_step


def _weights_after(cfg, steps: int) -> list[torch.Tensor]:
    state = build_state(cfg, torch.device("cpu"))
    domain = domain_for(cfg)
    data = domain.load()
    order = BatchOrder(data.shape[0], cfg.train.batch_size, cfg.train.seed, torch.device("cpu"))
    runner = StepRunner(state, train_step, data, domain.to_batch, order.indices, StatsWindow("cpu"))
    for step in range(steps):
        runner.run(step)
    return [p.detach().clone() for m in (state.G, state.D) for p in m.parameters()]


# fp32 and no dropout: compiled code draws its own dropout masks and may round bf16 otherwise.
# Both tests use them, so the second finds the first's kernels in inductor's cache (19 s -> 5 s).
COMPARABLE = ["train.precision=fp32", "model.d_dropout=0"]


def test_compiled_steps_compute_what_eager_steps_compute(tiny_cfg):
    cfg = tiny_cfg.with_overrides(COMPARABLE)
    eager = _weights_after(cfg, 3)
    compiled = _weights_after(cfg.with_overrides(["train.compile=true"]), 3)
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_a_compiled_run_keeps_the_checkpoint_format(tiny_cfg):
    result = train(tiny_cfg.with_overrides(COMPARABLE + ["train.compile=true", "train.steps=8"]))
    ckpt = load_checkpoint(result.run_dir / "checkpoints" / "last.pt")
    assert ckpt["step"] == 8
    assert not any(key.startswith("_orig_mod") for key in ckpt["G"])  # resumable without compile
    plain = train(tiny_cfg.with_overrides(COMPARABLE + ["train.steps=12",
                                                        f"run.out={result.run_dir}"]),
                  resume=True)
    assert plain.steps == 12


@pytest.mark.parametrize("value", ["yes please", "2"])
def test_compile_must_be_a_boolean(tiny_cfg, value):
    from steadygan.config import ConfigError

    with pytest.raises(ConfigError, match="train.compile"):
        tiny_cfg.with_overrides([f"train.compile={value}"]).validate()


class _FailsInBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("assert_size_stride: expected stride 49==1 at dim=1")


class _CompiledGFailingItsFirstBackward(torch.nn.Module):
    """Stands in for the compiled G seen on an H200: its first backward (the G step's, after D's
    update of that step) raises."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return _FailsInBackward.apply(self.model(z))


def test_a_compile_that_fails_in_the_first_step_falls_back_to_the_uncompiled_run(tiny_cfg,
                                                                                 monkeypatch,
                                                                                 capsys):
    from steadygan.models.dcgan import Generator

    eager = _weights_after(tiny_cfg, 3)  # dropout and bf16 as configured: the exact same run
    monkeypatch.setattr(torch, "compile", lambda model, **kw: (
        _CompiledGFailingItsFirstBackward(model) if isinstance(model, Generator) else model))
    fell_back = _weights_after(tiny_cfg.with_overrides(["train.compile=true"]), 3)
    for a, b in zip(eager, fell_back):
        assert torch.equal(a, b)  # D's half-applied update was undone, the RNGs rewound
    err = capsys.readouterr().err
    assert "train.compile failed in the first step (RuntimeError: assert_size_stride" in err


def test_contiguous_memory_format_trains_what_channels_last_trains(tiny_cfg):
    """train.memory_format=contiguous: the combination left to try for torch.compile on CUDA."""
    cfg = tiny_cfg.with_overrides(["train.precision=fp32", "model.d_dropout=0"])
    contiguous = cfg.with_overrides(["train.memory_format=contiguous"])
    state = build_state(contiguous, torch.device("cpu"))
    conv = next(p for p in state.D.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert conv.is_contiguous() and not conv.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(_weights_after(cfg, 3), _weights_after(contiguous, 3)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_memory_format_must_be_one_of_the_two(tiny_cfg):
    from steadygan.config import ConfigError

    with pytest.raises(ConfigError, match="train.memory_format"):
        tiny_cfg.with_overrides(["train.memory_format=nhwc"]).validate()
