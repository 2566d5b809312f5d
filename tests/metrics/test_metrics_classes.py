import numpy as np
import pytest

from steadygan.metrics.classes import (class_histogram, class_metrics, kl_to_uniform,
                                       rare_classes, rare_text, shares_in)
from steadygan.metrics.inputs import MetricInputError


def one_hot(labels, confidence=1.0, classes=10):
    p = np.full((len(labels), classes), (1 - confidence) / (classes - 1))
    p[np.arange(len(labels)), labels] = confidence
    return p


def test_single_class_covers_one_with_kl_ln10():
    m = class_metrics(one_hot(np.full(500, 7)))
    assert m.classes_covered == 1
    assert m.class_kl == pytest.approx(np.log(10))
    assert m.mean_confidence == pytest.approx(1.0)
    assert m.histogram[7] == 1.0


def test_balanced_classes_cover_all_with_kl_zero():
    m = class_metrics(one_hot(np.arange(1000) % 10, confidence=0.95))
    assert m.classes_covered == 10
    assert m.class_kl == pytest.approx(0, abs=1e-12)
    assert m.mean_confidence == pytest.approx(0.95)


def test_unconfident_predictions_cover_nothing_but_still_vote_in_the_histogram():
    m = class_metrics(one_hot(np.arange(1000) % 10, confidence=0.5))
    assert m.classes_covered == 0
    assert m.class_kl == pytest.approx(0, abs=1e-12)


def test_a_class_needs_one_percent_of_all_samples():
    labels = np.zeros(1000, int)
    labels[:9] = 3  # 0.9 %: too few
    labels[9:19] = 4  # 1.0 %: enough
    m = class_metrics(one_hot(labels))
    assert m.classes_covered == 2
    # A handful of confident votes among many unconfident ones covers nothing.
    p = one_hot(np.arange(1000) % 10, confidence=0.3)
    p[:5] = one_hot(np.arange(5), confidence=0.99)
    assert class_metrics(p).classes_covered == 0


def test_kl_of_a_two_class_split():
    h = class_histogram(one_hot(np.array([0, 0, 0, 1])))
    assert h.tolist() == [0.75, 0.25] + [0.0] * 8
    expected = 0.75 * np.log(7.5) + 0.25 * np.log(2.5)
    assert kl_to_uniform(h) == pytest.approx(expected)


@pytest.mark.parametrize(
    "proba, fragment",
    [
        (np.ones(10) / 10, "expected a numpy array (N, C)"),
        (np.full((3, 10), 0.2), "rows must sum to 1"),
        (-one_hot(np.zeros(3, int)), "finite and non-negative"),
    ],
)
def test_bad_probabilities_are_refused(proba, fragment):
    with pytest.raises(MetricInputError, match=None) as info:
        class_metrics(proba)
    assert fragment in str(info.value)


def test_rare_classes_are_those_under_half_an_even_share_rarest_first():
    shares = [0.073, 0.015, 0.067, 0.224, 0.09, 0.129, 0.046, 0.113, 0.112, 0.131]  # a real run
    assert rare_classes(shares) == [1, 6]
    assert rare_text(shares) == "1 (1.5 %), 6 (4.6 %)"
    assert rare_classes([0.05] + [0.95 / 9] * 9) == []  # exactly half an even share is not rare
    assert rare_classes([0.1] * 10) == [] and rare_text([0.1] * 10) is None
    assert rare_classes([1.0] + [0.0] * 9) == list(range(1, 10))  # a collapse: all the others


def test_shares_are_read_from_records_and_damaged_ones_ignored():
    assert shares_in({"class_shares": [0.5, 0.5]}) == [0.5, 0.5]
    assert shares_in({"digit_shares": [0.1] * 10, "n": 3}) == [0.1] * 10  # Stacked MNIST's
    assert shares_in({"digit_shares_live": [1.0]}, ("digit_shares_live",)) == [1.0]
    for damaged in ({}, {"class_shares": []}, {"class_shares": "0.1"},
                    {"class_shares": [0.1, None]}, {"class_shares": [True, False]}):
        assert shares_in(damaged) is None
