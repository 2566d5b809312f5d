import numpy as np
import pytest
from PIL import Image

from steadygan.config import TrainConfig
from steadygan.data import stacked
from steadygan.data.errors import DataError
from steadygan.data.mnist import load_bundled_mnist, load_mnist
from steadygan.data.sources import load_dataset
from steadygan.data.stacked import STACKED_SEED, load_stacked_mnist, make_stacked_mnist


def label_images() -> tuple[np.ndarray, np.ndarray]:
    """Ten 4x4 digits whose every pixel is the digit itself: channels reveal their labels."""
    labels = np.arange(10, dtype=np.uint8)
    return np.repeat(labels, 16).reshape(10, 4, 4), labels


def source_labels(images: np.ndarray, labels: np.ndarray) -> dict[bytes, int]:
    table = {img.tobytes(): int(lab) for img, lab in zip(images, labels)}
    assert len(table) == len(images)  # the lookup below needs distinct source digits
    return table


def test_shape_dtype_and_label_formula():
    images, labels = label_images()
    x, modes = make_stacked_mnist(images, labels, 5000, seed=3)
    assert x.shape == (5000, 3, 4, 4) and x.dtype == np.uint8 and x.flags.c_contiguous
    assert modes.shape == (5000,) and np.issubdtype(modes.dtype, np.integer)
    r, g, b = (x[:, c, 0, 0].astype(int) for c in range(3))
    assert np.array_equal(modes, 100 * r + 10 * g + b)
    assert 0 <= modes.min() and modes.max() <= 999


def test_same_seed_same_samples_other_seed_others():
    images, labels = load_bundled_mnist()
    a = make_stacked_mnist(images, labels, 200, seed=7)
    b = make_stacked_mnist(images, labels, 200, seed=7)
    c = make_stacked_mnist(images, labels, 200, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_channels_are_the_digits_the_labels_name():
    images, labels = load_bundled_mnist()
    table = source_labels(images, labels)
    x, modes = make_stacked_mnist(images, labels, 500, seed=0)
    for sample, mode in zip(x, modes):
        digits = [table[channel.tobytes()] for channel in sample]  # KeyError: not a source digit
        assert 100 * digits[0] + 10 * digits[1] + digits[2] == mode


def test_channels_are_independent_and_uniform():
    images, labels = label_images()
    _, modes = make_stacked_mnist(images, labels, 100_000, seed=0)
    counts = np.bincount(modes, minlength=1000)
    assert (counts > 0).all()  # every one of the 1000 modes occurs
    # 100 expected per mode: chi-square with 999 dof has mean 999, sd about 45.
    chi2 = ((counts - 100.0) ** 2 / 100.0).sum()
    assert chi2 < 1200
    r, g = modes // 100, modes // 10 % 10
    assert abs((r == g).mean() - 0.1) < 0.01  # the same digit twice no more than by chance


@pytest.mark.parametrize(
    "images, labels, n, message",
    [
        (np.zeros((4, 28, 28), np.float32), np.zeros(4, int), 3, "expected uint8 digits"),
        (np.zeros((4, 3, 28, 28), np.uint8), np.zeros(4, int), 3, "expected uint8 digits"),
        (np.zeros((4, 28, 28), np.uint8), np.zeros(3, int), 3, "4 digits but labels"),
        (np.zeros((0, 28, 28), np.uint8), np.zeros(0, int), 3, "no source digits"),
        (np.zeros((4, 28, 28), np.uint8), np.full(4, 10), 3, "labels must be integers 0-9"),
        (np.zeros((4, 28, 28), np.uint8), np.zeros(4, int), 0, "n=0"),
    ],
)
def test_bad_arguments(images, labels, n, message):
    with pytest.raises(DataError, match=message) as info:
        make_stacked_mnist(images, labels, n, seed=0)
    assert "\n" not in str(info.value)


def test_load_dataset_native_size_is_the_documented_set():
    x, modes = load_dataset("stacked-mnist", None, 28, 3)
    assert x.shape == (60000, 3, 28, 28) and x.dtype == np.uint8 and x.flags.c_contiguous
    expected = make_stacked_mnist(*load_bundled_mnist(), n=60000, seed=STACKED_SEED)
    assert np.array_equal(x, expected[0]) and np.array_equal(modes, expected[1])


def test_load_dataset_resizes_each_channel_like_mnist(monkeypatch):
    monkeypatch.setattr(stacked, "STACKED_TRAIN_SIZE", 50)
    x, modes = load_dataset("stacked-mnist", "", 32, 3)
    source, source_modes = load_stacked_mnist(None, n=50)
    assert x.shape == (50, 3, 32, 32) and np.array_equal(modes, source_modes)
    for c in range(3):
        resized = Image.fromarray(source[7, c]).resize((32, 32), Image.BILINEAR)
        assert np.array_equal(x[7, c], np.asarray(resized))


def test_load_dataset_needs_three_channels():
    with pytest.raises(DataError, match=r"^data.channels: stacked-mnist has 3 channels, got 1$"):
        load_dataset("stacked-mnist", None, 28, 1)


def test_config_accepts_stacked_mnist():
    cfg = TrainConfig().with_overrides(["data.name=stacked-mnist", "data.channels=3"])
    assert cfg.data.name == "stacked-mnist"


def test_data_dir_means_the_mnist_training_set(mnist_dir):
    x, modes = load_stacked_mnist(mnist_dir, n=300)
    table = source_labels(*load_mnist(mnist_dir, "train"))
    digits = np.array([[table[ch.tobytes()] for ch in sample] for sample in x])
    assert np.array_equal(digits @ [100, 10, 1], modes)
