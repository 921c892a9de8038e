"""Train a chapter's model on one process or many: the book's ``torchrun`` entry point.

On one machine with K processes (``gloo`` on CPUs, ``nccl`` on GPUs, the same code)::

    torchrun --standalone --nproc_per_node=K -m utils.launch stories --steps 300

On two machines, the same command on each, with the machines' count, this machine's
number and a meeting point that both can reach::

    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 \\
        --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 -m utils.launch stories

Configurations: ``stories`` trains chapter 3's GPT on the fairy tales, at the sizes of the process's
profile (:data:`utils.gpt.STORY_GPT`: ``GENAI_PROFILE=cpu`` for CPU processes); ``tiny`` trains a
small regression network in a second (the tests use it). ``--out FILE`` makes rank 0 write
what the run measured as JSON; ``--checkpoint FILE`` saves and resumes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.distributed.elastic.multiprocessing.errors import record

from . import distributed
from .device import get_profile
from .gpt import story_gpt_sizes
from .train import PRECISIONS, batch_sampler, crop_to_targets, train
from .validate import check_int, check_number, describe

CONFIGS = ("tiny", "stories")


def _check_problem(dropout, seed, batch, optional: bool = False) -> None:
    check_number(dropout, "dropout", 0.0, 1.0, high_open=True)
    check_int(seed, "seed", 0)
    if batch is not None or not optional:
        check_int(batch, "batch", 1)


def _check_argv(argv) -> None:
    if argv is not None and (isinstance(argv, str) or not isinstance(argv, (list, tuple))
                             or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be None (the command line) or a list of strings such as ['tiny', '--steps', "
                        f"'5'], got {describe(argv)}{' (split it: argv.split())' if isinstance(argv, str) else ''}")


def tiny_problem(dropout: float = 0.0, seed: int = 0, batch: int = 32):
    """``(model, loss_fn, get_batch, tokens_per_batch)``: learn ``(x1 + x2 + x3 + x4)^2`` from 256 points."""
    _check_problem(dropout, seed, batch)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 4, generator=gen)
    y = x.sum(1, keepdim=True) ** 2
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Dropout(dropout),
                                torch.nn.Linear(32, 1))
    return model, lambda net, b: F.mse_loss(net(b[0]), b[1]), batch_sampler(x, y, batch_size=batch, seed=seed), batch


def stories_problem(dropout: float = 0.0, seed: int = 0, batch: int | None = None, n_train: int | None = None,
                    crop: bool = True, profile: str | None = None):
    """Chapter 3's GPT (:data:`utils.gpt.STORY_GPT`, at ``profile``'s sizes, default: the current profile's)
    and its batches of whole fairy tales, cropped to the longest story of each batch (``crop=False``: padded
    to the longest story the grammar writes, so that every batch has the same shape, which ``torch.compile``
    prefers). ``batch`` and ``n_train`` default to the profile's."""
    _check_problem(dropout, seed, batch, optional=True)
    if n_train is not None:
        check_int(n_train, "n_train", 1)
    if profile is not None and profile not in ("cpu", "gpu"):
        raise ValueError(f"profile must be None (the current one), 'cpu' or 'gpu', got {profile!r}")
    from .data import LONGEST_STORY, load_stories, story_rows
    from .gpt import GPT, GPTConfig
    from .tokenizer import CharTokenizer

    sizes = story_gpt_sizes(profile)
    batch = sizes["batch"] if batch is None else batch
    n_train = sizes["n_train"] if n_train is None else n_train
    splits = load_stories(n_train=n_train, n_val=10, n_test=10, seed=seed)
    tok = CharTokenizer.from_text("".join(s.text for s in splits.train) + "\n", byte_fallback=False)
    x, y, _ = story_rows(splits.train, tok.encode, LONGEST_STORY + 1)
    get_batch = batch_sampler(x, y, batch_size=batch, seed=seed)
    if crop:
        get_batch = crop_to_targets(get_batch)

    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=len(tok.chars), block_size=LONGEST_STORY + 1, n_layer=sizes["n_layer"],
                          n_head=sizes["n_head"], n_embd=sizes["n_embd"], dropout=dropout))
    return model, lambda net, b: net(*b)[1], get_batch, batch * (LONGEST_STORY + 1)


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="torchrun --standalone --nproc_per_node=K -m utils.launch",
                                     description="Train a chapter's model on every process torchrun starts.")
    parser.add_argument("config", choices=CONFIGS)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=None, help="the global batch, shared by all processes")
    parser.add_argument("--lr", type=float, default=None, help="default: the story GPT's (stories), 3e-3 (tiny)")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--compile", action="store_true", help="run the model through torch.compile")
    parser.add_argument("--checkpoint", type=Path, default=None, help="save here, and resume from here if it exists")
    parser.add_argument("--stop-after", type=int, default=None, help="stop early, as an interruption would")
    parser.add_argument("--out", type=Path, default=None, help="rank 0 writes the run's numbers here as JSON")
    parser.add_argument("--fail-rank", type=int, default=None, help="this rank raises an error ...")
    parser.add_argument("--fail-step", type=int, default=0, help="... when it reaches this step")
    _check_argv(argv)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    return args


@record  # torchrun then shows the failing rank's traceback in its summary
def main(argv=None) -> dict:
    args = parse(argv)
    device = distributed.start()
    problem = tiny_problem if args.config == "tiny" else stories_problem
    kwargs = {} if args.batch is None else {"batch": args.batch}
    model, loss_fn, get_batch, tokens_per_batch = problem(dropout=args.dropout, seed=args.seed, **kwargs)
    lr = args.lr if args.lr is not None else story_gpt_sizes()["lr"] if args.config == "stories" else 3e-3
    model = model.to(device)
    # Dropout must draw different masks on each rank (DDP makes the starting weights equal).
    torch.manual_seed(args.seed * 1_000 + distributed.rank())

    def batch_on_device(step):
        if args.fail_rank == distributed.rank() and step == args.fail_step:
            raise RuntimeError(f"rank {args.fail_rank} failed on purpose at step {step} (--fail-rank)")
        return tuple(t.to(device) for t in get_batch(step))

    start = time.perf_counter()
    history = train(model, loss_fn, batch_on_device, steps=args.steps, lr=lr, warmup=min(30, args.steps // 10),
                    checkpoint=args.checkpoint, stop_after=args.stop_after, precision=args.precision,
                    compile=args.compile, progress=distributed.is_main())
    wall = time.perf_counter() - start
    steps_run = len(history.loss) - 1  # the first step is not timed: it counts the FLOPs
    result = {
        "config": args.config, "profile": get_profile(), "world_size": distributed.world_size(), "device": str(device),
        "threads_per_process": torch.get_num_threads(), "precision": args.precision, "compile": args.compile,
        "steps": len(history.loss), "seconds": history.seconds, "wall_seconds": wall,
        "steps_per_second": steps_run / history.seconds if history.seconds else 0.0,
        "tokens_per_second": steps_run * tokens_per_batch / history.seconds if history.seconds else 0.0,
        "final_loss": history.loss[-1], "mfu_per_process": history.mfu,
    }
    if distributed.is_main() and args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
    distributed.stop()
    return result


if __name__ == "__main__":
    main()
