"""Tests of utils.gan: seed-parallel MLPs equal separate MLPs; R1 equals its definition."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from utils.gan import SeedParallelMLP, r1_penalty


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
