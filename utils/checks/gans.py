"""Checkers for the GAN chapters: the two losses, the mode-coverage measure, the R1 penalty,
the size of a transposed convolution, the projection discriminator's logit, and slerp."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..gan import r1_penalty as _r1_reference
from ..metrics import mode_coverage as _coverage_reference
from .core import exercise


def _pair(check, result, what: str):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        check.fail(f"{what} should return a pair, got {type(result).__name__}", "return d_loss, g_loss")
    return result


@exercise("gan_losses")
def gan_losses(check, answer):
    """``answer(d_real, d_fake)`` (logits (B,)) -> (discriminator loss, non-saturating generator loss)."""
    d_real = torch.tensor([2.0, -1.0, 0.5, 0.0])
    d_fake = torch.tensor([-3.0, 1.0, 0.0, -0.5])
    d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    g_loss = F.softplus(-d_fake).mean()
    d_got, g_got = _pair(check, check.call(answer, d_real, d_fake, what="gan_losses(d_real, d_fake)"),
                         "gan_losses")
    check.close(d_got, d_loss, "the discriminator's loss",
                "D's loss is -log D(x) on real plus -log(1 - D(G(z))) on fake, each averaged over the batch; "
                "with logits, -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l)")
    check.passed("the discriminator's loss is the binary cross-entropy of real-vs-fake")
    saturating = -F.softplus(d_fake).mean()
    if torch.is_tensor(g_got) and g_got.numel() == 1 and torch.allclose(g_got.double(), saturating.double()):
        check.fail("the generator's loss is the saturating minimax one, log(1 - D(G(z)))",
                   "use the non-saturating loss -log D(G(z)) = softplus(-d_fake): it has strong gradients "
                   "exactly when D confidently rejects the fakes")
    check.close(g_got, g_loss, "the generator's loss",
                "the non-saturating generator loss is -log D(G(z)), averaged: softplus(-d_fake).mean()")
    check.passed("the generator's loss is the non-saturating -log D(G(z))")
    big = torch.tensor([80.0, -90.0])
    d_got, g_got = _pair(check, check.call(answer, big, -big, what="gan_losses on logits of +-90"), "gan_losses")
    check.close(d_got, F.softplus(-big).mean() + F.softplus(big.neg()).mean(), "the discriminator's loss at +-90",
                "log(sigmoid(l)) underflows for large |l|: write the losses with F.softplus or F.logsigmoid")
    check.close(g_got, F.softplus(big).mean(), "the generator's loss at +-90",
                "log(sigmoid(l)) underflows for large |l|: write the losses with F.softplus or F.logsigmoid")
    check.passed("both losses stay finite and exact for confident logits")


@exercise("mode_coverage")
def mode_coverage(check, answer):
    """``answer(samples (N, 2), modes (K, 2), std)`` -> (modes covered, share of high-quality samples)."""
    modes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    samples = torch.tensor([[0.01, 0.0], [0.02, 0.03], [1.04, 0.0], [0.5, 0.5], [0.0, 0.7], [4.0, 4.0]])
    std = 0.02  # three standard deviations: 0.06
    covered, share = _coverage_reference(samples, modes, std)  # 2 modes, 3 of 6 samples
    result = _pair(check, check.call(answer, samples, modes, std, what="mode_coverage(samples, modes, std)"),
                   "mode_coverage")
    got_modes, got_share = result
    check.close(got_share, torch.tensor(share), "the share of high-quality samples",
                "a sample is high quality if its distance to the nearest mode is at most 3 * std")
    check.passed("the share of high-quality samples is right")
    check.close(got_modes, torch.tensor(float(covered)), "the number of modes covered",
                "count a mode only if some HIGH-QUALITY sample has it as its nearest mode; a far-away sample "
                "that happens to be nearest to a mode does not cover it")
    check.passed("a mode counts as covered only through high-quality samples")
    gen = torch.Generator().manual_seed(0)
    ring = torch.stack([torch.cos(torch.arange(8) * 0.785398), torch.sin(torch.arange(8) * 0.785398)], 1) * 2
    many = ring[torch.randint(0, 5, (2500,), generator=gen)] + 0.03 * torch.randn(2500, 2, generator=gen)
    covered, share = _coverage_reference(many, ring, 0.02)
    got_modes, got_share = _pair(check, check.call(answer, many, ring, 0.02, what="mode_coverage on 2,500 points"),
                                 "mode_coverage")
    check.close(got_modes, torch.tensor(float(covered)), "modes covered by 2,500 samples near 5 of 8 modes")
    check.close(got_share, torch.tensor(share), "the high-quality share of 2,500 samples", atol=1e-4)
    check.passed("2,500 samples on 5 of the ring's 8 modes: 5 modes covered")


def _small_discriminator() -> nn.Module:
    gen = torch.Generator().manual_seed(3)
    net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return net.double()


@exercise("r1_penalty")
def r1_penalty(check, answer):
    """``answer(discriminator, real (B, 2))`` -> mean over the batch of |grad_x D(x)|^2, graph kept."""
    net = _small_discriminator()
    real = torch.randn(32, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    x = real.clone().requires_grad_(True)
    expected = _r1_reference(net(x), x).detach()
    got = check.call(answer, net, real.clone(), what="r1_penalty(discriminator, real)")
    value = check.tensor(got, "the penalty")
    if value.numel() != 1:
        check.fail(f"the penalty should be one number, got shape {tuple(value.shape)}",
                   "square the gradient, sum over the two coordinates, then average over the batch")
    check.close(value.reshape(()), expected, "the penalty",
                "take torch.autograd.grad of D(real).sum() with respect to real (which must require grad), "
                "then the mean over the batch of the squared norm of each sample's gradient")
    check.passed("the penalty is the mean squared gradient norm of D at the real samples")
    if not (torch.is_tensor(got) and got.requires_grad):
        check.fail("the penalty is detached from the discriminator's weights, so it cannot train them",
                   "pass create_graph=True to torch.autograd.grad")
    net.zero_grad()
    got.backward()
    if all(p.grad is None or p.grad.abs().sum() == 0 for p in net.parameters()):
        check.fail("the penalty's gradient does not reach the discriminator's weights",
                   "pass create_graph=True to torch.autograd.grad")
    check.passed("the penalty keeps its graph, so it trains the discriminator")


@exercise("transposed_conv_size")
def transposed_conv_size(check, answer):
    """``answer(size, kernel, stride, padding)`` -> the output size of a transposed convolution."""
    cases = [(4, 4, 2, 1), (8, 4, 2, 1), (3, 3, 1, 1), (5, 3, 2, 0), (7, 5, 3, 2), (1, 4, 1, 0)]
    for size, kernel, stride, padding in cases:
        layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding)
        with torch.no_grad():
            expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        got = check.call(answer, size, kernel, stride, padding,
                         what=f"transposed_conv_size({size}, {kernel}, {stride}, {padding})")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            check.fail(f"the size should be a number, got {type(got).__name__}",
                       "return the output size as an int, computed from the formula of the transposed convolution")
        if got != expected:
            shrink = (size + 2 * padding - kernel) // stride + 1
            hint = ("that is the size after an ordinary (downsampling) convolution; a transposed convolution runs it "
                    "backwards: size = (size_in - 1) * stride - 2 * padding + kernel" if got == shrink else
                    "each input pixel pastes a kernel x kernel patch at stride spacing, and padding trims the border: "
                    "(size_in - 1) * stride - 2 * padding + kernel")
            check.fail(f"for size {size}, kernel {kernel}, stride {stride}, padding {padding}: got {got}, "
                       f"expected {expected} (what nn.ConvTranspose2d gives)", hint)
    check.passed("the sizes match nn.ConvTranspose2d on six cases, including the DCGAN doubling (4, 2, 1)")


@exercise("projection_logit")
def projection_logit(check, answer):
    """``answer(features (B, F), labels (B,), psi: Linear(F, 1), embed: Embedding(K, F))`` -> logits (B,)."""
    gen = torch.Generator().manual_seed(5)
    features = torch.randn(6, 8, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 2, 0, 1])
    psi, embed = nn.Linear(8, 1).double(), nn.Embedding(3, 8).double()
    with torch.no_grad():
        for p in (*psi.parameters(), embed.weight):
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
        expected = psi(features).squeeze(1) + (embed(labels) * features).sum(1)
        unconditional = psi(features).squeeze(1)
    got = check.call(answer, features, labels, psi, embed, what="projection_logit(features, labels, psi, embed)")
    value = check.tensor(got, "the logits")
    if value.shape == (6, 1):
        check.fail("the logits have shape (B, 1)", "one logit per image: squeeze the last dimension of psi(features)")
    if value.shape == (6, 6):
        check.fail("the logits have shape (B, B): every image was scored against every image's class",
                   "take the dot product row by row: (embed(labels) * features).sum(dim=1)")
    if check.matches(value, unconditional):
        check.fail("the logits ignore the labels", "add the class term <embed(label), features> to psi(features)")
    check.close(value, expected, "the logits", "logit = psi(features) + <embed(label), features>, one per image")
    check.passed("the logit is psi(h) plus the projection of h on the class's embedding")


@exercise("slerp")
def slerp(check, answer):
    """``answer(z0 (D,), z1 (D,), t)`` -> the spherical interpolation between z0 and z1 at t in [0, 1]."""
    gen = torch.Generator().manual_seed(6)
    z0, z1 = torch.randn(32, generator=gen, dtype=torch.float64), torch.randn(32, generator=gen, dtype=torch.float64)

    def reference(a, b, t):
        omega = torch.arccos((a @ b / (a.norm() * b.norm())).clamp(-1, 1))
        if omega.abs() < 1e-6:
            return (1 - t) * a + t * b
        return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)

    for t in (0.0, 1.0):
        got = check.call(answer, z0, z1, t, what=f"slerp(z0, z1, {t})")
        check.close(got, reference(z0, z1, t), f"slerp at t = {t:g}", "t = 0 must give z0 and t = 1 must give z1")
    check.passed("the path starts at z0 and ends at z1")
    got = check.call(answer, z0, z1, 0.5, what="slerp(z0, z1, 0.5)")
    value = check.tensor(got, "slerp at t = 0.5")
    linear = 0.5 * (z0 + z1)
    if check.matches(value, linear):
        check.fail(f"that is linear interpolation: at t = 0.5 its norm is {linear.norm():.2f}, while noise vectors "
                   f"of 32 numbers have norms near {32 ** 0.5:.2f}",
                   "walk along the great circle: sin((1 - t) w) / sin(w) * z0 + sin(t w) / sin(w) * z1, "
                   "with w the angle between z0 and z1")
    for t in (0.25, 0.5, 0.8):
        got = check.call(answer, z0, z1, t, what=f"slerp(z0, z1, {t})")
        check.close(got, reference(z0, z1, t), f"slerp at t = {t:g}",
                    "w = arccos(<z0, z1> / (|z0| |z1|)), then sin((1 - t) w) / sin(w) * z0 + sin(t w) / sin(w) * z1")
    check.passed("the points in between follow the great circle")
    a, b = torch.full((16,), 0.5, dtype=torch.float64), torch.ones(16, dtype=torch.float64)  # cosine exactly 1
    got = check.call(answer, a, b, 0.3, what="slerp(a, 2 * a, 0.3) (parallel vectors)")
    check.close(got, reference(a, b, 0.3), "slerp of two parallel vectors",
                "when the angle is 0, sin(w) = 0: fall back to linear interpolation instead of dividing by zero")
    check.passed("parallel vectors (angle 0) give no NaN")


@exercise("equilibrium_losses")
def equilibrium_losses(check, answer):
    """``answer()`` -> (discriminator loss, generator loss) of utils.gan.gan_step at the game's balance, where
    the discriminator cannot tell real from fake and gives every picture the logit 0 (probability 1/2)."""
    import math

    d_got, g_got = _pair(check, check.call(answer, what="equilibrium_losses()"), "equilibrium_losses")
    d_value, g_value = check.tensor(d_got, "the discriminator's loss"), check.tensor(g_got, "the generator's loss")
    if d_value.numel() != 1 or g_value.numel() != 1:
        check.fail("each loss should be one number", "return two numbers: d_loss, g_loss")
    d_value, g_value = d_value.item(), g_value.item()
    if abs(d_value - 0.5) < 1e-6 or abs(g_value - 0.5) < 1e-6:
        check.fail("you returned a probability, not a loss", "D(x) = 1/2 is the discriminator's belief; the loss "
                   "is its negative log: -log(1/2) per term")
    if abs(d_value - math.log(2)) < 1e-3:
        check.fail(f"the discriminator's loss {d_value:.4f} counts one term",
                   "gan_step's discriminator loss adds two means: -log D(x) on real pictures and -log(1 - D(G(z))) "
                   "on fakes, each log 2 at balance")
    check.close(torch.tensor(d_value), torch.tensor(2 * math.log(2)), "the discriminator's loss",
                "softplus(-0) + softplus(0) = 2 log 2: two terms of -log(1/2)", atol=1e-3, rtol=0)
    check.passed(f"the discriminator's loss at balance is 2 log 2 = {2 * math.log(2):.3f}")
    if abs(g_value - 2 * math.log(2)) < 1e-3:
        check.fail("the generator's loss has only one term", "the non-saturating loss is -log D(G(z)) on fakes only")
    check.close(torch.tensor(g_value), torch.tensor(math.log(2)), "the generator's loss",
                "the non-saturating generator loss -log D(G(z)) = -log(1/2) = log 2", atol=1e-3, rtol=0)
    check.passed(f"the generator's loss at balance is log 2 = {math.log(2):.3f}")


@exercise("uniform_quality_share")
def uniform_quality_share(check, answer):
    """``answer(n_modes, radius, side)`` -> the share of points drawn uniformly over a square of ``side`` that lie
    within ``radius`` of one of ``n_modes`` modes (the discs inside the square, apart): predicted, then sampled."""
    import math

    for n_modes, radius, side in ((8, 0.06, 5.2), (25, 0.15, 10.0), (1, 1.0, 4.0)):
        got = check.call(answer, n_modes, radius, side, what=f"uniform_quality_share({n_modes}, {radius}, {side})")
        value = check.tensor(got, "your share")
        if value.numel() != 1:
            check.fail(f"expected one number, got shape {tuple(value.shape)}", "return the share as a float")
        expected = n_modes * math.pi * radius**2 / side**2
        if abs(float(value) - expected / n_modes) < 1e-9 and n_modes > 1:
            check.fail(f"with {n_modes} modes your share counts one disc", "every mode has its own disc of radius r")
        check.close(value.reshape(()), torch.tensor(expected), f"the share for {n_modes} modes, radius {radius}, "
                    f"square of side {side}", "the chance of landing in a region is its area over the square's: "
                    "n discs of area pi r^2 over side^2", rtol=1e-3)
    # and it is what sampling finds
    gen = torch.Generator().manual_seed(0)
    angles = torch.arange(8) * 2 * math.pi / 8
    modes = 2 * torch.stack([angles.cos(), angles.sin()], 1)
    points = (torch.rand(200_000, 2, generator=gen) - 0.5) * 5.2
    sampled = _coverage_reference(points, modes, 0.02)[1]
    check.passed(f"sampling 200,000 uniform points over the ring's square agrees: {sampled:.4f} high quality")

