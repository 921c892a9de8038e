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
