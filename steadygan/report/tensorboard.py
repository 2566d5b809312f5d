"""Mirror a run's metrics records and sample grids into TensorBoard (RUN/tb).

metrics.jsonl stays the record of truth; this only makes the same numbers browsable live with
`tensorboard --logdir runs`. The `tensorboard` package is optional (steadygan[tensorboard]).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from steadygan.config import ConfigError

# metrics.jsonl key of a train record -> TensorBoard tag; grouped by prefix into panels
TRAIN_TAGS = {
    "loss_d": "loss/d", "loss_g": "loss/g",
    "d_acc_real": "accuracy/d_real", "d_acc_fake": "accuracy/d_fake", "g_acc": "accuracy/g",
    "d_real": "d_output/real", "d_fake": "d_output/fake",
    "grad_norm_d": "grad_norm/d", "grad_norm_g": "grad_norm/g",
    "lr_g": "lr/g", "lr_d": "lr/d", "img_per_s": "speed/img_per_s", "augment_p": "augment/p",
}
_NOT_SCALARS = {"kind", "step", "time", "best_step"}


class TensorBoardLogger:
    """`log_record` for every metrics record, `log_grid` for every sample grid, then `close`."""

    def __init__(self, run_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch raises this when the tensorboard package is absent
            raise ConfigError(
                "run.tensorboard needs: pip install 'steadygan[tensorboard]'") from None
        self.log_dir = Path(run_dir) / "tb"
        self._writer = SummaryWriter(log_dir=str(self.log_dir))

    def log_record(self, record: dict[str, Any]) -> None:
        """Train records (kind "train" or none) by TRAIN_TAGS; eval records as eval/<key>;
        other kinds and non-numeric values are skipped. NaN is written as is: a diverged run
        should look diverged in TensorBoard too."""
        step = record.get("step")
        if not isinstance(step, (int, float)):
            return
        kind = record.get("kind", "train")
        if kind == "train":
            pairs = [(tag, record.get(key)) for key, tag in TRAIN_TAGS.items()]
        elif kind == "eval":
            pairs = [(f"eval/{key}", value) for key, value in record.items()
                     if key not in _NOT_SCALARS]
        else:
            return
        for tag, value in pairs:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(tag, float(value), int(step))

    def log_grid(self, step: int, image: np.ndarray) -> None:
        """A uint8 picture, (C, H, W) with C = 1 or 3, or (H, W), under the tag samples/grid."""
        array = np.asarray(image)
        if array.dtype != np.uint8:
            raise ValueError(f"log_grid: expected a uint8 image, got {array.dtype}")
        if array.ndim == 2:
            array = array[None]
        if array.ndim != 3 or array.shape[0] not in (1, 3):
            raise ValueError(f"log_grid: expected (C, H, W) with C = 1 or 3, or (H, W); "
                             f"got {array.shape}")
        self._writer.add_image("samples/grid", array, int(step), dataformats="CHW")

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "TensorBoardLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

