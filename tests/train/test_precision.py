import pytest
import torch

from steadygan.config import TrainSection
from steadygan.train import device as device_module
from steadygan.train.device import autocast_dtype

CPU = torch.device("cpu")


@pytest.mark.parametrize("amx", [True, False])
def test_auto_precision_uses_bf16_on_cpu_only_for_convolutions_with_amx(monkeypatch, amx):
    monkeypatch.setattr(device_module, "cpu_has_amx", lambda: amx)
    auto = TrainSection(precision="auto")
    assert autocast_dtype(auto, CPU, convolutional=True) == (torch.bfloat16 if amx else None)
    assert autocast_dtype(auto, CPU, convolutional=False) is None  # 2-D points keep fp32
    assert autocast_dtype(TrainSection(precision="fp32"), CPU, True) is None
    assert autocast_dtype(TrainSection(precision="bf16"), CPU, False) == torch.bfloat16


def test_amx_detection_answers_a_bool():
    assert isinstance(device_module.cpu_has_amx(), bool)
