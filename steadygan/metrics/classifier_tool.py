"""`steadygan classifier train`: train the MNIST classifier behind the domain metrics and save it.

The shipped weights (steadygan/metrics/weights/mnist_classifier.pt) were written by
`steadygan classifier train --data-dir ../shared/data/mnist --epochs 4 --seed 0 --threads 1
--out steadygan/metrics/weights/mnist_classifier.pt`. Changing the weights changes every published
FID figure; cached reference statistics are keyed by the weights' hash and rebuild on their own,
the shipped live-FID statistics with tools/make_reference_stats.py.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from steadygan.data.mnist import load_mnist
from steadygan.metrics.classifier import accuracy, fp16_state, train_classifier
from steadygan.train.checkpoint import atomic_save


def train_and_save(data_dir: str | None, out: Path, epochs: int = 4, seed: int = 0,
                   device: str = "cpu", threads: int | None = None, limit: int | None = None,
                   log=print) -> float:
    """Train, round to fp16 as shipped, measure test accuracy, write atomically; return accuracy."""
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    model = train_classifier(data_dir, epochs, seed, device, limit=limit, log=log)
    seconds = time.perf_counter() - start
    test_images, test_labels = load_mnist(data_dir, "test")
    state = fp16_state(model)
    model.load_state_dict(state)  # measure the weights as shipped, rounded to fp16
    acc = accuracy(model, test_images, test_labels)
    meta = {"epochs": epochs, "seed": seed, "threads": torch.get_num_threads(), "limit": limit,
            "test_accuracy": acc, "train_seconds": round(seconds, 1), "torch": str(torch.__version__)}
    atomic_save({"state_dict": state, "meta": meta}, out)  # plain types: loads with weights_only
    log(f"test accuracy {acc * 100:.2f} % on {len(test_labels)} images")
    log(f"trained in {seconds:.0f} s; wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return acc
