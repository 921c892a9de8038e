"""A reader's mistakes, played against every public function of ``utils``.

Each row of ``MISTAKES`` is one call a reader could get wrong (None, a wrong type, a wrong shape, values
in the wrong range, a padding id the model does not use) and the words its error must contain: the name
of the argument as the reader wrote it, and what was expected or what came. The table is checked three
ways: every row raises a clear error (a ValueError or TypeError, or the named kind) with those words;
every public function, class and method of ``utils`` has rows (at least None and one other mistake),
so a new function without rows fails :func:`test_every_public_function_has_rows`; and every exercise
checker, handed the usual wrong things, prints and returns a failing verdict instead of raising.
Property tests (hypothesis) check the range laws of :func:`utils.validate.pixel_range`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import utils
from utils import (
    baselines,
    diagrams,
    diffusion,
    distributed,
    gan,
    gpt,
    gpu_check,
    judge,
    launch,
    lora,
    metrics,
    moe,
    pixelcnn,
    plot,
    record,
    tables,
    text_to_image,
    tokenizer,
    train,
    unet,
    vae,
    validate,
)
from utils.data import digits, faces, landscapes, news, photos, scenes, stories, toy2d

# --- what the rows use: small, built once -------------------------------------------------------------------

DIGITS = digits.load_digits()
X8, Y8 = DIGITS.x_test[:20], DIGITS.y_test[:20]  # (20, 1, 8, 8) in [0, 1], (20,) int64
JUDGE = judge.DigitJudge().eval()
FACES = faces.sample_faces(6).images  # (6, 3, 16, 16) in [0, 1]
LANDS = landscapes.sample_landscapes(6).images
SCENES = scenes.sample_scenes(6)
PATCHES = FACES  # any (N, 3, 16, 16) pictures in [0, 1] stand in for photo patches
ARTICLES = news.sample_articles(3)
STORIES = stories.sample_stories(3)
RING = toy2d.toy_2d("ring")
SCHEDULE = diffusion.cosine_schedule(10)
torch.manual_seed(0)
TINY_GPT = gpt.GPT(gpt.GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=2, n_embd=8))
IDX = torch.randint(0, 11, (2, 5))
TINY_CNN = pixelcnn.PixelCNN(channels=4, layers=2).eval()
GATED = pixelcnn.GatedLayer(4)
V4 = torch.randn(2, 4, 8, 8)
LEV8 = digits.digit_levels(X8)  # (20, 64) grey levels 0..16
IGPT28 = gpt.GPT(gpt.GPTConfig(vocab_size=28, block_size=64, n_layer=1, n_head=2, n_embd=8))  # class tokens
TINY_UNET = unet.UNet(in_channels=1, channels=(8, 16), emb_dim=16)
X_T = torch.randn(4, 1, 8, 8)
T4 = torch.zeros(4, dtype=torch.long)
PIXELS_255 = X_T.abs().clamp(max=1) * 255  # pictures of the shape of X_T, in 0..255
GEN = gan.ImageGenerator(latent=4, channels=1, size=8, width=4)
DISC = gan.ImageDiscriminator(channels=1, size=8, width=4)
OPT_G, OPT_D = torch.optim.Adam(GEN.parameters()), torch.optim.Adam(DISC.parameters())
LINEAR = nn.Linear(4, 3)
T2I = text_to_image.TextToImage(channels=(8, 16), width=8, n_layer=1, n_head=2)
CAPTION_IDS = text_to_image.encode_captions(["a red ball above a blue box"] * 2)
CHAR_TOK = tokenizer.CharTokenizer("abc")
BPE = tokenizer.train_bpe("aaab aaab", 258)
CPU = torch.device("cpu")
NOWHERE = "/nonexistent/reader-mistakes/file.pt"


def wrong_shape_denoiser(x_t, t, *args, **kwargs):
    """A denoiser that forgot the channels: (B, 1, H, W) for any x_t."""
    return x_t[:, :1] * 0


def a_loss(model, batch):
    return ((model(batch[0]) - batch[1]) ** 2).mean()


def per_sample_loss(model, batch):
    return ((model(batch[0]) - batch[1]) ** 2).mean(1)


def get_batch(step):
    return torch.randn(4, 4), torch.randn(4, 3)


def not_a_checkpoint() -> str:
    path = Path(torch.__file__).parent / "version.py"  # any file that is not a checkpoint
    return str(path)


@contextlib.contextmanager
def entered(manager):
    with manager:
        yield


# --- the table ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    target: str  # "module.function", "module.Class" (its constructor) or "module.Class.method"
    kind: str  # "none", "type", "shape", "range" or "value"
    call: Callable[[], object]
    words: tuple[str, ...]  # the error must contain each (case-insensitive)
    raises: tuple[type[BaseException], ...] = (ValueError, TypeError)


MISTAKES: list[Mistake] = []


def mistake(target: str, kind: str, call: Callable[[], object], *words: str, raises=(ValueError, TypeError)):
    MISTAKES.append(Mistake(target, kind, call, words, raises if isinstance(raises, tuple) else (raises,)))


M = mistake
U = "utils."

# utils.baselines
M(U + "baselines.gaussian_digits", "none", lambda: baselines.gaussian_digits(None, 5), "digits", "NoneType")
M(U + "baselines.gaussian_digits", "value", lambda: baselines.gaussian_digits(DIGITS, 0), "n", "positive")
M(U + "baselines.gaussian_digits", "range", lambda: baselines.gaussian_digits(DIGITS, 5, shrinkage=2.0), "shrinkage")
M(U + "baselines.mixture_digits", "none", lambda: baselines.mixture_digits(None, 5), "digits", "NoneType")
M(U + "baselines.mixture_digits", "value", lambda: baselines.mixture_digits(DIGITS, 5, components=0), "components")
M(U + "baselines.kde_bandwidth", "none", lambda: baselines.kde_bandwidth(None), "digits", "NoneType")
M(U + "baselines.kde_bandwidth", "value", lambda: baselines.kde_bandwidth(DIGITS, candidates=[]), "candidates")
M(U + "baselines.kde_bandwidth", "range", lambda: baselines.kde_bandwidth(DIGITS, candidates=[-1.0]), "candidates")
M(U + "baselines.kde_digits", "none", lambda: baselines.kde_digits(None, 5), "digits", "NoneType")
M(U + "baselines.kde_digits", "range", lambda: baselines.kde_digits(DIGITS, 5, bandwidth=-1.0), "bandwidth")
M(U + "baselines.kde_digits", "type", lambda: baselines.kde_digits(DIGITS, "5"), "n", "'5'")

# utils.data.digits
M(U + "data.digits.digit_levels", "none", lambda: digits.digit_levels(None), "images", "NoneType")
M(U + "data.digits.digit_levels", "range", lambda: digits.digit_levels(X8 * 16), "images", "[0, 1]")
M(U + "data.digits.digit_levels", "shape", lambda: digits.digit_levels(X8[:, 0]), "images", "(N, 1, 8, 8)")
M(U + "data.digits.levels_to_images", "none", lambda: digits.levels_to_images(None), "levels", "NoneType")
M(U + "data.digits.levels_to_images", "type", lambda: digits.levels_to_images(X8.flatten(1)), "levels", "integer")
M(U + "data.digits.levels_to_images", "range", lambda: digits.levels_to_images(LEV8 + 1), "levels", "0..16", "17")
M(U + "data.digits.levels_to_images", "shape", lambda: digits.levels_to_images(LEV8[:, :63]), "levels",
  "(N, 64)")

# utils.data.faces
M(U + "data.faces.sample_faces", "none", lambda: faces.sample_faces(None), "n", "None")
M(U + "data.faces.sample_faces", "type", lambda: faces.sample_faces(2.5), "n", "2.5")
M(U + "data.faces.sample_faces", "none", lambda: faces.sample_faces(2, seed=None), "seed", "None")
M(U + "data.faces.classify_pixels", "none", lambda: faces.classify_pixels(None), "images", "NoneType")
M(U + "data.faces.classify_pixels", "range", lambda: faces.classify_pixels(FACES * 255), "images", "[0, 1]", "0..255")
M(U + "data.faces.classify_pixels", "range", lambda: faces.classify_pixels(FACES * 2 - 1), "images", "(x + 1) / 2")
M(U + "data.faces.classify_pixels", "type", lambda: faces.classify_pixels((FACES * 255).byte()), "images", "uint8")
M(U + "data.faces.classify_pixels", "shape", lambda: faces.classify_pixels(FACES[:, :1]), "images", "(N, 3, H, W)")
M(U + "data.faces.measure_faces", "none", lambda: faces.measure_faces(None), "images", "NoneType")
M(U + "data.faces.measure_faces", "range", lambda: faces.measure_faces(FACES * 2 - 1), "images", "[-1, 1]")
M(U + "data.faces.measure_faces", "type", lambda: faces.measure_faces(FACES.tolist()), "images", "list")
M(U + "data.faces.attribute_match", "none", lambda: faces.attribute_match(None, FACES), "images", "NoneType")
M(U + "data.faces.attribute_match", "none", lambda: faces.attribute_match(FACES, None), "reference", "NoneType")
M(U + "data.faces.attribute_match", "range", lambda: faces.attribute_match(FACES, FACES * 255), "reference", "0..255")

# utils.data.landscapes
M(U + "data.landscapes.sample_landscapes", "none", lambda: landscapes.sample_landscapes(None), "n", "None")
M(U + "data.landscapes.sample_landscapes", "type", lambda: landscapes.sample_landscapes("3"), "n", "'3'")
M(U + "data.landscapes.sample_landscapes", "none", lambda: landscapes.sample_landscapes(2, seed=None), "seed")
M(U + "data.landscapes.classify_pixels", "none", lambda: landscapes.classify_pixels(None), "images", "NoneType")
M(U + "data.landscapes.classify_pixels", "range", lambda: landscapes.classify_pixels(LANDS * 255), "images", "0..255")
M(U + "data.landscapes.classify_pixels", "type", lambda: landscapes.classify_pixels((LANDS * 255).byte()),
  "images", "uint8", "/ 255")
M(U + "data.landscapes.classify_pixels", "shape", lambda: landscapes.classify_pixels(LANDS[0]), "images",
  "(N, 3, H, W)")
M(U + "data.landscapes.measure_landscapes", "none", lambda: landscapes.measure_landscapes(None), "images", "NoneType")
M(U + "data.landscapes.measure_landscapes", "range", lambda: landscapes.measure_landscapes(LANDS * 2 - 1),
  "images", "[-1, 1]", "(x + 1) / 2")
M(U + "data.landscapes.attribute_match", "none", lambda: landscapes.attribute_match(None, LANDS), "images")
M(U + "data.landscapes.attribute_match", "none", lambda: landscapes.attribute_match(LANDS, None), "reference")
M(U + "data.landscapes.attribute_match", "range", lambda: landscapes.attribute_match(LANDS * 255, LANDS),
  "images", "0..255")

# utils.data.news
M(U + "data.news.split_sentences", "none", lambda: news.split_sentences(None), "text", "NoneType")
M(U + "data.news.split_sentences", "type", lambda: news.split_sentences(["A. B."]), "text", "list")
M(U + "data.news.sample_articles", "none", lambda: news.sample_articles(None), "n", "None")
M(U + "data.news.sample_articles", "value", lambda: news.sample_articles(-1), "n", "-1")
M(U + "data.news.load_news", "none", lambda: news.load_news(None), "n_train", "None")
M(U + "data.news.load_news", "value", lambda: news.load_news(n_val=0), "n_val", "0")
M(U + "data.news.load_news", "none", lambda: news.load_news(2, 2, 2, seed=None), "seed", "None")
M(U + "data.news.facts_stated", "none", lambda: news.facts_stated(None, ARTICLES[0].event), "summary", "NoneType")
M(U + "data.news.facts_stated", "none", lambda: news.facts_stated("x", None), "event", "NoneType")
M(U + "data.news.facts_stated", "type", lambda: news.facts_stated("x", ARTICLES[0].event, "someone"),
  "distractor", "str")
M(U + "data.news.fact_accuracy", "none", lambda: news.fact_accuracy(None, ARTICLES), "summaries", "NoneType")
M(U + "data.news.fact_accuracy", "type", lambda: news.fact_accuracy("abc", ARTICLES), "summaries", "str")
M(U + "data.news.fact_accuracy", "shape", lambda: news.fact_accuracy(["a"], ARTICLES), "one summary per article")
M(U + "data.news.fact_accuracy", "none", lambda: news.fact_accuracy(["a"], None), "articles", "NoneType")
M(U + "data.news.news_rows", "none", lambda: news.news_rows(None, CHAR_TOK.encode, 64), "articles", "NoneType")
M(U + "data.news.news_rows", "none", lambda: news.news_rows(ARTICLES, None, 64), "encode", "NoneType")
M(U + "data.news.news_rows", "value", lambda: news.news_rows(ARTICLES, CHAR_TOK.encode, 1), "block_size", "1")

# utils.data.photos
M(U + "data.photos.load_photo_patches", "none", lambda: photos.load_photo_patches(None), "size", "None")
M(U + "data.photos.load_photo_patches", "value", lambda: photos.load_photo_patches(8, stride=0), "stride", "0")
M(U + "data.photos.load_photo_patches", "value", lambda: photos.load_photo_patches(8, max_train=-1), "max_train")
M(U + "data.photos.downsample", "none", lambda: photos.downsample(None), "images", "NoneType")
M(U + "data.photos.downsample", "value", lambda: photos.downsample(PATCHES, factor=0), "factor", "0")
M(U + "data.photos.downsample", "shape", lambda: photos.downsample(PATCHES, factor=3), "divisible", "factor=3")
M(U + "data.photos.downsample", "type", lambda: photos.downsample((PATCHES * 255).byte()), "images", "uint8")
M(U + "data.photos.bicubic_upsample", "none", lambda: photos.bicubic_upsample(None), "images", "NoneType")
M(U + "data.photos.bicubic_upsample", "type", lambda: photos.bicubic_upsample((PATCHES * 255).byte()),
  "images", "uint8", "x.float() / 255")
M(U + "data.photos.bicubic_upsample", "range", lambda: photos.bicubic_upsample(PATCHES * 255), "images", "0..255")
M(U + "data.photos.bicubic_upsample", "value", lambda: photos.bicubic_upsample(PATCHES, factor=0), "factor", "0")
M(U + "data.photos.bicubic_upsample", "shape", lambda: photos.bicubic_upsample(PATCHES[0]), "images",
  "(N, C, H, W)", "(3, 16, 16)")
M(U + "data.photos.psnr", "none", lambda: photos.psnr(None, PATCHES), "images", "NoneType")
M(U + "data.photos.psnr", "none", lambda: photos.psnr(PATCHES, None), "reference", "NoneType")
M(U + "data.photos.psnr", "range", lambda: photos.psnr(PATCHES * 255, PATCHES * 255), "images", "0..255", "/ 255")
M(U + "data.photos.psnr", "shape", lambda: photos.psnr(PATCHES, PATCHES[:1]), "same shape")

# utils.data.scenes
M(U + "data.scenes.sample_scenes", "none", lambda: scenes.sample_scenes(None), "n", "None")
M(U + "data.scenes.sample_scenes", "value", lambda: scenes.sample_scenes(2, split="test"), "split", "'test'")
M(U + "data.scenes.sample_scenes", "none", lambda: scenes.sample_scenes(2, seed=None), "seed", "None")
M(U + "data.scenes.caption", "range", lambda: scenes.caption(scene=5), "scene")
M(U + "data.scenes.caption", "none", lambda: scenes.caption(scene=None), "scene", "None")
M(U + "data.scenes.caption", "value", lambda: scenes.caption(top_shape=0, top_colour=0, bottom_shape=1,
                                                              bottom_colour=0), "different colours")
M(U + "data.scenes.captions", "none", lambda: scenes.captions(None), "facts", "NoneType")
M(U + "data.scenes.captions", "type", lambda: scenes.captions([1, 2]), "facts", "list")
M(U + "data.scenes.parse_caption", "none", lambda: scenes.parse_caption(None), "text", "NoneType")
M(U + "data.scenes.parse_caption", "value", lambda: scenes.parse_caption("a purple ball above a red box"),
  "cannot parse", "purple")
M(U + "data.scenes.classify_pixels", "none", lambda: scenes.classify_pixels(None), "images", "NoneType")
M(U + "data.scenes.classify_pixels", "range", lambda: scenes.classify_pixels(SCENES.images * 255), "images",
  "0..255")
M(U + "data.scenes.read_scenes", "none", lambda: scenes.read_scenes(None), "images", "NoneType")
M(U + "data.scenes.read_scenes", "range", lambda: scenes.read_scenes(SCENES.images * 2 - 1), "images", "[-1, 1]")
M(U + "data.scenes.read_scenes", "shape", lambda: scenes.read_scenes(SCENES.images[:, :, :8, :8]), "images",
  "(N, 3, 16, 16)")
M(U + "data.scenes.caption_accuracy", "none", lambda: scenes.caption_accuracy(None, SCENES), "images", "NoneType")
M(U + "data.scenes.caption_accuracy", "none", lambda: scenes.caption_accuracy(SCENES.images, None), "truth",
  "NoneType")
M(U + "data.scenes.caption_accuracy", "shape", lambda: scenes.caption_accuracy(SCENES.images, SCENES.captions[:2]),
  "truth", "2")
M(U + "data.scenes.caption_accuracy", "range", lambda: scenes.caption_accuracy((SCENES.images * 255).byte(),
                                                                               SCENES), "images", "uint8")

# utils.data.stories
M(U + "data.stories.sample_stories", "none", lambda: stories.sample_stories(None), "n", "None")
M(U + "data.stories.sample_stories", "value", lambda: stories.sample_stories(-2), "n", "-2")
M(U + "data.stories.sample_stories", "none", lambda: stories.sample_stories(2, seed=None), "seed", "None")
M(U + "data.stories.count_derivations", "none", lambda: stories.count_derivations(None), "text", "NoneType")
M(U + "data.stories.count_derivations", "value", lambda: stories.count_derivations("x", limit=0), "limit", "0")
M(U + "data.stories.story_log_prob", "none", lambda: stories.story_log_prob(None), "text", "NoneType")
M(U + "data.stories.story_log_prob", "type", lambda: stories.story_log_prob(STORIES[0]), "text", "Story")
M(U + "data.stories.true_entropy", "none", lambda: stories.true_entropy(None), "stories", "NoneType")
M(U + "data.stories.true_entropy", "value", lambda: stories.true_entropy(STORIES[:1]), "stories", "at least 2")
M(U + "data.stories.true_entropy", "type", lambda: stories.true_entropy([s.text for s in STORIES]), "stories", "str")
M(U + "data.stories.hero_of", "none", lambda: stories.hero_of(None), "text", "NoneType")
M(U + "data.stories.hero_of", "type", lambda: stories.hero_of(STORIES[0]), "text", "Story")
M(U + "data.stories.hero_recalled", "none", lambda: stories.hero_recalled(None), "text", "NoneType")
M(U + "data.stories.hero_recalled", "type", lambda: stories.hero_recalled(["x"]), "text", "list")
M(U + "data.stories.load_stories", "none", lambda: stories.load_stories(None), "n_train", "None")
M(U + "data.stories.load_stories", "value", lambda: stories.load_stories(n_test=0), "n_test", "0")
M(U + "data.stories.story_rows", "none", lambda: stories.story_rows(None, CHAR_TOK.encode, 64), "stories",
  "NoneType")
M(U + "data.stories.story_rows", "none", lambda: stories.story_rows(STORIES, None, 64), "encode", "NoneType")
M(U + "data.stories.story_rows", "value", lambda: stories.story_rows(STORIES, CHAR_TOK.encode, 1), "block_size")
M(U + "data.stories.token_rows", "none", lambda: stories.token_rows(None, 8), "sequences", "NoneType")
M(U + "data.stories.token_rows", "shape", lambda: stories.token_rows([1, 2, 3], 8), "sequences", "list of lists")
M(U + "data.stories.token_rows", "none", lambda: stories.token_rows([[1, 2]], None), "block_size", "None")
M(U + "data.stories.token_rows", "value", lambda: stories.token_rows([[1, 2, 3]], 1), "block_size", "1")

# utils.data.toy2d
M(U + "data.toy2d.toy_2d", "none", lambda: toy2d.toy_2d(None), "name", "None")
M(U + "data.toy2d.toy_2d", "value", lambda: toy2d.toy_2d("rings"), "name", "'rings'")
M(U + "data.toy2d.Toy2D.sample_with_labels", "none", lambda: RING.sample_with_labels(None), "n", "None")
M(U + "data.toy2d.Toy2D.sample_with_labels", "none", lambda: RING.sample_with_labels(3, seed=None), "seed", "None")
M(U + "data.toy2d.Toy2D.sample_with_labels", "type", lambda: RING.sample_with_labels(2.5), "n", "2.5")
M(U + "data.toy2d.Toy2D.sample", "none", lambda: RING.sample(None), "n", "None")
M(U + "data.toy2d.Toy2D.sample", "value", lambda: RING.sample(0), "n", "0")
M(U + "data.toy2d.Toy2D.log_density", "none", lambda: RING.log_density(None), "x", "NoneType")
M(U + "data.toy2d.Toy2D.log_density", "shape", lambda: RING.log_density(torch.zeros(3, 3)), "x", "(n, 2)")

# utils.diffusion
M(U + "diffusion.Schedule", "none", lambda: diffusion.Schedule("mine", None), "betas", "NoneType")
M(U + "diffusion.Schedule", "range", lambda: diffusion.Schedule("mine", torch.tensor([0.5, 1.5])), "betas", "(0, 1)")
M(U + "diffusion.Schedule", "shape", lambda: diffusion.Schedule("mine", torch.full((2, 2), 0.1)), "betas", "(T,)")
M(U + "diffusion.linear_schedule", "none", lambda: diffusion.linear_schedule(None), "steps", "None")
M(U + "diffusion.linear_schedule", "range", lambda: diffusion.linear_schedule(10, 0.5, 0.1), "beta_start", "beta_end")
M(U + "diffusion.cosine_schedule", "none", lambda: diffusion.cosine_schedule(None), "steps", "None")
M(U + "diffusion.cosine_schedule", "range", lambda: diffusion.cosine_schedule(10, offset=-1.0), "offset")
M(U + "diffusion.cosine_schedule", "range", lambda: diffusion.cosine_schedule(10, max_beta=2.0), "max_beta", "2.0")
M(U + "diffusion.make_schedule", "none", lambda: diffusion.make_schedule(None), "name", "None")
M(U + "diffusion.make_schedule", "value", lambda: diffusion.make_schedule("quadratic"), "name", "'quadratic'")
M(U + "diffusion.make_schedule", "value", lambda: diffusion.make_schedule("linear", 0), "steps", "0")
M(U + "diffusion.q_sample", "none", lambda: diffusion.q_sample(None, 0, X_T, SCHEDULE), "x0", "NoneType")
M(U + "diffusion.q_sample", "range", lambda: diffusion.q_sample(X_T, 99, X_T, SCHEDULE), "t", "[0, 10)")
M(U + "diffusion.q_sample", "shape", lambda: diffusion.q_sample(X_T, 0, X_T[:1], SCHEDULE), "noise", "(1, 1, 8, 8)")
M(U + "diffusion.q_sample", "none", lambda: diffusion.q_sample(X_T, 0, X_T, None), "schedule", "NoneType")
M(U + "diffusion.ddpm_loss", "none", lambda: diffusion.ddpm_loss(None, X_T, SCHEDULE), "model", "NoneType")
M(U + "diffusion.ddpm_loss", "shape", lambda: diffusion.ddpm_loss(wrong_shape_denoiser, X_T.repeat(1, 3, 1, 1),
                                                                  SCHEDULE), "model(x_t, t)", "(4, 1, 8, 8)")
M(U + "diffusion.ddpm_loss", "value", lambda: diffusion.ddpm_loss(TINY_UNET, X_T, SCHEDULE, target="v"), "target")
M(U + "diffusion.ddpm_loss", "none", lambda: diffusion.ddpm_loss(TINY_UNET, None, SCHEDULE), "x0", "NoneType")
M(U + "diffusion.noise_from_x0", "none", lambda: diffusion.noise_from_x0(None, X_T, 0.5), "x_t", "NoneType")
M(U + "diffusion.noise_from_x0", "shape", lambda: diffusion.noise_from_x0(X_T, X_T[:1], 0.5), "x0", "(1, 1, 8, 8)")
M(U + "diffusion.noise_from_x0", "range", lambda: diffusion.noise_from_x0(X_T, X_T, 1.5), "alpha_bar_t", "1.5")
M(U + "diffusion.predict_x0", "none", lambda: diffusion.predict_x0(X_T, None, 0.5), "eps", "NoneType")
M(U + "diffusion.predict_x0", "shape", lambda: diffusion.predict_x0(X_T, X_T[:, :, :4], 0.5), "eps", "(4, 1, 4, 8)")
M(U + "diffusion.predict_x0", "range", lambda: diffusion.predict_x0(X_T, X_T, 0.0), "alpha_bar_t", "(0, 1]")
M(U + "diffusion.NoiseFromX0", "none", lambda: diffusion.NoiseFromX0(None, SCHEDULE), "net", "NoneType")
M(U + "diffusion.NoiseFromX0", "type", lambda: diffusion.NoiseFromX0(TINY_UNET, "cosine"), "schedule", "str")
M(U + "diffusion.NoiseFromX0.forward", "shape", lambda: diffusion.NoiseFromX0(wrong_shape_denoiser, SCHEDULE)(
    X_T.repeat(1, 3, 1, 1), T4), "net(x_t, t)", "(4, 1, 8, 8)")
M(U + "diffusion.NoiseFromX0.forward", "none", lambda: diffusion.NoiseFromX0(TINY_UNET, SCHEDULE)(None, T4), "x_t",
  "NoneType")
M(U + "diffusion.ddpm_sample", "none", lambda: diffusion.ddpm_sample(None, (2, 1, 8, 8), SCHEDULE), "model",
  "NoneType")
M(U + "diffusion.ddpm_sample", "shape", lambda: diffusion.ddpm_sample(wrong_shape_denoiser, (2, 3, 8, 8), SCHEDULE),
  "model(x_t, t)", "(2, 1, 8, 8)")
M(U + "diffusion.ddpm_sample", "value", lambda: diffusion.ddpm_sample(TINY_UNET, (0, 1, 8, 8), SCHEDULE), "shape")
M(U + "diffusion.ddpm_sample", "none", lambda: diffusion.ddpm_sample(TINY_UNET, (2, 1, 8, 8), None), "schedule",
  "NoneType")
M(U + "diffusion.ddpm_sample", "value", lambda: diffusion.ddpm_sample(TINY_UNET, (2, 1, 8, 8), SCHEDULE,
                                                                      clip=(1, -1)), "clip", "(1, -1)")
M(U + "diffusion.ddim_step", "none", lambda: diffusion.ddim_step(None, X_T, 0.5, 0.9), "x_t", "NoneType")
M(U + "diffusion.ddim_step", "shape", lambda: diffusion.ddim_step(X_T, X_T[:1], 0.5, 0.9), "eps", "(1, 1, 8, 8)")
M(U + "diffusion.ddim_step", "range", lambda: diffusion.ddim_step(X_T, X_T, 0.5, 1.5), "alpha_bar_prev", "1.5")
M(U + "diffusion.ddim_timesteps", "none", lambda: diffusion.ddim_timesteps(None, 5), "schedule", "NoneType")
M(U + "diffusion.ddim_timesteps", "range", lambda: diffusion.ddim_timesteps(SCHEDULE, 0), "sample_steps", "0")
M(U + "diffusion.ddim_sample", "none", lambda: diffusion.ddim_sample(None, (2, 1, 8, 8), SCHEDULE), "model",
  "NoneType")
M(U + "diffusion.ddim_sample", "shape", lambda: diffusion.ddim_sample(wrong_shape_denoiser, (2, 3, 8, 8), SCHEDULE,
                                                                      5), "model(x_t, t)", "(2, 1, 8, 8)")
M(U + "diffusion.ddim_sample", "range", lambda: diffusion.ddim_sample(TINY_UNET, (2, 1, 8, 8), SCHEDULE, eta=2.0),
  "eta", "2.0")
M(U + "diffusion.ddim_sample", "value", lambda: diffusion.ddim_sample(TINY_UNET, (2, 1, 8, 8), SCHEDULE, 0),
  "sample_steps", "0")
M(U + "diffusion.drop_conditions", "none", lambda: diffusion.drop_conditions(None, torch.zeros(3), 0.1), "cond",
  "NoneType")
M(U + "diffusion.drop_conditions", "range", lambda: diffusion.drop_conditions(torch.zeros(4, 3), torch.zeros(3), 1.5),
  "p", "1.5")
M(U + "diffusion.drop_conditions", "shape", lambda: diffusion.drop_conditions(torch.zeros(4, 3), torch.zeros(2), 0.1),
  "null", "(3,)")
M(U + "diffusion.train_ddpm", "type", lambda: diffusion.train_ddpm(TINY_UNET, X_T, SCHEDULE, steps=1, pictures="no"),
  "pictures", "str")
M(U + "diffusion.train_ddpm", "none", lambda: diffusion.train_ddpm(None, X_T, SCHEDULE, steps=2), "model",
  "NoneType")
M(U + "diffusion.train_ddpm", "value", lambda: diffusion.train_ddpm(TINY_UNET, X_T, SCHEDULE, steps=0), "steps")
M(U + "diffusion.train_ddpm", "range", lambda: diffusion.train_ddpm(TINY_UNET, PIXELS_255, SCHEDULE, steps=2),
  "images", "[-1, 1]", "0..255")
M(U + "diffusion.train_ddpm", "type", lambda: diffusion.train_ddpm(TINY_UNET, PIXELS_255.byte(), SCHEDULE,
                                                                   steps=2), "images", "uint8")
M(U + "diffusion.train_ddpm", "none", lambda: diffusion.train_ddpm(TINY_UNET, X_T.clamp(-1, 1), None, steps=2),
  "schedule", "NoneType")
M(U + "diffusion.train_ddpm", "value", lambda: diffusion.train_ddpm(TINY_UNET, X_T.clamp(-1, 1), SCHEDULE, steps=2,
                                                                    target="v"), "target", "'v'")
M(U + "diffusion.train_ddpm", "value", lambda: diffusion.train_ddpm(TINY_UNET, X_T.clamp(-1, 1), SCHEDULE, steps=2,
                                                                    p_uncond=0.5), "p_uncond", "cond")
M(U + "diffusion.Guided", "none", lambda: diffusion.Guided(None, 1.0, torch.zeros(3)), "model", "NoneType")
M(U + "diffusion.Guided", "range", lambda: diffusion.Guided(TINY_UNET, -1.0, torch.zeros(3)), "weight", "-1.0")
M(U + "diffusion.Guided", "none", lambda: diffusion.Guided(TINY_UNET, 1.0, None), "null", "NoneType")
M(U + "diffusion.Guided.forward", "none", lambda: diffusion.Guided(T2I, 1.0, CAPTION_IDS[0])(
    torch.zeros(2, 3, 16, 16), T4[:2], None), "cond", "NoneType")
M(U + "diffusion.Guided.forward", "shape", lambda: diffusion.Guided(T2I, 1.0, CAPTION_IDS[0])(
    torch.zeros(2, 3, 16, 16), T4[:2], CAPTION_IDS[:1]), "cond", "(1, 8)")
M(U + "diffusion.guided", "none", lambda: diffusion.guided(None, 1.0, torch.zeros(3)), "model", "NoneType")
M(U + "diffusion.guided", "type", lambda: diffusion.guided(TINY_UNET, "strong", torch.zeros(3)), "weight", "'strong'")

# utils.diagrams
M(U + "diagrams.attention_diagram", "none", lambda: diagrams.attention_diagram(None), "T", "None")
M(U + "diagrams.attention_diagram", "range", lambda: diagrams.attention_diagram(1), "T", "1")

# utils.distributed
M(U + "distributed.start", "none", lambda: distributed.start(None), "timeout_s", "None")
M(U + "distributed.start", "range", lambda: distributed.start(-1), "timeout_s", "-1")
M(U + "distributed.shard", "none", lambda: distributed.shard(None, 0, 1), "batch", "NoneType")
M(U + "distributed.shard", "range", lambda: distributed.shard(torch.zeros(4), 2, 2), "rank", "2")
M(U + "distributed.shard", "value", lambda: distributed.shard(torch.zeros(4), 0, 0), "world_size", "0")
M(U + "distributed.shard", "shape", lambda: distributed.shard(torch.zeros(4), 0, 3), "4 rows", "3 processes")
M(U + "distributed.mean", "none", lambda: distributed.mean(None), "value", "NoneType")
M(U + "distributed.mean", "type", lambda: distributed.mean([1.0, 2.0]), "value", "list")
M(U + "distributed.time_all_reduce", "none", lambda: distributed.time_all_reduce(None), "numels", "NoneType")
M(U + "distributed.time_all_reduce", "value", lambda: distributed.time_all_reduce((10,), repeats=0), "repeats", "0")
M(U + "distributed.time_all_reduce", "range", lambda: distributed.time_all_reduce((-5,)), "numels", "-5")

# utils.gan
M(U + "gan.SeedParallelMLP", "none", lambda: gan.SeedParallelMLP(None, 2, 2), "seeds", "None")
M(U + "gan.SeedParallelMLP", "value", lambda: gan.SeedParallelMLP([0], 0, 2), "inputs", "0")
M(U + "gan.SeedParallelMLP.forward", "none", lambda: gan.SeedParallelMLP([0, 1], 2, 2)(None), "x", "NoneType")
M(U + "gan.SeedParallelMLP.forward", "shape", lambda: gan.SeedParallelMLP([0, 1], 2, 2)(torch.zeros(3, 5, 2)), "x",
  "(2, batch, 2)")
M(U + "gan.r1_penalty", "none", lambda: gan.r1_penalty(None, torch.zeros(3, 2, requires_grad=True)), "d_real",
  "NoneType")
M(U + "gan.r1_penalty", "none", lambda: gan.r1_penalty(torch.zeros(3, requires_grad=True), None), "real",
  "NoneType")
M(U + "gan.r1_penalty", "value", lambda: gan.r1_penalty(torch.zeros(3, requires_grad=True),
                                                        torch.zeros(3, 2, requires_grad=True), 0), "sample_dims")
M(U + "gan.ImageGenerator", "none", lambda: gan.ImageGenerator(latent=None), "latent", "None")
M(U + "gan.ImageGenerator", "value", lambda: gan.ImageGenerator(size=12), "size", "12")
M(U + "gan.ImageGenerator", "value", lambda: gan.ImageGenerator(n_classes=-1), "n_classes", "-1")
M(U + "gan.ImageGenerator.forward", "none", lambda: GEN(None), "z", "NoneType")
M(U + "gan.ImageGenerator.forward", "shape", lambda: GEN(torch.zeros(2, 5)), "z", "(batch, 4)", "(2, 5)")
M(U + "gan.ImageGenerator.forward", "value", lambda: GEN(torch.zeros(2, 4), torch.zeros(2).long()), "labels",
  "n_classes")
M(U + "gan.ImageDiscriminator", "none", lambda: gan.ImageDiscriminator(channels=None), "channels", "None")
M(U + "gan.ImageDiscriminator", "value", lambda: gan.ImageDiscriminator(n_classes=-2), "n_classes", "-2")
M(U + "gan.ImageDiscriminator.forward", "none", lambda: DISC(None), "images", "NoneType")
M(U + "gan.ImageDiscriminator.forward", "shape", lambda: DISC(torch.zeros(2, 3, 8, 8)), "images", "(batch, 1, 8, 8)")
M(U + "gan.gan_step", "none", lambda: gan.gan_step(None, DISC, OPT_G, OPT_D, X8[:4] * 2 - 1, torch.zeros(4, 4)),
  "generator", "NoneType")
M(U + "gan.gan_step", "none", lambda: gan.gan_step(GEN, DISC, None, OPT_D, X8[:4] * 2 - 1, torch.zeros(4, 4)),
  "opt_g", "NoneType")
M(U + "gan.gan_step", "range", lambda: gan.gan_step(GEN, DISC, OPT_G, OPT_D, X8[:4] * 2 - 1, torch.zeros(4, 4),
                                                    gamma=-1.0), "gamma", "-1.0")
M(U + "gan.gan_step", "none", lambda: gan.gan_step(GEN, DISC, OPT_G, OPT_D, None, torch.zeros(4, 4)), "real",
  "NoneType")
M(U + "gan.train_gan", "none", lambda: gan.train_gan(GEN, DISC, None, steps=1), "images", "NoneType")
M(U + "gan.train_gan", "range", lambda: gan.train_gan(GEN, DISC, X8 * 255, steps=1), "images", "[-1, 1]", "0..255")
M(U + "gan.train_gan", "value", lambda: gan.train_gan(GEN, DISC, X8 * 2 - 1, steps=0), "steps", "0")
M(U + "gan.train_gan", "range", lambda: gan.train_gan(GEN, DISC, X8 * 2 - 1, steps=1, lr=-1.0), "lr", "-1.0")
M(U + "gan.train_gan", "type", lambda: gan.train_gan(GEN, DISC, X8 * 2 - 1, steps=1, every=1, watch=3), "watch",
  "int")
M(U + "gan.train_gan", "none", lambda: gan.train_gan(None, DISC, X8 * 2 - 1, steps=1), "generator", "NoneType")

# utils.gpt
M(U + "gpt.GPTConfig", "none", lambda: gpt.GPTConfig(vocab_size=None), "vocab_size", "None")
M(U + "gpt.GPTConfig", "value", lambda: gpt.GPTConfig(vocab_size=0), "vocab_size", "0")
M(U + "gpt.GPTConfig", "value", lambda: gpt.GPTConfig(10, n_embd=10, n_head=3), "n_embd", "n_head")
M(U + "gpt.GPTConfig", "value", lambda: gpt.GPTConfig(10, attn_dropout=1.5), "attn_dropout", "[0, 1)", "1.5")
M(U + "gpt.CausalSelfAttention", "none", lambda: gpt.CausalSelfAttention(None), "config", "NoneType")
M(U + "gpt.CausalSelfAttention", "type", lambda: gpt.CausalSelfAttention({"n_embd": 8}), "config", "dict")
M(U + "gpt.CausalSelfAttention.forward", "none", lambda: TINY_GPT.blocks[0].attn(None), "x", "NoneType")
M(U + "gpt.CausalSelfAttention.forward", "shape", lambda: TINY_GPT.blocks[0].attn(torch.zeros(2, 8)), "x",
  "(B, T, 8)")
M(U + "gpt.FeedForward", "none", lambda: gpt.FeedForward(None), "config", "NoneType")
M(U + "gpt.FeedForward", "type", lambda: gpt.FeedForward(8), "config", "int")
M(U + "gpt.FeedForward.forward", "none", lambda: TINY_GPT.blocks[0].mlp(None), "x", "NoneType")
M(U + "gpt.FeedForward.forward", "shape", lambda: TINY_GPT.blocks[0].mlp(torch.zeros(2, 3, 5)), "x", "8")
M(U + "gpt.Block", "none", lambda: gpt.Block(None), "config", "NoneType")
M(U + "gpt.Block", "type", lambda: gpt.Block("small"), "config", "str")
M(U + "gpt.Block.forward", "none", lambda: TINY_GPT.blocks[0](None), "x", "NoneType")
M(U + "gpt.Block.forward", "shape", lambda: TINY_GPT.blocks[0](torch.zeros(2, 3, 5)), "x", "(B, T, 8)")
M(U + "gpt.GPT", "none", lambda: gpt.GPT(None), "config", "NoneType")
M(U + "gpt.GPT", "type", lambda: gpt.GPT({"vocab_size": 11}), "config", "GPTConfig")
M(U + "gpt.GPT.num_params", "none", lambda: TINY_GPT.num_params(None), "non_embedding", "None")
M(U + "gpt.GPT.num_params", "type", lambda: TINY_GPT.num_params("no"), "non_embedding", "'no'")
M(U + "gpt.GPT.hidden_states", "none", lambda: TINY_GPT.hidden_states(None), "idx", "NoneType")
M(U + "gpt.GPT.hidden_states", "type", lambda: TINY_GPT.hidden_states(IDX.float()), "idx", "float32")
M(U + "gpt.GPT.hidden_states", "value", lambda: TINY_GPT.hidden_states(IDX, start=-1), "start", "-1")
M(U + "gpt.GPT.forward", "none", lambda: TINY_GPT(None), "idx", "NoneType")
M(U + "gpt.GPT.forward", "value", lambda: TINY_GPT(IDX, torch.full_like(IDX, -100)), "targets", "-100",
  "ignore_index")
M(U + "gpt.GPT.forward", "type", lambda: TINY_GPT(IDX, IDX.tolist()), "targets", "list")
M(U + "gpt.GPT.forward", "shape", lambda: TINY_GPT(IDX, IDX[:, :2]), "targets", "(2, 5)", "(2, 2)")
M(U + "gpt.GPT.forward", "range", lambda: TINY_GPT(IDX, IDX + 20), "targets", "[0, 11)")
M(U + "gpt.GPT.generate", "none", lambda: TINY_GPT.generate(None, 3), "idx", "NoneType")
M(U + "gpt.GPT.generate", "none", lambda: TINY_GPT.generate(IDX, None), "max_new_tokens", "None")
M(U + "gpt.GPT.generate", "range", lambda: TINY_GPT.generate(IDX, -1), "max_new_tokens", "-1")
M(U + "gpt.GPT.generate", "range", lambda: TINY_GPT.generate(IDX, 2, temperature=-1.0), "temperature", "-1.0")
M(U + "gpt.story_gpt_sizes", "value", lambda: gpt.story_gpt_sizes("tpu"), "profile", "'tpu'")
M(U + "gpt.story_gpt_sizes", "type", lambda: gpt.story_gpt_sizes(3), "profile", "3")
M(U + "gpt.sample_next", "none", lambda: gpt.sample_next(None), "logits", "NoneType")
M(U + "gpt.sample_next", "shape", lambda: gpt.sample_next(torch.zeros(2, 3, 4)), "logits", "(B, V)", "(2, 3, 4)")
M(U + "gpt.sample_next", "range", lambda: gpt.sample_next(torch.zeros(2, 4), top_p=2.0), "top_p", "2.0")
M(U + "gpt.sample_next", "value", lambda: gpt.sample_next(torch.zeros(2, 4), top_k=0), "top_k", "0")
M(U + "gpt.complete", "shape", lambda: gpt.complete(TINY_GPT, [1, 2, 3], 2), "prompts", "list of lists", "int")
M(U + "gpt.complete", "none", lambda: gpt.complete(None, [[1]], 2), "model", "NoneType")
M(U + "gpt.complete", "none", lambda: gpt.complete(TINY_GPT, None, 2), "prompts", "NoneType")
M(U + "gpt.complete", "range", lambda: gpt.complete(TINY_GPT, [[1]], -1), "max_new_tokens", "-1")
M(U + "gpt.complete", "value", lambda: gpt.complete(TINY_GPT, [[1]], 2, batch_size=0), "batch_size", "0")

# utils.gpu_check (the maintainer's script for a lent GPU)
M(U + "gpu_check.tf32", "type", lambda: entered(gpu_check.tf32("yes")).__enter__(), "enabled", "'yes'")
M(U + "gpu_check.tf32", "type", lambda: entered(gpu_check.tf32(1)).__enter__(), "enabled", "1")
M(U + "gpu_check.profile", "none", lambda: gpu_check.profile(None), "name", "None")
M(U + "gpu_check.profile", "value", lambda: gpu_check.profile("tpu"), "name", "'tpu'")
M(U + "gpu_check.soft", "none", lambda: gpu_check.soft(None), "fn", "NoneType")
M(U + "gpu_check.soft", "type", lambda: gpu_check.soft({"ok": True}), "fn", "dict")
M(U + "gpu_check.run_quietly", "none", lambda: gpu_check.run_quietly(None, 5), "command", "NoneType")
M(U + "gpu_check.run_quietly", "type", lambda: gpu_check.run_quietly("true", 5), "command", "str")
M(U + "gpu_check.run_quietly", "range", lambda: gpu_check.run_quietly(["true"], -1), "timeout", "-1")
M(U + "gpu_check.check_environment", "none", lambda: gpu_check.check_environment(None), "device", "NoneType")
M(U + "gpu_check.check_environment", "type", lambda: gpu_check.check_environment("cpu"), "device", "str")
M(U + "gpu_check.check_peaks", "none", lambda: gpu_check.check_peaks(None), "device", "NoneType")
M(U + "gpu_check.check_peaks", "type", lambda: gpu_check.check_peaks(0), "device", "int")
M(U + "gpu_check.check_gan_fd", "none", lambda: gpu_check.check_gan_fd(None), "device", "NoneType")
M(U + "gpu_check.check_gan_fd", "value", lambda: gpu_check.check_gan_fd(CPU, steps=0), "steps", "0")
M(U + "gpu_check.check_guided", "none", lambda: gpu_check.check_guided(None), "device", "NoneType")
M(U + "gpu_check.check_guided", "range", lambda: gpu_check.check_guided(CPU, weight=-1.0), "weight", "-1.0")
M(U + "gpu_check.check_torchrun", "none", lambda: gpu_check.check_torchrun(None), "processes", "None")
M(U + "gpu_check.check_torchrun", "value", lambda: gpu_check.check_torchrun(0), "processes", "0")
M(U + "gpu_check.check_device_guard", "none", lambda: gpu_check.check_device_guard(None), "device", "NoneType")
M(U + "gpu_check.check_device_guard", "type", lambda: gpu_check.check_device_guard("cuda"), "device", "str")
M(U + "gpu_check.read_projection", "none", lambda: gpu_check.read_projection(None), "record", "NoneType")
M(U + "gpu_check.read_projection", "type", lambda: gpu_check.read_projection(3), "record", "int")
M(U + "gpu_check.run_notebook", "none", lambda: gpu_check.run_notebook(None, 10, Path("/tmp")), "notebook",
  "NoneType")
M(U + "gpu_check.run_notebook", "range", lambda: gpu_check.run_notebook(Path("x.ipynb"), -1, Path("/tmp")),
  "timeout", "-1")
M(U + "gpu_check.table", "none", lambda: gpu_check.table(None, [("a", "A")]), "rows", "NoneType")
M(U + "gpu_check.table", "type", lambda: gpu_check.table([{"a": 1}], ["a"]), "columns", "(key, heading)")
M(U + "gpu_check.notebook_table", "none", lambda: gpu_check.notebook_table(None), "rows", "NoneType")
M(U + "gpu_check.notebook_table", "type", lambda: gpu_check.notebook_table(["a"]), "rows", "str")
M(U + "gpu_check.summarise", "none", lambda: gpu_check.summarise(None, 1.0), "report", "NoneType")
M(U + "gpu_check.summarise", "value", lambda: gpu_check.summarise({"notebooks": []}, 1.0), "report", "environment")
M(U + "gpu_check.parse", "type", lambda: gpu_check.parse(3), "argv", "int")
M(U + "gpu_check.parse", "type", lambda: gpu_check.parse("--cpu-dry-run"), "argv", "str")
M(U + "gpu_check.main", "type", lambda: gpu_check.main(3), "argv", "int")
M(U + "gpu_check.main", "type", lambda: gpu_check.main("--skip-checks"), "argv", "str")

# utils.judge
M(U + "judge.DigitJudge", "none", lambda: judge.DigitJudge(width=None), "width", "None")
M(U + "judge.DigitJudge", "range", lambda: judge.DigitJudge(dropout=1.5), "dropout", "1.5")
M(U + "judge.DigitJudge.features", "none", lambda: JUDGE.features(None), "x", "NoneType")
M(U + "judge.DigitJudge.features", "shape", lambda: JUDGE.features(torch.zeros(2, 1, 4, 4)), "x", "(N, 1, 8, 8)")
M(U + "judge.DigitJudge.forward", "none", lambda: JUDGE(None), "x", "NoneType")
M(U + "judge.DigitJudge.forward", "type", lambda: JUDGE((X8 * 16).long()), "x", "int64")
M(U + "judge.check_digit_images", "none", lambda: judge.check_digit_images(None), "images", "NoneType")
M(U + "judge.check_digit_images", "shape", lambda: judge.check_digit_images(torch.zeros(2, 8, 8)), "images",
  "(N, 1, 8, 8)")
M(U + "judge.check_digit_images", "type", lambda: judge.check_digit_images((X8 * 255).byte()), "images", "uint8")
M(U + "judge.shift_digits", "none", lambda: judge.shift_digits(None, torch.Generator()), "x", "NoneType")
M(U + "judge.shift_digits", "none", lambda: judge.shift_digits(X8, None), "generator", "NoneType")
M(U + "judge.shift_digits", "shape", lambda: judge.shift_digits(torch.zeros(2, 8, 8), torch.Generator()), "x",
  "(N, 1, 8, 8)")
M(U + "judge.judge_loss", "none", lambda: judge.judge_loss(None, (X8, Y8, 0)), "model", "NoneType")
M(U + "judge.judge_loss", "none", lambda: judge.judge_loss(JUDGE, None), "batch", "NoneType")
M(U + "judge.judge_loss", "shape", lambda: judge.judge_loss(JUDGE, (X8, Y8)), "batch", "(images, labels, seed)")
M(U + "judge.train_judge", "type", lambda: judge.train_judge("digits", steps=2, progress=False), "digits", "str")
M(U + "judge.train_judge", "value", lambda: judge.train_judge(DIGITS, steps=0, progress=False), "steps", "0")
M(U + "judge.train_judge", "none", lambda: judge.train_judge(DIGITS, seed=None, steps=2, progress=False), "seed",
  "None")
M(U + "judge.accuracy", "shape", lambda: judge.accuracy(JUDGE, X8, Y8[:, None]), "labels", "(20,)", "(20, 1)")
M(U + "judge.accuracy", "none", lambda: judge.accuracy(None, X8, Y8), "model", "NoneType")
M(U + "judge.accuracy", "none", lambda: judge.accuracy(JUDGE, None, Y8), "images", "NoneType")
M(U + "judge.accuracy", "range", lambda: judge.accuracy(JUDGE, X8 * 16, Y8), "images", "[0, 1]")
M(U + "judge.accuracy", "none", lambda: judge.accuracy(JUDGE, X8, None), "labels", "NoneType")
M(U + "judge.save_judge", "none", lambda: judge.save_judge(None, "/tmp/judge-never-written.pt"), "model", "NoneType")
M(U + "judge.save_judge", "type", lambda: judge.save_judge(JUDGE, 3), "path", "int")
M(U + "judge.load_judge", "type", lambda: judge.load_judge(3), "path", "int")
M(U + "judge.load_judge", "value", lambda: judge.load_judge(NOWHERE), "no judge", raises=FileNotFoundError)
M(U + "judge.fd_digits", "none", lambda: judge.fd_digits(None, X8, JUDGE), "images_a", "NoneType")
M(U + "judge.fd_digits", "range", lambda: judge.fd_digits(X8 * 2 - 1, X8, JUDGE), "images_a", "[0, 1]",
  "(x + 1) / 2")
M(U + "judge.fd_digits", "range", lambda: judge.fd_digits(X8, X8 * 16, JUDGE), "images_b", "[0, 1]", "16")
M(U + "judge.fd_digits", "type", lambda: judge.fd_digits(X8, X8, "judge"), "judge", "str")

# utils.launch
M(U + "launch.tiny_problem", "range", lambda: launch.tiny_problem(dropout=2.0), "dropout", "2.0")
M(U + "launch.tiny_problem", "none", lambda: launch.tiny_problem(seed=None), "seed", "None")
M(U + "launch.tiny_problem", "value", lambda: launch.tiny_problem(batch=0), "batch", "0")
M(U + "launch.stories_problem", "range", lambda: launch.stories_problem(dropout=-0.5), "dropout", "-0.5")
M(U + "launch.stories_problem", "value", lambda: launch.stories_problem(batch=0), "batch", "0")
M(U + "launch.stories_problem", "value", lambda: launch.stories_problem(profile="tpu"), "profile", "'tpu'")
M(U + "launch.stories_problem", "none", lambda: launch.stories_problem(seed=None), "seed", "None")
M(U + "launch.parse", "type", lambda: launch.parse(3), "argv", "int")
M(U + "launch.parse", "type", lambda: launch.parse("tiny"), "argv", "str")
M(U + "launch.main", "type", lambda: launch.main(3), "argv", "int")
M(U + "launch.main", "type", lambda: launch.main("tiny --steps 2"), "argv", "str")

# utils.lora
M(U + "lora.LoRALinear", "none", lambda: lora.LoRALinear(None), "base", "NoneType")
M(U + "lora.LoRALinear", "value", lambda: lora.LoRALinear(LINEAR, rank=0), "rank", "0")
M(U + "lora.LoRALinear.forward", "none", lambda: lora.LoRALinear(LINEAR)(None), "x", "NoneType")
M(U + "lora.LoRALinear.forward", "shape", lambda: lora.LoRALinear(LINEAR)(torch.zeros(2, 5)), "x", "4", "(2, 5)")
M(U + "lora.add_lora", "none", lambda: lora.add_lora(None), "model", "NoneType")
M(U + "lora.add_lora", "value", lambda: lora.add_lora(nn.Sequential(nn.Linear(2, 2)), targets=["nope"]), "targets")
M(U + "lora.add_lora", "value", lambda: lora.add_lora(nn.Sequential(nn.Linear(2, 2)), rank=0), "rank", "0")
M(U + "lora.merge_lora", "none", lambda: lora.merge_lora(None), "model", "NoneType")
M(U + "lora.merge_lora", "type", lambda: lora.merge_lora([LINEAR]), "model", "list")
M(U + "lora.count_parameters", "none", lambda: lora.count_parameters(None), "model", "NoneType")
M(U + "lora.count_parameters", "type", lambda: lora.count_parameters(LINEAR.parameters()), "model", "generator")

# utils.metrics
F2 = torch.randn(10, 2)
M(U + "metrics.frechet_distance", "none", lambda: metrics.frechet_distance(None, F2), "features_a", "NoneType")
M(U + "metrics.frechet_distance", "shape", lambda: metrics.frechet_distance(F2, torch.randn(10, 3)), "width")
M(U + "metrics.frechet_distance", "value", lambda: metrics.frechet_distance(F2, F2 * float("nan")), "features_b",
  "NaN")
M(U + "metrics.mode_coverage", "none", lambda: metrics.mode_coverage(None, F2, 0.1), "samples", "NoneType")
M(U + "metrics.mode_coverage", "range", lambda: metrics.mode_coverage(F2, F2, -1.0), "std", "-1.0")
M(U + "metrics.mode_coverage", "range", lambda: metrics.mode_coverage(F2, F2, 0.1, threshold=-3.0), "threshold")
M(U + "metrics.histogram_match", "none", lambda: metrics.histogram_match(None, Y8), "a", "NoneType")
M(U + "metrics.histogram_match", "type", lambda: metrics.histogram_match(Y8, Y8.float()), "b", "integer", "float32")
M(U + "metrics.perplexity", "none", lambda: metrics.perplexity(None), "nll_nats", "None")
M(U + "metrics.perplexity", "range", lambda: metrics.perplexity([-1.0]), "nll_nats", "non-negative")
M(U + "metrics.perplexity", "type", lambda: metrics.perplexity("2.3"), "nll_nats", "str")
M(U + "metrics.bits_per_char", "none", lambda: metrics.bits_per_char(None, 10), "total_nll_nats", "None")
M(U + "metrics.bits_per_char", "value", lambda: metrics.bits_per_char(5.0, 0), "n_chars", "0")
M(U + "metrics.tokenize_13a", "none", lambda: metrics.tokenize_13a(None), "line", "NoneType")
M(U + "metrics.tokenize_13a", "type", lambda: metrics.tokenize_13a(["a b"]), "line", "list")
M(U + "metrics.bleu", "none", lambda: metrics.bleu(None, ["a"]), "hypotheses", "NoneType")
M(U + "metrics.bleu", "shape", lambda: metrics.bleu(["a"], ["a", "b"]), "same length", "1 and 2")
M(U + "metrics.bleu", "value", lambda: metrics.bleu(["a"], ["a"], max_n=0), "max_n", "0")
M(U + "metrics.rouge_tokens", "none", lambda: metrics.rouge_tokens(None), "text", "NoneType")
M(U + "metrics.rouge_tokens", "type", lambda: metrics.rouge_tokens(["a"]), "text", "list")
M(U + "metrics.rouge", "none", lambda: metrics.rouge(None, ["a"]), "hypotheses", "NoneType")
M(U + "metrics.rouge", "type", lambda: metrics.rouge("abc", ["a"]), "hypotheses", "str")
M(U + "metrics.precision_recall", "none", lambda: metrics.precision_recall(None, F2), "real_features", "NoneType")
M(U + "metrics.precision_recall", "value", lambda: metrics.precision_recall(F2, F2, k=0), "k", "0")
M(U + "metrics.mean_pairwise_distance", "none", lambda: metrics.mean_pairwise_distance(None), "images", "NoneType")
M(U + "metrics.mean_pairwise_distance", "shape", lambda: metrics.mean_pairwise_distance(X8[:1]), "images",
  "at least 2")

# utils.moe
M(U + "moe.MoEFeedForward", "none", lambda: moe.MoEFeedForward(None, 16, 4), "n_embd", "None")
M(U + "moe.MoEFeedForward", "value", lambda: moe.MoEFeedForward(8, 16, 0), "n_expert", "0")
M(U + "moe.MoEFeedForward", "value", lambda: moe.MoEFeedForward(8, 16, 4, top_k=5), "top_k", "5")
M(U + "moe.MoEFeedForward.forward", "none", lambda: moe.MoEFeedForward(8, 16, 4)(None), "x", "NoneType")
M(U + "moe.MoEFeedForward.forward", "shape", lambda: moe.MoEFeedForward(8, 16, 4)(torch.zeros(2, 8)), "x",
  "(B, T, 8)")

# utils.vae
VAE = vae.DigitVAE(latent=2, hidden=8).eval()
MU = torch.zeros(3, 2)
M(U + "vae.reparameterise", "none", lambda: vae.reparameterise(None, MU, MU), "mu", "NoneType")
M(U + "vae.reparameterise", "shape", lambda: vae.reparameterise(MU, MU, torch.zeros(3, 5)), "noise",
  "mu's shape (3, 2)", "(3, 5)")
M(U + "vae.reparameterise", "shape", lambda: vae.reparameterise(MU, torch.zeros(2, 2), MU), "same shape",
  "(3, 2) and (2, 2)")
M(U + "vae.gaussian_kl", "none", lambda: vae.gaussian_kl(MU, None), "logvar", "NoneType")
M(U + "vae.gaussian_kl", "type", lambda: vae.gaussian_kl(MU.long(), MU), "mu", "floating-point")
M(U + "vae.DigitVAE", "none", lambda: vae.DigitVAE(latent=None), "latent", "None")
M(U + "vae.DigitVAE", "range", lambda: vae.DigitVAE(dropout=1.0), "dropout", "1.0")
M(U + "vae.DigitVAE.encode", "none", lambda: VAE.encode(None), "levels", "NoneType")
M(U + "vae.DigitVAE.encode", "type", lambda: VAE.encode(X8.flatten(1)), "levels", "integer")
M(U + "vae.DigitVAE.forward", "none", lambda: VAE(None), "levels", "NoneType")
M(U + "vae.DigitVAE.forward", "range", lambda: VAE(LEV8 + 1), "levels", "0..16", "17")
M(U + "vae.DigitVAE.decode", "none", lambda: VAE.decode(None), "z", "NoneType")
M(U + "vae.DigitVAE.decode", "shape", lambda: VAE.decode(torch.zeros(3, 4)), "z", "latent size 2", "(3, 4)")
M(U + "vae.negative_elbo", "none", lambda: vae.negative_elbo(None, LEV8), "model", "NoneType")
M(U + "vae.negative_elbo", "type", lambda: vae.negative_elbo(TINY_CNN, LEV8), "model", "DigitVAE", "PixelCNN")
M(U + "vae.iwae_bound", "none", lambda: vae.iwae_bound(VAE, None), "levels", "NoneType")
M(U + "vae.iwae_bound", "value", lambda: vae.iwae_bound(VAE, LEV8, k=0), "k", "0")
M(U + "pixelcnn.bits", "none", lambda: pixelcnn.bits(None), "nats", "NoneType")
M(U + "pixelcnn.bits", "shape", lambda: pixelcnn.bits(torch.zeros(2, 3)), "nats", "(N,)", "(2, 3)")
M(U + "vae.fit_vae", "none", lambda: vae.fit_vae(VAE, None, {}), "split", "NoneType")
M(U + "vae.fit_vae", "value", lambda: vae.fit_vae(VAE, pixelcnn.level_splits(DIGITS), {"steps": 1}), "sizes",
  "eval_every")
M(U + "vae.fit_vae", "type", lambda: vae.fit_vae(TINY_CNN, pixelcnn.level_splits(DIGITS), {}), "model", "DigitVAE")
AE = vae.PictureAutoencoder(latent=4, width=4).eval()
M(U + "vae.PictureAutoencoder", "none", lambda: vae.PictureAutoencoder(latent=None), "latent", "None")
M(U + "vae.PictureAutoencoder", "value", lambda: vae.PictureAutoencoder(width=0), "width", "0")
M(U + "vae.PictureAutoencoder.encode", "none", lambda: AE.encode(None), "x", "NoneType")
M(U + "vae.PictureAutoencoder.encode", "shape", lambda: AE.encode(torch.zeros(2, 3, 10, 10)), "x",
  "divisible by 4", "(2, 3, 10, 10)")
M(U + "vae.PictureAutoencoder.forward", "none", lambda: AE(None), "x", "NoneType")
M(U + "vae.PictureAutoencoder.forward", "shape", lambda: AE(X_T), "x", "(B, 3, H, W)", "(4, 1, 8, 8)")
M(U + "vae.PictureAutoencoder.decode", "none", lambda: AE.decode(None), "z", "NoneType")
M(U + "vae.PictureAutoencoder.decode", "shape", lambda: AE.decode(torch.zeros(2, 3, 4, 4)), "z",
  "4 latent channels", "(2, 3, 4, 4)")
M(U + "vae.sample_digits", "none", lambda: vae.sample_digits(VAE, None), "n", "None")
M(U + "vae.sample_digits", "value", lambda: vae.sample_digits(VAE, 2, pixels="mean"), "pixels", "'mean'")

# utils.pixelcnn

M(U + "baselines.histogram_bits", "none", lambda: baselines.histogram_bits(None, LEV8), "probs", "NoneType")
M(U + "baselines.histogram_bits", "shape", lambda: baselines.histogram_bits(torch.ones(32, 17) / 17, LEV8), "levels",
  "(N, 32)", "(20, 64)")
M(U + "baselines.independent_pixels", "none", lambda: baselines.independent_pixels(LEV8, None), "val", "NoneType")
M(U + "baselines.independent_pixels", "value", lambda: baselines.independent_pixels(LEV8, LEV8, alphas=()), "alphas",
  "()")
M(U + "pixelcnn.conv_mask", "none", lambda: pixelcnn.conv_mask(None, "A"), "kernel_size", "None")
M(U + "pixelcnn.conv_mask", "value", lambda: pixelcnn.conv_mask(4, "A"), "kernel_size", "odd", "4")
M(U + "pixelcnn.conv_mask", "value", lambda: pixelcnn.conv_mask(3, "a"), "mask_type", "'a'")
M(U + "pixelcnn.MaskedConv2d", "none", lambda: pixelcnn.MaskedConv2d(None, 4, 3, "A"), "in_channels", "None")
M(U + "pixelcnn.MaskedConv2d", "value", lambda: pixelcnn.MaskedConv2d(1, 4, 3, "C"), "mask_type", "'C'")
M(U + "pixelcnn.MaskedConv2d.forward", "none", lambda: pixelcnn.MaskedConv2d(1, 4, 3, "A")(None), "x", "NoneType")
M(U + "pixelcnn.MaskedConv2d.forward", "shape", lambda: pixelcnn.MaskedConv2d(1, 4, 3, "A")(X8[:, 0]), "x",
  "(B, C, H, W)", "(20, 8, 8)")
M(U + "pixelcnn.stack_masks", "none", lambda: pixelcnn.stack_masks(None, True), "kernel_size", "None")
M(U + "pixelcnn.stack_masks", "type", lambda: pixelcnn.stack_masks(3, "yes"), "first", "str")
M(U + "pixelcnn.GatedLayer", "none", lambda: pixelcnn.GatedLayer(None), "channels", "None")
M(U + "pixelcnn.GatedLayer", "value", lambda: pixelcnn.GatedLayer(4, kernel_size=2), "kernel_size", "odd")
M(U + "pixelcnn.GatedLayer.forward", "none", lambda: GATED(None, V4), "v", "NoneType")
M(U + "pixelcnn.GatedLayer.forward", "shape", lambda: GATED(V4, V4[:, :2]), "same shape", "(2, 4, 8, 8)")
M(U + "pixelcnn.GatedLayer.vertical", "none", lambda: GATED.vertical(None), "v", "NoneType")
M(U + "pixelcnn.GatedLayer.vertical", "type", lambda: GATED.vertical(V4.long()), "v", "floating-point")
M(U + "pixelcnn.GatedLayer.horizontal", "none", lambda: GATED.horizontal(V4, None), "v_feat", "NoneType")
M(U + "pixelcnn.GatedLayer.horizontal", "shape", lambda: GATED.horizontal(V4, V4), "v_feat", "8 channels",
  "(2, 4, 8, 8)")
M(U + "pixelcnn.PixelCNN", "none", lambda: pixelcnn.PixelCNN(channels=None), "channels", "None")
M(U + "pixelcnn.PixelCNN", "range", lambda: pixelcnn.PixelCNN(dropout=1.0), "dropout", "1.0")
M(U + "pixelcnn.PixelCNN.forward", "none", lambda: TINY_CNN(None), "levels", "NoneType")
M(U + "pixelcnn.PixelCNN.forward", "type", lambda: TINY_CNN(X8.flatten(1)), "levels", "integer")
M(U + "pixelcnn.PixelCNN.forward", "range", lambda: TINY_CNN(LEV8 * 2), "levels", "0..16", "32")
M(U + "pixelcnn.PixelCNN.forward", "shape", lambda: TINY_CNN(LEV8[:, :60]), "levels", "multiple of 8", "(20, 60)")
M(U + "pixelcnn.pixel_logits", "none", lambda: pixelcnn.pixel_logits(None, LEV8), "model", "NoneType")
M(U + "pixelcnn.pixel_logits", "type", lambda: pixelcnn.pixel_logits(JUDGE, LEV8), "model", "DigitJudge")
M(U + "pixelcnn.pixel_logits", "value", lambda: pixelcnn.pixel_logits(TINY_GPT, LEV8), "vocab_size", "18")
M(U + "pixelcnn.pixel_logits", "none", lambda: pixelcnn.pixel_logits(TINY_CNN, None), "levels", "NoneType")
M(U + "pixelcnn.next_pixel_loss", "none", lambda: pixelcnn.next_pixel_loss(TINY_CNN, None), "batch", "NoneType")
M(U + "pixelcnn.next_pixel_loss", "type", lambda: pixelcnn.next_pixel_loss(TINY_CNN, (X8.flatten(1),)), "batch",
  "integer", "float32")
M(U + "pixelcnn.bits_per_dim", "none", lambda: pixelcnn.bits_per_dim(TINY_CNN, None), "levels", "NoneType")
M(U + "pixelcnn.bits_per_dim", "range", lambda: pixelcnn.bits_per_dim(TINY_CNN, LEV8 - 1), "levels", "0..16", "-1")
M(U + "pixelcnn.bits_per_dim", "value", lambda: pixelcnn.bits_per_dim(TINY_CNN, LEV8, batch_size=0), "batch_size")
M(U + "pixelcnn.sample_pixels", "none", lambda: pixelcnn.sample_pixels(None, 2), "model", "NoneType")
M(U + "pixelcnn.sample_pixels", "value", lambda: pixelcnn.sample_pixels(TINY_CNN, 0), "n", "0")
M(U + "pixelcnn.sample_pixels", "shape", lambda: pixelcnn.sample_pixels(TINY_CNN, 3, given=LEV8[:2, :8]), "given",
  "(3, k)", "(2, 8)")
M(U + "pixelcnn.sample_pixels", "range", lambda: pixelcnn.sample_pixels(TINY_CNN, 2, temperature=0.0),
  "temperature", "0.0")
M(U + "pixelcnn.sample_pixels", "type", lambda: pixelcnn.sample_pixels(TINY_CNN, 2, generator=0), "generator", "int")
M(U + "pixelcnn.level_splits", "none", lambda: pixelcnn.level_splits(None), "digits", "NoneType")
M(U + "pixelcnn.level_splits", "range", lambda: pixelcnn.level_splits(DIGITS, n_val=2000), "n_val", "2000")
M(U + "pixelcnn.shifted_batches", "none", lambda: pixelcnn.shifted_batches(None, 4), "levels", "NoneType")
M(U + "pixelcnn.shifted_batches", "range", lambda: pixelcnn.shifted_batches(LEV8, 4, shift=1.5), "shift", "1.5")
M(U + "pixelcnn.shifted_batches", "value", lambda: pixelcnn.shifted_batches(LEV8, 0), "batch_size", "0")
M(U + "pixelcnn.fit_next_pixel", "none", lambda: pixelcnn.fit_next_pixel(None, LEV8, LEV8, steps=1, batch_size=2,
                                                                         lr=0.1), "model", "NoneType")
M(U + "pixelcnn.fit_next_pixel", "none", lambda: pixelcnn.fit_next_pixel(TINY_CNN, LEV8, None, steps=1, batch_size=2,
                                                                         lr=0.1), "val_levels", "NoneType")
M(U + "pixelcnn.fit_next_pixel", "shape", lambda: pixelcnn.fit_next_pixel(TINY_CNN, LEV8[:, :32], LEV8, steps=1,
                                                                          batch_size=2, lr=0.1), "train_levels",
  "(B, 64)", "(20, 32)")
M(U + "pixelcnn.fit_with_sizes", "none", lambda: pixelcnn.fit_with_sizes(TINY_CNN, None, {}), "split", "NoneType")
M(U + "pixelcnn.fit_with_sizes", "type", lambda: pixelcnn.fit_with_sizes(TINY_CNN, LEV8, {}), "split", "Tensor")
M(U + "pixelcnn.fit_with_sizes", "value", lambda: pixelcnn.fit_with_sizes(TINY_CNN, pixelcnn.level_splits(DIGITS),
                                                                          {"steps": 1}), "sizes", "eval_every")
M(U + "pixelcnn.class_tokens", "none", lambda: pixelcnn.class_tokens(None), "labels", "NoneType")
M(U + "pixelcnn.class_tokens", "range", lambda: pixelcnn.class_tokens(Y8 + 1), "labels", "0..9", "10")
M(U + "pixelcnn.pixel_logits", "range", lambda: pixelcnn.pixel_logits(IGPT28, LEV8, LEV8[:, 0]), "first",
  "start token")
M(U + "pixelcnn.pixel_logits", "value", lambda: pixelcnn.pixel_logits(TINY_CNN, LEV8, Y8 + 18), "first",
  "PixelCNN")
M(U + "pixelcnn.log_likelihoods", "none", lambda: pixelcnn.log_likelihoods(TINY_CNN, None), "levels", "NoneType")
M(U + "pixelcnn.log_likelihoods", "range", lambda: pixelcnn.log_likelihoods(TINY_CNN, LEV8, pixels=65), "pixels",
  "65")
M(U + "pixelcnn.log_likelihoods", "shape", lambda: pixelcnn.log_likelihoods(IGPT28, LEV8, Y8[:3] + 18), "first",
  "(20,)", "(3,)")
M(U + "pixelcnn.class_log_likelihoods", "none", lambda: pixelcnn.class_log_likelihoods(None, LEV8), "model",
  "NoneType")
M(U + "pixelcnn.class_log_likelihoods", "type", lambda: pixelcnn.class_log_likelihoods(TINY_CNN, LEV8), "model",
  "class tokens", "PixelCNN")
M(U + "pixelcnn.class_log_likelihoods", "none", lambda: pixelcnn.class_log_likelihoods(IGPT28, None), "levels",
  "NoneType")
M(U + "pixelcnn.sample_pixels", "value", lambda: pixelcnn.sample_pixels(TINY_CNN, 2, first=Y8[:2] + 18), "first",
  "PixelCNN")
M(U + "pixelcnn.shifted_batches", "shape", lambda: pixelcnn.shifted_batches(LEV8, 4, labels=Y8[:5]), "labels",
  "(20,)", "(5,)")
M(U + "pixelcnn.fit_next_pixel", "value", lambda: pixelcnn.fit_next_pixel(IGPT28, LEV8, LEV8, steps=1, batch_size=2,
                                                                          lr=0.1, train_labels=Y8), "val_labels",
  "together")
M(U + "pixelcnn.fit_next_pixel", "value", lambda: pixelcnn.fit_next_pixel(TINY_CNN, LEV8, LEV8, steps=1, batch_size=2,
                                                                          lr=0.1, train_labels=Y8, val_labels=Y8),
  "labels", "PixelCNN")
M(U + "pixelcnn.pixel_histograms", "none", lambda: pixelcnn.pixel_histograms(None), "levels", "NoneType")
M(U + "pixelcnn.pixel_histograms", "range", lambda: pixelcnn.pixel_histograms(LEV8, alpha=-1.0), "alpha", "-1.0")

# utils.plot (the house style)
M(U + "plot.smallest_text_pt", "none", lambda: plot.smallest_text_pt(None), "fig", "Figure", "NoneType")
M(U + "plot.smallest_text_pt", "type", lambda: plot.smallest_text_pt(plot.plt.gca()), "fig", "Figure", "Axes")
M(U + "plot.figure_png", "none", lambda: plot.figure_png(None), "fig", "Figure", "NoneType")
M(U + "plot.figure_png", "type", lambda: plot.figure_png("figure.png"), "fig", "Figure", "str")
M(U + "plot.rendered_text_px", "none", lambda: plot.rendered_text_px(None, 600), "text_pt", "None")
M(U + "plot.rendered_text_px", "range", lambda: plot.rendered_text_px(9, 0), "width_px", "0")
M(U + "plot.rendered_text_px", "range", lambda: plot.rendered_text_px(9, 600, column_px=-1), "column_px", "-1")
M(U + "plot.figure", "none", lambda: plot.figure(None), "panels", "None")
M(U + "plot.figure", "value", lambda: plot.figure(0), "panels", "0")
M(U + "plot.figure", "value", lambda: plot.figure(4, columns=0), "columns", "0")
M(U + "plot.figure", "range", lambda: plot.figure(2, width=20), "width", "20")
M(U + "plot.figure", "range", lambda: plot.figure(2, panel_height=0), "panel_height", "0")
# utils.tables
M(U + "tables.table", "none", lambda: tables.table(None), "rows", "NoneType")
M(U + "tables.table", "value", lambda: tables.table([]), "rows", "empty")
M(U + "tables.table", "type", lambda: tables.table({"loss": 1.0}), "rows", "list", "dict")
M(U + "tables.table", "value", lambda: tables.table([("a", 1.0)]), "columns", "sequences")
M(U + "tables.table", "shape", lambda: tables.table([("a", 1.0)], columns=["model"]), "rows[0]", "2 cells", "1")
M(U + "tables.table", "type", lambda: tables.table([("a", 1.0)], columns="model"), "columns", "str")
M(U + "tables.table", "value", lambda: tables.table([{"a": 1}, {"b": 2}]), "rows[1]", "'a'")
M(U + "tables.table", "type", lambda: tables.table([{"a": 1}, ("b", 2)]), "rows[1]", "dict", "tuple")
M(U + "tables.table", "value", lambda: tables.table([{"a": 1}], formats={"b": ".3f"}), "formats", "'b'")
M(U + "tables.table", "type", lambda: tables.table([{"a": 1}], formats={"a": 3}), "formats['a']", "int")
M(U + "tables.table", "value", lambda: tables.table([{"a": "x"}], formats={"a": ".3f"}), "rows[0]", "format")
# utils.plot
M(U + "plot.image_grid", "none", lambda: plot.image_grid(None), "images", "NoneType")
M(U + "plot.image_grid", "shape", lambda: plot.image_grid(torch.zeros(4, 8, 8)), "images", "(N, 1 or 3, H, W)")
M(U + "plot.image_grid", "value", lambda: plot.image_grid(X8, nrow=0), "nrow", "0")
M(U + "plot.image_grid", "range", lambda: plot.image_grid(X8 * 255), "images", "0..255", "vmax")
M(U + "plot.image_grid", "value", lambda: plot.image_grid(X8, vmin=1.0, vmax=0.0), "vmin", "vmax")
M(U + "plot.loss_curves", "none", lambda: plot.loss_curves(None), "curves", "NoneType")
M(U + "plot.loss_curves", "type", lambda: plot.loss_curves([1.0, 2.0]), "curves", "list", "dict")
M(U + "plot.loss_curves", "value", lambda: plot.loss_curves({"train": [1.0, None]}), "curves['train']")
M(U + "plot.loss_curves", "value", lambda: plot.loss_curves({"train": [1.0, 2.0]}, smooth=0), "smooth", "0")
M(U + "plot.scatter_2d", "none", lambda: plot.scatter_2d(None), "points", "NoneType")
M(U + "plot.scatter_2d", "shape", lambda: plot.scatter_2d(torch.zeros(3, 3)), "points", "(n, 2)")
M(U + "plot.scatter_2d", "shape", lambda: plot.scatter_2d(F2, labels=[1, 2]), "labels", "10", "2")
M(U + "plot.density_contours", "none", lambda: plot.density_contours(None), "log_density", "NoneType")
M(U + "plot.density_contours", "range", lambda: plot.density_contours(RING.log_density, lim=-1.0), "lim", "-1.0")
M(U + "plot.density_contours", "value", lambda: plot.density_contours(RING.log_density, resolution=1), "resolution")
M(U + "plot.density_contours", "shape", lambda: plot.density_contours(lambda xy: xy), "log_density", "(n,)")

# utils.record
M(U + "record.check_promise", "none", lambda: record.check_promise(True, None), "message", "None")
M(U + "record.recorded", "none", lambda: record.recorded(None, "fd_gmm"), "chapter", "None")
M(U + "record.recorded", "value", lambda: record.recorded("01", " "), "metric", "' '")
M(U + "record.recorded", "type", lambda: record.recorded("01", "fd", directory=3), "directory", "int")
M(U + "record.check_promise", "none", lambda: record.check_promise(None, "accuracy >= 0.9"), "held", "NoneType")
M(U + "record.check_promise", "shape", lambda: record.check_promise(torch.tensor([True, False]), "m"), "held", "(2,)")
M(U + "record.record", "none", lambda: record.record(None, {"a": 1.0}, directory="/tmp"), "chapter", "None")
M(U + "record.record", "none", lambda: record.record("ch", None, directory="/tmp"), "metrics", "None")
M(U + "record.record", "value", lambda: record.record("ch", {"a": float("nan")}, directory="/tmp"), "metrics['a']",
  "nan")
M(U + "record.record", "range", lambda: record.record("ch", {"a": 1.0}, seconds=-1.0, directory="/tmp"), "seconds")
M(U + "record.record", "value", lambda: record.record("ch", {" ": 1.0}, directory="/tmp"), "metrics", "' '")
M(U + "record.record", "value", lambda: record.record("ch", {"a": 1.0}, mfu=float("nan"), directory="/tmp"), "mfu",
  "nan")
M(U + "record.record", "type", lambda: record.record("ch", {"a": 1.0}, directory=3), "directory", "int")
M(U + "record.project_full_run", "none", lambda: record.project_full_run(None), "seconds", "None")
M(U + "record.project_full_run", "range", lambda: record.project_full_run(-1.0), "seconds", "-1.0")
M(U + "record.load_records", "type", lambda: record.load_records(3), "directory", "int")
M(U + "record.load_records", "value", lambda: record.load_records(NOWHERE), "no folder", raises=FileNotFoundError)
M(U + "record.check_one_setting", "none", lambda: record.check_one_setting(None), "records", "NoneType")
M(U + "record.check_one_setting", "type", lambda: record.check_one_setting([1, 2]), "records", "int")
M(U + "record.summary_rows", "none", lambda: record.summary_rows(None), "records", "NoneType")
M(U + "record.summary_rows", "value", lambda: record.summary_rows([{"chapter": "x"}]), "records", "metrics")
M(U + "record.write_summary", "type", lambda: record.write_summary(3), "directory", "int")
M(U + "record.write_summary", "value", lambda: record.write_summary(NOWHERE), "no folder", raises=FileNotFoundError)

# utils.text_to_image
M(U + "text_to_image.encode_captions", "none", lambda: text_to_image.encode_captions(None), "captions", "NoneType")
M(U + "text_to_image.encode_captions", "type", lambda: text_to_image.encode_captions("a red ball above a blue box"),
  "captions", "str")
M(U + "text_to_image.encode_captions", "value", lambda: text_to_image.encode_captions(["a purple ball"]), "captions[0]",
  "purple")
M(U + "text_to_image.encode_captions", "value", lambda: text_to_image.encode_captions(["a"], length=0), "length", "0")
M(U + "text_to_image.masked_mean", "none", lambda: text_to_image.masked_mean(None, CAPTION_IDS > 0), "tokens",
  "NoneType")
M(U + "text_to_image.masked_mean", "none", lambda: text_to_image.masked_mean(torch.zeros(2, 8, 4), None), "mask",
  "NoneType")
M(U + "text_to_image.masked_mean", "shape", lambda: text_to_image.masked_mean(torch.zeros(2, 8, 4),
                                                                              torch.ones(2, 1, dtype=torch.bool)),
  "mask", "(2, 8)", "(2, 1)")
M(U + "text_to_image.TextToImage", "none", lambda: text_to_image.TextToImage(channels=None), "channels", "None")
M(U + "text_to_image.TextToImage", "value", lambda: text_to_image.TextToImage(width=0), "width", "0")
M(U + "text_to_image.TextToImage.encode", "none", lambda: T2I.encode(None), "ids", "NoneType")
M(U + "text_to_image.TextToImage.encode", "type", lambda: T2I.encode(CAPTION_IDS.float()), "ids", "float32")
M(U + "text_to_image.TextToImage.forward", "none", lambda: T2I(torch.zeros(2, 3, 16, 16), T4[:2], None), "ids",
  "NoneType")
M(U + "text_to_image.TextToImage.forward", "shape", lambda: T2I(torch.zeros(3, 3, 16, 16), T4[:3], CAPTION_IDS),
  "ids", "2 captions for 3 pictures")
M(U + "text_to_image.null_caption", "none", lambda: text_to_image.null_caption(None), "length", "None")
M(U + "text_to_image.null_caption", "value", lambda: text_to_image.null_caption(0), "length", "0")
M(U + "text_to_image.train_text_to_image", "none", lambda: text_to_image.train_text_to_image(None, steps=1), "scenes",
  "NoneType")
M(U + "text_to_image.train_text_to_image", "value", lambda: text_to_image.train_text_to_image(SCENES, steps=0),
  "steps", "0")
M(U + "text_to_image.train_text_to_image", "value", lambda: text_to_image.train_text_to_image(SCENES, steps=1,
                                                                                            target="v"), "target")
M(U + "text_to_image.as_denoiser", "none", lambda: text_to_image.as_denoiser(None, "x0"), "net", "NoneType")
M(U + "text_to_image.as_denoiser", "value", lambda: text_to_image.as_denoiser(T2I, "v"), "target", "'v'")
M(U + "text_to_image.load_text_to_image", "none", lambda: text_to_image.load_text_to_image(None), "target", "None")
M(U + "text_to_image.load_text_to_image", "value", lambda: text_to_image.load_text_to_image("v"), "target", "'v'")
M(U + "text_to_image.draw", "none", lambda: text_to_image.draw(None, ["a red ball above a blue box"]), "model",
  "NoneType")
M(U + "text_to_image.draw", "type", lambda: text_to_image.draw(T2I, "a red ball above a blue box"), "captions", "str")
M(U + "text_to_image.draw", "range", lambda: text_to_image.draw(T2I, [""], weight=-1.0), "weight", "-1.0")
M(U + "text_to_image.draw", "value", lambda: text_to_image.draw(T2I, [""], sample_steps=0), "sample_steps", "0")

# utils.tokenizer
M(U + "tokenizer.CharTokenizer", "none", lambda: tokenizer.CharTokenizer(None), "alphabet", "NoneType")
M(U + "tokenizer.CharTokenizer", "value", lambda: tokenizer.CharTokenizer(""), "alphabet")
M(U + "tokenizer.CharTokenizer.from_text", "none", lambda: tokenizer.CharTokenizer.from_text(None), "text",
  "NoneType")
M(U + "tokenizer.CharTokenizer.from_text", "type", lambda: tokenizer.CharTokenizer.from_text(["ab"]), "text", "list")
M(U + "tokenizer.CharTokenizer.encode", "none", lambda: CHAR_TOK.encode(None), "text", "NoneType")
M(U + "tokenizer.CharTokenizer.encode", "value", lambda: tokenizer.CharTokenizer("ab", False).encode("abc"), "'c'")
M(U + "tokenizer.CharTokenizer.decode", "none", lambda: CHAR_TOK.decode(None), "ids", "NoneType")
M(U + "tokenizer.CharTokenizer.decode", "range", lambda: CHAR_TOK.decode([999]), "999", "vocabulary")
M(U + "tokenizer.CharTokenizer.decode", "type", lambda: CHAR_TOK.decode(torch.tensor([[0, 1]])), "ids", "Tensor")
M(U + "tokenizer.pair_counts", "none", lambda: tokenizer.pair_counts(None), "ids", "NoneType")
M(U + "tokenizer.pair_counts", "type", lambda: tokenizer.pair_counts("abc"), "ids", "str")
M(U + "tokenizer.pair_counts", "type", lambda: tokenizer.pair_counts([1, 2], counts={}), "counts", "dict")
M(U + "tokenizer.merge_pair", "none", lambda: tokenizer.merge_pair(None, (1, 2), 3), "ids", "NoneType")
M(U + "tokenizer.merge_pair", "type", lambda: tokenizer.merge_pair([1, 2], [1, 2], 3), "pair", "[1, 2]")
M(U + "tokenizer.merge_pair", "none", lambda: tokenizer.merge_pair([1, 2], (1, 2), None), "new_id", "None")
M(U + "tokenizer.encode_with_merges", "none", lambda: tokenizer.encode_with_merges(None, {}), "ids", "NoneType")
M(U + "tokenizer.encode_with_merges", "none", lambda: tokenizer.encode_with_merges([1, 2], None), "merges",
  "NoneType")
M(U + "tokenizer.encode_with_merges", "type", lambda: tokenizer.encode_with_merges([1, 2], [((1, 2), 256)]),
  "merges", "list")
M(U + "tokenizer.chunks", "none", lambda: tokenizer.chunks(None), "text", "NoneType")
M(U + "tokenizer.chunks", "type", lambda: tokenizer.chunks(b"bytes"), "text", "bytes")
M(U + "tokenizer.BPETokenizer", "none", lambda: tokenizer.BPETokenizer(None), "merges", "NoneType")
M(U + "tokenizer.BPETokenizer", "value", lambda: tokenizer.BPETokenizer({(1, 2): 999}), "merges", "999")
M(U + "tokenizer.BPETokenizer.encode", "none", lambda: BPE.encode(None), "text", "NoneType")
M(U + "tokenizer.BPETokenizer.encode", "type", lambda: BPE.encode(["a"]), "text", "list")
M(U + "tokenizer.BPETokenizer.decode", "none", lambda: BPE.decode(None), "ids", "NoneType")
M(U + "tokenizer.BPETokenizer.decode", "range", lambda: BPE.decode([99999]), "99999", "vocabulary")
M(U + "tokenizer.BPETokenizer.token_strings", "none", lambda: BPE.token_strings(None), "ids", "NoneType")
M(U + "tokenizer.BPETokenizer.token_strings", "range", lambda: BPE.token_strings([99999]), "99999", "vocabulary")
M(U + "tokenizer.train_bpe", "none", lambda: tokenizer.train_bpe(None, 300), "text", "NoneType")
M(U + "tokenizer.train_bpe", "value", lambda: tokenizer.train_bpe("abc", 100), "vocab_size", "100")

# utils.train
M(U + "train.History.metric", "none", lambda: train.History().metric(None), "name", "None")
M(U + "train.History.metric", "value", lambda: train.History().metric("accuracy"), "accuracy", raises=KeyError)
M(U + "train.lr_at", "none", lambda: train.lr_at(None, lr=1.0, steps=10), "step", "None")
M(U + "train.lr_at", "range", lambda: train.lr_at(-1, lr=1.0, steps=10), "step", "-1")
M(U + "train.lr_at", "range", lambda: train.lr_at(0, lr=-1.0, steps=10), "lr", "-1.0")
M(U + "train.lr_at", "value", lambda: train.lr_at(0, lr=1.0, steps=10, warmup=20), "warmup", "20")
M(U + "train.lr_at", "range", lambda: train.lr_at(0, lr=1.0, steps=10, min_ratio=2.0), "min_ratio", "2.0")
M(U + "train.batch_sampler", "none", lambda: train.batch_sampler(None, batch_size=2), "tensors", "NoneType")
M(U + "train.batch_sampler", "type", lambda: train.batch_sampler([1, 2, 3], batch_size=2), "tensors", "list")
M(U + "train.batch_sampler", "value", lambda: train.batch_sampler(X8, batch_size=0), "batch_size", "0")
M(U + "train.batch_sampler", "shape", lambda: train.batch_sampler(X8, Y8[:3], batch_size=2), "same length", "[20, 3]")
M(U + "train.crop_to_targets", "none", lambda: train.crop_to_targets(None), "get_batch", "NoneType")
M(U + "train.crop_to_targets", "type", lambda: train.crop_to_targets(get_batch, ignore_index="pad"), "ignore_index",
  "'pad'")
M(U + "train.train", "none", lambda: train.train(None, a_loss, get_batch, steps=1), "model", "NoneType")
M(U + "train.train", "none", lambda: train.train(LINEAR, None, get_batch, steps=1), "loss_fn", "NoneType")
M(U + "train.train", "type", lambda: train.train(LINEAR, a_loss, get_batch(0), steps=1, progress=False), "get_batch",
  "tuple")
M(U + "train.train", "range", lambda: train.train(LINEAR, a_loss, get_batch, steps=1, clip=-1.0), "clip", "-1.0")
M(U + "train.train", "range", lambda: train.train(LINEAR, a_loss, get_batch, steps=1, weight_decay=-0.1),
  "weight_decay", "-0.1")
M(U + "train.train", "value", lambda: train.train(LINEAR, a_loss, get_batch, steps=2, warmup=5), "warmup", "5")
M(U + "train.train", "shape", lambda: train.train(nn.Linear(4, 3), per_sample_loss, get_batch, steps=1,
                                                  progress=False), "loss_fn", ".mean()")
M(U + "train.train", "value", lambda: train.train(nn.Linear(4, 3), a_loss, get_batch, steps=1, progress=False,
                                                  checkpoint=not_a_checkpoint()), "not a checkpoint")
M(U + "train.KeepBest", "none", lambda: train.KeepBest(None, len), "name", "None")
M(U + "train.KeepBest", "type", lambda: train.KeepBest("val", 3), "measure", "int")
M(U + "train.KeepBest.__call__", "none", lambda: train.KeepBest("val", lambda m: 1.0)(None), "model", "NoneType")
M(U + "train.KeepBest.__call__", "value", lambda: train.KeepBest("val", lambda m: float("nan"))(LINEAR), "measure",
  "nan")
M(U + "train.KeepBest.restore", "none", lambda: train.KeepBest("val", lambda m: 1.0).restore(None), "model",
  "NoneType")
M(U + "train.KeepBest.restore", "state", lambda: train.KeepBest("val", lambda m: 1.0).restore(LINEAR),
  "nothing kept", raises=RuntimeError)
M(U + "train.WeightAverage", "none", lambda: train.WeightAverage(None), "model", "NoneType")
M(U + "train.WeightAverage", "range", lambda: train.WeightAverage(LINEAR, decay=1.5), "decay", "1.5")
M(U + "train.WeightAverage.__call__", "none", lambda: train.WeightAverage(LINEAR)(0, None), "model", "NoneType")
M(U + "train.WeightAverage.__call__", "shape", lambda: train.WeightAverage(LINEAR)(0, nn.Linear(4, 2)), "model",
  "(3, 4)", "(2, 4)")
M(U + "train.save_checkpoint", "none", lambda: train.save_checkpoint(None, LINEAR, OPT_G, 1, train.History()), "path",
  "NoneType")
M(U + "train.save_checkpoint", "none", lambda: train.save_checkpoint("/tmp/never.pt", LINEAR, None, 1,
                                                                     train.History()), "optimizer", "NoneType")
M(U + "train.save_checkpoint", "range", lambda: train.save_checkpoint("/tmp/never.pt", LINEAR, OPT_G, -1,
                                                                      train.History()), "step", "-1")
M(U + "train.save_checkpoint", "type", lambda: train.save_checkpoint("/tmp/never.pt", LINEAR, OPT_G, 1, {}), "history",
  "dict")
M(U + "train.load_checkpoint", "none", lambda: train.load_checkpoint(None, LINEAR), "path", "NoneType")
M(U + "train.load_checkpoint", "value", lambda: train.load_checkpoint(NOWHERE, LINEAR), "no checkpoint",
  raises=FileNotFoundError)
M(U + "train.load_checkpoint", "value", lambda: train.load_checkpoint(not_a_checkpoint(), LINEAR), "not a checkpoint")
M(U + "train.load_checkpoint", "none", lambda: train.load_checkpoint(not_a_checkpoint(), None), "model", "NoneType")

# utils.unet
M(U + "unet.timestep_embedding", "none", lambda: unet.timestep_embedding(None, 8), "t", "NoneType")
M(U + "unet.timestep_embedding", "value", lambda: unet.timestep_embedding(T4, 7), "dim", "7")
M(U + "unet.timestep_embedding", "shape", lambda: unet.timestep_embedding(T4[None], 8), "t", "(B,)", "(1, 4)")
M(U + "unet.timestep_embedding", "none", lambda: unet.timestep_embedding(T4, None), "dim", "None")
M(U + "unet.ResBlock", "none", lambda: unet.ResBlock(None, 8, 16), "in_channels", "None")
M(U + "unet.ResBlock", "value", lambda: unet.ResBlock(8, 0, 16), "out_channels", "0")
M(U + "unet.ResBlock.forward", "none", lambda: unet.ResBlock(8, 8, 16)(None, torch.zeros(2, 16)), "x", "NoneType")
M(U + "unet.ResBlock.forward", "shape", lambda: unet.ResBlock(8, 8, 16)(torch.zeros(2, 8, 4, 4), torch.zeros(2, 4)),
  "emb", "(2, 16)", "(2, 4)")
M(U + "unet.CrossAttention", "value", lambda: unet.CrossAttention(8, 4, heads=3), "heads", "3")
M(U + "unet.CrossAttention", "none", lambda: unet.CrossAttention(None, 4), "channels", "None")
M(U + "unet.CrossAttention.forward", "none", lambda: unet.CrossAttention(8, 4)(None, torch.zeros(2, 3, 4)), "h",
  "NoneType")
M(U + "unet.CrossAttention.forward", "shape", lambda: unet.CrossAttention(8, 4)(torch.zeros(2, 8, 4, 4),
                                                                                torch.zeros(2, 3, 5)), "context",
  "(2, L, 4)")
M(U + "unet.CrossAttention.forward", "shape", lambda: unet.CrossAttention(8, 4)(
    torch.zeros(2, 8, 4, 4), torch.zeros(2, 3, 4), torch.ones(2, 5, dtype=torch.bool)), "mask", "(2, 3)")
M(U + "unet.UNet", "value", lambda: unet.UNet(in_channels=0), "in_channels", "0")
M(U + "unet.UNet", "none", lambda: unet.UNet(channels=None), "channels", "None")
M(U + "unet.UNet", "value", lambda: unet.UNet(emb_dim=7), "emb_dim", "7")
M(U + "unet.UNet.forward", "none", lambda: TINY_UNET(None, T4), "x", "NoneType")
M(U + "unet.UNet.forward", "none", lambda: TINY_UNET(X_T, None), "t", "NoneType")
M(U + "unet.UNet.forward", "shape", lambda: TINY_UNET(X_T.repeat(1, 3, 1, 1), T4), "x", "(B, 1, H, W)")

# utils.validate
M(U + "validate.pixel_range", "none", lambda: validate.pixel_range(None), "images", "NoneType")
M(U + "validate.pixel_range", "type", lambda: validate.pixel_range([0.0, 1.0]), "images", "list")
M(U + "validate.pixel_range", "shape", lambda: validate.pixel_range(torch.zeros(0, 3)), "images", "empty")
M(U + "validate.check_id_lists", "none", lambda: validate.check_id_lists(None, "prompts", "[ids]"), "prompts",
  "list of lists", "NoneType")
M(U + "validate.check_id_lists", "type", lambda: validate.check_id_lists(torch.tensor([[1, 2]]), "rows", "[ids]"),
  "rows", "list of lists", "Tensor")
M(U + "validate.check_id_lists", "shape", lambda: validate.check_id_lists([[1], 2], "rows", "write [ids]"),
  "rows[1]", "write [ids]")
M(U + "validate.check_pictures", "none", lambda: validate.check_pictures(None), "images", "NoneType")
M(U + "validate.check_pictures", "range", lambda: validate.check_pictures(FACES * 255), "images", "0..255", "/ 255")
M(U + "validate.check_pictures", "shape", lambda: validate.check_pictures(FACES, channels=1), "images",
  "(N, 1, H, W)")
M(U + "validate.check_int", "none", lambda: validate.check_int(None, "n", 1), "n", "None")
M(U + "validate.check_int", "range", lambda: validate.check_int(3, "n", 5), "n", ">= 5", "3")
M(U + "validate.check_number", "none", lambda: validate.check_number(None, "lr"), "lr", "None")
M(U + "validate.check_number", "value", lambda: validate.check_number(float("nan"), "lr"), "lr", "nan")
M(U + "validate.check_number", "range", lambda: validate.check_number(2.0, "p", 0.0, 1.0), "p", "[0, 1]", "2.0")
M(U + "validate.check_tensor", "none", lambda: validate.check_tensor(None, "x"), "x", "NoneType")
M(U + "validate.check_tensor", "shape", lambda: validate.check_tensor(torch.zeros(2), "x", "(B, C)", ndim=2), "x",
  "(B, C)", "(2,)")
M(U + "validate.check_callable", "none", lambda: validate.check_callable(None, "fn"), "fn", "NoneType")
M(U + "validate.check_callable", "type", lambda: validate.check_callable(3, "fn", "a loss function"), "fn", "int",
  "a loss function")
M(U + "validate.check_pictures", "value", lambda: validate.check_pictures(FACES, expected="0..1"), "expected",
  "'0..1'")


# --- what has no rows, and why -------------------------------------------------------------------------------

# Functions and methods that take no arguments (load_digits(), GPT.aux_loss()) have nothing to get wrong:
# public_callables leaves them out. These others are exempt, each for the reason given.
EXEMPT = {
    # The diagrams' drawing helpers, written while this table was (utils/diagrams.py is another task's file):
    # they draw on an axis a diagram function made; their rows are left to that task.
    "utils.diagrams.box", "utils.diagrams.arrow",
    # Any object is valid: it is sent to every process as it is, or described in a message.
    "utils.distributed.gather", "utils.validate.describe",
    # Plain records that the library's loaders and loops fill and readers only read (each field is typed).
    "utils.data.digits.Digits", "utils.data.faces.Faces", "utils.data.landscapes.Landscapes",
    "utils.data.news.Event", "utils.data.news.Article", "utils.data.news.NewsSplits",
    "utils.data.photos.PhotoPatches", "utils.data.scenes.Scenes", "utils.data.stories.Story",
    "utils.data.stories.StorySplits", "utils.data.toy2d.Toy2D", "utils.train.History",
    "utils.pixelcnn.LevelSplits", "utils.vae.Bound",
}
# The checkers' framework: its callers are the checkers, which :func:`test_checkers_never_raise` plays with a
# reader's wrong answers; the reader never calls it.
EXEMPT_MODULES = {"utils.checks.core"}
# Owned elsewhere: device, paths, recipes and flops check their inputs in their own tests.
OTHER_MODULES = {"utils.device", "utils.paths", "utils.recipes", "utils.flops"}


def public_callables() -> set[str]:
    """Every public function and class defined in a module of ``utils`` and every public method (and
    ``__call__``) defined in such a class's own body, that takes at least one argument."""
    names = set()
    for info in pkgutil.walk_packages(utils.__path__, "utils."):
        if info.name in OTHER_MODULES or info.name in EXEMPT_MODULES or info.name.startswith("utils.checks"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                if _takes_arguments(obj):
                    names.add(f"{info.name}.{name}")
            elif inspect.isclass(obj):
                names.add(f"{info.name}.{name}")
                for attr, member in vars(obj).items():
                    function = getattr(member, "__func__", member)
                    if (not attr.startswith("_") or attr == "__call__") and inspect.isfunction(function) \
                            and _takes_arguments(function, skip_first=not isinstance(member, staticmethod)):
                        names.add(f"{info.name}.{name}.{attr}")
    return names


def _takes_arguments(function, skip_first: bool = False) -> bool:
    parameters = list(inspect.signature(function).parameters)
    return len(parameters) > (1 if skip_first else 0)


def checkers() -> dict[str, Callable]:
    import utils.checks as checks

    return {name: getattr(checks, name) for name in checks.__all__}


# --- the tests -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", MISTAKES, ids=lambda c: f"{c.target.removeprefix('utils.')}-{c.kind}")
def test_a_mistake_gets_a_clear_error(case: Mistake):
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(case.raises) as info:
        case.call()
    message = str(info.value).lower()
    missing = [word for word in case.words if word.lower() not in message]
    assert not missing, f"the error {type(info.value).__name__}: {info.value} lacks {missing}"


def test_every_public_function_has_rows():
    """A new public function needs rows here: at least None and one other mistake (or an exemption that says why)."""
    if "MUTANT_UNDER_TEST" in os.environ:  # under mutmut, whose copies of each function look like new ones
        pytest.skip("mutation testing: mutmut's copies of the functions are not public functions")
    public = public_callables()
    kinds: dict[str, set[str]] = {}
    for case in MISTAKES:
        kinds.setdefault(case.target, set()).add(case.kind)
    unknown = sorted(set(kinds) - public)
    assert not unknown, f"rows name functions that are not public functions of utils: {unknown}"
    stale = sorted(EXEMPT - public)
    assert not stale, f"exemptions name functions that are gone: {stale}"
    missing = sorted(public - set(kinds) - EXEMPT)
    assert not missing, f"public functions without rows in MISTAKES: {missing}"
    thin = sorted(name for name, found in kinds.items() if len(found) < 2 and name not in {
        "utils.gpu_check.tf32", "utils.gpu_check.parse", "utils.gpu_check.main", "utils.launch.parse",
        "utils.launch.main",  # None is a valid argv (the command line), so two wrong types stand for it
    })
    assert not thin, f"functions with rows of only one kind of mistake: {thin}"
    no_none = sorted(name for name, found in kinds.items() if "none" not in found and not _none_is_valid(name))
    assert not no_none, f"functions without a row passing None: {no_none}"


def _none_is_valid(name: str) -> bool:
    """Functions where None is what the argument means by default, so passing it is no mistake."""
    return name in {
        "utils.gpu_check.tf32",  # None: leave TF32 as it is
        "utils.gpu_check.parse", "utils.gpu_check.main", "utils.launch.parse", "utils.launch.main",  # the command line
        "utils.record.load_records", "utils.record.write_summary",  # the records' folder
        "utils.gpt.story_gpt_sizes",  # the current profile
        "utils.judge.load_judge",  # the judge this profile trained
    }


@pytest.mark.parametrize("name", sorted(checkers()))
def test_checkers_never_raise(name, capsys):
    """A checker handed None, a number, or a function that returns the wrong thing (text, a wrong shape) or raises,
    prints what is wrong with a hint and fails; it never raises."""
    checker = checkers()[name]
    answers = {"None": None, "a number": 42, "a stub": lambda *args, **kwargs: None,
               "text": lambda *args, **kwargs: "text", "a wrong shape": lambda *args, **kwargs: torch.zeros(7, 3, 2),
               "an error": lambda *args, **kwargs: 1 / 0}
    for what, answer in answers.items():
        verdict = checker(answer)
        printed = capsys.readouterr().out
        assert not verdict, f"{name} accepted {what}"
        assert "[wrong]" in printed and "hint:" in printed, f"{name} on {what} gave no hint:\n{printed}"


# --- the range law of pixel_range ----------------------------------------------------------------------------

pictures = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**31 - 1))


def _uniform(shape_seed, low: float, high: float) -> torch.Tensor:
    n, size, seed = shape_seed
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=gen) * (high - low) + low
    x.view(-1)[0], x.view(-1)[-1] = low, high  # the range is reached
    return x


@settings(max_examples=40, deadline=None)
@given(pictures)
def test_pixel_range_names_each_usual_range(shape_seed):
    unit = _uniform(shape_seed, 0.0, 1.0)
    assert validate.pixel_range(unit) == "[0, 1]"
    assert validate.pixel_range(unit * 2 - 1) == "[-1, 1]"
    assert validate.pixel_range(unit * 255) == "0..255"
    assert validate.pixel_range((unit * 255).round().to(torch.uint8)) == "uint8"
    assert validate.pixel_range(unit * 2 + 300) == "other"


@settings(max_examples=40, deadline=None)
@given(pictures, st.sampled_from(["[-1, 1]", "0..255", "uint8"]))
def test_check_pictures_refuses_every_other_range_and_says_how_to_map_it(shape_seed, given_range):
    unit = _uniform(shape_seed, 0.0, 1.0)
    wrong = {"[-1, 1]": unit * 2 - 1, "0..255": unit * 255, "uint8": (unit * 255).round().to(torch.uint8)}[given_range]
    validate.check_pictures(unit)  # the right range passes
    with pytest.raises((ValueError, TypeError)) as info:
        validate.check_pictures(wrong, "pictures")
    message = str(info.value)
    assert "pictures" in message and given_range in message and validate.CONVERSIONS[(given_range, "[0, 1]")] in message


@settings(max_examples=40, deadline=None)
@given(pictures, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_pixel_range_of_any_picture_inside_zero_one_is_zero_one(shape_seed, a, b):
    low, high = min(a, b), max(a, b)
    assert validate.pixel_range(_uniform(shape_seed, low, high)) == "[0, 1]"


def test_record_accepts_numpy_scalars_as_numbers(tmp_path):
    record.record("numpy_scalars", {"a": np.float32(0.5), "b": np.int64(3), "c": np.float64(0.25)},
                  seconds=np.float32(1.5), flops=np.int64(10), mfu=np.float64(0.1), directory=tmp_path)
    saved = record.load_records(tmp_path)[0]
    assert saved["metrics"] == {"a": 0.5, "b": 3.0, "c": 0.25} and saved["flops"] == 10.0
