"""TensorBoardLogger: scalars and grids written to RUN/tb, read back with TensorBoard's reader."""
import math
import sys

import numpy as np
import pytest

from steadygan.config import ConfigError
from steadygan.report.tensorboard import TRAIN_TAGS, TensorBoardLogger

TRAIN = {"kind": "train", "step": 8, "epoch": 0.1, "loss_d": 1.25, "loss_g": math.nan,
         "d_real": 0.7, "d_fake": 0.3, "d_acc_real": 0.8, "d_acc_fake": 0.6, "g_acc": 0.1,
         "grad_norm_d": 3.0, "grad_norm_g": 9.0, "lr_g": 2e-4, "lr_d": 1e-4, "img_per_s": 512.5,
         "augment_p": 0.016, "time": 1.8e9}


def _events(log_dir):
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    events = accumulator.EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def test_records_and_grids(tmp_path):
    pytest.importorskip("tensorboard")
    with TensorBoardLogger(tmp_path) as tb:
        tb.log_record(TRAIN)
        tb.log_record(dict(TRAIN, step=12, loss_d=1.0))
        tb.log_record({"kind": "eval", "step": 12, "fid_live": 40.5, "classes_live": 9,
                       "reverse_kl_live": None, "best_step": 12})
        tb.log_record({"kind": "balance", "step": 12, "lr_d": 5e-5})  # not a scalar stream
        tb.log_grid(8, np.full((28, 56), 200, np.uint8))
        tb.log_grid(12, np.zeros((3, 20, 30), np.uint8))
    events = _events(tmp_path / "tb")
    scalars = set(events.Tags()["scalars"])
    assert scalars == set(TRAIN_TAGS.values()) | {"eval/fid_live", "eval/classes_live"}
    assert [(e.step, e.value) for e in events.Scalars("loss/d")] == [(8, 1.25), (12, 1.0)]
    assert math.isnan(events.Scalars("loss/g")[0].value)  # a diverged run looks diverged
    assert events.Scalars("lr/d")[0].value == pytest.approx(1e-4)
    assert [(e.step, e.value) for e in events.Scalars("eval/fid_live")] == [(12, 40.5)]
    grids = events.Images("samples/grid")
    assert [(g.step, g.width, g.height) for g in grids] == [(8, 56, 28), (12, 30, 20)]


def test_bad_grid(tmp_path):
    pytest.importorskip("tensorboard")
    with TensorBoardLogger(tmp_path) as tb:
        with pytest.raises(ValueError, match="uint8"):
            tb.log_grid(1, np.zeros((28, 28), np.float32))
        with pytest.raises(ValueError, match="C = 1 or 3"):
            tb.log_grid(1, np.zeros((2, 28, 28), np.uint8))


def test_without_tensorboard(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if absent
    with pytest.raises(ConfigError, match=r"^run.tensorboard needs: pip install "
                                          r"'steadygan\[tensorboard\]'$"):
        TensorBoardLogger(tmp_path)
    assert not (tmp_path / "tb").exists()
