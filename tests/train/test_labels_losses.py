import math

import pytest
import torch

from steadygan.config import LabelSection
from steadygan.train.labels import d_targets
from steadygan.train.losses import discriminator_loss, generator_loss, r1_penalty

N = 200_000


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_flip_rate_is_measured_and_labels_stay_hard_without_smoothing():
    policy = LabelSection(flip=0.1, smooth=0.0)
    real = d_targets(True, N, policy, _gen())
    fake = d_targets(False, N, policy, _gen(1))
    assert set(real.unique().tolist()) == {0.0, 1.0}
    assert abs((real == 0).float().mean().item() - 0.1) < 0.005
    assert abs((fake == 1).float().mean().item() - 0.1) < 0.005


def test_soft_labels_ranges_two_sided_and_one_sided():
    two = LabelSection(flip=0.0, smooth=0.1, one_sided=False)
    real, fake = d_targets(True, N, two, _gen()), d_targets(False, N, two, _gen(1))
    assert real.min() >= 0.9 and real.max() <= 1.0 and abs(real.mean().item() - 0.95) < 0.002
    assert fake.min() >= 0.0 and fake.max() <= 0.1 and abs(fake.mean().item() - 0.05) < 0.002
    one = LabelSection(flip=0.0, smooth=0.1, one_sided=True)
    assert torch.all(d_targets(False, N, one, _gen()) == 0)
    assert d_targets(True, N, one, _gen()).min() >= 0.9


def test_flipped_labels_are_smoothed_as_their_new_side():
    """Flip first, then smooth: a flipped real is a fake target (0, or s*u two-sided) and a
    flipped fake a real one (1 - s*u)."""
    for one_sided in (True, False):
        policy = LabelSection(flip=0.3, smooth=0.1, one_sided=one_sided)
        real, fake = d_targets(True, N, policy, _gen()), d_targets(False, N, policy, _gen(1))
        assert real.dtype == fake.dtype == torch.float32 and real.shape == fake.shape == (N,)
        for targets, share_high in ((real, 0.7), (fake, 0.3)):
            high, low = targets[targets >= 0.9], targets[targets < 0.9]
            assert abs(len(high) / N - share_high) < 0.005
            assert high.max() <= 1.0 and abs(high.mean().item() - 0.95) < 0.002
            if one_sided:
                assert torch.all(low == 0)
            else:
                assert low.max() <= 0.1 and abs(low.mean().item() - 0.05) < 0.002


def test_targets_are_pure_functions_of_the_seed():
    policy = LabelSection(flip=0.1, smooth=0.1, one_sided=False)
    assert torch.equal(d_targets(True, 100, policy, _gen(5)), d_targets(True, 100, policy, _gen(5)))
    assert not torch.equal(d_targets(True, 100, policy, _gen(5)),
                           d_targets(True, 100, policy, _gen(6)))


def test_no_label_policy_gives_exact_labels():
    policy = LabelSection(flip=0.0, smooth=0.0)
    assert torch.all(d_targets(True, 10, policy, _gen()) == 1)
    assert torch.all(d_targets(False, 10, policy, _gen()) == 0)


@pytest.mark.parametrize("kind", ["bce", "hinge", "lsgan"])
def test_losses_reward_the_right_answer_and_broadcast_over_patch_maps(kind):
    confident = torch.full((4, 1, 7, 7), 5.0)
    ones, zeros = torch.ones(4), torch.zeros(4)
    assert discriminator_loss(confident, ones, kind) < discriminator_loss(confident, zeros, kind)
    assert generator_loss(confident, kind) < generator_loss(-confident, kind)
    per_image = torch.full((4,), 5.0)
    assert math.isclose(discriminator_loss(per_image, ones, kind).item(),
                        discriminator_loss(confident, ones, kind).item(), rel_tol=1e-6)


def test_bce_value_at_zero_logit_is_ln2():
    assert math.isclose(discriminator_loss(torch.zeros(8), torch.ones(8), "bce").item(),
                        math.log(2), rel_tol=1e-6)


def test_r1_penalty_of_a_linear_critic_is_its_squared_weight_norm():
    w = torch.tensor([3.0, 4.0])
    x = torch.randn(5, 2, requires_grad=True)
    assert math.isclose(r1_penalty(x @ w, x).item(), 25.0, rel_tol=1e-6)
