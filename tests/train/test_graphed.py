"""The training step replayed as a CUDA graph: the same arithmetic as the eager step, settings
changes that take effect, exact resume, and a fallback when capture fails. The CUDA cases run
where there is a GPU (bench/gpu_session.sh runs them); the CPU cases everywhere."""
import math
import subprocess
import sys

import pytest
import torch

from steadygan.config import ConfigError, TrainConfig
from steadygan.train.domain import domain_for
from steadygan.train.graphed import GraphedStepRunner, StepRunner, use_cuda_graph
from steadygan.train.loop import BatchOrder, StatsWindow, build_state, train
from steadygan.train.step import STAT_NAMES, train_step, update_ema

from conftest import PROJECT_ROOT

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_update_ema_reads_a_tensor_decay_like_a_float_one():
    torch.manual_seed(0)
    model, ema_a = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    ema_b = torch.nn.Linear(5, 3)
    ema_b.load_state_dict(ema_a.state_dict())
    update_ema(ema_a, model, 0.9)
    update_ema(ema_b, model, torch.tensor(0.9))
    for a, b in zip(ema_a.parameters(), ema_b.parameters()):
        torch.testing.assert_close(a, b)
    assert not torch.equal(ema_a.weight, model.weight)


def test_cuda_graph_setting_is_checked():
    cpu = torch.device("cpu")
    assert use_cuda_graph("auto", cpu, distributed=False) is False
    assert use_cuda_graph("off", torch.device("cuda"), distributed=False) is False
    assert use_cuda_graph("auto", torch.device("cuda"), distributed=True) is False
    assert use_cuda_graph("auto", torch.device("cuda"), distributed=False) is True
    with pytest.raises(ConfigError, match="train.cuda_graph: 'on' needs one process on a CUDA"):
        use_cuda_graph("on", cpu, distributed=False)
    with pytest.raises(ConfigError, match="train.cuda_graph"):
        TrainConfig().with_overrides(["train.cuda_graph=sometimes"]).validate()


def test_cli_refuses_cuda_graph_on_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run([sys.executable, "-m", "steadygan", "train", "--out", str(tmp_path / "r"),
                           "--steps", "2", "--no-progress", "--device", "cpu",
                           "--set", "train.cuda_graph=on"],
                          capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "train.cuda_graph" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cuda_streams_setting_is_checked_and_one_stream_on_cpu():
    with pytest.raises(ConfigError, match="train.cuda_streams: must be 1 or 2, got 3"):
        TrainConfig().with_overrides(["train.cuda_streams=3"]).validate()
    cfg = TrainConfig.for_data("ring8").with_overrides(["train.cuda_streams=2"]).validate()
    assert build_state(cfg, torch.device("cpu")).side_stream is None


# ---- CUDA ---------------------------------------------------------------------------------------

def _runner(kind: type, cfg: TrainConfig):
    """A runner over a fresh state built exactly as the loop builds it (graph-safe noise)."""
    device = torch.device("cuda")
    torch.cuda.manual_seed(cfg.train.seed)
    state = build_state(cfg, device, graphed=True)
    domain = domain_for(cfg)
    data = domain.load().to(device)
    order = BatchOrder(data.shape[0], cfg.train.batch_size, cfg.train.seed, device)
    window = StatsWindow(device)
    return kind(state, train_step, data, domain.to_batch, order.indices, window)


def _ring_cfg(*extra: str) -> TrainConfig:
    # no learning-rate warm-up unless asked: its steps run eagerly, and these tests count captures
    return TrainConfig.for_data("ring8").with_overrides(
        ["train.device=cuda", "train.lr_warmup_steps=0", *extra])


def _params(runner) -> list[torch.Tensor]:
    s = runner.state
    return [p.detach().clone() for m in (s.G, s.D, s.G_ema) for p in m.parameters()]


@cuda
@pytest.mark.parametrize("extra", [[], ["train.n_critic=2", "train.r1_gamma=1",
                                        "labels.flip=0.1", "labels.smooth=0.1"]])
def test_graph_replays_compute_what_the_eager_steps_compute(extra):
    eager = _runner(StepRunner, _ring_cfg(*extra))
    for step in range(20):
        eager.run(step)
    graphed = _runner(GraphedStepRunner, _ring_cfg(*extra))  # seeds the same random streams
    for step in range(20):
        graphed.run(step)
    assert graphed.graph_captures == 1
    torch.cuda.synchronize()
    for a, b in zip(_params(eager), _params(graphed)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert eager.window.count == graphed.window.count == 20
    torch.testing.assert_close(eager.window.sum, graphed.window.sum, rtol=1e-4, atol=1e-4)


@cuda
@pytest.mark.parametrize("kind", [StepRunner, GraphedStepRunner])
@pytest.mark.parametrize("data", ["ring8", "bundled"])
def test_a_second_stream_computes_what_one_stream_computes(kind, data, monkeypatch):
    # deterministic cuDNN algorithms: the image models' results may then differ only by the
    # order in which work from the two streams lands
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    base = ["train.device=cuda", "train.lr_warmup_steps=0", "train.cudnn_benchmark=false",
            "train.batch_size=32"]
    one = _runner(StepRunner, TrainConfig.for_data(data).with_overrides(base))
    for step in range(12):
        one.run(step)
    # built after the first one ran: building seeds the random streams both draw from
    two = _runner(kind, TrainConfig.for_data(data).with_overrides([*base, "train.cuda_streams=2"]))
    assert one.state.side_stream is None and two.state.side_stream is not None
    for step in range(12):
        two.run(step)
    torch.cuda.synchronize()
    assert two.graph_captures == (1 if kind is GraphedStepRunner else 0)
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if data == "ring8" else {"rtol": 1e-3, "atol": 1e-4}
    for a, b in zip(_params(one), _params(two)):
        torch.testing.assert_close(a, b, **tolerance)
    for name in ("running_mean", "running_var"):  # D's BatchNorm saw real, then fake, as before
        for a, b in zip(one.state.D.modules(), two.state.D.modules()):
            if isinstance(a, torch.nn.BatchNorm2d):
                torch.testing.assert_close(getattr(a, name), getattr(b, name), **tolerance)


@cuda
def test_graph_replays_read_adaptive_augmentation_s_p_as_the_reads_move_it(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    cfg = TrainConfig.for_data("bundled").with_overrides([
        "train.device=cuda", "train.lr_warmup_steps=0", "train.cudnn_benchmark=false",
        "train.batch_size=32", "train.augment=color,translation,cutout",
        "train.augment_target=0.8"])
    runs = []
    for kind in (StepRunner, GraphedStepRunner):  # one after the other: see the warm-up test
        runner = _runner(kind, cfg)
        for step in range(12):
            runner.state.set_augment_p(0.0 if step < 6 else 0.5)  # recorded at 0, replayed at 0.5
            runner.run(step)
        runs.append(runner)
    torch.cuda.synchronize()
    eager, graphed = runs
    assert graphed.graph_captures == 1
    for a, b in zip(_params(eager), _params(graphed)):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


@cuda
def test_a_learning_rate_warm_up_runs_eagerly_and_the_graph_takes_over_after_it():
    # one runner after the other: both draw z and label noise from the default CUDA generator,
    # which _runner seeds alike (interleaved, each would get the other's next numbers)
    eager = _runner(StepRunner, _ring_cfg("train.lr_warmup_steps=8"))
    for step in range(14):
        eager.run(step)
    graphed = _runner(GraphedStepRunner, _ring_cfg("train.lr_warmup_steps=8"))
    for step in range(8):
        graphed.run(step)
    assert graphed.graph_captures == 0
    for step in range(8, 14):
        graphed.run(step)
    assert graphed.graph_captures == 1  # the full rates from step 8 on, recorded once
    torch.cuda.synchronize()
    for a, b in zip(_params(eager), _params(graphed)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@cuda
def test_a_new_learning_rate_or_beta1_is_recorded_and_takes_effect():
    runner = _runner(GraphedStepRunner, _ring_cfg())
    for step in range(6):
        runner.run(step)
    for opt in (runner.state.opt_g, runner.state.opt_d):
        opt.param_groups[0]["lr"] = 0.0  # what the controller's apply() does, taken to the limit
    before = _params(runner)[:len(list(runner.state.G.parameters()))]
    for step in range(6, 10):
        runner.run(step)
    after = _params(runner)[:len(before)]
    assert runner.graph_captures == 2
    assert all(torch.equal(a, b) for a, b in zip(before, after)), "lr 0 still moved G"
    for opt in (runner.state.opt_g, runner.state.opt_d):
        opt.param_groups[0]["lr"], opt.param_groups[0]["betas"] = 1e-3, (0.3, 0.999)
    runner.run(10)
    assert runner.graph_captures == 3
    assert not all(torch.equal(a, b) for a, b in zip(after, _params(runner)[:len(before)]))


@cuda
def test_graphed_training_resumes_exactly_and_logs_finite_statistics(tmp_path):
    settings = ["train.device=cuda", "train.steps=120", "run.log_every=20",  # a warm-up, then
                "run.checkpoint_every=60", "run.progress=false", "train.cuda_graph=on",  # graphs
                "train.lr_warmup_steps=30"]
    whole = train(TrainConfig.for_data("ring8").with_overrides(settings + [f"run.out={tmp_path}/a"]))
    assert all(math.isfinite(whole.last_record[k]) for k in STAT_NAMES)
    half = TrainConfig.for_data("ring8").with_overrides(
        settings + [f"run.out={tmp_path}/b", "train.steps=60"])
    train(half)
    train(half.with_overrides(["train.steps=120"]), resume=True)
    a = torch.load(tmp_path / "a/checkpoints/last.pt", weights_only=False)
    b = torch.load(tmp_path / "b/checkpoints/last.pt", weights_only=False)
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            torch.testing.assert_close(tensor, b[key][name], rtol=1e-5, atol=1e-6,
                                       msg=lambda m: f"{key}.{name}: {m}")


@cuda
def test_images_train_under_the_graph_with_bf16(tiny_cfg):
    cfg = tiny_cfg.with_overrides(["train.device=cuda", "train.cuda_graph=on", "train.steps=40",
                                   "run.log_every=10"])
    result = train(cfg)
    assert all(math.isfinite(result.last_record[k]) for k in STAT_NAMES)
    assert result.last_record["grad_norm_g"] > 0


@cuda
def test_a_step_that_cannot_be_captured_trains_on_eagerly(capsys):
    def syncing_step(state, reals):
        stats = train_step(state, reals)
        stats[0].item()  # a host read: not allowed inside a graph
        return stats

    runner = _runner(GraphedStepRunner, _ring_cfg())
    runner.step_fn = syncing_step
    for step in range(8):
        runner.run(step)
    torch.cuda.synchronize()
    assert runner.graph_captures == 0 and runner.window.count == 8
    assert torch.isfinite(runner.window.sum).all()
    assert "CUDA graph capture failed" in capsys.readouterr().err
    torch.randn(3, device="cuda")  # the default generator is usable again, outside any graph

