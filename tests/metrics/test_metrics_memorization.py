"""Near copies: nearest-training distances of samples against those of held-out real digits."""
import numpy as np
import pytest

from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from steadygan.data.sources import load_dataset
from steadygan.metrics.domain import evaluate_images
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.memorization import CLOSEST_SHOWN, memorization, nearest


def test_nearest_distances_match_a_brute_force_search():
    rng = np.random.default_rng(0)
    queries, pool = rng.normal(size=(300, 16)), rng.normal(size=(700, 16))
    brute = np.sqrt(((queries[:, None] - pool[None]) ** 2).sum(-1))
    distances, indices = nearest(queries, pool, chunk=64)
    assert np.allclose(distances, brute.min(1), rtol=1e-4)
    assert np.array_equal(indices, brute.argmin(1))


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
