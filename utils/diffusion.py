"""Denoising diffusion: noise schedules, the forward process, the training loss, sampling.

Built step by step in chapter 6; packaged here for the later chapters. Everything is
general over the shape of the data: a batch of 2-D points (B, 2) and a batch of
images (B, C, H, W) go through the same functions.

* :func:`linear_schedule`, :func:`cosine_schedule`: the noise levels ``beta_t`` and
  ``alpha_bar_t = prod_{s<=t} (1 - beta_s)`` for ``t = 0 .. T-1``.
* :func:`q_sample`: a draw from ``q(x_t | x_0)`` in closed form, no loop over steps.
* :func:`ddpm_loss`: the "predict the noise" loss of Ho et al. (2020), or "predict the picture"
  (``target="x0"``), with :class:`NoiseFromX0` to sample from such a network.
* :func:`ddpm_sample`: ancestral sampling, all ``T`` steps.
* :func:`ddim_step`, :func:`ddim_sample`: deterministic sampling in a few steps (Song et al., 2021).
* :func:`train_ddpm`: chapter 6's training recipe for the digits, with an average of the weights
  (and, for a conditional model, the condition dropped at random: the text-to-image chapter).
* :func:`guided`: classifier-free guidance, one denoiser from a conditional and an unconditional one.

A denoiser is any callable ``model(x_t, t, **kwargs)`` that returns the predicted noise
with the shape of ``x_t``; ``t`` is a long tensor (B,) of step indices in ``[0, T)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .device import _same_device, check_device
from .validate import check_callable, check_number, check_pictures, check_tensor, describe


@dataclass(frozen=True)
class Schedule:
    """The noise levels of a diffusion: ``betas`` (T,), and the products ``alpha_bar`` (T,)."""

    name: str
    betas: torch.Tensor

    def __post_init__(self):
        check_tensor(self.betas, "betas", "(T,) of noise levels in (0, 1)", ndim=1, floating=True)
        if len(self.betas) == 0 or not bool(((self.betas > 0) & (self.betas < 1)).all()):
            shown = f"[{self.betas.min().item():.3g}, {self.betas.max().item():.3g}]" if len(self.betas) else "none"
            raise ValueError(f"betas must be (T,) with T >= 1 noise levels in (0, 1), got values {shown}")

    @property
    def steps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bar(self) -> torch.Tensor:
        return torch.cumprod(self.alphas.double(), 0).float()


def linear_schedule(steps: int = 1000, beta_start: float | None = None, beta_end: float | None = None) -> Schedule:
    """Betas rising linearly, as in DDPM: 1e-4 to 0.02 for 1000 steps (scaled for other ``steps``)."""
    _check_steps(steps)
    scale = 1000 / steps  # keeps alpha_bar's shape the same when T changes
    beta_start = 1e-4 * scale if beta_start is None else beta_start
    beta_end = min(0.02 * scale, 0.999) if beta_end is None else beta_end
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}")
    return Schedule("linear", torch.linspace(beta_start, beta_end, steps, dtype=torch.float64).float())


def cosine_schedule(steps: int = 1000, offset: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """``alpha_bar(t) = cos^2(pi/2 (t/T + s)/(1 + s))`` (Nichol and Dhariwal, 2021); betas follow from it."""
    _check_steps(steps)
    check_number(offset, "offset", 0.0)
    check_number(max_beta, "max_beta", 0.0, 1.0, low_open=True, high_open=True)
    u = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((u + offset) / (1 + offset) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
    return Schedule("cosine", betas.float())


def make_schedule(name: str, steps: int = 1000) -> Schedule:
    """The schedule called ``name``: ``"linear"`` or ``"cosine"``."""
    if name == "linear":
        return linear_schedule(steps)
    if name == "cosine":
        return cosine_schedule(steps)
    raise ValueError(f"name must be 'linear' or 'cosine', got {name!r}")


def _check_steps(steps) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")


def _per_sample(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[t]`` shaped (B, 1, 1, ...) to broadcast over a batch shaped like ``like``."""
    picked = values.to(like.device)[t.to(like.device)].to(like.dtype)
    return picked.view(-1, *([1] * (like.ndim - 1)))


def _check_batch(x, t, schedule: Schedule, name: str = "x0") -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2:
        raise TypeError(f"{name} must be a floating-point tensor (B, ...), got "
                        f"{type(x).__name__ if not isinstance(x, torch.Tensor) else (x.dtype, tuple(x.shape))}")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    t = torch.as_tensor(t, device=x.device)
    if t.ndim == 0:
        t = t.expand(len(x))
    if t.shape != (len(x),) or t.is_floating_point():
        raise ValueError(f"t must be integer step indices of shape ({len(x)},), got {t.dtype} {tuple(t.shape)}")
    if len(t) and (t.min() < 0 or t.max() >= schedule.steps):
        raise ValueError(f"t must lie in [0, {schedule.steps}), got values from {t.min().item()} to {t.max().item()}")
    return t.long()


def q_sample(x0: torch.Tensor, t, noise: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """A draw from ``q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)``, using ``noise``."""
    t = _check_batch(x0, t, schedule)
    if not isinstance(noise, torch.Tensor) or noise.shape != x0.shape:
        raise ValueError(f"noise must be a tensor shaped like x0 {tuple(x0.shape)}, got "
                         f"{tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__}")
    ab = _per_sample(schedule.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def ddpm_loss(model, x0: torch.Tensor, schedule: Schedule, generator: torch.Generator | None = None,
              target: str = "eps", **model_kwargs) -> torch.Tensor:
    """The training loss at a uniform random step ``t`` with standard normal noise ``eps``.

    ``target="eps"``: ``|eps - model(x_t, t)|^2``, the network predicts the noise (Ho et al.).
    ``target="x0"``: ``|x0 - model(x_t, t)|^2``, the network predicts the clean picture; wrap
    it in :class:`NoiseFromX0` to sample with it.
    """
    check_callable(model, "model", "a denoiser, model(x_t, t) -> the prediction shaped like x_t")
    if target not in ("eps", "x0"):
        raise ValueError(f"target must be 'eps' (predict the noise) or 'x0' (predict the picture), got {target!r}")
    _check_batch(x0, 0, schedule)
    t = torch.randint(schedule.steps, (len(x0),), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    prediction = model(q_sample(x0, t, noise, schedule), t, **model_kwargs)
    _check_prediction(prediction, x0, "model(x_t, t)")
    return F.mse_loss(prediction, noise if target == "eps" else x0)


def _check_prediction(prediction, like: torch.Tensor, what: str) -> None:
    """A denoiser must answer with one prediction per number of ``x_t``: anything else would broadcast
    into a wrong loss or garbage samples of the right shape."""
    if not isinstance(prediction, torch.Tensor) or prediction.shape != like.shape:
        got = tuple(prediction.shape) if isinstance(prediction, torch.Tensor) else type(prediction).__name__
        raise ValueError(f"{what} must return a tensor shaped like x_t {tuple(like.shape)} "
                         f"(the predicted noise or picture), got {got}")


def _sampling_device(model, device) -> torch.device:
    """The device that sampling runs on: the model's (the profile's for a plain function), checked once."""
    found = check_device(model, "model")
    if device is not None and not _same_device(torch.device(device), found):
        raise ValueError(f"device={device} but the model is on {found}: leave device out, "
                         "the samplers take the model's")
    return found


def _check_pair(x_t, other, name: str) -> None:
    """``x_t`` and ``other`` (named ``name``) must be float tensors of one shape: broadcasting would hide a mistake."""
    check_tensor(x_t, "x_t", "(B, ...)", floating=True)
    check_tensor(other, name, f"shaped like x_t {tuple(x_t.shape)}", floating=True)
    if other.shape != x_t.shape:
        raise ValueError(f"{name} must have x_t's shape {tuple(x_t.shape)}, got {tuple(other.shape)}")


def _check_alpha_bar(value, name: str, one: bool, zero: bool = False) -> None:
    """A number must lie in (0, 1), with 1 allowed when ``one`` and 0 when ``zero``; a tensor is taken as it
    is (reading its values would make the host wait for the device at every sampling step)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"{name} must be a float (or a float tensor), got {value.dtype}")
        return
    check_number(value, name, 0.0, 1.0, low_open=not zero, high_open=not one)


def noise_from_x0(x_t: torch.Tensor, x0: torch.Tensor, alpha_bar_t) -> torch.Tensor:
    """The noise that takes ``x0`` to ``x_t``: ``(x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t)``.

    ``alpha_bar_t`` is a number in [0, 1) or a tensor that broadcasts against ``x_t``.
    """
    _check_pair(x_t, x0, "x0")
    _check_alpha_bar(alpha_bar_t, "alpha_bar_t", one=False)
    ab = torch.as_tensor(alpha_bar_t, dtype=x_t.dtype, device=x_t.device)
    return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()


class NoiseFromX0(nn.Module):
    """A network trained with ``target="x0"``, seen from the samplers as one that predicts the noise.

    ``NoiseFromX0(net, schedule)(x_t, t, **kwargs)`` returns ``noise_from_x0(x_t, net(x_t, t, **kwargs),
    alpha_bar[t])``; the samplers turn that back into the same ``x0`` estimate, so nothing is lost.
    """

    def __init__(self, net: nn.Module, schedule: Schedule):
        super().__init__()
        check_callable(net, "net", "the network that predicts the picture, net(x_t, t) -> x0")
        _check_schedule(schedule)
        self.net, self.schedule = net, schedule

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, *args, **model_kwargs) -> torch.Tensor:
        check_tensor(x_t, "x_t", "(B, ...)", floating=True)
        ab = _per_sample(self.schedule.alpha_bar.to(x_t.device), t, x_t)
        x0 = self.net(x_t, t, *args, **model_kwargs)
        _check_prediction(x0, x_t, "net(x_t, t)")
        return noise_from_x0(x_t, x0, ab)


def predict_x0(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar_t) -> torch.Tensor:
    """Invert the forward process: ``x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)``, with
    ``alpha_bar_t`` a number in (0, 1] or a tensor that broadcasts against ``x_t``."""
    _check_pair(x_t, eps, "eps")
    _check_alpha_bar(alpha_bar_t, "alpha_bar_t", one=True)
    ab = torch.as_tensor(alpha_bar_t, dtype=x_t.dtype, device=x_t.device)
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def _check_clip(clip) -> None:
    if clip is None:
        return
    if not isinstance(clip, (tuple, list)) or len(clip) != 2:
        raise ValueError(f"clip must be None or (low, high), got {clip!r}")
    low, high = (check_number(v, "clip", None) for v in clip)
    if not low < high:
        raise ValueError(f"clip must be (low, high) with low < high, got {tuple(clip)!r}")


def _check_schedule(schedule) -> None:
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule (from linear_schedule or cosine_schedule), got "
                        f"{describe(schedule)}")


def _check_sampler_inputs(model, schedule, clip) -> None:
    check_callable(model, "model", "a denoiser, model(x_t, t) -> the predicted noise shaped like x_t")
    _check_schedule(schedule)
    _check_clip(clip)


def _clip(x: torch.Tensor, clip: tuple[float, float] | None) -> torch.Tensor:
    return x if clip is None else x.clamp(*clip)


def _check_shape(shape) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"shape must be (B, ...) with positive sizes, got {shape}")
    return shape


@torch.no_grad()
def ddpm_sample(model, shape, schedule: Schedule, generator: torch.Generator | None = None,
                device=None, clip: tuple[float, float] | None = None, **model_kwargs) -> torch.Tensor:
    """Ancestral sampling: start from pure noise, take all ``T`` reverse steps.

    Each step draws ``x_{t-1} ~ N(mu, beta_tilde_t I)``, the true posterior ``q(x_{t-1} |
    x_t, x_0)`` with ``x_0`` replaced by the model's estimate (clipped to ``clip`` if given).
    Sampling runs on the model's device (``device``, if given, must agree). The noise is drawn
    on the CPU from ``generator`` and moved there, so a seed gives the same pictures on every device.
    """
    _check_sampler_inputs(model, schedule, clip)
    shape = _check_shape(shape)
    device = _sampling_device(model, device)
    ab = schedule.alpha_bar.double().tolist()  # numbers on the host: no device read per step
    x = torch.randn(shape, generator=generator).to(device)
    for step in reversed(range(schedule.steps)):
        t = torch.full((shape[0],), step, dtype=torch.long, device=device)
        ab_t, ab_prev = ab[step], (ab[step - 1] if step > 0 else 1.0)
        beta_t = 1 - ab_t / ab_prev
        eps = model(x, t, **model_kwargs)
        if step == schedule.steps - 1:
            _check_prediction(eps, x, "model(x_t, t)")
        x0 = _clip(predict_x0(x, eps, ab_t), clip)
        # The posterior mean is a blend of the estimated x_0 and the current x_t.
        mean = (math.sqrt(ab_prev) * beta_t * x0 + math.sqrt(1 - beta_t) * (1 - ab_prev) * x) / (1 - ab_t)
        if step > 0:
            variance = beta_t * (1 - ab_prev) / (1 - ab_t)
            x = mean + math.sqrt(variance) * torch.randn(shape, generator=generator).to(device)
        else:
            x = mean
    return x


def ddim_step(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar_t, alpha_bar_prev,
              clip: tuple[float, float] | None = None) -> torch.Tensor:
    """One deterministic DDIM step (eta = 0) from noise level ``alpha_bar_t`` to ``alpha_bar_prev``.

    Estimate ``x_0`` from the predicted noise, then re-noise it to the earlier level with the
    *same* noise: ``x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev) eps``.
    """
    _check_pair(x_t, eps, "eps")
    _check_alpha_bar(alpha_bar_t, "alpha_bar_t", one=False)
    _check_alpha_bar(alpha_bar_prev, "alpha_bar_prev", one=True)
    _check_clip(clip)
    x0 = _clip(predict_x0(x_t, eps, alpha_bar_t), clip)
    if clip is not None:  # keep eps consistent with the clipped x_0
        ab = torch.as_tensor(alpha_bar_t, dtype=x_t.dtype, device=x_t.device)
        eps = (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
    ab_prev = torch.as_tensor(alpha_bar_prev, dtype=x_t.dtype, device=x_t.device)
    return ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps


def ddim_timesteps(schedule: Schedule, sample_steps: int) -> list[int]:
    """``sample_steps`` step indices spread evenly over ``[0, T)``, from the noisiest down."""
    _check_schedule(schedule)
    if isinstance(sample_steps, bool) or not isinstance(sample_steps, int) or not 1 <= sample_steps <= schedule.steps:
        raise ValueError(f"sample_steps must be an int in [1, {schedule.steps}], got {sample_steps!r}")
    spaced = torch.linspace(schedule.steps - 1, 0, sample_steps).round().long().tolist()
    return sorted(set(spaced), reverse=True)


@torch.no_grad()
def ddim_sample(model, shape, schedule: Schedule, sample_steps: int = 50, generator: torch.Generator | None = None,
                device=None, clip: tuple[float, float] | None = None, eta: float = 0.0,
                **model_kwargs) -> torch.Tensor:
    """DDIM sampling in ``sample_steps`` model calls (the same trained model as DDPM).

    ``eta = 0`` is the deterministic sampler; ``eta = 1`` adds fresh noise at each jump, as
    much as ancestral sampling would over the same jump (the family of Song et al., 2021).
    Sampling runs on the model's device, as in :func:`ddpm_sample`.
    """
    _check_sampler_inputs(model, schedule, clip)
    shape = _check_shape(shape)
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be a number in [0, 1], got {eta!r}")
    device = _sampling_device(model, device)
    ab = schedule.alpha_bar.double().tolist()
    steps = ddim_timesteps(schedule, sample_steps)
    x = torch.randn(shape, generator=generator).to(device)
    for i, step in enumerate(steps):
        t = torch.full((shape[0],), step, dtype=torch.long, device=device)
        ab_t, ab_prev = ab[step], ab[steps[i + 1]] if i + 1 < len(steps) else 1.0
        eps = model(x, t, **model_kwargs)
        if i == 0:
            _check_prediction(eps, x, "model(x_t, t)")
        if eta == 0:
            x = ddim_step(x, eps, ab_t, ab_prev, clip)
            continue
        x0 = _clip(predict_x0(x, eps, ab_t), clip)
        eps = (x - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
        x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps
        if sigma > 0:
            x = x + sigma * torch.randn(shape, generator=generator).to(device)
    return x


def drop_conditions(cond: torch.Tensor, null: torch.Tensor, p: float,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """``cond`` (B, ...) with each row replaced by ``null`` (shaped like one row) with probability ``p``."""
    check_tensor(cond, "cond", "(B, ...), one condition per row")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    if not isinstance(null, torch.Tensor) or null.shape != cond.shape[1:]:
        raise ValueError(f"null must be a tensor shaped like one row of cond {tuple(cond.shape[1:])}, got "
                         f"{tuple(null.shape) if isinstance(null, torch.Tensor) else type(null).__name__}")
    drop = torch.rand(len(cond), generator=generator).to(cond.device) < p  # (B,)
    return torch.where(drop.view(-1, *[1] * (cond.ndim - 1)), null.to(cond.device), cond)


def train_ddpm(model: nn.Module, images: torch.Tensor, schedule: Schedule, *, steps: int, batch: int = 128,
               lr: float = 2e-3, warmup: int | None = None, ema_decay: float = 0.99, seed: int = 0,
               progress: bool = False, cond: torch.Tensor | None = None, null: torch.Tensor | None = None,
               p_uncond: float = 0.0, target: str = "eps", pictures: bool = True):
    """Chapter 6's recipe for the digits: train ``model`` with :func:`ddpm_loss` through the
    book's loop, keeping an exponential moving average of its weights (decay ``ema_decay``,
    updated after every step by :class:`utils.train.WeightAverage`). Returns the averaged copy,
    in eval mode, and the loop's History. ``warmup`` defaults to 100 steps (a fifth of a run
    shorter than 500).

    With ``cond`` (one row per picture), the model is called ``model(x_t, t, cond_rows)``, and
    each row is replaced by ``null`` with probability ``p_uncond`` (:func:`drop_conditions`),
    so the one network learns both ``eps(x_t, t, c)`` and ``eps(x_t, t, null)``. ``target`` is
    :func:`ddpm_loss`'s (``"x0"``: wrap the result in :class:`NoiseFromX0` to sample). Four-dimensional
    ``images`` are checked to be pictures in [-1, 1]; ``pictures=False`` says they are something else
    shaped like pictures (an autoencoder's latents, scaled to unit variance), whose range is not checked.

    The data order and the noise are seeded with ``seed``, so the same call on the same
    initial weights gives the same model (chapter 6 and the metrics chapter rely on it).
    """
    from .train import WeightAverage, batch_sampler, train

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (the denoiser to train), got {describe(model)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(pictures, bool):
        raise TypeError(f"pictures must be True (images are pictures in [-1, 1]) or False (latents), got "
                        f"{describe(pictures)}")
    if isinstance(images, torch.Tensor) and images.ndim == 4 and pictures:  # check their range once, before training
        check_pictures(images, "images", expected="[-1, 1]")
    elif not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim < 2:
        raise TypeError(f"images must be a floating-point tensor (N, ...) scaled to [-1, 1], got {describe(images)}")
    _check_schedule(schedule)
    if target not in ("eps", "x0"):
        raise ValueError(f"target must be 'eps' (predict the noise) or 'x0' (predict the picture), got {target!r}")
    check_number(p_uncond, "p_uncond", 0.0, 1.0)
    if cond is not None and len(cond) != len(images):
        raise ValueError(f"cond must have one row per picture: {len(cond)} rows for {len(images)} pictures")
    if p_uncond and (cond is None or null is None):
        raise ValueError("p_uncond > 0 needs both cond and null (the condition that means 'no condition')")
    check_device(model, "model")
    warmup = min(100, steps // 5) if warmup is None else warmup
    average = WeightAverage(model, ema_decay)  # the averaged weights, which we sample from
    noise = torch.Generator().manual_seed(seed)

    def loss(net, batch_):
        if cond is None:
            return ddpm_loss(net, batch_[0], schedule, generator=noise, target=target)
        rows = drop_conditions(batch_[1], null, p_uncond, noise) if p_uncond else batch_[1]
        return ddpm_loss(lambda x_t, t: net(x_t, t, rows), batch_[0], schedule, generator=noise, target=target)

    tensors = (images,) if cond is None else (images, cond)
    history = train(model, loss, batch_sampler(*tensors, batch_size=batch, seed=seed), steps=steps, lr=lr,
                    warmup=warmup, progress=progress, on_step=average)
    return average.model.eval(), history


class Guided(nn.Module):
    """Classifier-free guidance (Ho and Salimans, 2021): the denoiser
    ``(x_t, t, cond) -> (1 + weight) eps(x_t, t, cond) - weight eps(x_t, t, null)``.

    ``weight = 0`` is the conditional model alone; larger weights push each step further from
    what the model would draw with no condition, toward what the condition adds. ``null`` is
    one row of the "no condition" input; both predictions come from one batched call. It is a
    module holding ``model``, so the samplers see where its weights are.
    """

    def __init__(self, model, weight: float, null: torch.Tensor):
        super().__init__()
        check_callable(model, "model", "a conditional denoiser, model(x_t, t, cond)")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight must be a number >= 0, got {weight!r}")
        if not isinstance(null, torch.Tensor):
            raise TypeError(f"null must be a tensor (one row of the 'no condition' input), got {type(null).__name__}")
        self.model, self.weight, self.null = model, float(weight), null

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        check_tensor(x_t, "x_t", "(B, ...)")
        check_tensor(cond, "cond", "(B, ...), one condition per row of x_t")
        if len(cond) != len(x_t):
            raise ValueError(f"cond must have one row per row of x_t ({len(x_t)}), got shape {tuple(cond.shape)}")
        if self.weight == 0:
            return self.model(x_t, t, cond)
        nulls = self.null.to(cond.device).expand(len(cond), *self.null.shape)
        both = self.model(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([cond, nulls]))
        eps_cond, eps_null = both.chunk(2)
        return eps_cond + self.weight * (eps_cond - eps_null)


def guided(model, weight: float, null: torch.Tensor) -> Guided:
    """The guided denoiser of ``model`` at strength ``weight`` (see :class:`Guided`)."""
    return Guided(model, weight, null)


def _build_digit_ddpm(sizes: dict) -> nn.Module:
    from .device import seed
    from .unet import UNet

    seed(0)
    return UNet(in_channels=1, channels=tuple(sizes["channels"]))


def _fit_digit_ddpm(unet: nn.Module, sizes: dict) -> nn.Module:
    from .data import load_digits

    device = next(unet.parameters()).device
    images = (load_digits().x_train * 2 - 1).to(device)
    ema, _ = train_ddpm(unet, images, cosine_schedule(sizes["T"]), steps=sizes["steps"], batch=sizes["batch"],
                        lr=sizes["lr"], ema_decay=sizes["ema_decay"], seed=0)
    return ema


def _digit_ddpm_recipe():
    from .recipes import Recipe

    common = {"T": 100, "batch": 128, "lr": 2e-3, "ema_decay": 0.99}
    return Recipe(name="ddpm_digits", chapter="06_diffusion",
                  sizes={"cpu": {**common, "channels": (16, 32), "steps": 1500},
                         "gpu": {**common, "channels": (64, 128), "steps": 8000},
                         "smoke": {"steps": 5, "T": 10}},  # a smoke run's chains: ten network calls, not 100
                  build=_build_digit_ddpm, fit=_fit_digit_ddpm)


# The U-Net DDPM on the digits that chapter 6 trains and the metrics chapter's leaderboard scores
# (``load_or_train`` returns the moving average of its weights, which is what is sampled from).
DIGIT_DDPM = _digit_ddpm_recipe()
