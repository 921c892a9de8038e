"""One recipe for each model that a later chapter reuses: its sizes per profile, and load-or-train.

A chapter that builds a model explains and trains it in plain sight, with the sizes of its
recipe, and saves the result with :meth:`Recipe.save`; a later chapter calls
:meth:`Recipe.load_or_train`, which loads those weights when the chapter has run under the
same profile, or trains them with the very same code when it has not. So no chapter retypes
another's hyperparameters, and the order between chapters is explicit: the recipe names the
chapter that builds it.

The weights live in :func:`utils.paths.cache_dir`, one folder per profile, and each file records
the sizes it was trained with: a file whose sizes differ from the recipe's (an older run, another
profile copied by hand) is trained again rather than loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .device import SMOKE_SWAPS, check_device, get_profile, is_smoke, profile_device
from .paths import cache_dir, show


@dataclass(frozen=True)
class Recipe:
    """``sizes``: ``{"cpu": {...}, "gpu": {...}}``, plus ``"smoke"``: the counts (steps, samples) a smoke
    run takes instead. ``build(sizes)`` returns a fresh model; ``fit(model, sizes)`` trains it where it
    is and returns the model to keep (the same one, or its moving average)."""

    name: str
    chapter: str
    sizes: dict
    build: Callable[[dict], nn.Module]
    fit: Callable[[nn.Module, dict], nn.Module]

    def current_sizes(self) -> dict:
        """The sizes of the current profile (a smoke run: the gpu shapes with the smoke counts)."""
        sizes = dict(self.sizes[get_profile()])
        if is_smoke():
            smoke = self.sizes.get("smoke", {})
            SMOKE_SWAPS.extend((value, sizes[key]) for key, value in smoke.items() if key in sizes)
            sizes.update(smoke)
        return sizes

    @property
    def path(self):
        """Where this profile's weights are kept."""
        return cache_dir() / f"{self.name}.pt"

    def save(self, model: nn.Module, sizes: dict | None = None) -> None:
        """Keep ``model``'s weights for later chapters (the chapter that builds it calls this)."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        sizes = self.current_sizes() if sizes is None else sizes
        path = self.path
        tmp = path.with_suffix(".tmp")
        torch.save({"sizes": _plain(sizes), "state": model.state_dict()}, tmp)
        tmp.replace(path)  # two notebooks running side by side never read half a file
        print(f"saved {self.name} for later chapters ({show(path)})")

    def load_or_train(self, device: torch.device | str | None = None) -> nn.Module:
        """The model in eval mode on ``device`` (default: the profile's): the weights that chapter
        ``self.chapter`` saved under this profile, or, if there are none, the same training run here."""
        device = profile_device() if device is None else torch.device(device)
        sizes = self.current_sizes()
        model = self.build(sizes).to(device)
        path = self.path
        saved = torch.load(path, map_location=device, weights_only=True) if path.exists() else None
        if saved is not None and saved.get("sizes") == _plain(sizes):
            model.load_state_dict(saved["state"])
            return model.eval()
        print(f"{self.name}: no weights from {self.chapter} for this profile yet, so training them here "
              "with the same recipe")
        check_device(model, self.name, device)
        model = self.fit(model, sizes)
        self.save(model, sizes)
        return model.eval()


def _plain(sizes: dict) -> dict:
    """Sizes as saved: tuples become lists, so a loaded file compares equal to the recipe."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items()}


# Chapter 10's next-pixel models of the digits. Both train with utils.pixelcnn.fit_next_pixel on the same
# split (utils.pixelcnn.level_splits) and keep the weights of their best validation step.
def _build_pixelcnn(sizes: dict) -> nn.Module:
    from .device import seed
    from .pixelcnn import PixelCNN

    seed(0)
    return PixelCNN(channels=sizes["channels"], layers=sizes["layers"], dropout=sizes["dropout"])


def _build_igpt(sizes: dict) -> nn.Module:
    from .data.digits import LEVELS, SIDE
    from .device import seed
    from .gpt import GPT, GPTConfig

    seed(0)
    # 17 levels, the start token (no class) and 10 class tokens
    return GPT(GPTConfig(vocab_size=LEVELS + 1 + 10, block_size=SIDE * SIDE, n_layer=sizes["n_layer"],
                         n_head=sizes["n_head"], n_embd=sizes["n_embd"], dropout=sizes["dropout"],
                         attn_dropout=sizes.get("attn_dropout")))


def _fit_next_pixel(model: nn.Module, sizes: dict) -> nn.Module:
    from .data import load_digits
    from .pixelcnn import fit_with_sizes, level_splits

    return fit_with_sizes(model, level_splits(load_digits()), sizes)[0]


# The PixelCNN trains without remedies but early stopping (the chapter shows it over-fit); the image GPT
# reads each digit's class token first (null_share: the share of rows given the start token instead) and
# trains with dropout (on the residual stream; none on the attention weights, which would send PyTorch's fused
# attention to its slower plain path) and weight decay.
PIXELCNN_DIGITS = Recipe(
    name="pixelcnn_digits", chapter="10_next_pixel",
    sizes={"cpu": dict(channels=24, layers=5, dropout=0.0, steps=1000, batch=64, lr=5e-3, weight_decay=0.0,
                       shift=0.0, eval_every=50),
           "gpu": dict(channels=64, layers=8, dropout=0.0, steps=3000, batch=128, lr=2e-3, weight_decay=0.0,
                       shift=0.0, eval_every=100),
           "smoke": dict(steps=2)},
    build=_build_pixelcnn, fit=_fit_next_pixel)

IGPT_DIGITS = Recipe(
    name="igpt_digits", chapter="10_next_pixel",
    sizes={"cpu": dict(n_layer=3, n_head=4, n_embd=64, dropout=0.1, attn_dropout=0.0, steps=1500, batch=64, lr=3e-3,
                       weight_decay=0.1, shift=0.0, eval_every=50, classes=True, null_share=0.0),
           "gpu": dict(n_layer=6, n_head=8, n_embd=256, dropout=0.1, attn_dropout=0.0, steps=4000, batch=128, lr=1e-3,
                       weight_decay=0.1, shift=0.0, eval_every=100, classes=True, null_share=0.0),
           "smoke": dict(steps=2)},
    build=_build_igpt, fit=_fit_next_pixel)


# Chapter 11's VAE of the digits: a 17-way categorical decoder per pixel, trained on the negative ELBO with
# dropout and early stopping on the validation digits' bound (utils.vae.fit_vae, the same split as chapter 10).
def _build_vae(sizes: dict) -> nn.Module:
    from .device import seed
    from .vae import DigitVAE

    seed(0)
    return DigitVAE(latent=sizes["latent"], hidden=sizes["hidden"], dropout=sizes["dropout"])


def _fit_vae(model: nn.Module, sizes: dict) -> nn.Module:
    from .data import load_digits
    from .pixelcnn import level_splits
    from .vae import fit_vae

    return fit_vae(model, level_splits(load_digits()), sizes)[0]


VAE_DIGITS = Recipe(
    name="vae_digits", chapter="11_latent_diffusion",
    sizes={"cpu": dict(latent=16, hidden=256, dropout=0.2, steps=1200, batch=64, lr=2e-3, weight_decay=0.0,
                       eval_every=50),
           "gpu": dict(latent=32, hidden=512, dropout=0.3, steps=3000, batch=128, lr=1e-3, weight_decay=0.0,
                       eval_every=100),
           "smoke": dict(steps=2)},
    build=_build_vae, fit=_fit_vae)


# Chapter 7's pixel-space diffusion model of the landscapes, which predicts the clean picture (wrap it in
# utils.diffusion.NoiseFromX0 to sample); chapter 11's latent diffusion is measured against it.
def _build_landscape_ddpm(sizes: dict) -> nn.Module:
    from .device import seed
    from .unet import UNet

    seed(0)
    return UNet(in_channels=3, channels=tuple(sizes["channels"]))


def _fit_landscape_ddpm(unet: nn.Module, sizes: dict) -> nn.Module:
    from .data import sample_landscapes
    from .diffusion import cosine_schedule, train_ddpm

    device = next(unet.parameters()).device
    images = (sample_landscapes(sizes["pictures"], seed=0).images * 2 - 1).to(device)
    ema, _ = train_ddpm(unet, images, cosine_schedule(sizes["T"]), steps=sizes["steps"], batch=sizes["batch"],
                        lr=sizes["lr"], ema_decay=sizes["ema_decay"], target="x0")
    return ema


_LANDSCAPE = {"T": 100, "batch": 64, "lr": 2e-3, "ema_decay": 0.99}
LANDSCAPE_DDPM = Recipe(
    name="ddpm_landscapes", chapter="07_diffusion_images",
    sizes={"cpu": {**_LANDSCAPE, "channels": (16, 32), "steps": 700, "pictures": 2000},
           "gpu": {**_LANDSCAPE, "channels": (64, 128), "steps": 8000, "pictures": 20000},
           "smoke": {"steps": 3, "pictures": 500}},
    build=_build_landscape_ddpm, fit=_fit_landscape_ddpm)
