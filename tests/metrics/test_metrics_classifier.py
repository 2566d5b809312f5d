
import numpy as np
import pytest
import torch

from metrics_threads import one_torch_thread  # noqa: F401 (autouse fixture)
from steadygan.data.mnist import load_bundled_mnist, load_mnist
from steadygan.metrics.classifier import (
    FEATURE_DIM,
    WEIGHTS_PATH,
    accuracy,
    embed,
    features,
    load_classifier,
    predict_proba,
    train_classifier,
)
from steadygan.metrics.inputs import MetricInputError



@pytest.fixture(scope="module")
def model():
    return load_classifier()


def test_shipped_weights_are_small_and_say_how_they_were_made():
    assert WEIGHTS_PATH.stat().st_size < 1_000_000
    meta = torch.load(WEIGHTS_PATH, weights_only=True)["meta"]
    assert meta["test_accuracy"] >= 0.99


def test_shipped_classifier_accuracy_on_2000_test_images(model, mnist_dir):
    images, labels = load_mnist(mnist_dir, "test")
    assert accuracy(model, images[:2000], labels[:2000]) >= 0.985


def test_features_and_probabilities_have_the_promised_shapes(model):
    images = load_bundled_mnist()[0][:30]
    feats, proba = embed(model, images[:, None])  # (N, 1, 28, 28) works too
    assert feats.shape == (30, FEATURE_DIM) and feats.dtype == np.float64
    assert proba.shape == (30, 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-9)
    # Batching is an implementation detail: results must not depend on it.
    np.testing.assert_allclose(features(model, images, batch=7), feats, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(predict_proba(model, images, batch=1), proba, atol=1e-6)
    assert not model.training


def test_features_validate_their_input(model):
    with pytest.raises(MetricInputError, match="images: expected dtype uint8"):
        features(model, np.zeros((2, 28, 28), np.float32))


def test_corrupt_weights_give_a_one_line_error(tmp_path):
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(MetricInputError, match="w.pt: cannot load classifier weights") as info:
        load_classifier(path=bad)
    assert "\n" not in str(info.value)


def test_training_is_seeded(mnist_dir):
    def run(seed):
        m = train_classifier(
            mnist_dir, epochs=1, seed=seed, batch_size=16, limit=257, log=lambda _: None
        )
        return torch.cat([p.flatten() for p in m.state_dict().values() if p.is_floating_point()])

    # 257 = 16 * 16 + 1 also walks the path that skips a lone leftover image.
    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_command_writes_loadable_weights(mnist_dir, tmp_path, capsys):
    from steadygan.cli import main

    out = tmp_path / "clf.pt"
    argv = ["classifier", "train", "--data-dir", str(mnist_dir), "--epochs", "1", "--limit",
            "1280", "--threads", "1"]
    assert main(argv + ["--out", str(out)]) == 0  # the fixture restores the thread count
    assert "test accuracy" in capsys.readouterr().out
    assert load_classifier(path=out).training is False
    assert [p.name for p in tmp_path.iterdir()] == ["clf.pt"]  # no temp file left
