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


@pytest.mark.parametrize("capability, expected", [
    ((9, 0), torch.bfloat16), ((8, 0), torch.bfloat16), ((7, 5), None), ((7, 0), None)])
def test_auto_precision_uses_bf16_only_on_gpus_with_bf16_tensor_cores(monkeypatch, capability,
                                                                     expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.version, "hip", None)  # an NVIDIA GPU
    cuda = torch.device("cuda")
    assert autocast_dtype(TrainSection(precision="auto"), cuda, convolutional=True) == expected
    assert autocast_dtype(TrainSection(precision="fp32"), cuda, convolutional=True) is None
    # asked for, bf16 it is, also without bf16 tensor cores
    bf16 = TrainSection(precision="bf16")
    assert autocast_dtype(bf16, cuda, convolutional=True) == torch.bfloat16

