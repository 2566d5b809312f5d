import pytest
import torch

from steadygan.config import TrainConfig
from steadygan.models.dcgan import build_models


def _models(*overrides, size=28, channels=1):
    cfg = TrainConfig().with_overrides([f"data.image_size={size}", f"data.channels={channels}",
                                        *overrides]).validate()
    return build_models(cfg.model, size, channels)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("upsample", ["convtranspose", "upsample_conv"])
def test_generator_output_shape_and_range(size, channels, upsample):
    G, _ = _models(f"model.g_upsample={upsample}", "model.g_width=16", size=size, channels=channels)
    x = G(torch.randn(3, 100))
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert not any(isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d)) for m in G.modules())


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("norm", ["batch", "none", "spectral"])
def test_logit_discriminator_gives_one_logit_per_image(size, norm):
    _, D = _models(f"model.d_norm={norm}", "model.d_width=8", "model.d_minibatch_std=true",
                   size=size, channels=3)
    assert D(torch.randn(4, 3, size, size)).shape == (4,)


@pytest.mark.parametrize("size, n", [(28, 7), (28, 14), (32, 8), (32, 4), (64, 16), (64, 8)])
def test_patch_discriminator_gives_an_n_by_n_map(size, n):
    _, D = _models("model.d_head=patch", f"model.patch_size={n}", "model.d_width=8", size=size)
    assert D(torch.randn(2, 1, size, size)).shape == (2, 1, n, n)


@pytest.mark.parametrize("size, n", [(28, 7), (32, 8), (64, 16)])
def test_the_patch_map_defaults_to_a_quarter_of_the_image(size, n):
    # model.patch_size = 0, the default: `--set model.d_head=patch` works at every image size
    _, D = _models("model.d_head=patch", "model.d_width=8", size=size)
    assert D(torch.randn(2, 1, size, size)).shape == (2, 1, n, n)


def test_reference_architecture_widths_and_init():
    G, D = _models()
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [256, 128, 1]
    d_convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in d_convs] == [64, 128, 1]
    std = convs[1].weight.std().item()
    assert 0.015 < std < 0.025  # N(0, 0.02)
    assert any(isinstance(m, torch.nn.Dropout2d) for m in D.modules())
    assert any(isinstance(m, torch.nn.LeakyReLU) for m in D.modules())


def test_extra_layers_add_depth():
    G0, D0 = _models()
    G2, D2 = _models("model.g_extra_layers=2", "model.d_extra_layers=2")
    count = lambda m: sum(isinstance(x, torch.nn.Conv2d) for x in m.modules())
    assert count(G2) == count(G0) + 2 and count(D2) == count(D0) + 2


@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("size", [28, 64])
def test_the_first_and_last_layers_computed_faster_are_the_plain_conv_transposes(layout, size):
    """Same state dict, same outputs and gradients as the nn.ConvTranspose2d users write, and the
    first layer's output keeps the models' memory layout (no copy between layers)."""
    cfg = TrainConfig().with_overrides([f"data.image_size={size}"]).validate()
    torch.manual_seed(0)
    fast, _ = build_models(cfg.model, size, 1)
    plain, _ = build_models(cfg.model, size, 1, plain=True)
    plain.load_state_dict(fast.state_dict())  # same keys and shapes: checkpoints load either way
    fast, plain = fast.to(memory_format=layout), plain.to(memory_format=layout)
    z = torch.randn(5, 100, 1, 1)
    layer_out = fast.net[0](z)
    assert layer_out.is_contiguous(memory_format=layout)
    torch.testing.assert_close(layer_out, plain.net[0](z), rtol=1e-5, atol=1e-6)
    image = fast(z.view(5, 100))
    assert type(image.grad_fn.next_functions[0][0]).__name__ == "_FoldedConvTransposeBackward"
    torch.testing.assert_close(image, plain(z.view(5, 100)), rtol=1e-5, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # oneDNN's own layer under autocast
        image = fast(z.view(5, 100))
    assert "Folded" not in type(image.grad_fn.next_functions[0][0]).__name__
    # gradients through all of G in float64, where fp32's different summation orders vanish
    for G in (fast, plain):
        G.double()(z.view(5, 100).double()).square().mean().backward()
    for (name, p), q in zip(fast.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-9, atol=1e-12, msg=name)
    assert type(plain.net[0]) is type(plain.net[-2]) is torch.nn.ConvTranspose2d
