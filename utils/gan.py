"""Blocks for the GAN chapters: networks trained side by side over seeds, the R1 penalty,
and the DCGAN pair for small images.

A GAN's result depends on its seed more than most models', so the chapters measure every
variant over several seeds. :class:`SeedParallelMLP` holds one small MLP per seed in
stacked weight tensors and evaluates them all with one batched matrix product: each seed
keeps its own weights, its own data and, because Adam updates every weight on its own, its
own optimiser state, so training them together is exactly training them one by one, in a
third of the time. The 2-D chapter writes the game (the losses, the alternating updates)
out in full; the image chapter runs the same three steps through :func:`gan_step`.
:class:`ImageGenerator` and :class:`ImageDiscriminator` are the DCGAN pair
(Radford et al., 2016) for 8x8 digits and 16x16 pictures, optionally conditioned on a
class: the generator appends a learned vector of the class to its noise, the discriminator
adds a projection term (Miyato and Koyama, 2018). DCGAN put batch norm in both networks
(all layers but the discriminator's input and the generator's output); this book keeps it
in the generator only and leaves it out of the discriminator, so that each image is judged
on its own, as the R1 penalty's per-sample gradients need.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from .validate import check_callable, check_int, check_number, check_pictures, check_tensor, describe


class SeedParallelMLP(nn.Module):
    """``len(seeds)`` independent ReLU MLPs ``inputs -> width x depth -> outputs``.

    ``forward(x)`` maps (S, B, inputs) to (S, B, outputs), row ``s`` through the network
    of ``seeds[s]``. Each network is initialised from its own seed as ``nn.Linear`` is
    (uniform in +-1/sqrt(fan_in)), so its start does not depend on the other seeds.
    """

    def __init__(self, seeds, inputs: int, outputs: int, width: int = 64, depth: int = 3):
        super().__init__()
        if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
            raise ValueError(f"seeds must be a non-empty list of non-negative ints, got {seeds!r}")
        seeds = list(seeds)
        if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of non-negative ints, got {seeds!r}")
        for name, value in (("inputs", inputs), ("outputs", outputs), ("width", width), ("depth", depth)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.seeds = seeds
        dims = [inputs] + [width] * depth + [outputs]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for layer, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            weight, bias = torch.empty(len(seeds), fan_in, fan_out), torch.empty(len(seeds), 1, fan_out)
            bound = 1 / math.sqrt(fan_in)
            for row, seed in enumerate(seeds):
                gen = torch.Generator().manual_seed(seed * 1009 + layer)
                weight[row].uniform_(-bound, bound, generator=gen)
                bias[row].uniform_(-bound, bound, generator=gen)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 3:
            raise ValueError(f"x must be a tensor of shape (seeds, batch, inputs), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)}")
        if x.shape[0] != len(self.seeds) or x.shape[2] != self.weights[0].shape[1]:
            raise ValueError(f"x must have shape ({len(self.seeds)}, batch, {self.weights[0].shape[1]}), "
                             f"got {tuple(x.shape)}")
        last = len(self.weights) - 1
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)  # (S, B, in) @ (S, in, out) + (S, 1, out)
            if layer < last:
                x = F.relu(x)
        return x


def r1_penalty(d_real: torch.Tensor, real: torch.Tensor, sample_dims: int = 1) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): the mean squared norm of the gradient of D at real data.

    ``real`` (..., B, C) must require grad and ``d_real`` be the discriminator's output on
    it; the last dimension holds a sample's coordinates and the one before it the batch,
    which is averaged over: (B, C) gives a scalar, (S, B, C) one penalty per seed (S,). For
    images, ``sample_dims=3``: a sample is (C, H, W) and (B, C, H, W) gives a scalar. The result keeps the graph,
    so adding ``gamma / 2 * r1_penalty(...)`` to the discriminator's loss trains it to be
    flat on the data, which stops it pushing the generator past the data it should match.
    """
    if not isinstance(d_real, torch.Tensor) or not d_real.requires_grad:
        raise ValueError("d_real must be the discriminator's output on real, still attached to the graph, got "
                         f"{describe(d_real)}{' without grad' if isinstance(d_real, torch.Tensor) else ''}")
    if not isinstance(real, torch.Tensor) or not real.requires_grad:
        raise ValueError("real must be a tensor that requires grad (call real.requires_grad_(True) before D(real)), "
                         f"got {describe(real)}{' without grad' if isinstance(real, torch.Tensor) else ''}")
    if not isinstance(sample_dims, int) or sample_dims < 1 or real.ndim < sample_dims + 1:
        raise ValueError(f"real must have shape (..., batch, {sample_dims} dims of a sample) with sample_dims >= 1, "
                         f"got shape {tuple(real.shape)} and sample_dims={sample_dims!r}")
    (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
    return grad.pow(2).flatten(-sample_dims).sum(-1).mean(-1)


def _check_image_size(size: int, channels: int, width: int) -> int:
    """The number of 2x upsamplings from 4x4 to ``size``, or a clear error."""
    for name, value in (("channels", channels), ("width", width), ("size", size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    stages = size.bit_length() - 3
    if size < 8 or size != 4 * 2**stages:
        raise ValueError(f"size must be 8, 16, 32, ... (4 doubled at least once), got {size}")
    return stages


class ImageGenerator(nn.Module):
    """DCGAN generator: noise (B, latent) -> images (B, channels, size, size) in [-1, 1].

    A linear layer makes a (2 * width, 4, 4) map; each stage doubles the size with a
    transposed convolution, batch norm and ReLU, halving the channels down to ``width``;
    a 3x3 convolution and tanh give the pixels. With ``n_classes`` a learned vector of the
    class asked for is appended to the noise (``forward(z, labels)``).
    """

    def __init__(self, latent: int = 32, channels: int = 1, size: int = 8, width: int = 64, n_classes: int = 0):
        super().__init__()
        stages = _check_image_size(size, channels, width)
        if isinstance(latent, bool) or not isinstance(latent, int) or latent < 1:
            raise ValueError(f"latent must be a positive int, got {latent!r}")
        check_int(n_classes, "n_classes", 0)
        self.latent, self.n_classes = latent, n_classes
        self.embed = nn.Embedding(n_classes, latent) if n_classes else None
        top = width * 2**stages
        inputs = 2 * latent if n_classes else latent  # the noise, and the class's vector if conditional
        self.stem = nn.Sequential(nn.Linear(inputs, top * 16), nn.Unflatten(1, (top, 4, 4)),
                                  nn.BatchNorm2d(top), nn.ReLU())
        layers = []
        for k in range(stages):
            c_in, c_out = top // 2**k, top // 2 ** (k + 1)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.up = nn.Sequential(*layers)
        self.to_pixels = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent:
            raise ValueError(f"z must have shape (batch, {self.latent}), got "
                             f"{tuple(z.shape) if isinstance(z, torch.Tensor) else describe(z)}")
        if self.embed is not None:
            z = torch.cat([z, _class_vector(self.embed, labels, len(z))], dim=1)
        else:
            _class_vector(None, labels, len(z))
        return torch.tanh(self.to_pixels(self.up(self.stem(z))))


class ImageDiscriminator(nn.Module):
    """DCGAN discriminator: images (B, channels, size, size) -> one logit each (B,).

    A 3x3 convolution, then stride-2 convolutions with leaky ReLU that halve the size
    down to 4x4 and double the channels; no batch norm, so that each image is judged on
    its own (which R1 and a per-sample gradient need). With ``n_classes`` the logit gets
    a projection term ``<embed(label), features>``: the features must match the class.
    """

    def __init__(self, channels: int = 1, size: int = 8, width: int = 64, n_classes: int = 0):
        super().__init__()
        stages = _check_image_size(size, channels, width)
        check_int(n_classes, "n_classes", 0)
        self.channels, self.size = channels, size
        layers = [nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2)]
        for k in range(stages):
            layers += [nn.Conv2d(width * 2**k, width * 2 ** (k + 1), 4, 2, 1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers, nn.Flatten())
        dim = width * 2**stages * 16
        self.out = nn.Linear(dim, 1)
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, dim) if n_classes else None
        if self.embed is not None:
            nn.init.zeros_(self.embed.weight)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.ndim != 4 \
                or tuple(images.shape[1:]) != (self.channels, self.size, self.size):
            raise ValueError(f"images must have shape (batch, {self.channels}, {self.size}, {self.size}), got "
                             f"{tuple(images.shape) if isinstance(images, torch.Tensor) else describe(images)}")
        h = self.features(images)
        logit = self.out(h).squeeze(1)
        if self.embed is not None:
            _class_vector(self.embed, labels, len(images))  # checks the labels
            logit = logit + (self.embed(labels) * h).sum(1)
        return logit


def _class_vector(embed: nn.Embedding | None, labels, batch: int):
    """``embed(labels)`` with the labels checked, or 1 for an unconditional network."""
    if embed is None:
        if labels is not None:
            raise ValueError("labels given to a network built without n_classes")
        return 1.0
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long or labels.shape != (batch,):
        raise ValueError(f"labels must be an int64 tensor of shape ({batch},), "
                         f"got {getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= embed.num_embeddings):
        raise ValueError(f"labels must be in [0, {embed.num_embeddings}), got [{labels.min()}, {labels.max()}]")
    return embed(labels)


def gan_step(generator: nn.Module, discriminator: nn.Module, opt_g, opt_d, real: torch.Tensor,
             z: torch.Tensor, labels: torch.Tensor | None = None, gamma: float = 0.0) -> dict[str, float]:
    """One round of the game on image batches: a discriminator step, then a generator step.

    The discriminator minimises softplus(-D(real)) + softplus(D(G(z))), plus
    ``gamma / 2`` times R1 when ``gamma > 0``; the generator minimises the non-saturating
    softplus(-D(G(z))) through the updated discriminator. ``labels`` (B,) condition both
    networks. Returns the two losses and the discriminator's mean beliefs on real and fake, as
    0-d tensors on the device (``float(...)`` reads one; reading waits for the device, so a loop
    reads them every few steps, not every step).
    """
    check_callable(generator, "generator", "the generator network")
    check_callable(discriminator, "discriminator", "the discriminator network")
    for name, opt in (("opt_g", opt_g), ("opt_d", opt_d)):
        if not (hasattr(opt, "zero_grad") and hasattr(opt, "step")):
            raise TypeError(f"{name} must be a torch optimizer (torch.optim.Adam(...)), got {describe(opt)}")
    check_tensor(real, "real", "(B, C, H, W) of real pictures in [-1, 1]", floating=True)
    check_tensor(z, "z", "(B, latent) of noise", floating=True)
    check_number(gamma, "gamma", 0.0)
    extra = () if labels is None else (labels,)
    fake = generator(z, *extra)
    real = real.detach().requires_grad_(gamma > 0)
    d_real = discriminator(real, *extra)
    d_fake = discriminator(fake.detach(), *extra)  # detached: this step must not move G
    d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    if gamma > 0:
        d_loss = d_loss + gamma / 2 * r1_penalty(d_real, real, sample_dims=real.ndim - 1)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    d_fake = discriminator(fake, *extra)
    g_loss = F.softplus(-d_fake).mean()
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
            "D(x)": torch.sigmoid(d_real).mean().detach(), "D(G(z))": torch.sigmoid(d_fake).mean().detach()}


def train_gan(generator: nn.Module, discriminator: nn.Module, images: torch.Tensor,
              labels: torch.Tensor | None = None, *, steps: int, batch: int = 64, lr: float = 5e-4,
              betas: tuple[float, float] = (0.5, 0.999), gamma: float = 0.0, seed: int = 0,
              every: int | None = None, watch=None) -> dict:
    """Play the game for ``steps`` rounds of :func:`gan_step` on ``images`` (N, C, H, W) in [-1, 1].

    Each round draws ``batch`` images (with their ``labels`` for conditional networks) and
    as much noise, from a generator seeded with ``seed``. Both players use Adam with the
    DCGAN momentum ``betas``. Every ``every`` steps ``watch(step, generator)`` runs with
    the generator in eval mode and without gradients; what it returns is kept in
    ``log["watched"]`` as ``(step, value)``. Returns the log: each :func:`gan_step`
    number per step, ``watched`` and the training ``seconds`` (watching excluded).
    """
    for name, net in (("generator", generator), ("discriminator", discriminator)):
        if not isinstance(net, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {describe(net)}")
    # [-1, 1]: the generator's tanh range. Checked once, before the game: the range read waits for the device.
    check_pictures(images, "images", expected="[-1, 1]")
    if labels is not None and (not isinstance(labels, torch.Tensor) or labels.shape != (len(images),)):
        raise ValueError(f"labels must be a tensor of shape ({len(images)},), one per image")
    for name, value in (("steps", steps), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    check_number(lr, "lr", 0.0, low_open=True)
    check_number(gamma, "gamma", 0.0)
    check_int(seed, "seed", 0)
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2
            and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if every is not None:
        check_int(every, "every", 1)
    if watch is not None:
        check_callable(watch, "watch", "a function watch(step, generator)")
    from .device import check_device
    from .flops import synchronize
    from .train import LOG_EVERY

    device = check_device(generator, "generator")
    check_device(discriminator, "discriminator")
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    rng = torch.Generator().manual_seed(seed)
    log: dict = {"d_loss": [], "g_loss": [], "D(x)": [], "D(G(z))": [], "watched": [], "seconds": 0.0}
    pending: list[dict] = []  # each step's numbers, still on the device

    def flush():
        if pending:
            for key in pending[0]:
                log[key].extend(torch.stack([p[key] for p in pending]).tolist())
            pending.clear()

    generator.train(), discriminator.train()
    synchronize(device)
    start = time.perf_counter()
    for step in range(steps):
        index = torch.randint(0, len(images), (batch,), generator=rng)
        z = torch.randn(batch, generator.latent, generator=rng).to(device)
        extra = None if labels is None else labels[index].to(device)
        pending.append(gan_step(generator, discriminator, opt_g, opt_d, images[index].to(device), z, extra,
                                gamma=gamma))
        watching = watch is not None and every and (step + 1) % every == 0
        if watching or len(pending) >= LOG_EVERY:
            flush()
        if watching:
            synchronize(device)
            log["seconds"] += time.perf_counter() - start
            generator.eval()
            with torch.no_grad():
                log["watched"].append((step + 1, watch(step + 1, generator)))
            generator.train()
            start = time.perf_counter()
    flush()
    synchronize(device)
    log["seconds"] += time.perf_counter() - start
    from .flops import RUNS

    RUNS.append({"steps": steps, "seconds": log["seconds"]})
    generator.eval()
    return log


def _build_digit_gan(sizes: dict) -> ImageGenerator:
    from .device import seed

    seed(0)  # the generator's weights first, then the discriminator's: the order chapter 4b uses
    return ImageGenerator(sizes["latent"], 1, 8, sizes["width"])


def _fit_digit_gan(generator: ImageGenerator, sizes: dict) -> ImageGenerator:
    from .data import load_digits

    device = next(generator.parameters()).device
    discriminator = ImageDiscriminator(1, 8, sizes["width"]).to(device)
    train_gan(generator, discriminator, load_digits().x_train * 2 - 1, steps=sizes["steps"], batch=sizes["batch"],
              lr=sizes["lr"])
    return generator


def _digit_gan_recipe():
    from .recipes import Recipe

    common = {"latent": 32, "batch": 64, "lr": 5e-4}
    return Recipe(name="gan_digits", chapter="04b_gan_images",
                  sizes={"cpu": {**common, "width": 32, "steps": 1500}, "gpu": {**common, "width": 64, "steps": 6000},
                         "smoke": {"steps": 5}},
                  build=_build_digit_gan, fit=_fit_digit_gan)


# The DCGAN on the digits that chapter 4b trains and the metrics chapter's leaderboard scores.
DIGIT_GAN = _digit_gan_recipe()
