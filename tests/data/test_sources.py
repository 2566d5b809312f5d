import numpy as np
import pytest
import torch
from PIL import Image

from steadygan.data.errors import DataError
from steadygan.data.sources import load_dataset, to_uint8, to_unit_range


def test_bundled_native_size():
    images, labels = load_dataset("bundled", None, 28, 1)
    assert images.shape == (10000, 1, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,)


def test_bundled_resized_to_rgb():
    images, labels = load_dataset("bundled", None, 32, 3)
    assert images.shape == (10000, 3, 32, 32) and images.dtype == np.uint8
    assert images.flags.c_contiguous
    assert np.array_equal(images[:, 0], images[:, 2])  # gray replicated
    assert np.bincount(labels).tolist() == [1000] * 10


def test_real_mnist_via_env(mnist_dir, monkeypatch):
    monkeypatch.setenv("STEADYGAN_MNIST_DIR", str(mnist_dir))
    images, labels = load_dataset("mnist", None, 28, 1)
    assert images.shape == (60000, 1, 28, 28) and labels.shape == (60000,)


def test_folder_source(tmp_path):
    Image.new("RGB", (40, 30), (10, 20, 30)).save(tmp_path / "a.png")
    images, labels = load_dataset("folder", str(tmp_path), 16, 3)
    assert images.shape == (1, 3, 16, 16) and labels is None
    assert images[0, :, 8, 8].tolist() == [10, 20, 30]


def test_folder_needs_dir():
    with pytest.raises(DataError, match=r"^data.dir: required for data=folder$"):
        load_dataset("folder", None, 64, 3)


@pytest.mark.parametrize(
    "name, channels, size, message",
    [
        ("cifar10", 3, 32, "data.name='cifar10': unknown dataset"),
        ("bundled", 2, 28, "data.channels=2"),
        ("bundled", 1, 0, "data.image_size=0"),
    ],
)
def test_bad_arguments(name, channels, size, message):
    with pytest.raises(DataError, match=message):
        load_dataset(name, None, size, channels)


def test_unit_range_round_trip():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    x = to_unit_range(pixels)
    assert x.dtype == torch.float32 and x.shape == (1, 1, 16, 16)
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert np.array_equal(to_uint8(x), pixels)


def test_to_uint8_clamps_and_handles_grad_and_nan():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 7.0, float("nan")], requires_grad=True)
    out = to_uint8(x)
    assert out.dtype == np.uint8
    assert out[:5].tolist() == [0, 0, 128, 255, 255]
    assert out[5] in (127, 128)
    assert x.detach()[:5].tolist() == [-3.0, -1.0, 0.0, 1.0, 7.0]  # the input is left as it was


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_to_uint8_on_cuda_gives_the_cpu_s_bytes():
    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 1.2
    assert np.array_equal(to_uint8(x.cuda()), to_uint8(x))
    assert np.array_equal(to_uint8(x.cuda().bfloat16()), to_uint8(x.bfloat16()))


def test_to_unit_range_rejects_float():
    with pytest.raises(TypeError, match="uint8"):
        to_unit_range(np.zeros((1, 1, 2, 2), dtype=np.float32))
