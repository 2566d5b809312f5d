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


@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("direction, height, width", [
    ("up", 7, 7), ("up", 4, 4), ("up", 14, 5), ("down", 14, 14), ("down", 8, 8), ("down", 14, 10)])
@pytest.mark.parametrize("wants_input_grad", [True, False])
def test_the_layers_as_products_are_the_convolutions(layout, direction, height, width,
                                                     wants_input_grad):
    """In float64, where summation order vanishes: outputs and both gradients equal to
    conv_transpose2d's (G's doubling layers) and conv2d's (D's halving ones), whatever the layout,
    the size, and whether the input needs a gradient."""
    from steadygan.models.patches import _ProductConv, _ProductConvTranspose

    F = torch.nn.functional
    up = direction == "up"
    product, reference = ((_ProductConvTranspose, F.conv_transpose2d) if up
                          else (_ProductConv, F.conv2d))
    torch.manual_seed(0)
    x = torch.randn(3, 6, height, width, dtype=torch.float64).contiguous(memory_format=layout)
    weight = torch.randn(*((6, 5) if up else (5, 6)), 4, 4, dtype=torch.float64,
                         requires_grad=True)
    x.requires_grad_(wants_input_grad)
    side = (2 * height, 2 * width) if up else (height // 2, width // 2)
    grad = torch.randn(3, 5, *side, dtype=torch.float64)
    expected = reference(x, weight, stride=2, padding=1)
    expected_grads = torch.autograd.grad(expected, [weight, x][:1 + wants_input_grad], grad)
    out = product.apply(x, weight, torch.float64)
    grads = torch.autograd.grad(out, [weight, x][:1 + wants_input_grad], grad)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_g_s_doubling_layers_run_as_products_under_bf16_autocast_on_the_cpu_only():
    """Same state dict as users' G; under bf16 autocast the products give oneDNN's outputs to
    bf16's precision, in bf16 and channels_last; in fp32 the plain layer runs, bit for bit."""
    cfg = TrainConfig().with_overrides(["data.image_size=64"]).validate()  # two doubling layers
    torch.manual_seed(0)
    fast, _ = build_models(cfg.model, 64, 3)
    plain, _ = build_models(cfg.model, 64, 3, plain=True)
    plain.load_state_dict(fast.state_dict())
    assert [type(m).__name__ for m in fast.net if isinstance(m, torch.nn.ConvTranspose2d)] == [
        "Projection", "Upsample2x", "Upsample2x", "Upsample2x", "ImageLayer"]
    assert all(type(m) is torch.nn.ConvTranspose2d for m in plain.net
               if isinstance(m, torch.nn.ConvTranspose2d))
    fast, plain = (G.to(memory_format=torch.channels_last) for G in (fast, plain))
    x = torch.randn(4, 256, 8, 8).contiguous(memory_format=torch.channels_last)
    index = next(i for i, m in enumerate(fast.net) if getattr(m, "in_channels", 0) == 256)
    layer, plain_layer = fast.net[index], plain.net[index]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, expected = layer(x), plain_layer(x)
    assert "_ProductConvTranspose" in type(out.grad_fn).__name__
    assert out.dtype == expected.dtype == torch.bfloat16 and out.shape == (4, 128, 16, 16)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out.float(), expected.float(), rtol=2e-2, atol=2e-2)
    assert torch.equal(layer(x), plain_layer(x))  # fp32: the plain layer itself
    # gradients through the whole G under bf16 autocast: the products are no further from the
    # float64 gradients than oneDNN's bf16 layers are (relative errors 0.2-13 % either way at 64
    # pixels, the products' within 10 % of oneDNN's, 2026-11-29)
    exact, _ = build_models(cfg.model, 64, 3, plain=True)
    _assert_bf16_gradients_as_near_float64_s(fast, plain, exact, torch.randn(16, 100))


def _assert_bf16_gradients_as_near_float64_s(fast, plain, exact, inputs):
    """Each parameter's gradient (of the outputs' mean square) under bf16 autocast is no
    further from float64's (`exact`, a plain copy) than oneDNN's bf16 layers' (`plain`)."""
    exact.load_state_dict(fast.state_dict())
    exact.double()(inputs.double()).square().mean().backward()
    for model in (fast, plain):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(inputs)
        out.float().square().mean().backward()
    for (name, p), q, r in zip(fast.named_parameters(), plain.parameters(), exact.parameters()):
        error = lambda a: ((a.grad.double() - r.grad).norm() / r.grad.norm()).item()  # noqa: E731
        assert p.grad.dtype == torch.float32 and error(p) <= 1.25 * error(q) + 1e-3, name


def test_r1_s_gradient_of_a_gradient_passes_through_the_halving_layer_s_products():
    """R1 differentiates D's input gradient again (create_graph): the products' backward must
    then reach the input and weight, as the convolution's does (float64)."""
    from steadygan.models.patches import _ProductConv

    def penalty_grads(conv):
        torch.manual_seed(0)
        x = torch.randn(3, 6, 8, 8, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(5, 6, 4, 4, dtype=torch.float64, requires_grad=True)
        logits = conv(x, weight).tanh().sum()  # curved, so that the second derivative is not 0
        (input_grad,) = torch.autograd.grad(logits, x, create_graph=True)
        return torch.autograd.grad(input_grad.square().sum(), [x, weight])

    expected = penalty_grads(lambda x, w: torch.nn.functional.conv2d(x, w, stride=2, padding=1))
    got = penalty_grads(lambda x, w: _ProductConv.apply(x, w, torch.float64))
    for g, e in zip(got, expected):
        assert e.abs().max() > 0
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("norm", ["batch", "spectral", "none"])
def test_d_s_halving_layers_run_as_products_under_bf16_autocast_on_the_cpu_only(norm):
    """Same state dict as users' D (plain=True); logits and gradients under bf16 autocast no
    further from float64's than oneDNN's bf16 layers are; in fp32 the plain layers, bit for bit."""
    from steadygan.models.dcgan import Discriminator
    from steadygan.models.patches import Downsample2x

    cfg = TrainConfig().with_overrides([f"model.d_norm={norm}", "model.d_dropout=0"]).validate()
    torch.manual_seed(0)
    fast, plain, exact = (Discriminator(cfg.model, 28, 1, plain=p) for p in (False, True, True))
    plain.load_state_dict(fast.state_dict())
    kinds = lambda D: [isinstance(m, Downsample2x) for m in D.modules()  # noqa: E731
                       if isinstance(m, torch.nn.Conv2d)]
    assert kinds(fast) == [False, True, False]  # the first layer and the head stay plain
    assert kinds(plain) == [False, False, False]
    fast, plain = (D.to(memory_format=torch.channels_last) for D in (fast, plain))
    images = torch.randn(16, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    assert torch.equal(fast(images), plain(images))  # fp32: the plain layers
    _assert_bf16_gradients_as_near_float64_s(fast, plain, exact, images)
