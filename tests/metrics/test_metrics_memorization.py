"""Near copies: nearest-training distances of samples against those of held-out real digits."""
import numpy as np
import pytest

from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from steadygan.data.sources import load_dataset
from steadygan.metrics.domain import evaluate_images
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.memorization import (CLOSEST_SHOWN, PIXEL_SIDE, memorization,
                                            memorization_within, nearest, pixel_features)


def test_nearest_distances_match_a_brute_force_search():
    rng = np.random.default_rng(0)
    queries, pool = rng.normal(size=(300, 16)), rng.normal(size=(700, 16))
    brute = np.sqrt(((queries[:, None] - pool[None]) ** 2).sum(-1))
    distances, indices = nearest(queries, pool, chunk=64)
    assert np.allclose(distances, brute.min(1), rtol=1e-4)
    assert np.array_equal(indices, brute.argmin(1))


def test_nearest_can_skip_each_querys_own_row_and_find_the_second_nearest():
    rng = np.random.default_rng(3)
    pool = rng.normal(size=(400, 6))
    rows = np.array([5, 0, 399, 123])
    brute = np.sqrt(((pool[rows][:, None] - pool[None]) ** 2).sum(-1))
    brute[np.arange(4), rows] = np.inf
    distances, indices = nearest(pool[rows], pool, chunk=3, skip=rows)
    assert np.allclose(distances, brute.min(1), rtol=1e-4) and (distances > 0).all()
    assert np.array_equal(indices, brute.argmin(1)) and not (indices == rows).any()
    two, which = nearest(pool[rows], pool, chunk=3, skip=rows, k=2)
    assert two.shape == which.shape == (4, 2)
    assert np.allclose(two, np.sort(brute, 1)[:, :2], rtol=1e-4)
    assert np.array_equal(which, np.argsort(brute, 1)[:, :2])


def test_copies_score_zero_and_fresh_draws_score_one():
    rng = np.random.default_rng(1)
    training, held_out = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    fresh = memorization(rng.normal(size=(2000, 8)), training, held_out)
    assert fresh.nn_ratio == pytest.approx(1, abs=0.05) and 0.002 <= fresh.copy_share <= 0.03
    # poor samples, far from every real point, are no nearer the training points: still 1
    poor = memorization(rng.normal(size=(2000, 8)) * 3, training, held_out)
    assert poor.nn_ratio == pytest.approx(1, abs=0.05) and poor.copy_share < 0.01
    copies = memorization(training[:500] + 1e-4, training, held_out)
    assert copies.nn_ratio < 0.01 and copies.copy_share == 1.0
    # the pairs to look at: each copy beside the training point it copies
    assert len(copies.closest_pairs) == CLOSEST_SHOWN
    assert all(sample == neighbour for sample, neighbour in copies.closest_pairs)
    one_copy = memorization(np.concatenate([rng.normal(size=(99, 8)), training[7:8]]), training,
                            held_out)
    assert one_copy.closest_pairs[0] == (99, 7)
    # half copies, half fresh: half of them near copies
    half = memorization(np.concatenate([training[:1000], rng.normal(size=(1000, 8))]), training,
                        held_out)
    assert 0.49 <= half.copy_share <= 0.52


@pytest.mark.parametrize("queries, pool, message", [
    (np.zeros((0, 4)), np.ones((3, 4)), "0 queries and 3 in the pool"),
    (np.zeros((2, 4)), np.ones((3, 5)), "features of different sizes"),
])
def test_bad_feature_sets_are_named(queries, pool, message):
    with pytest.raises(MetricInputError, match=message):
        nearest(queries, pool)


def test_held_out_images_that_are_the_training_images_are_refused():
    training = np.random.default_rng(2).normal(size=(50, 4))
    with pytest.raises(MetricInputError, match="held-out images are training images"):
        memorization(training, training, training)


def test_real_digits_are_not_copies_and_the_training_digits_are(mnist_dir):
    """Half the bundled digits as the training set: the other half comes as near the MNIST
    test set as the training half (ratio 0.98, 1.1 % near copies on 2026-11-28), the training
    half itself scores as a perfect memoriser."""
    images, _ = load_dataset("bundled", None, 28, 1, progress=False)
    order = np.random.default_rng(0).permutation(len(images))
    training, unseen = images[order[:5000]], images[order[5000:]]
    fresh = evaluate_images(unseen, data_dir=mnist_dir, training_images=training, metrics=["fid"])
    assert 0.9 < fresh["nn_ratio"] < 1.1 and 0.003 < fresh["copy_share"] < 0.03
    copied = evaluate_images(training[:2000], data_dir=mnist_dir, training_images=training,
                             metrics=["fid"])
    assert copied["nn_ratio"] == 0 and copied["copy_share"] == 1
    with pytest.raises(MetricInputError, match="training images: expected 1 channel"):
        evaluate_images(unseen[:10], data_dir=mnist_dir,
                        training_images=np.zeros((5, 3, 28, 28), np.uint8), metrics=["classes"])


def test_without_held_out_images_copies_stand_out_from_the_second_nearest():
    rng = np.random.default_rng(4)
    training = rng.normal(size=(2000, 8))
    fresh = memorization_within(rng.normal(size=(2000, 8)), training)
    assert fresh.nn_ratio == pytest.approx(1, abs=0.05) and 0.002 <= fresh.copy_share <= 0.03
    # poor samples lie about as far from their nearest training point as from the next
    poor = memorization_within(rng.normal(size=(2000, 8)) * 3, training)
    assert poor.nn_ratio > 1 and poor.copy_share < 0.005
    copies = memorization_within(training[:500] + 1e-4, training)
    assert copies.nn_ratio < 0.01 and copies.copy_share == 1.0
    assert all(sample == neighbour for sample, neighbour in copies.closest_pairs)
    half = memorization_within(np.concatenate([training[:1000], rng.normal(size=(1000, 8))]),
                               training)
    assert 0.49 <= half.copy_share <= 0.52
    # a folder holding each image twice: duplicates are one image (else every second-nearest
    # distance would be 0), and the pairs name a row of the folder as given
    twice = np.concatenate([training, training])
    assert memorization_within(training[:500] + 1e-4, twice).copy_share == 1.0
    again = memorization_within(np.concatenate([rng.normal(size=(99, 8)), training[7:8]]), twice)
    assert again.closest_pairs[0][0] == 99 and again.closest_pairs[0][1] in (7, 2007)
    # a baseline from a subset of the training images measures the same spacing
    sub = memorization_within(rng.normal(size=(2000, 8)), training, baseline_size=500)
    assert sub.nn_ratio == pytest.approx(fresh.nn_ratio, abs=0.08)


def test_without_held_out_images_too_few_distinct_training_images_are_refused():
    training = np.repeat(np.random.default_rng(6).normal(size=(99, 4)), 3, axis=0)
    with pytest.raises(MetricInputError, match="at least 100 distinct training images to know "
                                               "how near they lie to one another, got 99"):
        memorization_within(np.zeros((3, 4)), training)


def test_pixel_features_average_large_images_down():
    images = np.zeros((2, 3, 64, 64), np.uint8)
    images[1, :, :32] = 255  # top half white
    features = pixel_features(images)
    assert features.shape == (2, 3 * PIXEL_SIDE * PIXEL_SIDE) and features.dtype == np.float32
    assert features[0].max() == 0 and features[1].mean() == pytest.approx(0.5)
    assert pixel_features(np.full((1, 1, 28, 28), 51, np.uint8)).shape == (1, 784)
    assert pixel_features(np.full((1, 1, 28, 28), 51, np.uint8))[0, 0] == pytest.approx(0.2)


def test_real_stacked_digits_in_pixel_space():
    """Stacked MNIST from the bundled digits as an RGB folder would hold them: other real images
    score 1 and 1 % near copies, the training images themselves 0 and 100 %, and light noise on
    them still reads as copies; blurred images, which lie nearer every training image than those
    lie to one another, do not."""
    from steadygan.data.stacked import make_stacked_mnist

    digits, labels = load_dataset("bundled", None, 28, 1, progress=False)
    stacks, _ = make_stacked_mnist(digits[:, 0], labels, 4000, seed=0)
    training, unseen = pixel_features(stacks[:2000]), pixel_features(stacks[2000:])
    fresh = memorization_within(unseen, training)
    assert 0.95 < fresh.nn_ratio < 1.05 and fresh.copy_share < 0.03
    copied = memorization_within(training[:500], training)
    assert copied.nn_ratio < 0.01 and copied.copy_share == 1
    rng = np.random.default_rng(5)
    noise = rng.integers(-8, 9, stacks[:500].shape)
    noisy = np.clip(stacks[:500].astype(int) + noise, 0, 255).astype(np.uint8)
    assert memorization_within(pixel_features(noisy), training).copy_share > 0.95
    mean = np.repeat(stacks[:2000].mean(0, keepdims=True), 50, 0).round().astype(np.uint8)
    blends = sum(stacks[rng.permutation(2000)[:500]].astype(int) for _ in range(4)) // 4
    for blurred in (mean, blends.astype(np.uint8)):
        assert memorization_within(pixel_features(blurred), training).copy_share < 0.01
