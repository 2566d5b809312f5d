import numpy as np
import pytest

from steadygan.metrics.inputs import MetricInputError, validate_features, validate_images


def test_accepts_both_layouts_and_returns_n_28_28():
    a = np.zeros((3, 28, 28), np.uint8)
    assert validate_images(a).shape == (3, 28, 28)
    assert validate_images(a[:, None]).shape == (3, 28, 28)


@pytest.mark.parametrize("side", [32, 64])
def test_digits_of_32_and_64_pixels_are_measured_at_28(side):
    big = np.zeros((2, 1, side, side), np.uint8)
    big[0, 0, side // 4: 3 * side // 4, side // 4: 3 * side // 4] = 255  # a square half the size
    small = validate_images(big)
    assert small.shape == (2, 28, 28) and small.dtype == np.uint8
    assert (small[1] == 0).all()
    inside = small[0, 10:18, 10:18]  # the middle of the square, away from the filter's ringing
    assert (inside >= 250).all() and small[0, :4].max() <= 2 and 60 < small[0].mean() < 68


@pytest.mark.parametrize(
    "images, fragment",
    [
        (np.zeros((2, 28, 28), np.float32), "expected dtype uint8 (0..255), got float32"),
        (np.zeros((2, 28, 28), np.int64), "got int64"),
        (np.zeros((2, 3, 28, 28), np.uint8), "expected 1 channel (grayscale), got 3"),
        (np.zeros((2, 48, 48), np.uint8), "expected 28x28 images (or 32x32 / 64x64, measured at "
                                          "28x28), got 48x48"),
        (np.zeros((2, 32, 28), np.uint8), "got 32x28"),
        (np.zeros((28, 28), np.uint8), "expected shape (N, 28, 28) or (N, 1, 28, 28)"),
        (np.zeros((0, 28, 28), np.uint8), "no images (N == 0)"),
        ([[0]], "expected a numpy uint8 array, got list"),
    ],
)
def test_bad_images_get_one_line_messages(images, fragment):
    with pytest.raises(MetricInputError, match=None) as info:
        validate_images(images, "fakes")
    msg = str(info.value)
    assert fragment in msg and msg.startswith("fakes: ") and "\n" not in msg
    assert isinstance(info.value, ValueError)


def test_float_message_says_how_to_convert_generator_output():
    with pytest.raises(MetricInputError, match=r"\[-1, 1\]"):
        validate_images(np.zeros((1, 28, 28), np.float64))


def test_features_refuse_nan_and_too_few_rows():
    x = np.ones((4, 3))
    x[1, 2] = np.nan
    with pytest.raises(MetricInputError, match="1 of 4 rows hold NaN"):
        validate_features(x, "f")
    with pytest.raises(MetricInputError, match="1 samples, this metric needs at least 2"):
        validate_features(np.ones((1, 3)), "f", min_n=2)
