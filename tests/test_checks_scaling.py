"""The scaling-out checkers accept the reference answers and reject wrong ones without raising."""


from tests.checker_cases import checker_tests
from utils import checks


def ref_shard(batch, rank, world_size):
    per_rank = len(batch) // world_size
    return batch[rank * per_rank:(rank + 1) * per_rank]


def ref_ring(tensors, send):
    k = len(tensors)
    buffers = [list(t.clone().chunk(k)) for t in tensors]  # buffers[rank][chunk]
    for r in range(k - 1):  # reduce-scatter: rank i adds what it receives into chunk (i - r - 1) % k
        sent = [send(i, (i + 1) % k, buffers[i][(i - r) % k]) for i in range(k)]
        for i in range(k):
            buffers[(i + 1) % k][(i - r) % k] = buffers[(i + 1) % k][(i - r) % k] + sent[i]
    for r in range(k - 1):  # all-gather: rank i owns chunk (i + 1) % k in full and passes it on
        sent = [send(i, (i + 1) % k, buffers[i][(i + 1 - r) % k]) for i in range(k)]
        for i in range(k):
            buffers[(i + 1) % k][(i + 1 - r) % k] = sent[i]
    return [__import__("torch").cat(b) for b in buffers]


def ref_seconds(numel, world_size, latency_s, bytes_per_s):
    rounds = 2 * (world_size - 1)
    return rounds * latency_s + rounds / world_size * 4 * numel / bytes_per_s


def naive_sum(tensors, send):  # right sums, but everything goes to rank 0 and back
    total = sum(send(i, 0, t) for i, t in enumerate(tensors))
    return [send(0, i, total) for i in range(len(tensors))]


def no_messages(tensors, send):
    return [sum(tensors) for _ in tensors]


CASES = {
    "shard_rows": (ref_shard, [
        lambda batch, rank, world_size: batch[rank::world_size],  # strided, not a block
        lambda batch, rank, world_size: batch[rank:rank + len(batch) // world_size],  # offset by rank, not by block
    ]),
    "ring_all_reduce": (ref_ring, [naive_sum, no_messages, lambda tensors, send: tensors[0]]),
    "all_reduce_seconds": (ref_seconds, [
        lambda n, k, lat, bw: 2 * (k - 1) * lat + 4 * n / bw,  # the whole tensor each round
        lambda n, k, lat, bw: (k - 1) * lat + (k - 1) / k * 4 * n / bw,  # half the rounds
        lambda n, k, lat, bw: 2 * (k - 1) * lat + 2 * (k - 1) / k * n / bw,  # numbers, not bytes
    ]),
}


# Accept the reference (also computed in float64), turn down stubs, raising code and each mistake.
test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests({getattr(checks, name): case for name, case in CASES.items()})


# The thinking exercise: where latency and bandwidth cost the same.
PREDICTION_CASES = {
    checks.crossover_numel: (
        lambda k, latency, bandwidth: k * latency * bandwidth / 4,
        [lambda k, latency, bandwidth: k * latency * bandwidth,  # bytes, not numbers
         lambda k, latency, bandwidth: latency * bandwidth / 4,  # without the (K-1)/K of the ring
         lambda k, latency, bandwidth: [k * latency * bandwidth / 4] * 2],  # not one number
    ),
}
test_prediction_passes, test_wrong_predictions_fail, test_a_prediction_in_float64_passes = \
    checker_tests(PREDICTION_CASES)
