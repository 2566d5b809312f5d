"""Where a training step's time goes on the GPU: the step replayed as a CUDA graph (device time per
step, from CUDA events), the same step launched eagerly, and the top kernels of the eager step.

    python bench/profile_step.py --batch 128 --batch 1024

The ceiling a loop can reach is batch / (graph replay time): the rest is Python and launches.
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import torch
from torch.autograd import DeviceType
from torch.autograd.profiler_util import EventList
from torch.profiler import ProfilerActivity, profile

from steadygan.config import TrainConfig
from steadygan.train.domain import domain_for
from steadygan.train.graphed import GraphedStepRunner, StepRunner
from steadygan.train.loop import BatchOrder, StatsWindow, build_state
from steadygan.train.step import train_step


def make_runner(kind: type, batch: int, overrides: list[str]) -> StepRunner:
    cfg = TrainConfig().with_overrides([f"train.batch_size={batch}", "train.device=cuda",
                                        *overrides]).validate()
    device = torch.device("cuda")
    state = build_state(cfg, device, graphed=kind is GraphedStepRunner)
    domain = domain_for(cfg)
    data = domain.load().to(device)
    order = BatchOrder(data.shape[0], batch, cfg.train.seed, device)
    return kind(state, train_step, data, domain.to_batch, order.indices, StatsWindow(device))


def time_steps(runner: StepRunner, steps: int, first: int) -> float:
    """Milliseconds per step, by CUDA events around `steps` steps after a warm-up."""
    for step in range(first):
        runner.run(step)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for step in range(first, first + steps):
        runner.run(step)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, action="append", default=[])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    for batch in args.batch or [128]:
        graphed = make_runner(GraphedStepRunner, batch, args.overrides)
        ms_graph = time_steps(graphed, args.steps, first=10)
        eager = make_runner(StepRunner, batch, args.overrides)
        ms_eager = time_steps(eager, args.steps, first=10)
        print(f"batch {batch}: graph {ms_graph:.3f} ms/step ({batch / ms_graph * 1e3:,.0f} img/s), "
              f"eager {ms_eager:.3f} ms/step ({batch / ms_eager * 1e3:,.0f} img/s)")
        profiled = 20
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA],
                     record_shapes=True) as prof:
            time_steps(eager, profiled, first=0)
        # the kernels alone (the operations above them are what launched_by reads)
        kernels = EventList([e for e in prof.key_averages() if e.device_type == DeviceType.CUDA])
        # at batch 128 most of a replay is a few microseconds per kernel, whatever it computes
        print(f"batch {batch}: {sum(e.count for e in kernels) / profiled:.0f} GPU kernels and "
              f"copies per eager step")
        print(kernels.table(sort_by="self_device_time_total", row_limit=args.top))
        print(launched_by(prof.events(), OVERHEAD_KERNELS, profiled))


# device work that computes nothing of the model's (cuDNN's layout conversions, memsets) and the
# generic kernels whose names do not say which operation launched them
OVERHEAD_KERNELS = ("nchwToNhwc", "nhwcToNchw", "Memset", "elementwise_kernel", "reduce_kernel")


def launched_by(events: list, patterns: tuple[str, ...], steps: int, rows: int = 25) -> str:
    """Which operations (with their input shapes) launch the kernels whose names hold one of
    `patterns`: per step, how many and their device time; the `rows` costliest."""
    tally: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for event in events:
        for kernel in getattr(event, "kernels", []):
            pattern = next((p for p in patterns if p in kernel.name), None)
            if pattern is not None:
                entry = tally[(pattern, event.name, str(event.input_shapes))]
                entry[0] += 1
                entry[1] += kernel.duration
    if not tally:
        return f"no {', '.join(patterns)} kernels attributed to an operation"
    costliest = sorted(tally.items(), key=lambda item: -item[1][1])[:rows]
    return "\n".join([f"{'kernel':<18} {'per step':>8} {'us/step':>8}  launched by (input shapes)"]
                      + [f"{p:<18} {n / steps:>8.1f} {us / steps:>8.1f}  {op} {shapes}"
                         for (p, op, shapes), (n, us) in costliest])


if __name__ == "__main__":
    main()
