"""The step's statistics against their definitions (DESIGN.md: D(x), D(G(z)), accuracies)."""
import pytest
import torch

from steadygan.train.step import STAT_NAMES, step_statistics


@pytest.mark.parametrize("shape", [(64,), (16, 1, 4, 4)])  # one logit per image, PatchGAN map
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_statistics_follow_their_definitions(shape, dtype):
    gen = torch.Generator().manual_seed(3)
    real, fake, g = (torch.randn(shape, generator=gen).mul(2).to(dtype) for _ in range(3))
    fake.view(-1)[:5] = 0  # D undecided: neither a correct nor a wrong call on a fake
    real.view(-1)[:3] = 0
    loss_d, loss_g, norm_d, norm_g = torch.tensor([1.3, 0.7, 2.5, 0.25])
    stats = dict(zip(STAT_NAMES, step_statistics(loss_d, loss_g, real, fake, g,
                                                 norm_d, norm_g).tolist()))
    r, f, gf = real.float(), fake.float(), g.float()
    expected = {"loss_d": 1.3, "loss_g": 0.7, "grad_norm_d": 2.5, "grad_norm_g": 0.25,
                "d_real": torch.sigmoid(r).mean().item(), "d_fake": torch.sigmoid(f).mean().item(),
                "d_acc_real": (r > 0).sum().item() / r.numel(),
                "d_acc_fake": (f < 0).sum().item() / f.numel(),
                "g_acc": (gf > 0).sum().item() / gf.numel()}
    assert stats == pytest.approx(expected, rel=1e-6)
    assert stats["d_acc_fake"] + (f > 0).float().mean().item() < 1  # the zeros count for neither


def test_statistics_carry_no_gradient():
    logits = [torch.randn(8, requires_grad=True) for _ in range(3)]
    losses = [x.sum() for x in logits[:2]]
    stats = step_statistics(*losses, *logits, torch.tensor(1.0), torch.tensor(2.0))
    assert stats.shape == (len(STAT_NAMES),) and not stats.requires_grad
