import shutil
from pathlib import Path

import numpy as np
import pytest

from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from steadygan.data.mnist import load_bundled_mnist
from steadygan.metrics import reference as ref_mod
from steadygan.metrics.classifier import WEIGHTS_PATH, weights_hash
from steadygan.metrics.inputs import MetricInputError
from steadygan.metrics.reference import Embedding, cache_dir, cache_path, mnist_reference


def test_cache_dir_follows_xdg_and_ignores_a_relative_value(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "steadygan"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cache_dir() == Path.home() / ".cache" / "steadygan"


@pytest.fixture
def small_test_split(monkeypatch, tmp_path):
    """Stand in 200 bundled digits for the MNIST test set, and count the loads."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    images, labels = load_bundled_mnist()
    calls = []

    def fake_load(data_dir, split):
        calls.append(split)
        return images[:200], labels[:200]

    monkeypatch.setattr(ref_mod, "load_mnist", fake_load)
    return calls


def test_reference_is_computed_once_and_keyed_by_the_weights(small_test_split, tmp_path):
    first = mnist_reference()
    assert small_test_split == ["test"] and len(first) == 200
    path = cache_path(weights_hash())
    assert path.is_file() and path.is_relative_to(tmp_path / "cache" / "steadygan")

    again = mnist_reference()
    assert small_test_split == ["test"]  # served from the cache
    np.testing.assert_array_equal(again.features, first.features)
    np.testing.assert_array_equal(again.proba, first.proba)

    other = tmp_path / "other.pt"
    shutil.copyfile(WEIGHTS_PATH, other)
    with open(other, "ab") as f:
        f.write(b"\0")  # same network, different bytes: a different key
    mnist_reference(weights_path=other)
    assert small_test_split == ["test", "test"]
    assert cache_path(weights_hash(other)) != path


def test_a_corrupt_cache_is_rebuilt(small_test_split):
    first = mnist_reference()
    cache_path(weights_hash()).write_bytes(b"garbage")
    rebuilt = mnist_reference()
    assert small_test_split == ["test", "test"]
    np.testing.assert_array_equal(rebuilt.features, first.features)


def test_subset_is_seeded_and_bounded():
    e = Embedding(np.arange(20.0).reshape(10, 2), np.full((10, 10), 0.1), "x")
    a, b = e.subset(4), e.subset(4)
    np.testing.assert_array_equal(a.features, b.features)
    assert len(a) == 4 and e.subset(10) is e
    with pytest.raises(MetricInputError, match="n_ref=11: must be between 1 and 10"):
        e.subset(11)
