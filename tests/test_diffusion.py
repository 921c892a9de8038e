"""The diffusion toolkit: schedules, the closed-form forward process, the loss, and both samplers."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from utils import diffusion as D


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedules_decrease_from_one_towards_zero(name):
    schedule = D.make_schedule(name, 200)
    ab = schedule.alpha_bar
    assert schedule.steps == 200 and ab.shape == (200,)
    assert (ab[1:] < ab[:-1]).all() and 0.97 < ab[0] < 1 and ab[-1] < 0.01
    assert ((schedule.betas > 0) & (schedule.betas < 1)).all()


def test_linear_schedule_matches_ddpm_at_1000_steps():
    schedule = D.linear_schedule(1000)
    assert schedule.betas[0].item() == pytest.approx(1e-4) and schedule.betas[-1].item() == pytest.approx(0.02)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="steps"):
        D.cosine_schedule(0)
    with pytest.raises(ValueError, match="name"):
        D.make_schedule("quadratic")
    schedule = D.cosine_schedule(10)
    x0 = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="t must lie"):
        D.q_sample(x0, torch.tensor([0, 1, 10]), torch.zeros(3, 2), schedule)
    with pytest.raises(ValueError, match="noise"):
        D.q_sample(x0, torch.tensor([0, 1, 2]), torch.zeros(3, 3), schedule)
    with pytest.raises(TypeError, match="x0"):
        D.q_sample(torch.zeros(3, 2, dtype=torch.long), torch.tensor([0, 1, 2]), torch.zeros(3, 2), schedule)
    with pytest.raises(ValueError, match="sample_steps"):
        D.ddim_timesteps(schedule, 11)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 99), st.sampled_from(["linear", "cosine"]))
def test_q_sample_has_the_closed_form_mean_and_variance(t, name):
    schedule = D.make_schedule(name, 100)
    x0 = torch.full((20000, 1), 1.5)
    gen = torch.Generator().manual_seed(t)
    xt = D.q_sample(x0, torch.full((20000,), t), torch.randn(20000, 1, generator=gen), schedule)
    ab = schedule.alpha_bar[t].item()
    assert xt.mean().item() == pytest.approx(1.5 * math.sqrt(ab), abs=0.05)
    assert xt.var().item() == pytest.approx(1 - ab, abs=0.05)


def test_q_sample_in_one_step_equals_the_chain_of_small_steps():
    schedule = D.linear_schedule(50)
    x0, gen = torch.randn(40000, 1), torch.Generator().manual_seed(0)
    x = x0.clone()
    for beta in schedule.betas:
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(x.shape, generator=gen)
    direct = D.q_sample(x0, torch.full((40000,), 49), torch.randn(x0.shape, generator=gen), schedule)
    assert x.std().item() == pytest.approx(direct.std().item(), rel=0.03)
    cov = lambda a: ((a - a.mean()) * (x0 - x0.mean())).mean().item()
    assert cov(x) == pytest.approx(cov(direct), abs=0.02)


def test_ddpm_loss_is_zero_for_an_oracle_and_about_one_for_zero():
    schedule = D.cosine_schedule(20)
    x0 = torch.randn(64, 1, 4, 4)
    gen = torch.Generator().manual_seed(3)
    zero = D.ddpm_loss(lambda x, t: torch.zeros_like(x), x0, schedule, generator=gen)
    assert 0.8 < zero.item() < 1.2


def test_samplers_recover_a_point_mass_with_the_exact_denoiser():
    # For data that is always c, the optimal noise prediction is (x_t - sqrt(ab) c) / sqrt(1 - ab).
    schedule, c = D.cosine_schedule(100), torch.tensor([0.7, -1.2])
    ab = schedule.alpha_bar

    def oracle(x, t):
        a = ab[t].view(-1, 1)
        return (x - a.sqrt() * c) / (1 - a).sqrt()

    gen = torch.Generator().manual_seed(0)
    for sample in (D.ddpm_sample(oracle, (50, 2), schedule, generator=gen),
                   D.ddim_sample(oracle, (50, 2), schedule, 10, generator=gen)):
        assert torch.allclose(sample, c.expand(50, 2), atol=1e-3)


def test_ddim_step_to_level_one_returns_x0_and_keeps_shapes():
    x0, eps = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    xt = D.q_sample(x0, torch.full((4,), 5), eps, D.cosine_schedule(10))
    ab = D.cosine_schedule(10).alpha_bar[5]
    assert torch.allclose(D.ddim_step(xt, eps, ab, 1.0), x0, atol=1e-5)
    assert D.ddim_timesteps(D.cosine_schedule(10), 10) == list(range(9, -1, -1))


def test_ddim_with_eta_one_also_recovers_a_point_mass_and_rejects_bad_eta():
    schedule, c = D.cosine_schedule(50), torch.tensor([0.2, 0.4])
    ab = schedule.alpha_bar

    def oracle(x, t):
        a = ab[t].view(-1, 1)
        return (x - a.sqrt() * c) / (1 - a).sqrt()

    sample = D.ddim_sample(oracle, (20, 2), schedule, 10, generator=torch.Generator().manual_seed(0), eta=1.0)
    assert torch.allclose(sample, c.expand(20, 2), atol=1e-3)
    with pytest.raises(ValueError, match="eta"):
        D.ddim_sample(oracle, (2, 2), schedule, 5, eta=2.0)


def test_x0_target_and_its_noise_wrapper():
    schedule = D.cosine_schedule(20)
    x0 = torch.full((16, 2), 0.5)
    # A network that always answers the true picture has zero x0 loss...
    assert D.ddpm_loss(lambda x, t: torch.full_like(x, 0.5), x0, schedule, target="x0").item() == 0
    with pytest.raises(ValueError, match="target"):
        D.ddpm_loss(lambda x, t: x, x0, schedule, target="v")
    # ...and, wrapped, the samplers draw exactly that picture.
    wrapped = D.NoiseFromX0(lambda x, t: torch.full_like(x, 0.5), schedule)
    for sample in (D.ddpm_sample(wrapped, (8, 2), schedule, generator=torch.Generator().manual_seed(0)),
                   D.ddim_sample(wrapped, (8, 2), schedule, 5, generator=torch.Generator().manual_seed(0))):
        assert torch.allclose(sample, x0[:8], atol=1e-4)
    # noise_from_x0 inverts q_sample.
    gen = torch.Generator().manual_seed(1)
    images, noise = torch.randn(4, 1, 3, 3, generator=gen), torch.randn(4, 1, 3, 3, generator=gen)
    t = torch.tensor([0, 5, 12, 19])
    x_t = D.q_sample(images, t, noise, schedule)
    ab = schedule.alpha_bar[t].view(-1, 1, 1, 1)
    assert torch.allclose(D.noise_from_x0(x_t, images, ab), noise, atol=1e-4)


def test_train_ddpm_returns_a_seeded_average_of_the_weights():
    from utils.unet import UNet

    images = torch.rand(64, 1, 8, 8) * 2 - 1
    schedule = D.cosine_schedule(10)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = UNet(in_channels=1, channels=(8, 16))
        ema, history = D.train_ddpm(model, images, schedule, steps=5, batch=16, warmup=1, ema_decay=0.5)
        runs.append((model, ema, history))
    (model, ema, history), (_, ema_again, _) = runs
    assert len(history.loss) == 5 and not ema.training
    assert all(not p.requires_grad for p in ema.parameters())
    assert all(torch.equal(a, b) for a, b in zip(ema.parameters(), ema_again.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(ema.parameters(), model.parameters()))
