"""The shared package of the book: plumbing and reusable blocks, one module per concern.

* ``device``: where code runs and at which size profile (and the smoke run); the device check; seeding.
* ``paths``: where the book writes: records, the execution cache, reusable weights per profile.
* ``recipes``: one recipe (sizes per profile, load-or-train) for each model a later chapter reuses.
* ``data``: every data set, generated or shipped with a package.
* ``train``: the one training loop, schedules, checkpoints, the moving average of weights, bf16 and compile.
* ``flops``: FLOP counting, the math mode a run uses, and the measured matrix-multiply peak.
* ``distributed`` and ``launch``: the same loop on many processes under ``torchrun`` (DDP).
* ``plot``: the figures' house style (sized for the book's column), image grids, loss curves, 2-D plots.
* ``tables``: tables of results, HTML in the book and aligned text in a terminal.
* ``metrics``: numbers that score generative models.
* ``judge``: the digit classifier that scores generated digits (FD-digits).
* ``baselines``: the classical digit models (a Gaussian per class, a Gaussian mixture, kernel density, independent
  pixels).
* ``tokenizer``: characters with byte fallback, and byte-pair encoding from scratch.
* ``gpt``: the GPT (and ``moe``, its mixture-of-experts feed-forward layer; ``lora``, its low-rank adapters).
* ``gan``: GAN building blocks (seed-parallel MLPs, the R1 penalty, the DCGAN pair, the game loop for pictures).
* ``diffusion`` and ``unet``: noise schedules, the DDPM loss, DDPM and DDIM sampling; the U-Net.
* ``pixelcnn``: next-pixel models of the digits (masked and gated convolutions), their likelihood in bits
  per dimension, sampling pixel by pixel, and the training that keeps the best validation step.
* ``vae``: variational autoencoders: of the digits (the ELBO, the importance-weighted bound), and of pictures,
  the autoencoder of latent diffusion.
* ``checks``: the exercise checkers.
* ``record``: one call to record a chapter's numbers, and ``check_promise``.
* ``colab``: the first cell of every chapter; ``gpu_check``: the one script for a lent GPU.
* ``validate``: the input checks every public function makes, and ``pixel_range`` (which range pictures are in).
"""

from . import record as _record  # noqa: F401  (starts the notebook clock at first import)
