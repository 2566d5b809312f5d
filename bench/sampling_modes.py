"""Does how G is sampled change what a run's evaluation says? One checkpoint of a digits run,
10,000 samples from the same latents, five ways: the EMA or the raw G, with BatchNorm on its
running statistics (what `steadygan eval` does), on the batch statistics of batches of 64 (as in
training), and the EMA with its running statistics re-estimated from its own batches (its running
statistics are copied from the raw G, whose weights differ).

    python bench/sampling_modes.py RUN [--data-dir ../shared/data/mnist] [--checkpoint last]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from steadygan.data.sources import to_uint8
from steadygan.metrics.domain import evaluate_images
from steadygan.sample import TrainedGenerator


@torch.no_grad()
def draw(G: nn.Module, z: torch.Tensor, batch_statistics: bool, batch: int = 64) -> np.ndarray:
    G.train(batch_statistics)
    images = np.concatenate([to_uint8(G(chunk).float()) for chunk in z.split(batch)])
    G.eval()
    return images


@torch.no_grad()
def reestimate_batchnorm(G: nn.Module, z_dim: int, batches: int = 200, batch: int = 64) -> None:
    """Running statistics as the plain average over `batches` of G's own batches."""
    for module in G.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # None: a cumulative average
    noise = torch.Generator().manual_seed(1)
    G.train()
    for _ in range(batches):
        G(torch.randn(batch, z_dim, generator=noise))
    G.eval()


def line(name: str, images: np.ndarray, data_dir: str | None) -> str:
    m = evaluate_images(images, data_dir=data_dir)
    shares = " ".join(f"{digit}:{100 * s:.1f}" for digit, s in enumerate(m["class_shares"]))
    ink = images.reshape(len(images), -1).mean(1)  # mean pixel value: thin digits have little
    return (f"{name:28s} FID {m['fid']:.2f} classes {m['classes_covered']} KL {m['class_kl']:.3f} "
            f"ink p1/p5 {np.percentile(ink, 1):.1f}/{np.percentile(ink, 5):.1f} | {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--data-dir", default=None, help="MNIST files, for the first evaluation")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args()
    for ema in (True, False):
        generator = TrainedGenerator(args.run, args.checkpoint, ema=ema, device="cpu")
        G, z_dim = generator.G, generator.cfg.model.z_dim
        z = torch.randn(args.n, z_dim, generator=torch.Generator().manual_seed(0))
        weights = "EMA" if generator.uses_ema else "raw"
        print(line(f"{weights} running statistics", draw(G, z, False, 1024), args.data_dir),
              flush=True)
        print(line(f"{weights} batch statistics", draw(G, z, True), args.data_dir), flush=True)
        if generator.uses_ema:
            reestimate_batchnorm(G, z_dim)
            print(line(f"{weights} re-estimated", draw(G, z, False, 1024), args.data_dir),
                  flush=True)


if __name__ == "__main__":
    main()
