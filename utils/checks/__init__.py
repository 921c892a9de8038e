"""Exercise checkers: ``checks.<name>(your_function)`` prints what is right or wrong.

Each checker returns True when every check passed and never raises on a wrong answer.
One module per chapter topic holds its checkers; :mod:`utils.checks.core` the framework.
"""

from .classification import bayes_posterior, fit_class_gaussians, predicted_share, sigmoid_cross_entropy
from .diffusion import ddim_step, diffusion_loss, histogram_match, noise_from_x0, psnr, q_sample
from .finetuning import lora_linear, rouge1, summary_mask
from .foundations import initial_loss, largest_stable_lr, logistic_gradients
from .gans import (
    equilibrium_losses,
    gan_losses,
    mode_coverage,
    projection_logit,
    r1_penalty,
    slerp,
    transposed_conv_size,
    uniform_quality_share,
)
from .language import (
    attention,
    causal_mask,
    encode_with_merges,
    initial_bits,
    merge_pair,
    merges_for_compression,
    pair_counts,
    top_k_probs,
)
from .latent import gaussian_kl, latent_flops_ratio, reparameterise
from .metrics import gaussian_frechet, modified_precision, perplexity
from .next_pixel import bits_per_dim, conv_mask, leaky_bits_per_dim, pixel_histograms
from .scaling import all_reduce_seconds, crossover_numel, ring_all_reduce, shard_rows
from .text_to_image import (
                            all_facts_right,
                            drop_captions,
                            guidance,
                            masked_cross_attention,
                            masked_mean,
                            mean_pairwise_distance,
)

__all__ = ["bayes_posterior", "fit_class_gaussians", "predicted_share", "sigmoid_cross_entropy",
           "initial_loss", "largest_stable_lr", "logistic_gradients",
           "ddim_step", "diffusion_loss", "histogram_match", "noise_from_x0", "psnr", "q_sample",
           "lora_linear", "rouge1", "summary_mask",
           "equilibrium_losses", "gan_losses", "mode_coverage", "r1_penalty", "projection_logit", "slerp",
           "transposed_conv_size", "uniform_quality_share",
           "gaussian_frechet", "modified_precision", "perplexity",
           "gaussian_kl", "latent_flops_ratio", "reparameterise",
           "bits_per_dim", "conv_mask", "leaky_bits_per_dim", "pixel_histograms",
           "attention", "causal_mask", "encode_with_merges", "initial_bits", "merge_pair", "merges_for_compression",
           "pair_counts", "top_k_probs",
           "all_reduce_seconds", "crossover_numel", "ring_all_reduce", "shard_rows",
           "all_facts_right", "drop_captions", "guidance", "masked_cross_attention", "masked_mean",
           "mean_pairwise_distance"]
