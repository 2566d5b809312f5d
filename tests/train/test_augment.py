"""Differentiable augmentation of D's inputs (train.augment)."""
import json
import math

import pytest
import torch

from steadygan.config import ConfigError, TrainConfig
from steadygan.train.augment import (AUGMENTS, adapted_probability, draw_color, draw_cutout,
                                     draw_translation, make_augment)
from steadygan.train.checkpoint import load_checkpoint
from steadygan.train.loop import build_state, train
from steadygan.train.step import STAT_NAMES, GanState


def _seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _apply(draw, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One augmentation applied to every image."""
    return draw(x, generator)(x)


@pytest.mark.parametrize("name", list(AUGMENTS))
@pytest.mark.parametrize("channels", [1, 3])
def test_each_augmentation_keeps_the_shape_and_passes_gradients(name, channels):
    x = torch.rand(6, channels, 28, 28, requires_grad=True)
    out = _apply(AUGMENTS[name], x, _seeded())
    assert out.shape == x.shape and out.dtype == x.dtype
    out.square().sum().backward()  # G learns through it: every image gets a gradient
    assert (x.grad.flatten(1).abs().sum(1) > 0).all()
    # seeded: the same draws again; and each image its own
    again = [_apply(AUGMENTS[name], x.detach(), _seeded(3)) for _ in range(2)]
    assert torch.equal(*again)
    same_images = x.detach()[:1].expand(6, -1, -1, -1)
    changed = _apply(AUGMENTS[name], same_images, _seeded())
    assert not all(torch.equal(changed[0], changed[i]) for i in range(1, 6))
    # channels_last in, channels_last out: D's convolutions run in the run's memory format
    last = x.detach().contiguous(memory_format=torch.channels_last)
    assert _apply(AUGMENTS[name], last, _seeded()).is_contiguous(memory_format=torch.channels_last)


def test_translation_shifts_each_image_whole_and_zeroes_what_it_uncovers():
    x = torch.rand(16, 2, 16, 16) + 1  # no zeros of its own
    out = _apply(draw_translation, x, _seeded())
    pad = 2  # an eighth of 16
    for image, moved in zip(x, out):
        found = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if torch.equal(moved, _shifted(image, dy, dx))]
        assert len(found) == 1
    assert (out == 0).any()  # some image moved


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(image)
    h, w = image.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_cutout_zeroes_one_square_of_half_the_size_in_each_image():
    x = torch.rand(32, 3, 28, 28) + 1
    out = _apply(draw_cutout, x, _seeded())
    zeroed = out == 0
    assert (zeroed.all(1) == zeroed.any(1)).all()  # the same square in every channel
    assert (zeroed[:, 0].flatten(1).sum(1) == 14 * 14).all()
    rows, cols = zeroed[:, 0].any(2), zeroed[:, 0].any(1)
    assert (rows.sum(1) == 14).all() and (cols.sum(1) == 14).all()  # a square, not scattered
    assert torch.equal(out[~zeroed], x[~zeroed])


def test_color_changes_each_grayscale_image_by_one_affine_map():
    x = torch.rand(8, 1, 12, 12) * 2 - 1
    out = _apply(draw_color, x, _seeded())
    for a, b in zip(x.flatten(1), out.flatten(1)):
        fit = torch.linalg.lstsq(torch.stack([a, torch.ones_like(a)], 1), b[:, None]).solution
        scale = fit[0, 0]
        assert 0.5 <= scale < 1.5 and torch.allclose(a * scale + fit[1, 0], b, atol=1e-5)


def test_policies_compose_and_none_is_no_augmentation():
    assert make_augment("none") is None and make_augment("") is None
    x = torch.rand(4, 1, 28, 28)
    both = make_augment("translation,cutout")(x, _seeded())
    g = _seeded()
    assert torch.equal(both, _apply(draw_cutout, _apply(draw_translation, x, g), g))


def test_with_a_probability_each_augmentation_changes_that_share_of_the_images():
    x = torch.rand(2000, 1, 16, 16) + 1  # no zeros of its own: cutout's zeros mark a change
    p = torch.tensor(0.0)
    augment = make_augment("cutout", p)
    assert torch.equal(augment(x, _seeded()), x)
    p.fill_(1.0)  # the tensor is read at each call, as a CUDA graph's replay reads it
    assert (augment(x, _seeded()) == 0).flatten(1).any(1).all()
    p.fill_(0.3)
    out = augment(x, _seeded())
    changed = (out == 0).flatten(1).any(1)
    assert 0.26 < changed.float().mean() < 0.34
    assert torch.equal(out[~changed], x[~changed])
    # each augmentation draws on its own: with two, about 0.3 x 0.3 of the images get both
    both = make_augment("translation,cutout", p)(x, _seeded())
    shifted = (both[:, :, :, 0] == 0).flatten(1).all(1) | (both[:, :, :, -1] == 0).flatten(1).all(1)
    assert 0.15 < shifted.float().mean() < 0.30  # shifted sideways: p x 4/5 of them
    last = x[:8].contiguous(memory_format=torch.channels_last)
    assert augment(last, _seeded()).is_contiguous(memory_format=torch.channels_last)


def test_at_p_0_an_idle_call_draws_the_same_numbers_and_returns_the_images():
    x = torch.rand(16, 3, 16, 16, requires_grad=True)
    augment = make_augment("color,translation,cutout", torch.tensor(0.0))
    worked, idle = _seeded(), _seeded()
    out = augment(x, worked)
    assert augment(x, idle, idle=True) is x  # no work at all
    assert torch.equal(out, x)  # which is what the work returns at p = 0
    assert torch.equal(worked.get_state(), idle.get_state())  # and the streams go on alike
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_a_step_is_idle_only_while_p_is_0_and_it_runs_eagerly(tiny_cfg):
    state = build_state(tiny_cfg.with_overrides(["train.augment=cutout",
                                                 "train.augment_target=0.8"]), torch.device("cpu"))
    assert state.augment_idle and state.augment_p.item() == 0.0  # it starts at 0
    state.set_augment_p(0.25)
    assert not state.augment_idle and state.augment_p.item() == 0.25
    state.set_augment_p(0.0)
    assert state.augment_idle
    state.graphed = True  # a CUDA graph replays the work it recorded, whatever p becomes
    state.set_augment_p(0.0)
    assert not state.augment_idle


def test_the_probability_follows_d_s_accuracy_on_real_images_in_steps_of_images_over_speed():
    assert adapted_probability(0.0, 0.9, 0.8, 800, 50_000) == pytest.approx(0.016)
    assert adapted_probability(0.5, 0.7, 0.8, 800, 50_000) == pytest.approx(0.484)
    assert adapted_probability(0.0, 0.7, 0.8, 800, 50_000) == 0.0  # never below 0
    assert adapted_probability(0.99, 0.95, 0.8, 800, 50_000) == 1.0  # nor above 1
    assert adapted_probability(0.3, math.nan, 0.8, 800, 50_000) == 0.3  # a diverging window


@pytest.mark.parametrize("value, message", [
    ("flip", "unknown augmentation 'flip'"),
    ("cutout,cutout", "names an augmentation twice"),
])
def test_bad_policies_name_the_setting(value, message):
    with pytest.raises(ConfigError, match=f"train.augment: {message}"):
        TrainConfig().with_overrides([f"train.augment={value}"]).validate()


@pytest.mark.parametrize("settings, message", [
    (["train.augment=cutout", "train.augment_target=0.4"], "train.augment_target: must be 0"),
    (["train.augment=cutout", "train.augment_target=1.0"], "train.augment_target: must be 0"),
    (["train.augment=cutout", "train.augment_speed=0"], "train.augment_speed: must be >= 1"),
])
def test_bad_adaptive_settings_name_the_setting(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig().with_overrides(settings).validate()


def test_augment_none_turns_a_folder_s_adaptive_default_off():
    folder = TrainConfig.for_data("folder")
    assert folder.train.augment_target == 0.8 and folder.train.adapts_augmentation()
    turned_off = folder.with_overrides(["train.augment=none", "data.dir=images"])  # one setting
    turned_off.validate()
    assert not turned_off.train.adapts_augmentation()


def test_mixtures_refuse_augmentation():
    with pytest.raises(ConfigError, match="train.augment: is for images; ring8 trains 2-D points"):
        TrainConfig.for_data("ring8").with_overrides(["train.augment=cutout"]).validate()


def test_augmented_training_changes_the_run_and_resumes_exactly(tiny_cfg, tmp_path):
    cfg = tiny_cfg.with_overrides(["train.augment=color,translation,cutout", "train.steps=12",
                                   "train.r1_gamma=1.0"])  # R1's gradient through them too
    straight = train(cfg.with_overrides([f"run.out={tmp_path / 'straight'}"]))
    assert all(math.isfinite(straight.last_record[k]) for k in STAT_NAMES)
    plain = train(cfg.with_overrides([f"run.out={tmp_path / 'plain'}", "train.augment=none",
                                      "train.augment_target=0.8"]))  # a target without them: off
    assert straight.last_record["loss_d"] != plain.last_record["loss_d"]
    assert "augment_p" not in plain.last_record
    split = cfg.with_overrides([f"run.out={tmp_path / 'split'}"])
    train(split.with_overrides(["train.steps=6"]))
    resumed_run = train(split, resume=True).run_dir
    whole = load_checkpoint(straight.run_dir / "checkpoints" / "last.pt")
    resumed = load_checkpoint(resumed_run / "checkpoints" / "last.pt")
    for key in ("G", "D", "G_ema"):
        for name, tensor in whole[key].items():
            assert torch.equal(tensor, resumed[key][name]), f"{key}.{name} differs"


def test_adaptive_augmentation_moves_p_at_each_read_and_resumes_exactly(tiny_cfg, tmp_path,
                                                                        monkeypatch):
    # speed 64: each read (4 steps of 16 real images) moves p by 1
    cfg = tiny_cfg.with_overrides(["train.augment=translation,cutout", "train.steps=12",
                                   "train.augment_target=0.55", "train.augment_speed=128"])
    straight = train(cfg.with_overrides([f"run.out={tmp_path / 'straight'}"]))
    records = [r for r in straight.run_dir.joinpath("metrics.jsonl").read_text().splitlines()
               if '"kind": "train"' in r]
    reads = [json.loads(r) for r in records]
    assert reads[0]["augment_p"] == 0.0  # it starts without augmenting
    for before, after in zip(reads, reads[1:]):  # up by 64 / 128 when D is above the target
        step = 0.5 if before["d_acc_real"] > 0.55 else -0.5
        assert after["augment_p"] == min(1.0, max(0.0, before["augment_p"] + step))
    assert {r["augment_p"] for r in reads} != {0.0}  # it moved in this run
    whole = load_checkpoint(straight.run_dir / "checkpoints" / "last.pt")
    last = reads[-1]
    assert whole["augment_p"] == min(1.0, max(0.0, last["augment_p"]
                                              + (0.5 if last["d_acc_real"] > 0.55 else -0.5)))
    split = cfg.with_overrides([f"run.out={tmp_path / 'split'}"])
    train(split.with_overrides(["train.steps=6"]))  # stops between two reads
    resumed = load_checkpoint(train(split, resume=True).run_dir / "checkpoints" / "last.pt")
    assert resumed["augment_p"] == whole["augment_p"]
    # p = 0's shortcut changes nothing: the same run doing the augmentations' work at p = 0
    monkeypatch.setattr(GanState, "augment_idle", property(lambda state: False))
    worked = load_checkpoint(train(cfg.with_overrides([f"run.out={tmp_path / 'worked'}"]))
                             .run_dir / "checkpoints" / "last.pt")
    for other in (resumed, worked):
        for key in ("G", "D"):
            for name, tensor in whole[key].items():
                assert torch.equal(tensor, other[key][name]), f"{key}.{name} differs"
