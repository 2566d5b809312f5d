"""The project's own MNIST classifier: the feature space for domain FID, KID and PRDC.

FID on Inception features means little for 28x28 digits; the penultimate
layer of a classifier trained on the domain does. The weights ship with the
package (steadygan/metrics/weights/mnist_classifier.pt) and are rebuilt by
tools/train_classifier.py.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from steadygan.config import ConfigError
from steadygan.data.mnist import load_mnist
from steadygan.metrics.inputs import MetricInputError, validate_images

WEIGHTS_PATH = Path(__file__).with_name("weights") / "mnist_classifier.pt"
FEATURE_DIM = 128
NUM_CLASSES = 10
# MNIST training-set pixel mean and std (of x / 255); the model normalizes itself
# so callers only ever hand it uint8 images.
_MEAN, _STD = 0.1307, 0.3081


def _block(c_in: int, c_out: int) -> nn.Sequential:
    # Pool straight after the convolution, so BatchNorm and ReLU touch a quarter
    # of the pixels: elementwise work dominates a CPU training step here.
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class MnistClassifier(nn.Module):
    """conv32-pool-conv64-pool-conv128-pool-fc128-fc10; about 240k parameters.

    Each block is conv3x3-maxpool-BN-ReLU. The 128-d input of the last layer
    (after ReLU, so non-negative) is the feature space.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _block(1, 32),  # 14x14
            _block(32, 64),  # 7x7
            _block(64, 128),  # 3x3
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(128 * 3 * 3, FEATURE_DIM, bias=False),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.drop = nn.Dropout(0.25)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (N, 128) of x: pixels in [0, 1], shape (N, 1, 28, 28)."""
        return self.body((x - _MEAN) / _STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.embed(x)))


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _batches(images: np.ndarray, batch: int, device: torch.device):
    for start in range(0, len(images), batch):
        chunk = torch.from_numpy(np.ascontiguousarray(images[start : start + batch]))
        x = chunk.to(device).unsqueeze(1).float().div_(255.0)
        yield x.contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def embed(
    model: MnistClassifier, images: np.ndarray, batch: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Features float64 (N, 128) and class probabilities float64 (N, 10) in one pass."""
    images = validate_images(images)
    if batch < 1:
        raise MetricInputError(f"batch={batch}: must be at least 1")
    was_training = model.training
    model.eval()
    feats, probs = [], []
    # cuDNN may run fp32 convolutions in TF32 (10-bit mantissa); features on a GPU should match
    # the CPU's, which made the cached reference, so TF32 is off for the pass
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        for x in _batches(images, batch, _device_of(model)):
            f = model.embed(x)
            feats.append(f.double().cpu())
            probs.append(torch.softmax(model.head(f).double(), dim=1).cpu())
    finally:
        model.train(was_training)
        torch.backends.cudnn.allow_tf32 = tf32
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def features(model: MnistClassifier, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Penultimate-layer features, float64 (N, 128), of uint8 images."""
    return embed(model, images, batch)[0]


def predict_proba(model: MnistClassifier, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Class probabilities, float64 (N, 10), of uint8 images."""
    return embed(model, images, batch)[1]


def accuracy(model: MnistClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of images whose most probable class equals the label."""
    pred = predict_proba(model, images).argmax(axis=1)
    return float((pred == np.asarray(labels)).mean())


def weights_hash(path: str | Path = WEIGHTS_PATH) -> str:
    """sha256 of the weights file: the key under which reference statistics are cached."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise MetricInputError(f"{path}: cannot read classifier weights ({exc})") from exc


def load_classifier(device: str | torch.device = "cpu", path: str | Path = WEIGHTS_PATH):
    """The shipped classifier in eval mode on device."""
    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        state = saved["state_dict"]
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, KeyError, TypeError) as exc:
        raise MetricInputError(
            f"{path}: cannot load classifier weights ({' '.join(str(exc).split())}); "
            "rebuild them with tools/train_classifier.py"
        ) from exc
    model = MnistClassifier()
    # load_state_dict copies the fp16 file values into fp32 parameters.
    model.load_state_dict(state)
    # channels_last: max pooling over NCHW maps ran 5-35x slower on a 2-core CPU (2026-11-29),
    # the whole embedding of 10,000 digits 4.0 s against 1.8 s, features equal to 2e-6
    return model.to(device, memory_format=torch.channels_last).eval()


def fp16_state(model: MnistClassifier) -> dict[str, torch.Tensor]:
    """The state dict with floating tensors in fp16: keeps the shipped file under 1 MB."""
    return {
        k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Small random rotation (+-10 deg), scale (0.9-1.1) and shift (+-2 px) per image."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=gen, device="cpu").to(x.device) * 2 - 1
    angle = u[:, 0] * math.radians(10)
    scale = 1 + 0.1 * u[:, 1]
    shift = u[:, 2:] * (2 / 14)  # grid units: 14 px per unit on a 28-px image
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def train_classifier(
    data_dir: str | Path | None,
    epochs: int = 3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    batch_size: int = 128,
    lr: float = 3e-3,
    limit: int | None = None,
    log: Callable[[str], object] = print,
) -> MnistClassifier:
    """Train on the MNIST training split; seeded, light augmentation, one-cycle AdamW.

    limit keeps only the first `limit` training images (for quick checks).
    Returns the model in eval mode. Deterministic for a given seed on a given
    device and thread count.
    """
    if epochs < 1:
        raise ValueError(f"epochs={epochs}: must be at least 1")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if limit is not None and limit < 2:
        raise ConfigError(f"--limit: training needs at least 2 images, got {limit}")
    images, labels = load_mnist(data_dir, "train")
    images, labels = images[:limit], labels[:limit]
    x_all = torch.from_numpy(images).unsqueeze(1).float().div_(255.0).to(device)
    y_all = torch.from_numpy(labels.astype(np.int64)).to(device)

    model = MnistClassifier().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_all) / batch_size)
    if epochs * steps_per_epoch < 10:  # OneCycleLR divides by zero on shorter runs
        raise ConfigError(
            f"--limit / --epochs: {len(x_all)} images in batches of {batch_size} for {epochs} "
            f"epoch(s) make {epochs * steps_per_epoch} steps; the one-cycle schedule needs at "
            "least 10"
        )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_all), generator=gen).to(device)
        start, total, correct = time.perf_counter(), 0.0, 0
        for i in range(steps_per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a lone leftover image
                continue
            x, y = _augment(x_all[idx], gen), y_all[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        log(
            f"epoch {epoch + 1}/{epochs}: loss {total / len(x_all):.4f}, "
            f"train acc {correct / len(x_all):.4f}, {time.perf_counter() - start:.0f} s"
        )
    return model.eval()
