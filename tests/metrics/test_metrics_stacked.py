import math

import numpy as np
import pytest

from steadygan.data.mnist import load_bundled_mnist, load_mnist
from steadygan.data.stacked import make_stacked_mnist
from steadygan.metrics.classes import kl_to_uniform
from steadygan.metrics.classifier import load_classifier, predict_proba
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.stacked import modes_summary, stacked_mode_labels, stacked_modes
from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)


@pytest.fixture(scope="module")
def classifier():
    return load_classifier("cpu")


def clear_digit(model, images: np.ndarray, labels: np.ndarray, digit: int) -> np.ndarray:
    """Of the first 20 examples of digit, the one the classifier finds most clearly digit."""
    candidates = images[np.flatnonzero(labels == digit)[:20]]
    return candidates[predict_proba(model, candidates)[:, digit].argmax()]


def test_channel_order_modes_and_kl(classifier):
    images, labels = load_bundled_mnist()
    one, two, three = (clear_digit(classifier, images, labels, d) for d in (1, 2, 3))
    x = np.stack([np.stack([one, two, three])] * 30 + [np.stack([three, two, one])] * 30)
    # classifier=None loads the shipped one: the default path callers use.
    assert stacked_mode_labels(x).tolist() == [123] * 30 + [321] * 30
    # digits 1, 2 and 3 once in each stack: a third each, the other seven never drawn
    assert stacked_modes(x) == {"modes_covered": 2, "kl": pytest.approx(math.log(500)),
                                "digit_shares": [0, 0.3333, 0.3333, 0.3333] + [0] * 6, "n": 60}
    assert stacked_modes(x[:30])["kl"] == pytest.approx(math.log(1000))  # total collapse


def test_modes_of_stacked_digits_match_their_labels(classifier):
    x, modes = make_stacked_mnist(*load_bundled_mnist(), n=1000, seed=1)
    predicted = stacked_mode_labels(x, classifier)
    # The classifier is ~99 % right per digit, so ~97 % per triple or better.
    assert (predicted == modes).mean() >= 0.97


@pytest.mark.parametrize("side", [32, 64])
def test_stacks_of_32_or_64_pixels_get_the_modes_they_get_at_28(classifier, side):
    from steadygan.data.sources import mnist_to_nchw

    x, modes = make_stacked_mnist(*load_bundled_mnist(), n=1000, seed=1)
    # each plane resized as the data source resizes Stacked MNIST for --image-size 32 / 64
    big = mnist_to_nchw(x.reshape(-1, 28, 28), side, 1).reshape(len(x), 3, side, side)
    assert (stacked_mode_labels(big, classifier) == modes).mean() >= 0.97  # as at 28, above


def test_summary_counts_any_visited_mode_and_votes_every_sample():
    modes = np.array([5] * 97 + [6, 7, 999])  # one sample is enough to cover a mode
    histogram = np.bincount(modes, minlength=1000) / 100
    summary = modes_summary(modes)
    assert summary == {"modes_covered": 4, "kl": pytest.approx(kl_to_uniform(histogram)),
                       "digit_shares": summary["digit_shares"], "n": 100}
    # mode 5 = digits 0, 0, 5 (97 times), 6 = 0, 0, 6, 7 = 0, 0, 7, 999 = 9, 9, 9: of 300 digits
    assert summary["digit_shares"] == [round(s / 300, 4) for s in (198, 0, 0, 0, 0, 97, 1, 1, 0, 3)]
    assert modes_summary(np.arange(1000)) == {"modes_covered": 1000, "kl": 0.0,
                                              "digit_shares": [0.1] * 10, "n": 1000}


@pytest.mark.parametrize(
    "modes",
    [np.array([], int), np.array([1000]), np.array([-1]), np.zeros((2, 2), int), np.zeros(3)],
)
def test_summary_refuses_non_modes(modes):
    with pytest.raises(MetricInputError, match=r"^modes: expected a non-empty 1-d array"):
        modes_summary(modes)


@pytest.mark.parametrize(
    "images, message",
    [
        ([[0]], "expected a numpy uint8 array, got list"),
        (np.zeros((2, 3, 28, 28), np.float32), "expected dtype uint8"),
        (np.zeros((2, 28, 28), np.uint8), r"expected shape \(N, 3, 28, 28\)"),
        (np.zeros((2, 1, 28, 28), np.uint8), r"expected shape \(N, 3, 28, 28\)"),
        (np.zeros((2, 3, 48, 48), np.uint8), r"expected shape \(N, 3, 28, 28\) for Stacked MNIST "
                                              r"\(or 32 / 64 pixels\), got \(2, 3, 48, 48\)"),
        (np.zeros((2, 3, 32, 28), np.uint8), r"got \(2, 3, 32, 28\)"),
        (np.zeros((0, 3, 28, 28), np.uint8), r"no images \(N == 0\)"),
    ],
)
def test_bad_images(images, message):
    with pytest.raises(MetricInputError, match=message) as info:
        stacked_modes(images)
    assert "\n" not in str(info.value)


def test_real_stacked_mnist_covers_every_mode(mnist_dir, classifier):
    # The published figure uses 26,000 samples (1000/1000, KL 0.025, about 35 s
    # here); 8,000 keep this test short. Real data is not at KL 0: a finite
    # sample adds about 999 / (2 n) = 0.062, MNIST's uneven classes 0.005.
    n = 8000
    x, modes = make_stacked_mnist(*load_mnist(mnist_dir, "test"), n=n, seed=0)
    predicted = stacked_mode_labels(x, classifier)
    assert (predicted == modes).mean() >= 0.97
    result = modes_summary(predicted)
    assert result["n"] == n and result["modes_covered"] >= 995
    label_kl = kl_to_uniform(np.bincount(modes, minlength=1000) / n)
    assert result["kl"] == pytest.approx(label_kl, abs=0.005)
    assert result["kl"] < 999 / (2 * n) + 0.015
