"""The VAE: the reparameterised sample, the KL in closed form, the two bounds against the exact likelihood of a
one-dimensional latent, sampling, and the training that keeps the best validation step."""

import math

import torch

from utils import pixelcnn as PX
from utils import vae as V
from utils.data import load_digits
from utils.data.digits import LEVELS, digit_levels


def tiny_vae(latent=1, seed=0):
    torch.manual_seed(seed)
    return V.DigitVAE(latent=latent, hidden=16).eval()


LEVELS8 = digit_levels(load_digits().x_test[:6])


def test_reparameterise_is_mu_plus_the_standard_deviation_times_the_noise_and_carries_gradients():
    mu = torch.tensor([[0.5, -1.0]], requires_grad=True)
    logvar = torch.tensor([[math.log(4.0), 0.0]], requires_grad=True)
    noise = torch.tensor([[1.0, -2.0]])
    z = V.reparameterise(mu, logvar, noise)
    assert torch.allclose(z, torch.tensor([[2.5, -3.0]]))
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones(1, 2))
    assert torch.allclose(logvar.grad, torch.tensor([[0.5 * 2.0 * 1.0, 0.5 * 1.0 * -2.0]]))
    many = V.reparameterise(mu.detach(), logvar.detach(), torch.randn(200_000, 1, 2))  # extra leading dimension
    assert torch.allclose(many.mean(0), mu.detach(), atol=0.02)
    assert torch.allclose(many.std(0), torch.tensor([[2.0, 1.0]]), atol=0.02)


def test_gaussian_kl_is_torchs_kl_summed_over_the_last_dimension():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(5, 3), torch.ones(5, 3))
    assert torch.allclose(V.gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(-1), atol=1e-6)
    assert torch.equal(V.gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)), torch.zeros(2))


def exact_nll(model, levels):
    """-log p(x) for a one-dimensional latent, by integrating p(x | z) p(z) over a fine grid of z."""
    z = torch.linspace(-9, 9, 6001)[:, None]  # (G, 1)
    with torch.no_grad():
        logits = model.decode(z)  # (G, 64, 17)
    log_px = logits.log_softmax(-1)[:, torch.arange(64), levels].sum(-1)  # (G,) for one digit
    log_prior = -0.5 * (z[:, 0] ** 2 + math.log(2 * math.pi))
    dz = (z[1, 0] - z[0, 0]).item()
    return -(torch.logsumexp(log_px + log_prior, 0) + math.log(dz)).item()


def test_the_bounds_lie_above_the_exact_likelihood_and_the_iwae_bound_tightens_toward_it():
    model = tiny_vae(latent=1).train()  # trained a little, so that z matters and the bounds differ
    model, _ = V.fit_vae(model, PX.level_splits(load_digits()),
                         dict(steps=150, batch=64, lr=1e-2, weight_decay=0.0, eval_every=150))
    for levels in LEVELS8[:3]:
        rows = levels[None]
        truth = exact_nll(model, levels)
        with torch.no_grad():
            elbo = V.negative_elbo(model, rows.repeat(4000, 1), torch.Generator().manual_seed(1)).total.mean().item()
        iwae = {k: V.iwae_bound(model, rows.repeat(20, 1), k=k, generator=torch.Generator().manual_seed(2)).mean()
                .item() for k in (1, 1000)}
        assert elbo > truth and math.isclose(iwae[1], elbo, rel_tol=0.02)  # k = 1 is the ELBO, in expectation
        assert abs(iwae[1000] - truth) < 0.1 * (elbo - truth) + 0.01  # nearly exact


def test_the_elbo_is_reconstruction_plus_kl_and_repeats_with_a_generator():
    model = tiny_vae(latent=3)
    a = V.negative_elbo(model, LEVELS8, torch.Generator().manual_seed(0))
    b = V.negative_elbo(model, LEVELS8, torch.Generator().manual_seed(0))
    assert torch.equal(a.total, b.total) and a.total.shape == (6,)
    assert torch.allclose(a.total, a.reconstruction + a.kl)
    mu, logvar = model.encode(LEVELS8)
    assert torch.allclose(a.kl, V.gaussian_kl(mu, logvar))
    assert math.isclose(V.bits(a.total), a.total.mean().item() / (64 * math.log(2)), rel_tol=1e-6)


def test_sampling_draws_each_pixel_from_the_decoders_categorical():
    model = tiny_vae(latent=2)
    last = model.decoder[-1]
    with torch.no_grad():  # a decoder that ignores z: every pixel has the same known distribution
        last.weight.zero_()
        probs = torch.softmax(torch.linspace(-2, 2, LEVELS), 0)
        last.bias.copy_(probs.log().repeat(64))
    drawn = V.sample_digits(model, 2000, torch.Generator().manual_seed(0))
    assert drawn.shape == (2000, 64) and drawn.dtype == torch.long
    shares = torch.bincount(drawn.flatten(), minlength=LEVELS) / drawn.numel()
    assert torch.allclose(shares, probs, atol=0.005)
    assert (V.sample_digits(model, 3, pixels="mode") == LEVELS - 1).all()
    again = V.sample_digits(model, 5, torch.Generator().manual_seed(3))
    assert torch.equal(again, V.sample_digits(model, 5, torch.Generator().manual_seed(3)))


def test_fit_vae_learns_and_keeps_the_best_validation_step():
    split = PX.level_splits(load_digits())
    torch.manual_seed(0)
    model = V.DigitVAE(latent=4, hidden=32)
    before = V.bits(V.negative_elbo(model.eval(), split.val, torch.Generator().manual_seed(0)).total)
    model.train()
    model, history = V.fit_vae(model, split, dict(steps=60, batch=32, lr=3e-3, weight_decay=0.0, eval_every=20))
    steps, val = history.metric("val_bpd")
    assert steps == [20, 40, 60] and not model.training
    kept = V.bits(V.negative_elbo(model, split.val, torch.Generator().manual_seed(0)).total)
    assert math.isclose(kept, min(val), rel_tol=1e-5) and kept < before - 0.3


def test_the_recipe_builds_a_seeded_vae_and_fits_it_with_fit_vae(monkeypatch):
    from utils.recipes import VAE_DIGITS

    assert VAE_DIGITS.chapter == "11_latent_diffusion"
    for profile in ("cpu", "gpu"):
        sizes = VAE_DIGITS.sizes[profile]
        model = VAE_DIGITS.build(sizes)
        assert (model.latent, model.encoder[0].out_features, model.encoder[2].p) == (
            sizes["latent"], sizes["hidden"], sizes["dropout"])
    torch.manual_seed(0)
    again = V.DigitVAE(16, 256, 0.2)
    assert all(torch.equal(a, b) for a, b in zip(VAE_DIGITS.build(VAE_DIGITS.sizes["cpu"]).state_dict().values(),
                                                 again.state_dict().values()))
    calls = []
    monkeypatch.setattr(V, "fit_vae", lambda model, split, sizes: calls.append((model, split, sizes)) or ("m", "h"))
    assert VAE_DIGITS.fit("model", VAE_DIGITS.sizes["cpu"]) == "m"
    ((model, split, sizes),) = calls
    assert model == "model" and sizes is VAE_DIGITS.sizes["cpu"]
    assert torch.equal(split.val, PX.level_splits(load_digits()).val)


def test_the_picture_autoencoder_maps_16x16_pictures_to_a_4x4_grid_and_back():
    torch.manual_seed(0)
    model = V.PictureAutoencoder(latent=4, width=8).eval()
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 4, 4, 4)
    assert model.decode(mu).shape == (5, 3, 16, 16)
    assert torch.equal(model(x)[0], mu)
    # each latent reads only its neighbourhood: a change in one corner of the picture leaves the far corner's
    # latent alone
    y = x.clone()
    y[:, :, :2, :2] += 1
    assert torch.equal(model.encode(y)[0][..., 3, 3], mu[..., 3, 3])
    assert not torch.equal(model.encode(y)[0][..., 0, 0], mu[..., 0, 0])
    with torch.no_grad():  # a log-variance that would overflow exp is clamped
        model.encoder[-1].bias[4:].fill_(1e4)
    assert model.encode(x)[1].max() == 10
