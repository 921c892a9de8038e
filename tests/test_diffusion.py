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


# Data from a Gaussian, x0 ~ N(MU, S^2) in each of two dimensions, has a closed-form ideal denoiser:
# x_t ~ N(sqrt(ab) MU, V) with V = ab S^2 + 1 - ab, and the best noise prediction is
# E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) MU) / V. A sampler fed this oracle must draw from N(MU, S^2).
# Unlike a point mass (whose ideal denoiser returns the point from any input, so every intermediate step may be
# wrong), the spread of the samples depends on every step's mean and noise.
MU, S = torch.tensor([0.6, -1.0]), torch.tensor([0.5, 1.5])


def gaussian_oracle(schedule, target="eps"):
    ab = schedule.alpha_bar

    def predict(x, t):
        a = ab[t].view(-1, 1)
        v = a * S**2 + 1 - a
        if target == "x0":  # E[x0 | x_t]
            return MU + a.sqrt() * S**2 * (x - a.sqrt() * MU) / v
        return (1 - a).sqrt() * (x - a.sqrt() * MU) / v

    return predict


@pytest.mark.parametrize("sampler", ["ddpm", "ddim eta 0", "ddim eta 1"])
def test_samplers_draw_a_gaussian_with_its_exact_denoiser(sampler):
    # 10000 draws: the sample mean is off by about S / 100 (at most 0.015), the sample variance by 1.4 % of S^2.
    # What the samplers themselves miss, with T = 1000 and these steps, is below 2.5 % of the variance (DDIM at
    # 100 steps: 2.3 %; ancestral sampling's beta_tilde variance: 1.4 %), so 6 % leaves room for chance and
    # nothing for a bug. Tried by hand: ddpm_sample without its posterior noise (x = mean at every step) draws
    # a variance of 1e-9 S^2, and so does DDIM at eta = 1 without its fresh noise; with x_t's weight sqrt(1 - beta_t)
    # left out of the posterior mean, the mean is off by 0.2 and 1.7 and the variance is 4.5 and 27 S^2; DDIM
    # jumping to its own level instead of the next one draws a mean near 0. Smaller slips (beta_t for beta_tilde_t)
    # move these statistics by under 1 % at T = 1000: test_each_sampler_step_is_the_papers_formula catches those.
    schedule = D.cosine_schedule(1000)
    oracle, gen = gaussian_oracle(schedule), torch.Generator().manual_seed(0)
    shape = (10000, 2)
    if sampler == "ddpm":
        x = D.ddpm_sample(oracle, shape, schedule, generator=gen)
    else:
        eta = 0.0 if sampler == "ddim eta 0" else 1.0
        x = D.ddim_sample(oracle, shape, schedule, 100 if eta == 0 else 250, generator=gen, eta=eta)
    assert torch.allclose(x.mean(0), MU, atol=0.05), x.mean(0)
    assert torch.allclose(x.var(0) / S**2, torch.ones(2), atol=0.06), x.var(0) / S**2


def test_each_sampler_step_is_the_papers_formula():
    # The statistics above cannot see a small change of one coefficient at T = 1000 (beta_t for beta_tilde_t,
    # or sqrt(ab_t) for sqrt(ab_prev), move the variance by under 1 %); three steps replayed by hand with the
    # same noise draws can. Ho et al. (2020), eq. 7: x_{t-1} = sqrt(ab_prev) beta_t / (1 - ab_t) x0
    # + sqrt(alpha_t) (1 - ab_prev) / (1 - ab_t) x_t + sqrt(beta_tilde_t) z, beta_tilde_t = (1 - ab_prev) /
    # (1 - ab_t) beta_t. Song et al. (2021), eq. 12 and 16: x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev -
    # sigma^2) eps + sigma z with sigma = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev).
    schedule = D.linear_schedule(3, 0.1, 0.5)
    ab = schedule.alpha_bar.double().tolist()
    model = lambda x, t: 0.5 * x + 0.1 * t.view(-1, 1)  # any fixed denoiser that depends on x and t
    shape = (5, 2)

    def replay(step_to, eta=None, steps=(2, 1, 0)):
        gen = torch.Generator().manual_seed(4)
        x = torch.randn(shape, generator=gen).double()
        for i, step in enumerate(steps):
            eps = model(x, torch.full((5,), step)).double()
            ab_t, ab_prev = ab[step], (ab[steps[i + 1]] if i + 1 < len(steps) else 1.0)
            x0 = (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)
            x = step_to(x, x0, eps, ab_t, ab_prev, gen, last=i + 1 == len(steps))
        return x

    def ancestral(x, x0, eps, ab_t, ab_prev, gen, last):
        beta = 1 - ab_t / ab_prev
        mean = math.sqrt(ab_prev) * beta / (1 - ab_t) * x0 + math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab_t) * x
        return mean if last else mean + math.sqrt((1 - ab_prev) / (1 - ab_t) * beta) * torch.randn(shape, generator=gen)

    def ddim(eta):
        def step_to(x, x0, eps, ab_t, ab_prev, gen, last):
            sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
            x = math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev - sigma**2) * eps
            return x + sigma * torch.randn(shape, generator=gen) if sigma > 0 else x
        return step_to

    sample = D.ddpm_sample(model, shape, schedule, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(sample.double(), replay(ancestral), atol=1e-5)
    for eta in (0.0, 0.5, 1.0):
        sample = D.ddim_sample(model, shape, schedule, 3, generator=torch.Generator().manual_seed(4), eta=eta)
        assert torch.allclose(sample.double(), replay(ddim(eta)), atol=1e-5), eta
    schedule = D.linear_schedule(5, 0.1, 0.5)  # two of five steps: DDIM jumps from step 4 to step 2, then to 0
    ab = schedule.alpha_bar.double().tolist()
    sample = D.ddim_sample(model, shape, schedule, 3, generator=torch.Generator().manual_seed(4), eta=1.0)
    assert torch.allclose(sample.double(), replay(ddim(1.0), steps=(4, 2, 0)), atol=1e-5)


def test_the_samplers_x0_clip_bounds_every_step():
    # Clipped to (-0.2, 0.2), the x0 estimates of the last step lie inside it, so the samples do too; unclipped,
    # the same seed draws from N(MU, S^2), far outside.
    schedule = D.cosine_schedule(50)
    oracle = gaussian_oracle(schedule)
    for clip in ((-0.2, 0.2), [-0.2, 0.2]):
        for draw in (lambda g, c: D.ddpm_sample(oracle, (500, 2), schedule, generator=g, clip=c),
                     lambda g, c: D.ddim_sample(oracle, (500, 2), schedule, 10, generator=g, clip=c),
                     lambda g, c: D.ddim_sample(oracle, (500, 2), schedule, 10, generator=g, clip=c, eta=1.0)):
            x = draw(torch.Generator().manual_seed(0), clip)
            assert x.abs().max() <= 0.2 + 1e-5 and x.std() > 0.05
    assert D.ddim_sample(oracle, (500, 2), schedule, 10, generator=torch.Generator().manual_seed(0)).abs().max() > 1


def test_the_loss_of_the_ideal_predictor_on_gaussian_data():
    # Per number, the ideal noise prediction leaves E[Var(eps | x_t)] = 1 - Cov(eps, x_t)^2 / Var(x_t)
    # = 1 - (1 - ab) / V = ab S^2 / V, averaged over the uniform step t and the two dimensions. The ideal picture
    # prediction E[x0 | x_t] leaves Var(x0 | x_t) = S^2 (1 - ab) / V. The zero predictor leaves E[eps^2] = 1.
    schedule = D.cosine_schedule(100)
    a = schedule.alpha_bar.double().view(-1, 1)
    v = a * S.double() ** 2 + 1 - a
    expected_eps = (a * S.double() ** 2 / v).mean().item()
    expected_x0 = (S.double() ** 2 * (1 - a) / v).mean().item()
    gen = torch.Generator().manual_seed(0)
    x0 = MU + S * torch.randn(40000, 2, generator=gen)
    eps_loss = D.ddpm_loss(gaussian_oracle(schedule), x0, schedule, generator=gen).item()
    x0_loss = D.ddpm_loss(gaussian_oracle(schedule, "x0"), x0, schedule, generator=gen, target="x0").item()
    zero_loss = D.ddpm_loss(lambda x, t: torch.zeros_like(x), x0, schedule, generator=gen).item()
    assert 0.3 < expected_eps < 0.7 and 0.2 < expected_x0 < 0.7  # far enough apart to tell the targets apart
    assert eps_loss == pytest.approx(expected_eps, abs=0.02)
    assert x0_loss == pytest.approx(expected_x0, abs=0.02)
    assert zero_loss == pytest.approx(1.0, abs=0.02)


def test_ddim_rejects_bad_eta():
    with pytest.raises(ValueError, match="eta"):
        D.ddim_sample(lambda x, t: x, (2, 2), D.cosine_schedule(10), 5, eta=2.0)


def test_ddim_step_with_clip_reuses_the_noise_of_the_clipped_picture():
    ab, ab_prev = 0.36, 0.64
    x_t, eps = torch.tensor([[1.5, -0.3]]), torch.tensor([[-0.5, 0.25]])
    x0 = (x_t - 0.8 * eps) / 0.6  # predict_x0: (2.5+2/3, -0.5+... ) -> [3.1667, -0.8333]
    assert torch.allclose(D.predict_x0(x_t, eps, ab), x0)
    assert torch.allclose(D.ddim_step(x_t, eps, ab, ab_prev), 0.8 * x0 + 0.6 * eps)
    clipped = x0.clamp(-1, 1)  # [1, -0.8333]: the first number is clipped, the second is not
    eps_again = (x_t - 0.6 * clipped) / 0.8
    expected = 0.8 * clipped + 0.6 * eps_again
    assert torch.allclose(D.ddim_step(x_t, eps, ab, ab_prev, clip=(-1.0, 1.0)), expected)
    # The same with alpha_bar given as (B, 1) tensors, as the samplers of a batch at mixed steps would.
    ab_t, ab_p = torch.full((1, 1), ab), torch.full((1, 1), ab_prev)
    assert torch.allclose(D.ddim_step(x_t, eps, ab_t, ab_p, clip=(-1.0, 1.0)), expected)
    assert torch.allclose(D.ddim_step(x_t, eps, ab_t, ab_p), 0.8 * x0 + 0.6 * eps)


def test_predict_x0_and_noise_from_x0_invert_the_forward_process():
    x0, eps = torch.tensor([[0.5, -1.0]]), torch.tensor([[2.0, 0.5]])
    for ab in (0.25, torch.full((1, 1), 0.25)):
        x_t = 0.5 * x0 + math.sqrt(0.75) * eps
        assert torch.allclose(D.predict_x0(x_t, eps, ab), x0, atol=1e-6)
        assert torch.allclose(D.noise_from_x0(x_t, x0, ab), eps, atol=1e-6)
    assert torch.allclose(D.predict_x0(x0, eps, 1.0), x0)  # level one: no noise in x_t


def test_noise_from_x0_wrapper_gives_the_noise_at_each_rows_step():
    schedule = D.cosine_schedule(20)
    gen = torch.Generator().manual_seed(2)
    images, noise = torch.randn(4, 1, 2, 2, generator=gen), torch.randn(4, 1, 2, 2, generator=gen)
    t = torch.tensor([0, 7, 13, 19])
    x_t = D.q_sample(images, t, noise, schedule)
    seen = {}

    def net(x, t_, label=None):
        assert torch.equal(t_, t)  # the wrapper hands the network the steps it was given
        seen["label"] = label
        return images

    wrapped = D.NoiseFromX0(net, schedule)
    assert torch.allclose(wrapped(x_t, t, label="cat"), noise, atol=1e-4) and seen["label"] == "cat"
    assert torch.allclose(wrapped(x_t, t, "dog"), noise, atol=1e-4) and seen["label"] == "dog"


def test_ddim_step_to_level_one_returns_x0_and_keeps_shapes():
    x0, eps = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    xt = D.q_sample(x0, torch.full((4,), 5), eps, D.cosine_schedule(10))
    ab = D.cosine_schedule(10).alpha_bar[5]
    assert torch.allclose(D.ddim_step(xt, eps, ab, 1.0), x0, atol=1e-5)
    assert D.ddim_timesteps(D.cosine_schedule(10), 10) == list(range(9, -1, -1))


def test_ddim_timesteps_spread_evenly_from_the_noisiest():
    assert D.ddim_timesteps(D.cosine_schedule(10), 4) == [9, 6, 3, 0]
    assert D.ddim_timesteps(D.cosine_schedule(10), 1) == [9]
    assert D.ddim_timesteps(D.cosine_schedule(1000), 3) == [999, 500, 0]
    assert D.ddim_timesteps(D.cosine_schedule(7), 7) == [6, 5, 4, 3, 2, 1, 0]


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


def test_the_inverse_formulas_keep_float64_precision():
    # A number for alpha_bar must enter the arithmetic in x_t's dtype: in float32, 0.36 is off by 1e-8.
    x0, eps = torch.tensor([[0.5, -1.0]], dtype=torch.float64), torch.tensor([[2.0, 0.5]], dtype=torch.float64)
    ab, ab_prev = 0.36, 0.64
    x_t = 0.6 * x0 + 0.8 * eps
    for got, want in ((D.predict_x0(x_t, eps, ab), x0), (D.noise_from_x0(x_t, x0, ab), eps),
                      (D.ddim_step(x_t, eps, ab, ab_prev), 0.8 * x0 + 0.6 * eps),
                      (D.ddim_step(x_t, eps, ab, ab_prev, clip=(-0.9, 0.9)), 0.8 * x0.clamp(-0.9, 0.9)
                       + 0.6 * (x_t - 0.6 * x0.clamp(-0.9, 0.9)) / 0.8)):
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, want, rtol=0, atol=1e-14)


def test_samplers_take_the_models_device_and_refuse_another():
    schedule = D.cosine_schedule(5)
    model = lambda x, t: torch.zeros_like(x)
    assert D.ddpm_sample(model, (2, 2), schedule, device="cpu").device.type == "cpu"
    assert D.ddim_sample(model, (2, 2), schedule, 3, device=torch.device("cpu")).device.type == "cpu"
    for sample in (lambda: D.ddpm_sample(model, (2, 2), schedule, device="meta"),
                   lambda: D.ddim_sample(model, (2, 2), schedule, 3, device="meta")):
        with pytest.raises(ValueError, match="device=meta but the model is on cpu"):
            sample()


def test_drop_conditions_replaces_rows_with_the_null_row_at_rate_p():
    cond = torch.arange(1.0, 13.0).view(2, 3, 2).repeat(50, 1, 1)  # (100, 3, 2): rows that differ from null
    null = torch.zeros(3, 2)
    assert torch.equal(D.drop_conditions(cond, null, 0.0), cond)
    assert torch.equal(D.drop_conditions(cond, null, 1.0), torch.zeros_like(cond))
    dropped = D.drop_conditions(cond, null, 0.3, generator=torch.Generator().manual_seed(5))
    expected = torch.rand(100, generator=torch.Generator().manual_seed(5)) < 0.3  # the same draws
    is_null = (dropped == 0).flatten(1).all(1)
    assert torch.equal(is_null, expected) and 15 < int(is_null.sum()) < 45
    assert torch.equal(dropped[~is_null], cond[~is_null])
    with pytest.raises(ValueError, match="null"):
        D.drop_conditions(cond, torch.zeros(2), 0.5)


def test_guided_extrapolates_from_the_unconditional_prediction():
    calls = []

    def model(x, t, cond):  # eps(x, t, c) = x * c + t, c one number per row
        calls.append(len(x))
        return x * cond.view(-1, 1) + t.view(-1, 1).float()

    x, t, cond, null = torch.randn(3, 2), torch.tensor([1, 2, 3]), torch.tensor([[2.0], [3.0], [-1.0]]), torch.zeros(1)
    eps_c, eps_u = model(x, t, cond), model(x, t, torch.zeros(3, 1))
    calls.clear()
    for weight in (0, 0.5, 3):
        got = D.guided(model, weight, null)(x, t, cond)
        torch.testing.assert_close(got, (1 + weight) * eps_c - weight * eps_u)
    assert calls == [3, 6, 6]  # weight 0: the conditional model alone; otherwise one batched call of both
    assert isinstance(D.guided(torch.nn.Linear(1, 1), 1.0, null), torch.nn.Module)
    for bad in (-1.0, float("inf"), True):
        with pytest.raises(ValueError, match="weight"):
            D.guided(model, bad, null)


def test_schedule_defaults_and_the_linear_schedules_scaling():
    assert D.linear_schedule().steps == 1000 and D.make_schedule("cosine").steps == 1000
    betas = D.linear_schedule(100).betas  # ten times fewer steps, each ten times larger
    assert betas[0].item() == pytest.approx(1e-3) and betas[-1].item() == pytest.approx(0.2)


def test_ddpm_loss_is_seeded_passes_keywords_and_works_with_one_step():
    x0 = torch.randn(8, 2)
    seen = []
    model = lambda x, t, scale=1.0: seen.append(scale) or torch.zeros_like(x)
    losses = [D.ddpm_loss(model, x0, D.cosine_schedule(10), generator=torch.Generator().manual_seed(3), scale=2.0)
              for _ in range(2)]
    assert losses[0] == losses[1] and seen == [2.0, 2.0]
    assert D.ddpm_loss(lambda x, t: x, x0, D.cosine_schedule(1)).item() >= 0  # T = 1: the one step is 0


def test_the_inverse_formulas_refuse_the_levels_they_divide_by():
    x = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="alpha_bar_t"):
        D.noise_from_x0(x, x, 1.0)  # no noise at level one: nothing to recover
    with pytest.raises(ValueError, match="alpha_bar_t"):
        D.predict_x0(x, x, 0.0)  # no picture at level zero
    wrapped = D.NoiseFromX0(lambda x_t, t: x_t, D.cosine_schedule(10))
    with pytest.raises(TypeError, match="x_t"):
        wrapped(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, dtype=torch.long))


def test_cosine_schedule_is_nichol_and_dhariwals_closed_form():
    steps, s = 50, 0.008
    f = lambda t: math.cos((t / steps + s) / (1 + s) * math.pi / 2) ** 2
    expected = torch.tensor([min(1 - f(t + 1) / f(t), 0.999) for t in range(steps)], dtype=torch.float64)
    torch.testing.assert_close(D.cosine_schedule(steps).betas.double(), expected, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(D.cosine_schedule(steps).alpha_bar.double()[:-1],  # the last beta is capped
                               torch.tensor([f(t + 1) / f(0) for t in range(steps - 1)], dtype=torch.float64),
                               rtol=1e-5, atol=1e-9)
    assert D.cosine_schedule(10).name == "cosine" and D.linear_schedule(10).name == "linear"
    assert D.cosine_schedule(steps, max_beta=0.5).betas.max().item() == 0.5
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="max_beta"):
            D.cosine_schedule(10, max_beta=bad)
    assert D.cosine_schedule(1).steps == 1 and D.linear_schedule(1).steps == 1


def test_linear_schedule_is_exact_and_checks_its_ends():
    torch.testing.assert_close(D.linear_schedule(5, 0.1, 0.5).betas, torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5]))
    assert D.linear_schedule(10, 0.3, 0.3).betas.unique().tolist() == [pytest.approx(0.3)]  # start == end
    assert D.linear_schedule(10).betas[-1].item() == pytest.approx(0.999)  # 0.02 x 100 is capped
    for start, end in ((0.0, 0.1), (0.2, 0.1), (0.1, 1.0)):
        with pytest.raises(ValueError, match="beta_start"):
            D.linear_schedule(10, start, end)


def test_the_step_formulas_refuse_integer_tensors_and_bad_clips():
    x, ints = torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.long)
    for call in (lambda: D.predict_x0(ints, x, 0.5), lambda: D.predict_x0(x, ints, 0.5),
                 lambda: D.ddim_step(x, ints, 0.5, 0.9), lambda: D.noise_from_x0(x, ints, 0.5)):
        with pytest.raises(TypeError):
            call()
    for clip in ((1.0, -1.0), (0.0,), "ab", 3):
        with pytest.raises((ValueError, TypeError), match="clip"):
            D.ddim_step(x, x, 0.5, 0.9, clip=clip)
    with pytest.raises(ValueError, match="alpha_bar_prev"):
        D.ddim_step(x, x, 0.5, 1.5)
    with pytest.raises(ValueError, match="t must be integer step indices"):
        D.q_sample(x, torch.tensor([0.0, 1.0]), x, D.cosine_schedule(5))


def test_linear_betas_are_the_exact_sequence_rounded_once():
    # torch.linspace in float32 lands one unit in the last place off for about a third of the 1000 betas.
    for steps, start, end in ((1000, 1e-4, 0.02), (50, 2e-3, 0.4)):
        exact = torch.tensor([start + (end - start) * i / (steps - 1) for i in range(steps)], dtype=torch.float64)
        torch.testing.assert_close(D.linear_schedule(steps, start, end).betas, exact.float(), rtol=0, atol=0)
    assert D.cosine_schedule().steps == 1000


def test_q_sample_works_in_the_pictures_dtype():
    schedule, t = D.cosine_schedule(10), torch.tensor([0, 4, 9])
    x0, noise = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    ab = schedule.alpha_bar[t].double().view(-1, 1)  # the float32 levels, then float64 arithmetic
    torch.testing.assert_close(D.q_sample(x0, t, noise, schedule), ab.sqrt() * x0 + (1 - ab).sqrt() * noise,
                               rtol=0, atol=1e-15)
    assert D.q_sample(x0.bfloat16(), t, noise.bfloat16(), schedule).dtype == torch.bfloat16


@pytest.mark.parametrize("target", ["eps", "x0"])
def test_ddpm_loss_draws_the_step_then_the_noise_from_its_generator(target):
    schedule, x0, seen = D.cosine_schedule(10), torch.randn(16, 2), []

    def model(x_t, t):
        seen.append(t)
        return 0.5 * x_t

    got = D.ddpm_loss(model, x0, schedule, generator=torch.Generator().manual_seed(4), target=target)
    gen = torch.Generator().manual_seed(4)
    t = torch.randint(10, (16,), generator=gen)
    noise = torch.randn(16, 2, generator=gen)
    assert torch.equal(seen[0], t)
    want = ((0.5 * D.q_sample(x0, t, noise, schedule) - (noise if target == "eps" else x0)) ** 2).mean()
    torch.testing.assert_close(got, want)


def test_the_step_checks_at_their_edges():
    x, schedule = torch.randn(2, 2), D.cosine_schedule(10)
    with pytest.raises(ValueError, match="^alpha_bar_t must be a finite number in \\(0, 1\\), got 1.0$"):
        D.ddim_step(x, x, 1.0, 1.0)  # no step starts from the level without noise
    with pytest.raises(ValueError, match="^clip must be \\(low, high\\) with low < high"):
        D.ddim_step(x, x, 0.5, 0.9, clip=(0.5, 0.5))  # an empty range would set every pixel to one value
    for bad in (True, 2.0):
        with pytest.raises(ValueError, match="^sample_steps must be an int"):
            D.ddim_timesteps(schedule, bad)
    # The wrapper refuses integer x_t itself, before the network (a real one would fail on the dtype).
    with pytest.raises(TypeError, match="^x_t must be a floating-point tensor"):
        D.NoiseFromX0(torch.nn.Linear(2, 2), schedule)(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2).long())


S10 = D.cosine_schedule(10)
_X, _INTS, _T2 = torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.long), torch.zeros(2).long()
_LIN = torch.nn.Linear(2, 2)
MESSAGES = {  # what each mistake is told: the argument's name, what it should be, what it got
    "offset": (lambda: D.cosine_schedule(10, offset=-0.1), "offset must be a finite number >= 0, got -0.1"),
    "max_beta": (lambda: D.cosine_schedule(10, max_beta=1.0), "max_beta must be a finite number in (0, 1), got 1.0"),
    "x0 dtype": (lambda: D.q_sample(_INTS, 0, _X, S10),
                 "x0 must be a floating-point tensor (B, ...), got (torch.int64, (2, 2))"),
    "x0 list": (lambda: D.q_sample([[0.0]], 0, _X, S10), "x0 must be a floating-point tensor (B, ...), got list"),
    "schedule": (lambda: D.q_sample(_X, 0, _X, "cosine"), "schedule must be a Schedule, got str"),
    "noise": (lambda: D.q_sample(_X, 0, [[0.0, 0.0]], S10), "noise must be a tensor shaped like x0 (2, 2), got list"),
    "loss model": (lambda: D.ddpm_loss(None, _X, S10),
                   "model must be a denoiser, model(x_t, t) -> the prediction shaped like x_t, got NoneType"),
    "loss shape": (lambda: D.ddpm_loss(lambda x, t: x[:, :1], _X, S10), "model(x_t, t) must return a tensor shaped "
                   "like x_t (2, 2) (the predicted noise or picture), got (2, 1)"),
    "loss list": (lambda: D.ddpm_loss(lambda x, t: [1.0], _X, S10), "model(x_t, t) must return a tensor shaped "
                  "like x_t (2, 2) (the predicted noise or picture), got list"),
    "device": (lambda: D.ddpm_sample(_LIN, (2, 2), S10, device="meta"),
               "device=meta but the model is on cpu: leave device out, the samplers take the model's"),
    "x_t": (lambda: D.predict_x0(_INTS, _X, 0.5), "x_t must be a floating-point tensor (B, ...), got torch.int64"),
    "eps": (lambda: D.predict_x0(_X, _INTS, 0.5),
            "eps must be a floating-point tensor shaped like x_t (2, 2), got torch.int64"),
    "eps list": (lambda: D.predict_x0(_X, [0.0], 0.5), "eps must be a tensor shaped like x_t (2, 2), got list"),
    "predict level": (lambda: D.predict_x0(_X, _X, 0.0), "alpha_bar_t must be a finite number in (0, 1], got 0.0"),
    "level dtype": (lambda: D.predict_x0(_X, _X, torch.tensor(1)),
                    "alpha_bar_t must be a float (or a float tensor), got torch.int64"),
    "x0": (lambda: D.noise_from_x0(_X, _INTS, 0.5),
           "x0 must be a floating-point tensor shaped like x_t (2, 2), got torch.int64"),
    "noise level": (lambda: D.noise_from_x0(_X, _X, 1.0), "alpha_bar_t must be a finite number in (0, 1), got 1.0"),
    "net": (lambda: D.NoiseFromX0(None, S10),
            "net must be the network that predicts the picture, net(x_t, t) -> x0, got NoneType"),
    "wrapped x_t": (lambda: D.NoiseFromX0(_LIN, S10)(_INTS, _T2),
                    "x_t must be a floating-point tensor (B, ...), got torch.int64"),
    "wrapped shape": (lambda: D.NoiseFromX0(lambda x, t: x[:, :1], S10)(_X, _T2), "net(x_t, t) must return a tensor "
                      "shaped like x_t (2, 2) (the predicted noise or picture), got (2, 1)"),
    "clip": (lambda: D.ddim_step(_X, _X, 0.5, 0.9, clip=("a", 1)), "clip must be a finite number, got 'a'"),
    "sampler model": (lambda: D.ddim_sample(None, (2, 2), S10), "model must be a denoiser, model(x_t, t) -> the "
                      "predicted noise shaped like x_t, got NoneType"),
    "step eps": (lambda: D.ddim_step(_X, _INTS, 0.5, 0.9),
                 "eps must be a floating-point tensor shaped like x_t (2, 2), got torch.int64"),
    "step level": (lambda: D.ddim_step(_X, _X, None, 1.0), "alpha_bar_t must be a finite number in (0, 1), got None"),
    "step prev": (lambda: D.ddim_step(_X, _X, 0.5, 1.5), "alpha_bar_prev must be a finite number in (0, 1], got 1.5"),
    "cond": (lambda: D.drop_conditions([1.0], torch.zeros(()), 0.5),
             "cond must be a tensor (B, ...), one condition per row, got list"),
    "null": (lambda: D.drop_conditions(_X, [0.0, 0.0], 0.5),
             "null must be a tensor shaped like one row of cond (2,), got list"),
    "train model": (lambda: D.train_ddpm("unet", _X, S10, steps=1),
                    "model must be a torch.nn.Module (the denoiser to train), got str"),
    "pictures": (lambda: D.train_ddpm(_LIN, torch.full((2, 1, 2, 2), 255.0), S10, steps=1), "images must hold pixels "
                 "in [-1, 1], got values in [255, 255], which looks like 0..255: map them with x / 127.5 - 1"),
    "images": (lambda: D.train_ddpm(_LIN, [[0.0, 0.0]], S10, steps=1),
               "images must be a floating-point tensor (N, ...) scaled to [-1, 1], got list"),
    "p_uncond": (lambda: D.train_ddpm(_LIN, _X, S10, steps=1, p_uncond=1.5),
                 "p_uncond must be a finite number in [0, 1], got 1.5"),
    "p_uncond alone": (lambda: D.train_ddpm(_LIN, _X, S10, steps=1, p_uncond=0.5, cond=_X),
                       "p_uncond > 0 needs both cond and null (the condition that means 'no condition')"),
    "cond rows": (lambda: D.train_ddpm(_LIN, _X, S10, steps=1, cond=_X[:1]),
                  "cond must have one row per picture: 1 rows for 2 pictures"),
    "guided model": (lambda: D.Guided(None, 1.0, torch.zeros(1)),
                     "model must be a conditional denoiser, model(x_t, t, cond), got NoneType"),
    "guided null": (lambda: D.Guided(_LIN, 1.0, [0.0]),
                    "null must be a tensor (one row of the 'no condition' input), got list"),
    "guided x_t": (lambda: D.Guided(_LIN, 1.0, torch.zeros(1))([0.0], _T2, _X),
                   "x_t must be a tensor (B, ...), got list"),
    "guided cond": (lambda: D.Guided(_LIN, 1.0, torch.zeros(1))(_X, _T2, [0.0]),
                    "cond must be a tensor (B, ...), one condition per row of x_t, got list"),
}


@pytest.mark.parametrize("case", list(MESSAGES))
def test_each_mistake_is_told_in_full(case):
    call, message = MESSAGES[case]
    with pytest.raises((TypeError, ValueError)) as err:
        call()
    assert str(err.value) == message


def _pretend_gpu(monkeypatch):
    from utils import device

    monkeypatch.setattr(device, "get_device", lambda: torch.device("cuda"))
    monkeypatch.setenv("GENAI_PROFILE", "gpu")


def test_a_model_on_the_wrong_device_is_refused_before_any_work(monkeypatch, fake_train):
    _pretend_gpu(monkeypatch)
    told = ("model is on cpu, but the gpu profile trains and samples on cuda: move it there first "
            "(model = model.to(device), with device from utils.device.setup())")
    for call in (lambda: D.train_ddpm(_LIN, _X, S10, steps=1), lambda: D.ddpm_sample(_LIN, (2, 2), S10),
                 lambda: D.ddim_sample(_LIN, (2, 2), S10, 3)):
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == told
    assert fake_train == []  # train_ddpm refused before handing anything to the loop


@pytest.fixture
def fake_train(monkeypatch):
    """utils.train.train replaced by a recorder: what train_ddpm hands the book's loop, with nothing trained."""
    import types

    import utils.train

    calls = []

    def train(model, loss_fn, get_batch, **kwargs):
        calls.append(types.SimpleNamespace(model=model, loss=loss_fn, get_batch=get_batch, kwargs=kwargs))
        return "the history"

    monkeypatch.setattr(utils.train, "train", train)
    return calls


def _check_average(call, ema, decay):
    """``call``'s on_step is a moving average with ``decay`` of the trained model, and ``ema`` is its model."""
    average = call.kwargs["on_step"]
    assert ema is average.model and not ema.training
    before = [p.clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in call.model.parameters():
            p.add_(1.0)
    average(1, call.model)
    for old, new, live in zip(before, ema.parameters(), call.model.parameters()):
        torch.testing.assert_close(new, decay * old + (1 - decay) * live)


def _same_batches(get_batch, want):
    return all(torch.equal(a, b) for step in (0, 1, 9) for a, b in zip(get_batch(step), want(step)))


def test_train_ddpm_hands_the_loop_the_recipes_defaults(fake_train):
    from utils.train import batch_sampler

    model, points = torch.nn.Linear(2, 2), torch.randn(300, 2)
    ema, history = D.train_ddpm(model, points, S10, steps=1000)
    (call,) = fake_train
    assert call.model is model and history == "the history"
    assert call.kwargs.keys() == {"steps", "lr", "warmup", "progress", "on_step"}
    assert (call.kwargs["steps"], call.kwargs["lr"], call.kwargs["warmup"]) == (1000, 2e-3, 100)
    assert call.kwargs["progress"] is False
    assert len(call.get_batch(0)[0]) == 128 and _same_batches(call.get_batch, batch_sampler(points, batch_size=128))
    _check_average(call, ema, 0.99)


@pytest.mark.parametrize("steps, warmup, expected", [(1, None, 0), (11, None, 2), (499, None, 99), (1000, None, 100),
                                                     (11, 7, 7), (1000, 0, 0)])
def test_train_ddpm_warms_up_for_a_fifth_of_a_short_run_at_most_100_steps(fake_train, steps, warmup, expected):
    D.train_ddpm(torch.nn.Linear(2, 2), torch.randn(8, 2), S10, steps=steps, warmup=warmup)
    got = fake_train[0].kwargs["warmup"]
    assert got == expected and type(got) is int


class _PointNet(torch.nn.Module):
    """A denoiser of points that reads x_t, t and, given ``cond_size``, the condition rows."""

    def __init__(self, cond_size=0):
        super().__init__()
        self.lin = torch.nn.Linear(2 + 1 + cond_size, 2)

    def forward(self, x_t, t, *cond):
        return self.lin(torch.cat([x_t, t.float().unsqueeze(1) / 10, *cond], 1))


@pytest.mark.parametrize("target", ["eps", "x0"])
@pytest.mark.parametrize("p_uncond", [None, 0.0, 0.5])
def test_train_ddpm_passes_its_arguments_and_seeds_the_loss(fake_train, target, p_uncond):
    from utils.train import batch_sampler

    torch.manual_seed(0)
    points, cond, null = torch.randn(40, 2), torch.randn(40, 3), torch.zeros(3)
    conditional = p_uncond is not None
    model = _PointNet(3 if conditional else 0)
    extra = dict(cond=cond, null=null, p_uncond=p_uncond) if conditional else {}
    ema, _ = D.train_ddpm(model, points, S10, steps=5, batch=16, lr=0.01, warmup=1, ema_decay=0.5, seed=3,
                          progress=True, target=target, **extra)
    (call,) = fake_train
    assert call.kwargs["lr"] == 0.01 and call.kwargs["warmup"] == 1 and call.kwargs["steps"] == 5
    assert call.kwargs["progress"] is True
    tensors = (points, cond) if conditional else (points,)
    assert _same_batches(call.get_batch, batch_sampler(*tensors, batch_size=16, seed=3))
    # The loss: ddpm_loss with the noise drawn from one generator seeded with seed, kept from step to step
    # (the dropped conditions are drawn from it first).
    gen, batches = torch.Generator().manual_seed(3), [call.get_batch(0), call.get_batch(1)]
    for batch in batches:
        got = call.loss(model, batch)
        if not conditional:
            want = D.ddpm_loss(model, batch[0], S10, generator=gen, target=target)
        else:
            rows = D.drop_conditions(batch[1], null, p_uncond, gen) if p_uncond else batch[1]
            if p_uncond:
                assert not torch.equal(rows, batch[1])  # some rows dropped: the test sees the drops
            net = lambda x_t, t, rows=rows: model(x_t, t, rows)  # noqa: E731
            want = D.ddpm_loss(net, batch[0], S10, generator=gen, target=target)
        assert torch.equal(got, want)
    _check_average(call, ema, 0.5)


def test_train_ddpm_checks_its_arguments_at_the_edges(fake_train):
    model, points, cond, null = _LIN, torch.randn(8, 2), torch.randn(8, 3), torch.zeros(3)
    accepted = [dict(), dict(cond=cond), dict(cond=cond, null=null, p_uncond=1.0), dict(null=null, p_uncond=0.0),
                dict(images=torch.rand(4, 1, 2, 2) * 2 - 1), dict(images=torch.randn(8, 2, dtype=torch.float64))]
    for kwargs in accepted:
        D.train_ddpm(model, kwargs.pop("images", points), S10, steps=1, **kwargs)
    assert len(fake_train) == len(accepted)
    refused = [(dict(steps=True), "^steps must be a positive int"), (dict(steps=2.0), "^steps must be a positive int"),
               (dict(steps=0), "^steps must be a positive int"),
               (dict(images=None), "^images must be a floating-point tensor"),
               (dict(images=points.long()), "^images must be a floating-point tensor"),
               (dict(images=points[:, 0]), "^images must be a floating-point tensor"),
               (dict(cond=cond, null=null, p_uncond=-0.1), "^p_uncond must be"),
               (dict(cond=cond, null=null, p_uncond=1.5), "^p_uncond must be"),
               (dict(cond=cond[:7]), "^cond must have one row per picture"),
               (dict(cond=cond, p_uncond=0.5), "^p_uncond > 0 needs both"),
               (dict(null=null, p_uncond=0.5), "^p_uncond > 0 needs both")]
    for kwargs, message in refused:
        with pytest.raises((TypeError, ValueError), match=message):
            D.train_ddpm(model, kwargs.pop("images", points), S10, **{"steps": 1, **kwargs})
    assert len(fake_train) == len(accepted)


def test_the_landscape_recipe_builds_chapter_7s_unet_and_fits_it_with_its_sizes(monkeypatch):
    from utils.data import sample_landscapes
    from utils.recipes import LANDSCAPE_DDPM as recipe
    from utils.unet import UNet

    assert (recipe.name, recipe.chapter) == ("ddpm_landscapes", "07_diffusion_images")
    sizes = dict(recipe.sizes["cpu"], pictures=12, steps=3)
    model = recipe.build(sizes)
    torch.manual_seed(0)
    again = UNet(in_channels=3, channels=(16, 32))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    calls = []

    def fake(unet, images, schedule, **kwargs):
        calls.append((unet, images, schedule, kwargs))
        return "the average", "the history"

    monkeypatch.setattr(D, "train_ddpm", fake)
    assert recipe.fit(model, sizes) == "the average"
    ((unet, images, schedule, kwargs),) = calls
    assert unet is model and torch.equal(images, sample_landscapes(12, seed=0).images * 2 - 1)
    assert torch.equal(schedule.alpha_bar, D.cosine_schedule(100).alpha_bar)
    assert kwargs == dict(steps=3, batch=64, lr=2e-3, ema_decay=0.99, target="x0")
    assert recipe.sizes["gpu"]["channels"] == (64, 128) and recipe.sizes["smoke"] == {"steps": 3, "pictures": 500}


def test_train_ddpm_checks_the_range_of_pictures_but_not_of_latents(fake_train):
    latents = 3 * torch.randn(20, 4, 4, 4)  # an autoencoder's latents: not pictures in [-1, 1]
    with pytest.raises(ValueError, match="images"):
        D.train_ddpm(torch.nn.Conv2d(4, 4, 1), latents, S10, steps=2)
    D.train_ddpm(torch.nn.Conv2d(4, 4, 1), latents, S10, steps=2, pictures=False)
    assert len(fake_train) == 1
