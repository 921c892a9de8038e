"""Text to image: a caption encoder and a U-Net that reads it, for the scenes of :mod:`utils.data.scenes`.

Built in the text-to-image chapter. A caption is split into words and each word becomes a
token (:func:`encode_captions`); a small transformer *encoder* (the language chapter's GPT with
``causal=False``, so every word sees every other) turns the tokens into vectors; the U-Net of
:mod:`utils.unet` reads them two ways: their mean, through FiLM in every block, and each of
them, through cross-attention from its coarser feature maps.

Token 0 is padding and token 1 the *empty caption* ``NULL``: training replaces a share of
the captions with it (caption dropout), so the same network also predicts the noise with no
caption at all, which classifier-free guidance needs (:func:`utils.diffusion.guided`).
:func:`train_text_to_image` is the chapter's training recipe, :func:`draw` its sampler.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import diffusion as D
from .data.scenes import COLOURS, SCENES, SHAPES, Scenes, sample_scenes
from .device import is_smoke, model_device, profile_device
from .gpt import GPT, GPTConfig
from .recipes import Recipe
from .unet import UNet
from .validate import check_int, describe

T = 100  # diffusion steps (cosine schedule)
SAMPLE_STEPS, SMOKE_SAMPLE_STEPS = 20, 2  # DDIM steps of draw(), and of draw() in a smoke run
P_UNCOND = 0.1  # the share of captions replaced by the empty one in training
# The chapter's sizes for each profile: training pictures, steps, batch, U-Net widths at 16x16 and 8x8;
# a smoke run keeps the gpu shapes and takes two steps (one counted, one timed) on a few pictures: a step of
# the gpu shapes costs about 0.1 TFLOP, seconds on two CPU cores, and the chapter trains two models.
SIZES = {"cpu": {"n_train": 20000, "steps": 1000, "batch": 32, "channels": (32, 64)},
         "gpu": {"n_train": 50000, "steps": 8000, "batch": 128, "channels": (64, 128)},
         "smoke": {"n_train": 512, "steps": 2}}

PAD, NULL = 0, 1
CAPTION_LENGTH = 8  # an object pair has 7 words, the longest caption; a whole scene has 6 or 7
WORDS = ("<pad>", "<null>") + tuple(sorted(set(" ".join(SCENES + ("a above",) + SHAPES + COLOURS).split())))
WORD_IDS = {word: i for i, word in enumerate(WORDS)}


def encode_captions(captions: Sequence[str], length: int = CAPTION_LENGTH) -> torch.Tensor:
    """Word ids (N, length) of ``captions``, padded with ``PAD``; ``""`` is the empty caption ``NULL``."""
    if isinstance(captions, str) or not isinstance(captions, Sequence):
        raise TypeError(f"captions must be a list of strings, got {type(captions).__name__}")
    check_int(length, "length", 1)
    ids = torch.full((len(captions), length), PAD, dtype=torch.long)
    for row, text in enumerate(captions):
        if not isinstance(text, str):
            raise TypeError(f"captions[{row}] must be a string, got {type(text).__name__}")
        words = text.lower().rstrip(".").split()
        if not words:
            ids[row, 0] = NULL
            continue
        unknown = [w for w in words if w not in WORD_IDS]
        if unknown:
            raise ValueError(f"captions[{row}] = {text!r} has words the model does not know: {unknown}; "
                             f"it knows {', '.join(WORDS[2:])}")
        if len(words) > length:
            raise ValueError(f"captions[{row}] = {text!r} has {len(words)} words, more than length={length}")
        ids[row, :len(words)] = torch.tensor([WORD_IDS[w] for w in words])
    return ids


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean (B, C) of each row's token vectors ``tokens`` (B, L, C) where ``mask`` (B, L) is True."""
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 3:
        raise ValueError(f"tokens must be token vectors (B, L, C), got "
                         f"{tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else describe(tokens)}")
    if not isinstance(mask, torch.Tensor) or mask.shape != tokens.shape[:2]:
        raise ValueError(f"mask must be a tensor {tuple(tokens.shape[:2])} (True: a token), got "
                         f"{tuple(mask.shape) if isinstance(mask, torch.Tensor) else describe(mask)}")
    mask = mask.to(tokens.dtype)[..., None]
    return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1)


class TextToImage(nn.Module):
    """``model(x_t, t, ids)`` -> the predicted noise (B, 3, H, W) for pictures that show captions ``ids`` (B, L).

    ``encoder``: a GPT over word ids with ``causal=False``; ``unet``: a :class:`UNet` with FiLM
    (from the time embedding plus the mean of the caption's token vectors) and cross-attention
    (to the token vectors, padding masked out).
    """

    def __init__(self, channels=(32, 64), width: int = 64, n_layer: int = 2, n_head: int = 4,
                 length: int = CAPTION_LENGTH):
        super().__init__()
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or not channels:
            raise ValueError(f"channels must be a non-empty sequence of widths, such as (32, 64), got {channels!r}")
        for name, value in (("width", width), ("n_layer", n_layer), ("n_head", n_head), ("length", length)):
            check_int(value, name, 1)
        self.channels = tuple(channels)
        self.encoder = GPT(GPTConfig(vocab_size=len(WORDS), block_size=length, n_layer=n_layer, n_head=n_head,
                                     n_embd=width, causal=False))
        self.unet = UNet(in_channels=3, channels=channels, emb_dim=width, cond_dim=width, context_dim=width,
                         film=True, heads=1)

    def encode(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The caption's token vectors (B, L, width), their mask (B, L) and their mean (B, width)."""
        if not isinstance(ids, torch.Tensor) or ids.ndim != 2 or ids.is_floating_point():
            raise ValueError(f"ids must be word ids (B, L) from encode_captions, got {describe(ids)}")
        tokens = self.encoder.hidden_states(ids)
        mask = ids != PAD
        return tokens, mask, masked_mean(tokens, mask)

    def forward(self, x: torch.Tensor, t: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        tokens, mask, pooled = self.encode(ids)
        if len(ids) != len(x):
            raise ValueError(f"ids must have one caption per picture: {len(ids)} captions for {len(x)} pictures")
        return self.unet(x, t, cond=pooled, context=tokens, context_mask=mask)


def null_caption(length: int = CAPTION_LENGTH) -> torch.Tensor:
    """The ids (length,) of the empty caption: ``NULL`` then padding."""
    check_int(length, "length", 1)
    return encode_captions([""], length)[0]


def train_text_to_image(scenes: Scenes, *, channels=(32, 64), steps: int, batch: int = 32, lr: float = 2e-3,
                        ema_decay: float = 0.995, target: str = "x0", seed: int = 0, device=None):
    """The chapter's recipe: a :class:`TextToImage` trained by :func:`utils.diffusion.train_ddpm` on
    ``scenes`` (pixels scaled to [-1, 1]) with their captions, a share ``P_UNCOND`` of them dropped.

    ``target="x0"``: the network predicts the clean picture (the diffusion-images chapter's choice
    for flat, small pictures) and comes back wrapped in :class:`~utils.diffusion.NoiseFromX0`, so
    that the samplers see a noise predictor; ``"eps"``: it predicts the noise. Returns the moving
    average of the weights (in eval mode) and the loop's History.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be Scenes from utils.data.scenes.sample_scenes, got {type(scenes).__name__}")
    check_int(steps, "steps", 1)
    if target not in ("x0", "eps"):
        raise ValueError(f"target must be 'x0' or 'eps', got {target!r}")
    device = profile_device() if device is None else torch.device(device)
    torch.manual_seed(seed)
    model = TextToImage(channels).to(device)
    images = (scenes.images * 2 - 1).to(device)
    ids = encode_captions(scenes.captions).to(device)
    schedule = D.cosine_schedule(T)
    ema, history = D.train_ddpm(model, images, schedule, steps=steps, batch=batch, lr=lr, warmup=min(100, steps // 5),
                                ema_decay=ema_decay, seed=seed, cond=ids, null=null_caption().to(device),
                                p_uncond=P_UNCOND, target=target)
    return (D.NoiseFromX0(ema, schedule) if target == "x0" else ema), history


def as_denoiser(net: TextToImage, target: str) -> nn.Module:
    """``net`` as the samplers see it: a noise predictor (a picture-predicting net wrapped in NoiseFromX0)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a TextToImage (an nn.Module), got {describe(net)}")
    if target not in ("x0", "eps"):
        raise ValueError(f"target must be 'x0' or 'eps', got {target!r}")
    return D.NoiseFromX0(net, D.cosine_schedule(T)).eval() if target == "x0" else net.eval()


def _fit(target: str):
    def fit(net: TextToImage, sizes: dict) -> TextToImage:
        scenes = sample_scenes(sizes["n_train"], seed=0, split="train")
        model, _ = train_text_to_image(scenes, channels=sizes["channels"], steps=sizes["steps"],
                                       batch=sizes["batch"], target=target, device=model_device(net))
        return model.net if target == "x0" else model  # the bare network: what is saved
    return fit


# The two models the text-to-image notebook trains and the guidance notebook reuses: one predicts the
# picture (x0), one the noise (eps). ``recipe.save(net)`` takes the bare TextToImage.
TEXT_TO_IMAGE = {target: Recipe(name=name, chapter="09_text_to_image", sizes=SIZES,
                                build=lambda sizes: TextToImage(sizes["channels"]), fit=_fit(target))
                 for target, name in (("x0", "text_to_image"), ("eps", "text_to_image_eps"))}


def load_text_to_image(target: str = "x0", device=None) -> nn.Module:
    """The ``target`` model (``"x0"`` or ``"eps"``) that the text-to-image notebook saved under this
    profile, or the same training run here if it has not; as a noise predictor, in eval mode."""
    if target not in TEXT_TO_IMAGE:
        raise ValueError(f"target must be one of {sorted(TEXT_TO_IMAGE)}, got {target!r}")
    return as_denoiser(TEXT_TO_IMAGE[target].load_or_train(device), target)


@torch.no_grad()
def draw(model: nn.Module, captions: Sequence[str], weight: float = 0.0, seed: int = 1,
         sample_steps: int | None = None, device=None) -> torch.Tensor:
    """Pictures (N, 3, 16, 16) in [0, 1] for ``captions``: DDIM with ``sample_steps`` steps (default
    ``SAMPLE_STEPS``; ``SMOKE_SAMPLE_STEPS`` in a smoke run, whose models have trained a handful of steps)
    and classifier-free guidance of strength ``weight`` (0: the conditional model alone), on the
    model's device (``device``, if given, must agree)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a text-to-image denoiser (from load_text_to_image), got {describe(model)}")
    if isinstance(captions, str) or not isinstance(captions, Sequence):
        raise TypeError(f"captions must be a list of strings, got {describe(captions)}")
    if sample_steps is None:
        sample_steps = SMOKE_SAMPLE_STEPS if is_smoke() else SAMPLE_STEPS
    check_int(sample_steps, "sample_steps", 1)
    denoiser = D.guided(model, weight, null_caption())
    device = D._sampling_device(denoiser, device)
    ids = encode_captions(captions).to(device)
    x = D.ddim_sample(denoiser, (len(ids), 3, 16, 16), D.cosine_schedule(T), sample_steps,
                      generator=torch.Generator().manual_seed(seed), clip=(-1, 1), cond=ids)
    return ((x + 1) / 2).clamp(0, 1).cpu()
