"""Tests of utils.gan: seed-parallel MLPs equal separate MLPs; R1 equals its definition; the DCGAN
pair has the promised shapes and checks its input; one game step moves each player only in its turn."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from utils.gan import ImageDiscriminator, ImageGenerator, SeedParallelMLP, gan_step, r1_penalty


def test_shapes_and_per_seed_independence():
    net = SeedParallelMLP([0, 1, 2], 2, 3, width=8, depth=2)
    x = torch.randn(3, 5, 2)
    out = net(x)
    assert out.shape == (3, 5, 3)
    # the network of seed 1 does not depend on which other seeds are trained beside it
    alone = SeedParallelMLP([1], 2, 3, width=8, depth=2)
    assert torch.allclose(alone(x[1:2]), out[1:2], atol=1e-6)


def test_gradients_do_not_mix_between_seeds():
    net = SeedParallelMLP([0, 1], 2, 1, width=8)
    net(torch.randn(2, 4, 2))[0].sum().backward()
    for weight in net.weights:
        assert weight.grad[1].abs().sum() == 0 and weight.grad[0].abs().sum() > 0


def test_matches_a_plain_mlp_with_the_same_weights():
    net = SeedParallelMLP([7], 2, 1, width=8, depth=3)
    layers = []
    for k, (w, b) in enumerate(zip(net.weights, net.biases)):
        linear = nn.Linear(w.shape[1], w.shape[2])
        linear.weight.data, linear.bias.data = w[0].T.clone(), b[0, 0].clone()
        layers += [linear] + ([nn.ReLU()] if k < len(net.weights) - 1 else [])
    x = torch.randn(10, 2)
    assert torch.allclose(nn.Sequential(*layers)(x), net(x[None])[0], atol=1e-6)


@pytest.mark.parametrize("kwargs, name", [(dict(seeds=[]), "seeds"), (dict(seeds=[-1]), "seeds"),
                                          (dict(width=0), "width"), (dict(depth=-2), "depth")])
def test_bad_arguments_raise(kwargs, name):
    args = dict(seeds=[0], inputs=2, outputs=1) | kwargs
    with pytest.raises(ValueError, match=name):
        SeedParallelMLP(**args)


def test_bad_input_shape_raises():
    net = SeedParallelMLP([0, 1], 2, 1)
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.randn(3, 4, 2))
    with pytest.raises(ValueError, match="x must be"):
        net(torch.randn(4, 2))


@settings(max_examples=20, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.integers(1, 6))
def test_r1_of_a_linear_discriminator_is_its_squared_slope(a, b, batch):
    # D(x) = a x1 + b x2 has gradient (a, b) everywhere: R1 = a^2 + b^2
    real = torch.randn(batch, 2, dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([a, b], dtype=torch.float64, requires_grad=True)
    penalty = r1_penalty(real @ weight, real)
    assert abs(penalty.item() - (a * a + b * b)) < 1e-9
    penalty.backward()  # the penalty is differentiable in D's weights: d/dw (a^2 + b^2) = 2 w
    assert torch.allclose(weight.grad, 2 * weight.detach())


def test_r1_per_seed_and_input_checks():
    real = torch.randn(3, 4, 2, requires_grad=True)
    scale = torch.tensor([1.0, 2.0, 3.0])[:, None]
    penalty = r1_penalty((real.sum(-1) * scale), real)
    assert torch.allclose(penalty, 2 * scale[:, 0] ** 2)
    with pytest.raises(ValueError, match="real"):
        r1_penalty(torch.zeros(3, requires_grad=True), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="d_real"):
        r1_penalty(torch.zeros(3), torch.zeros(3, 2, requires_grad=True))


@pytest.mark.parametrize("channels, size, n_classes", [(1, 8, 0), (1, 8, 10), (3, 16, 0), (3, 32, 4)])
def test_dcgan_shapes(channels, size, n_classes):
    generator = ImageGenerator(latent=8, channels=channels, size=size, width=4, n_classes=n_classes)
    discriminator = ImageDiscriminator(channels=channels, size=size, width=4, n_classes=n_classes)
    labels = torch.arange(5) % n_classes if n_classes else None
    extra = () if labels is None else (labels,)
    images = generator(torch.randn(5, 8), *extra)
    assert images.shape == (5, channels, size, size) and images.abs().max() <= 1
    assert discriminator(images, *extra).shape == (5,)


def test_conditioning_changes_the_output():
    generator = ImageGenerator(latent=8, width=4, n_classes=3).eval()
    discriminator = ImageDiscriminator(width=4, n_classes=3)
    nn.init.normal_(discriminator.embed.weight)
    z = torch.randn(1, 8).expand(3, 8)
    assert not torch.allclose(generator(z, torch.tensor([0, 1, 2]))[0], generator(z, torch.tensor([0, 1, 2]))[1])
    x = torch.rand(1, 1, 8, 8).expand(3, 1, 8, 8)
    logits = discriminator(x, torch.tensor([0, 1, 2]))
    assert len(set(logits.tolist())) == 3


@pytest.mark.parametrize("kwargs, match", [(dict(size=12), "size"), (dict(size=4), "size"),
                                           (dict(width=0), "width"), (dict(channels=True), "channels")])
def test_dcgan_bad_arguments(kwargs, match):
    for net in (ImageGenerator, ImageDiscriminator):
        with pytest.raises(ValueError, match=match):
            net(**kwargs)


def test_dcgan_bad_input():
    generator, conditional = ImageGenerator(latent=8, width=4), ImageGenerator(latent=8, width=4, n_classes=10)
    with pytest.raises(ValueError, match="z must have shape"):
        generator(torch.randn(2, 7))
    with pytest.raises(ValueError, match="labels given"):
        generator(torch.randn(2, 8), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="labels must be an int64"):
        conditional(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        conditional(torch.randn(2, 8), torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="images must have shape"):
        ImageDiscriminator(width=4)(torch.rand(2, 8, 8))


@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_gan_step_moves_only_the_player_whose_turn_it_is(frozen):
    torch.manual_seed(0)
    generator, discriminator = ImageGenerator(latent=8, width=4), ImageDiscriminator(width=4)
    opt_g = torch.optim.SGD(generator.parameters(), lr=0.0 if frozen == "generator" else 0.1)
    opt_d = torch.optim.SGD(discriminator.parameters(), lr=0.0 if frozen == "discriminator" else 0.1)
    before = {name: [p.clone() for p in net.parameters()]
              for name, net in (("generator", generator), ("discriminator", discriminator))}
    log = gan_step(generator, discriminator, opt_g, opt_d, torch.rand(6, 1, 8, 8) * 2 - 1, torch.randn(6, 8), gamma=1.0)
    assert set(log) == {"d_loss", "g_loss", "D(x)", "D(G(z))"} and all(torch.isfinite(torch.tensor(list(log.values()))))
    for name, net in (("generator", generator), ("discriminator", discriminator)):
        same = all(torch.equal(a, b) for a, b in zip(before[name], net.parameters()))
        assert same == (name == frozen)


def test_r1_of_images_sums_over_each_image():
    real = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 2, dtype=torch.float64)
    penalty = r1_penalty((real * weight).sum((1, 2, 3)), real, sample_dims=3)
    assert torch.allclose(penalty, weight.pow(2).sum())
    with pytest.raises(ValueError, match="sample_dims"):
        r1_penalty((real * weight).sum((1, 2, 3)), real, sample_dims=4)


# ---- The networks and the game written out with torch's functions, reading the weights by name: a changed
# operator, constant or argument anywhere changes a number these tests compare.
import copy  # noqa: E402
import math  # noqa: E402

import torch.nn.functional as F  # noqa: E402

from utils import gan  # noqa: E402


def _randomised(net, seed=1):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return net


def _generator_by_hand(g, z, labels, latent, width, stages, channels):
    top = width * 2**stages
    if labels is not None:
        z = torch.cat([z, g.embed.weight[labels]], 1)
    assert g.stem[0].in_features == (2 * latent if labels is not None else latent)
    h = (z @ g.stem[0].weight.T + g.stem[0].bias).view(len(z), top, 4, 4)
    norm = lambda h, bn: F.batch_norm(h, None, None, bn.weight, bn.bias, training=True, eps=1e-5)
    h = F.relu(norm(h, g.stem[2]))
    for k in range(stages):
        conv, bn = g.up[3 * k], g.up[3 * k + 1]
        assert conv.weight.shape == (top // 2**k, top // 2 ** (k + 1), 4, 4)
        h = F.relu(norm(F.conv_transpose2d(h, conv.weight, conv.bias, stride=2, padding=1), bn))
    assert h.shape[1] == width
    return torch.tanh(F.conv2d(h, g.to_pixels.weight, g.to_pixels.bias, padding=1))


def _discriminator_by_hand(d, images, labels, width, stages):
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    h = F.leaky_relu(F.conv2d(images, convs[0].weight, convs[0].bias, padding=1), 0.2)
    for k in range(stages):
        assert convs[k + 1].weight.shape == (width * 2 ** (k + 1), width * 2**k, 4, 4)
        h = F.leaky_relu(F.conv2d(h, convs[k + 1].weight, convs[k + 1].bias, stride=2, padding=1), 0.2)
    h = h.flatten(1)
    logit = h @ d.out.weight[0] + d.out.bias[0]
    return logit if labels is None else logit + (d.embed.weight[labels] * h).sum(1)


@pytest.mark.parametrize("size, n_classes", [(8, 0), (16, 5)])
def test_dcgan_pair_written_out(size, n_classes):
    stages = {8: 1, 16: 2}[size]
    torch.manual_seed(0)
    g = _randomised(ImageGenerator(latent=3, channels=2, size=size, width=4, n_classes=n_classes))
    d = _randomised(ImageDiscriminator(channels=2, size=size, width=4, n_classes=n_classes))
    z = torch.randn(5, 3)
    labels = torch.tensor([0, 4, 2, 2, 1]) if n_classes else None
    extra = () if labels is None else (labels,)
    fake = g(z, *extra)
    assert fake.shape == (5, 2, size, size)
    torch.testing.assert_close(fake, _generator_by_hand(g, z, labels, 3, 4, stages, 2))
    torch.testing.assert_close(d(fake, *extra), _discriminator_by_hand(d, fake, labels, 4, stages))
    assert len([m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]) == 0  # each image judged alone


def test_the_projection_starts_at_zero_and_only_conditional_networks_embed():
    d = ImageDiscriminator(width=4, n_classes=3)
    assert torch.equal(d.embed.weight, torch.zeros(3, 4 * 2 * 16))
    assert ImageDiscriminator(width=4).embed is None and ImageGenerator(width=4).embed is None
    g = ImageGenerator(latent=6, width=4, n_classes=3)
    assert g.embed.weight.shape == (3, 6) and g.latent == 6 and g.n_classes == 3 and d.n_classes == 3


def test_default_sizes():
    g, d = ImageGenerator(), ImageDiscriminator()
    assert g.latent == 32 and g.n_classes == 0 and g.to_pixels.out_channels == 1 and g.to_pixels.in_channels == 64
    assert d.channels == 1 and d.size == 8 and d.n_classes == 0 and d.features[0].out_channels == 64
    assert g(torch.zeros(2, 32)).shape == (2, 1, 8, 8)
    for size in (8, 16, 32):
        ImageGenerator(size=size, width=2), ImageDiscriminator(size=size, width=2)
    ImageGenerator(latent=1, channels=1, width=1, n_classes=0), ImageDiscriminator(channels=1, width=1)


def test_seed_parallel_weights_are_drawn_per_seed_and_layer_as_nn_linear_draws_them():
    net = SeedParallelMLP([3, 0], 2, 1, width=5, depth=2)
    assert net.seeds == [3, 0] and len(net.weights) == 3
    for layer, (fan_in, fan_out) in enumerate([(2, 5), (5, 5), (5, 1)]):
        for row, seed in enumerate([3, 0]):
            gen = torch.Generator().manual_seed(seed * 1009 + layer)
            bound = 1 / math.sqrt(fan_in)
            w = torch.empty(fan_in, fan_out).uniform_(-bound, bound, generator=gen)
            b = torch.empty(1, fan_out).uniform_(-bound, bound, generator=gen)
            assert torch.equal(net.weights[layer][row], w) and torch.equal(net.biases[layer][row], b)
    default = SeedParallelMLP(range(2), 1, 1)
    assert [tuple(w.shape) for w in default.weights] == [(2, 1, 64), (2, 64, 64), (2, 64, 64), (2, 64, 1)]
    x = torch.randn(2, 3, 1)  # ReLU between layers, none after the last
    h = x
    for k, (w, b) in enumerate(zip(default.weights, default.biases)):
        h = h @ w + b
        h = F.relu(h) if k < 3 else h
    torch.testing.assert_close(default(x), h)
    SeedParallelMLP((0,), 1, 1, width=1, depth=1)  # the smallest network


def _one_round_by_hand(g, d, real, z, labels, gamma, lr):
    """gan_step with plain SGD, written out: D's loss and step, then G's loss through the stepped D."""
    extra = () if labels is None else (labels,)
    g0, d0 = copy.deepcopy(g), copy.deepcopy(d)
    fake = g0(z, *extra)
    x = real.clone().requires_grad_(True)
    d_real, d_fake = d0(x, *extra), d0(fake.detach(), *extra)
    d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if gamma:
        (grad,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
        d_loss = d_loss + gamma / 2 * grad.pow(2).sum((1, 2, 3)).mean()
    grads = torch.autograd.grad(d_loss, list(d0.parameters()))
    with torch.no_grad():
        for p, grad in zip(d0.parameters(), grads):
            p -= lr * grad
    d_fake_after = d0(fake, *extra)
    g_loss = F.softplus(-d_fake_after).mean()
    grads = torch.autograd.grad(g_loss, list(g0.parameters()), allow_unused=True)
    with torch.no_grad():
        for p, grad in zip(g0.parameters(), grads):
            if grad is not None:
                p -= lr * grad
    numbers = {"d_loss": d_loss, "g_loss": g_loss, "D(x)": torch.sigmoid(d_real).mean(),
               "D(G(z))": torch.sigmoid(d_fake_after).mean()}
    return g0, d0, numbers


@pytest.mark.parametrize("gamma, n_classes", [(None, 0), (0.5, 0), (3.0, 4)])
def test_gan_step_is_the_game_written_out(gamma, n_classes):
    torch.manual_seed(0)
    g = _randomised(ImageGenerator(latent=3, width=4, n_classes=n_classes))
    d = _randomised(ImageDiscriminator(width=4, n_classes=n_classes), seed=2)
    real, z = torch.rand(6, 1, 8, 8) * 2 - 1, torch.randn(6, 3)
    labels = torch.tensor([0, 3, 1, 1, 2, 0]) if n_classes else None
    g_hand, d_hand, expected = _one_round_by_hand(g, d, real, z, labels, gamma or 0.0, lr=0.05)
    opt_g, opt_d = (torch.optim.SGD(net.parameters(), lr=0.05) for net in (g, d))
    got = gan_step(g, d, opt_g, opt_d, real, z, labels) if gamma is None else \
        gan_step(g, d, opt_g, opt_d, real, z, labels, gamma=gamma)  # by default without R1
    assert set(got) == set(expected)
    for key in expected:
        assert not got[key].requires_grad and got[key].ndim == 0
        torch.testing.assert_close(got[key], expected[key].detach())
    for net, hand in ((g, g_hand), (d, d_hand)):
        for (name, p), q in zip(net.named_parameters(), hand.parameters()):
            torch.testing.assert_close(p, q, msg=name)
    assert not real.requires_grad  # the caller's batch is left as it was


def test_r1_penalty_per_seed_and_by_default_over_the_last_dimension():
    real = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)  # (seeds, batch, coordinates)
    slopes = torch.randn(2, 1, 4, dtype=torch.float64)
    penalty = r1_penalty((real * slopes + real**2 / 2).sum(-1), real)  # gradient: slopes + real
    torch.testing.assert_close(penalty, (slopes + real).pow(2).sum(-1).mean(-1))
    assert penalty.requires_grad  # the graph is kept, so the penalty trains D
    r1_penalty((real * slopes).sum((1, 2)), real, sample_dims=2)  # (seeds, batch x coordinates)


def _train_by_hand(g, d, images, labels, steps, batch, lr, betas, gamma, seed):
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=betas)
    rng = torch.Generator().manual_seed(seed)
    log = {"d_loss": [], "g_loss": [], "D(x)": [], "D(G(z))": []}
    g.train(), d.train()
    for _ in range(steps):
        index = torch.randint(0, len(images), (batch,), generator=rng)
        z = torch.randn(batch, g.latent, generator=rng)
        numbers = gan_step(g, d, opt_g, opt_d, images[index], z, None if labels is None else labels[index],
                           gamma=gamma)
        for key, value in numbers.items():
            log[key].append(value.item())
    return log


@pytest.mark.parametrize("conditional", [False, True])
def test_train_gan_plays_the_rounds_it_promises(conditional):
    n_classes = 3 if conditional else 0
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(20, 1, 8, 8, generator=gen) * 2 - 1
    labels = torch.randint(0, 3, (20,), generator=gen) if conditional else None
    torch.manual_seed(0)
    g, d = ImageGenerator(latent=4, width=4, n_classes=n_classes), ImageDiscriminator(width=4, n_classes=n_classes)
    g_hand, d_hand = copy.deepcopy(g), copy.deepcopy(d)
    watched_modes = []

    def watch(step, generator):
        watched_modes.append((generator.training, torch.is_grad_enabled()))
        return step * 10

    args = dict(steps=5, batch=6, lr=2e-3, betas=(0.3, 0.9), gamma=1.5, seed=4)
    log = gan.train_gan(g, d, images, labels, every=2, watch=watch, **args)
    expected = _train_by_hand(g_hand, d_hand, images, labels, **args)
    for key, values in expected.items():
        assert log[key] == pytest.approx(values, rel=1e-5, abs=1e-6), key
    for p, q in zip(list(g.parameters()) + list(d.parameters()), list(g_hand.parameters()) + list(d_hand.parameters())):
        torch.testing.assert_close(p, q)
    assert log["watched"] == [(2, 20), (4, 40)] and watched_modes == [(False, False)] * 2
    assert log["seconds"] > 0 and not g.training
    assert gan.train_gan(g, d, images, labels, steps=1)["watched"] == []  # no watch: nothing watched


def test_train_gan_defaults_are_dcgans():
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(70, 1, 8, 8, generator=gen) * 2 - 1
    torch.manual_seed(0)
    g, d = ImageGenerator(latent=4, width=4), ImageDiscriminator(width=4)
    g_hand, d_hand = copy.deepcopy(g), copy.deepcopy(d)
    log = gan.train_gan(g, d, images, steps=2)
    expected = _train_by_hand(g_hand, d_hand, images, None, steps=2, batch=64, lr=5e-4, betas=(0.5, 0.999),
                              gamma=0.0, seed=0)
    assert log["d_loss"] == pytest.approx(expected["d_loss"], rel=1e-5)
    for p, q in zip(g.parameters(), g_hand.parameters()):
        torch.testing.assert_close(p, q)


def _message(call, error=ValueError):
    with pytest.raises(error) as caught:
        call()
    return str(caught.value)


_IMAGES = torch.zeros(4, 1, 8, 8)
_G, _D = ImageGenerator(latent=4, width=4), ImageDiscriminator(width=4)
_GC = ImageGenerator(latent=4, width=4, n_classes=3)
_OPT = torch.optim.SGD(_G.parameters(), lr=0.1)
_Z = torch.zeros(4, 4)
GAN_MESSAGES = [
    (lambda: r1_penalty(None, torch.zeros(3, 2, requires_grad=True)),
     "d_real must be the discriminator's output on real, still attached to the graph, got NoneType"),
    (lambda: r1_penalty(torch.zeros(3, requires_grad=True), None),
     "real must be a tensor that requires grad (call real.requires_grad_(True) before D(real)), got NoneType"),
    (lambda: gan_step(_G, _D, _OPT, _OPT, _IMAGES, _Z, gamma=-1.0), "gamma must be a finite number >= 0, got -1.0"),
    (lambda: gan.train_gan(_G, _D, _IMAGES + 5, steps=1), "images must hold pixels in [-1, 1], got values in [5, 5], "
     "which looks like 0..255: map them with x / 127.5 - 1"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, lr=0.0), "lr must be a finite number > 0, got 0.0"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, gamma=-1.0), "gamma must be a finite number >= 0, got -1.0"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, seed=-1), "seed must be an int >= 0, got -1"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, every=0), "every must be an int >= 1, got 0"),
    (lambda: gan.train_gan(ImageGenerator(latent=4, width=4).to("meta"), _D, _IMAGES, steps=1),
     "generator is on meta, but the cpu profile trains and samples on cpu: move it there first (generator = "
     "generator.to(device), with device from utils.device.setup())"),
    (lambda: gan.train_gan(_G, ImageDiscriminator(width=4).to("meta"), _IMAGES, steps=1),
     "discriminator is on meta, but the cpu profile trains and samples on cpu: move it there first (discriminator = "
     "discriminator.to(device), with device from utils.device.setup())"),
    (lambda: SeedParallelMLP("01", 2, 1), "seeds must be a non-empty list of non-negative ints, got '01'"),
    (lambda: SeedParallelMLP(3, 2, 1), "seeds must be a non-empty list of non-negative ints, got 3"),
    (lambda: SeedParallelMLP([0.5], 2, 1), "seeds must be a non-empty list of non-negative ints, got [0.5]"),
    (lambda: SeedParallelMLP([0], 2, 0), "outputs must be a positive int, got 0"),
    (lambda: SeedParallelMLP([0], 2.0, 1), "inputs must be a positive int, got 2.0"),
    (lambda: SeedParallelMLP([0], 2, 1, width=0), "width must be a positive int, got 0"),
    (lambda: SeedParallelMLP([0], 2, 1, depth=0), "depth must be a positive int, got 0"),
    (lambda: SeedParallelMLP([0, 1], 2, 1)(torch.zeros(2, 3)), "x must be a tensor of shape (seeds, batch, inputs), "
     "got (2, 3)"),
    (lambda: SeedParallelMLP([0, 1], 2, 1)([1]), "x must be a tensor of shape (seeds, batch, inputs), got list"),
    (lambda: SeedParallelMLP([0, 1], 2, 1)(torch.zeros(2, 3, 1)), "x must have shape (2, batch, 2), got (2, 3, 1)"),
    (lambda: r1_penalty(torch.zeros(3), torch.zeros(3, 2, requires_grad=True)),
     "d_real must be the discriminator's output on real, still attached to the graph, got a float32 tensor of "
     "shape (3,) without grad"),
    (lambda: r1_penalty(torch.zeros(3, requires_grad=True), torch.zeros(3, 2)),
     "real must be a tensor that requires grad (call real.requires_grad_(True) before D(real)), got a float32 "
     "tensor of shape (3, 2) without grad"),
    (lambda: r1_penalty(torch.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)),
     "real must have shape (..., batch, 1 dims of a sample) with sample_dims >= 1, got shape (3,) and "
     "sample_dims=1"),
    (lambda: r1_penalty(torch.zeros(3, requires_grad=True), torch.zeros(3, 2, requires_grad=True), 0),
     "real must have shape (..., batch, 0 dims of a sample) with sample_dims >= 1, got shape (3, 2) and "
     "sample_dims=0"),
    (lambda: ImageGenerator(size=12), "size must be 8, 16, 32, ... (4 doubled at least once), got 12"),
    (lambda: ImageGenerator(size=4), "size must be 8, 16, 32, ... (4 doubled at least once), got 4"),
    (lambda: ImageGenerator(size=24), "size must be 8, 16, 32, ... (4 doubled at least once), got 24"),
    (lambda: ImageGenerator(width=0), "width must be a positive int, got 0"),
    (lambda: ImageGenerator(channels=True), "channels must be a positive int, got True"),
    (lambda: ImageDiscriminator(size=8.0), "size must be a positive int, got 8.0"),
    (lambda: ImageGenerator(latent=0), "latent must be a positive int, got 0"),
    (lambda: ImageGenerator(latent=True), "latent must be a positive int, got True"),
    (lambda: ImageGenerator(n_classes=-1), "n_classes must be an int >= 0, got -1"),
    (lambda: ImageDiscriminator(n_classes=-1), "n_classes must be an int >= 0, got -1"),
    (lambda: _G(torch.zeros(2, 5)), "z must have shape (batch, 4), got (2, 5)"),
    (lambda: _G(torch.zeros(4)), "z must have shape (batch, 4), got (4,)"),
    (lambda: _G(None), "z must have shape (batch, 4), got NoneType"),
    (lambda: _G([0.0]), "z must have shape (batch, 4), got list"),
    (lambda: _G(torch.zeros(2, 4), torch.zeros(2).long()), "labels given to a network built without n_classes"),
    (lambda: _GC(torch.zeros(2, 4), torch.zeros(2)), "labels must be an int64 tensor of shape (2,), got "
     "torch.float32 (2,)"),
    (lambda: _GC(torch.zeros(2, 4), [0, 1]), "labels must be an int64 tensor of shape (2,), got list ()"),
    (lambda: _GC(torch.zeros(2, 4), torch.zeros(3).long()), "labels must be an int64 tensor of shape (2,), got "
     "torch.int64 (3,)"),
    (lambda: _GC(torch.zeros(2, 4), torch.tensor([-1, 2])), "labels must be in [0, 3), got [-1, 2]"),
    (lambda: _GC(torch.zeros(2, 4), torch.tensor([0, 3])), "labels must be in [0, 3), got [0, 3]"),
    (lambda: _D(torch.zeros(2, 1, 8, 4)), "images must have shape (batch, 1, 8, 8), got (2, 1, 8, 4)"),
    (lambda: _D(torch.zeros(1, 8, 8)), "images must have shape (batch, 1, 8, 8), got (1, 8, 8)"),
    (lambda: _D("x"), "images must have shape (batch, 1, 8, 8), got str"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, torch.zeros(3).long(), steps=1),
     "labels must be a tensor of shape (4,), one per image"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, [0, 1, 2, 3], steps=1),
     "labels must be a tensor of shape (4,), one per image"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1.0), "steps must be a positive int, got 1.0"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=True), "steps must be a positive int, got True"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, batch=0), "batch must be a positive int, got 0"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, betas=(0.5,)), "betas must be two numbers in [0, 1), got (0.5,)"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, betas=(0.5, 1.0)),
     "betas must be two numbers in [0, 1), got (0.5, 1.0)"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, betas=(-0.1, 0.9)),
     "betas must be two numbers in [0, 1), got (-0.1, 0.9)"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, betas="ab"), "betas must be two numbers in [0, 1), got 'ab'"),
]


@pytest.mark.parametrize("call, message", GAN_MESSAGES, ids=[m[:40] for _, m in GAN_MESSAGES])
def test_every_bad_input_gets_its_whole_message(call, message):
    assert _message(call) == message


_NO_STEP = type("HalfOptimizer", (), {"zero_grad": lambda self: None})()
GAN_TYPE_MESSAGES = [
    (lambda: gan_step(None, _D, _OPT, _OPT, _IMAGES, _Z), "generator must be the generator network, got NoneType"),
    (lambda: gan_step(_G, 3, _OPT, _OPT, _IMAGES, _Z), "discriminator must be the discriminator network, got int"),
    (lambda: gan_step(_G, _D, _OPT, _NO_STEP, _IMAGES, _Z),
     "opt_d must be a torch optimizer (torch.optim.Adam(...)), got HalfOptimizer"),
    (lambda: gan_step(_G, _D, _OPT, _OPT, [1.0], _Z),
     "real must be a tensor (B, C, H, W) of real pictures in [-1, 1], got list"),
    (lambda: gan_step(_G, _D, _OPT, _OPT, _IMAGES.long(), _Z),
     "real must be a floating-point tensor (B, C, H, W) of real pictures in [-1, 1], got torch.int64"),
    (lambda: gan_step(_G, _D, _OPT, _OPT, _IMAGES, None), "z must be a tensor (B, latent) of noise, got NoneType"),
    (lambda: gan_step(_G, _D, _OPT, _OPT, _IMAGES, _Z.long()),
     "z must be a floating-point tensor (B, latent) of noise, got torch.int64"),
    (lambda: gan.train_gan(_G, _D, [[0.0]], steps=1),
     "images must be a tensor (N, C, H, W) of pictures in [-1, 1], got list"),
    (lambda: gan.train_gan(_G, _D, _IMAGES, steps=1, every=1, watch=3),
     "watch must be a function watch(step, generator), got int"),
]


@pytest.mark.parametrize("call, message", GAN_TYPE_MESSAGES, ids=[m[:40] for _, m in GAN_TYPE_MESSAGES])
def test_every_wrong_kind_of_argument_gets_its_whole_message(call, message):
    assert _message(call, TypeError) == message


class _Clock:
    """A stand-in for the time module whose perf_counter advances one second a call."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


def test_train_gan_times_the_rounds_without_the_watching(monkeypatch):
    # Each stretch of rounds between two watches costs one tick of the fake clock; watching costs none.
    from utils.flops import RUNS

    monkeypatch.setattr(gan, "time", _Clock())
    steps = []
    log = gan.train_gan(_G, _D, _IMAGES, steps=7, batch=2, every=3, watch=lambda step, g: steps.append(step))
    assert steps == [3, 6] and [s for s, _ in log["watched"]] == [3, 6]
    assert log["seconds"] == 3.0  # three stretches: rounds 1-3, 4-6, 7
    assert RUNS[-1] == {"steps": 7, "seconds": 3.0}
    assert len(log["d_loss"]) == 7


def test_the_digit_gan_recipe():
    from utils.recipes import Recipe

    made = gan._digit_gan_recipe()  # built again here, where a test can see each of its parts
    assert isinstance(made, Recipe) and made.name == "gan_digits" and made.chapter == "04b_gan_images"
    assert made.sizes == {"cpu": {"latent": 32, "batch": 64, "lr": 5e-4, "width": 32, "steps": 1500},
                          "gpu": {"latent": 32, "batch": 64, "lr": 5e-4, "width": 64, "steps": 6000},
                          "smoke": {"steps": 5}}
    assert made.sizes == gan.DIGIT_GAN.sizes and made.name == gan.DIGIT_GAN.name
    assert made.build is gan._build_digit_gan and made.fit is gan._fit_digit_gan


def test_the_recipe_builds_seeded_and_fits_with_its_sizes(monkeypatch):
    sizes = {"latent": 5, "width": 4, "steps": 3, "batch": 7, "lr": 1e-3}
    built = gan._build_digit_gan(sizes)
    torch.manual_seed(0)
    again = ImageGenerator(5, 1, 8, 4)
    assert all(torch.equal(a, b) for a, b in zip(built.parameters(), again.parameters()))
    seen = {}
    monkeypatch.setattr(gan, "train_gan", lambda g, d, images, **kw: seen.update(g=g, d=d, images=images, **kw))
    assert gan._fit_digit_gan(built, sizes) is built
    assert seen["g"] is built and (seen["steps"], seen["batch"], seen["lr"]) == (3, 7, 1e-3)
    assert isinstance(seen["d"], ImageDiscriminator) and seen["d"].features[0].out_channels == 4
    assert (seen["d"].channels, seen["d"].size) == (1, 8)  # grey 8x8 digits
    assert seen["images"].min() == -1 and seen["images"].max() == 1  # the digits in [-1, 1]


def test_bad_players_and_optimisers_are_named():
    assert _message(lambda: gan.train_gan(_G, None, _IMAGES, steps=1), TypeError) == \
        "discriminator must be a torch.nn.Module, got NoneType"
    assert _message(lambda: gan.train_gan(lambda z: z, _D, _IMAGES, steps=1), TypeError).startswith(
        "generator must be a torch.nn.Module, got function")
    assert _message(lambda: gan_step(_G, _D, _OPT, "adam", _IMAGES, torch.zeros(4, 4)), TypeError) == \
        "opt_d must be a torch optimizer (torch.optim.Adam(...)), got str"
    assert _message(lambda: gan_step(_G, _D, object(), _OPT, _IMAGES, torch.zeros(4, 4)), TypeError).startswith(
        "opt_g must be a torch optimizer (torch.optim.Adam(...)), got")
    # train_gan accepts the edges of its ranges
    gan.train_gan(_G, _D, _IMAGES, steps=1, batch=1, betas=[0.0, 0.0], gamma=0.0, seed=0, every=1, watch=None)
