"""Checkers for the scaling-out appendix: a rank's slice of a batch, a ring all-reduce,
and the time an all-reduce takes."""

from __future__ import annotations

import torch

from .. import distributed
from .core import exercise


@exercise("shard_rows")
def shard_rows(check, answer):
    """``answer(batch, rank, world_size)`` -> this rank's contiguous, equal slice of a tensor's rows."""
    batch = torch.arange(24).view(12, 2)
    for world in (1, 2, 3, 4):
        parts = []
        for rank in range(world):
            what = f"shard_rows(batch of 12, rank={rank}, world_size={world})"
            got = check.call(answer, batch, rank, world, what=what)
            check.close(got, distributed.shard(batch, rank, world), f"rank {rank}'s slice of 12 rows among {world}",
                        "each rank takes B/K rows in a block: rows rank*B/K up to (rank+1)*B/K")
            parts.append(got)
        check.close(torch.cat(parts), batch, f"the {world} slices put back together")
    check.passed("every rank gets its own block of rows, and together the blocks are the whole batch")


@exercise("ring_all_reduce")
def ring_all_reduce(check, answer):
    """``answer(tensors, send)`` -> the list of K sums, passing chunks only to the next rank via ``send``."""
    for world, length in ((2, 6), (3, 6), (4, 8)):
        gen = torch.Generator().manual_seed(world)
        tensors = [torch.randn(length, generator=gen) for _ in range(world)]
        originals = [t.clone() for t in tensors]
        messages = []

        def send(src, dst, values, messages=messages):
            if not isinstance(values, torch.Tensor):
                raise TypeError(f"send(src, dst, values): values must be a tensor, got {type(values).__name__}")
            messages.append((int(src), int(dst), values.numel()))
            return values.clone()

        got = check.call(answer, tensors, send, what=f"ring_all_reduce({world} tensors of {length}, send)")
        if not isinstance(got, (list, tuple)) or len(got) != world:
            check.fail(f"with {world} ranks the result should be a list of {world} tensors, got {type(got).__name__}",
                       "return one tensor per rank: what each rank holds at the end")
        total = sum(originals)
        for rank, value in enumerate(got):
            check.close(value, total, f"rank {rank}'s result with {world} ranks",
                        "after the reduce-scatter each rank owns one chunk's full sum; the all-gather hands those out")
        for t, o in zip(tensors, originals):
            if not torch.equal(t, o):
                check.fail("your function changed the input tensors",
                           "work on copies: buffers = [t.clone() for t in tensors]")
        wrong = [(s, d) for s, d, _ in messages if d != (s + 1) % world]
        if wrong:
            check.fail(f"a message went from rank {wrong[0][0]} to rank {wrong[0][1]}",
                       "in a ring, rank r only ever sends to rank (r + 1) % K")
        expected = 2 * (world - 1) * world
        if len(messages) != expected:
            check.fail(f"with {world} ranks you sent {len(messages)} messages; a ring all-reduce sends {expected}",
                       "K - 1 rounds of reduce-scatter and K - 1 of all-gather, each rank sending one chunk per round")
        if any(n != length // world for _, _, n in messages):
            check.fail("some messages did not carry exactly one chunk",
                       f"a chunk is length / K = {length // world} numbers")
    check.passed("the sums are right, every message goes to the next rank, 2 K (K - 1) messages of one chunk each")


def _ring_seconds(numel, world_size, latency_s, bytes_per_s, bytes_per_number=4):
    if world_size == 1:
        return 0.0
    rounds = 2 * (world_size - 1)
    return rounds * latency_s + rounds / world_size * numel * bytes_per_number / bytes_per_s


@exercise("all_reduce_seconds")
def all_reduce_seconds(check, answer):
    """``answer(numel, world_size, latency_s, bytes_per_s)`` -> seconds of a ring all-reduce of float32 numbers."""
    cases = [(1_000_000, 2, 1e-4, 1e9), (1_000_000, 8, 1e-4, 1e9), (10, 4, 5e-5, 1e10), (50_000_000, 16, 2e-6, 2e11)]
    for numel, world, latency, bandwidth in cases:
        got = check.call(answer, numel, world, latency, bandwidth,
                         what=f"all_reduce_seconds({numel:,}, {world}, {latency}, {bandwidth:.0e})")
        check.close(got, _ring_seconds(numel, world, latency, bandwidth),
                    f"the seconds for {numel:,} numbers on {world} ranks",
                    "2 (K - 1) rounds, each paying the latency once and sending one chunk of numel / K float32 "
                    "numbers (4 bytes each)", atol=1e-9, rtol=1e-6)
    got = check.call(answer, 1_000, 1, 1e-4, 1e9, what="all_reduce_seconds(1000, 1, ...)")
    check.close(got, 0.0, "the seconds on a single rank", "one process has nothing to send", atol=1e-12)
    check.passed("latency rounds plus bytes over bandwidth, and nothing for a single rank")


@exercise("crossover_numel")
def crossover_numel(check, answer):
    """``answer(world_size, latency_s, bytes_per_s)`` -> the float32 tensor size (numbers) at which a ring
    all-reduce spends as long on bandwidth as on latency, by the model above."""
    for world, latency, bandwidth in ((2, 1e-4, 1e9), (8, 5e-6, 1e11), (4, 2e-5, 3e9)):
        got = check.call(answer, world, latency, bandwidth,
                         what=f"crossover_numel({world}, {latency}, {bandwidth:.0e})")
        value = check.tensor(got, "your size")
        if value.numel() != 1:
            check.fail(f"expected one number, got shape {tuple(value.shape)}",
                       "return a single size (a float or an int), not one per process or per setting")
        numel = float(value)
        latency_part = 2 * (world - 1) * latency
        bandwidth_part = 2 * (world - 1) / world * 4 * numel / bandwidth
        if abs(numel - world * latency * bandwidth) < 1e-6 * world * latency * bandwidth:
            check.fail(f"with {world} processes your size is in bytes, not numbers",
                       "a float32 number is 4 bytes: the bandwidth term is 2 (K-1)/K x 4N / beta")
        check.close(torch.tensor(bandwidth_part), torch.tensor(latency_part),
                    f"with {world} processes, the bandwidth time at your size (against the latency time)",
                    "set 2(K-1) alpha equal to 2 (K-1)/K x 4N / beta and solve for N", rtol=1e-3, atol=0)
    check.passed("at N = K alpha beta / 4 numbers, latency and bandwidth cost the same; above it bandwidth rules")
