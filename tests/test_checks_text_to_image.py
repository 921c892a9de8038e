"""The text-to-image checkers accept the reference answers and turn down wrong ones without raising."""

import math

import torch

from tests.checker_cases import checker_tests
from utils import checks


def ref_drop(ids, null, p, generator):
    drop = torch.rand(len(ids), generator=generator) < p
    return torch.where(drop[:, None], null, ids)


def drop_words(ids, null, p, generator):  # a plausible mistake: each word on its own
    return torch.where(torch.rand(ids.shape, generator=generator) < p, null[0], ids)


def drop_in_place(ids, null, p, generator):
    ids[torch.rand(len(ids), generator=generator) < p] = null
    return ids


def ref_attention(q, k, v, mask):
    scores = (q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])).masked_fill(~mask[:, None, :], float("-inf"))
    return torch.softmax(scores, -1) @ v


def zero_after_softmax(q, k, v, mask):
    return (torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), -1) * mask[:, None, :]) @ v




def ref_masked_mean(tokens, mask):
    m = mask.float()[..., None]
    return (tokens * m).sum(1) / m.sum(1)


def ref_all_right(read, wanted):
    ok = torch.ones(len(next(iter(wanted.values()))), dtype=torch.bool)
    for key in wanted:
        ok &= read[key] == wanted[key]
    return ok.float().mean()


def ref_variety(images):
    x = images.flatten(1)
    n = len(x)
    return torch.cdist(x, x).sum() / (n * (n - 1))


CASES = {
    checks.drop_captions: (ref_drop, [
        lambda ids, null, p, generator: ids,  # never drops
        drop_words,
        drop_in_place,
        lambda ids, null, p, generator: ref_drop(ids, null, p, None),  # ignores the generator
    ]),
    checks.guidance: (lambda c, u, w: c + w * (c - u), [
        lambda c, u, w: u + w * (c - u),  # the other convention
        lambda c, u, w: c + w * (u - c),  # the wrong direction
        lambda c, u, w: (c - u)[:1],  # wrong shape
    ]),
    checks.masked_cross_attention: (ref_attention, [
        lambda q, k, v, mask: torch.softmax(q @ k.transpose(1, 2), -1) @ v,  # unscaled, unmasked
        lambda q, k, v, mask: torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), -1) @ v,  # unmasked
        zero_after_softmax,
    ]),
    checks.masked_mean: (ref_masked_mean, [
        lambda tokens, mask: tokens.mean(1),  # padding averaged in
        lambda tokens, mask: (tokens * mask[..., None]).sum(1) / tokens.shape[1],  # zeroed but counted
    ]),
    checks.all_facts_right: (ref_all_right, [
        lambda read, wanted: sum((read[k] == wanted[k]).float().mean() for k in wanted) / len(wanted),  # per fact
        lambda read, wanted: (read["shape"] == wanted["shape"]).float().mean(),  # one fact only
    ]),
    checks.mean_pairwise_distance: (ref_variety, [
        lambda images: torch.cdist(images.flatten(1), images.flatten(1)).mean(),  # the diagonal averaged in
        lambda images: torch.cdist(images.flatten(1), images.flatten(1)).pow(2).sum()
        / (len(images) * (len(images) - 1)),  # squared distances
    ]),
}

test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes = \
    checker_tests(CASES)


# The thinking exercises: the yardsticks of the two losses, and a guidance strength that helps.
def fake_accuracy(w):  # a model that guidance helps up to a few units, and harms beyond
    return 0.2 + 0.1 * w * math.exp(-w / 2) - 0.02 * max(w - 6, 0)


YARDSTICKS = {
    checks.text_to_image.baseline_losses: (lambda x0: (1.0, (x0 - x0.mean(0)).pow(2).mean()), [
        lambda x0: (1.0, x0.pow(2).mean()),  # predicting zero, not the average picture
        lambda x0: (1.0, (x0 - x0.mean()).pow(2).mean()),  # one mean over all pixels
        lambda x0: (0.0, (x0 - x0.mean(0)).pow(2).mean()),  # predicting zero noise costs 1, not 0
        lambda x0: (1.0, (x0 - x0.mean(0)).pow(2).mean((1, 2, 3))),  # one loss per picture
    ]),
    checks.text_to_image.guidance_experiment(fake_accuracy): (lambda: 2.0, [
        lambda: 0.0,  # no guidance
        lambda: 15.0,  # far too strong: worse than none
        lambda: -1.0,  # away from the caption
        lambda: "2",  # not a number
        lambda: float("nan"),
    ]),
}
test_yardstick_reference_passes, test_yardstick_wrong_answers_fail, test_yardstick_in_float64_passes = \
    checker_tests(YARDSTICKS)
