"""Checkers for chapter 0, the tools every chapter uses: a gradient by the chain rule, the learning rate
at which gradient descent diverges, and the loss of a classifier before it has learned anything."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .core import exercise


def _no_autograd(answer):
    """``answer`` run with autograd switched off, so that only a gradient worked out by hand can pass."""

    def by_hand(*args):
        with torch.no_grad():
            try:
                return answer(*args)
            except RuntimeError as error:
                if "grad" in str(error):
                    raise RuntimeError("autograd is switched off in this check (it says: "
                                       f"{error}); compute the gradient with the chain rule, not .backward()") \
                        from error
                raise

    return by_hand


@exercise("logistic_gradients")
def logistic_gradients(check, answer):
    """``answer(x (N, D), y (N,), w (D,), b ())`` -> ``(grad_w (D,), grad_b ())`` of the mean binary
    cross-entropy of ``sigmoid(x @ w + b)`` against ``y``, by the chain rule (autograd is off)."""
    gen = torch.Generator().manual_seed(3)
    for n, d in ((5, 3), (8, 2)):
        x = torch.randn(n, d, generator=gen, dtype=torch.float64)
        y = (torch.rand(n, generator=gen, dtype=torch.float64) < 0.5).double()
        w = torch.randn(d, generator=gen, dtype=torch.float64)
        b = torch.tensor(0.3, dtype=torch.float64)
        wg, bg = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
        F.binary_cross_entropy_with_logits(x @ wg + bg, y).backward()
        result = check.call(_no_autograd(answer), x, y, w, b, what=f"logistic_gradients on {n} examples")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            check.fail(f"expected a pair (grad_w, grad_b), got {type(result).__name__}", "return grad_w, grad_b")
        grad_w, grad_b = check.tensor(result[0], "grad_w"), check.tensor(result[1], "grad_b")
        if grad_b.numel() == 1:
            grad_b = grad_b.reshape(())
        true_w, true_b = wg.grad.double(), bg.grad.double()
        if check.matches(grad_w, -true_w) and not check.matches(grad_w, true_w):
            check.fail("grad_w has the wrong sign",
                       "dL/dz = p - y (the prediction minus the label), not y - p; descent then moves against it")
        if check.matches(grad_w, n * true_w) and not check.matches(grad_w, true_w):
            check.fail("grad_w is N times too large: that is the gradient of the summed loss",
                       "the loss is the mean over the N examples, so divide the summed gradient by N")
        hint = ("dL/dz_n = (sigmoid(z_n) - y_n) / N for each example, then dL/dw = x^T (dL/dz) and "
                "dL/db = the sum of dL/dz")
        check.close(grad_w, true_w, f"grad_w on {n} examples", hint)
        check.close(grad_b, true_b, f"grad_b on {n} examples", hint)
    check.passed("grad_w and grad_b equal autograd's, on batches of two sizes, computed by hand")


@exercise("largest_stable_lr")
def largest_stable_lr(check, answer):
    """``answer(curvatures (K,))`` -> the learning rate above which gradient descent diverges on
    f(x) = sum_i curvatures[i] * x_i ** 2 / 2, that is 2 / max(curvatures)."""
    cases = [torch.tensor(c, dtype=torch.float64) for c in ([0.2, 20.0], [4.0], [3.0, 0.5, 8.0])]
    for curvatures in cases:
        got = check.number(check.call(answer, curvatures.clone(), what=f"largest_stable_lr({curvatures.tolist()})"),
                      "the learning rate")
        top, low = curvatures.max().item(), curvatures.min().item()
        expected = 2 / top
        if len(curvatures) > 1 and math.isclose(got, 2 / low, rel_tol=1e-3):
            check.fail(f"for curvatures {curvatures.tolist()} you gave 2 / the smallest curvature",
                       "every coordinate must shrink, and the steepest one is the first to overshoot")
        if math.isclose(got, 1 / top, rel_tol=1e-3):
            check.fail(f"for curvatures {curvatures.tolist()} you gave 1 / the largest curvature: at that rate "
                       "the steepest coordinate lands on the minimum in one step, but larger rates still converge",
                       "each step multiplies coordinate i by (1 - lr * curvature_i); for which lr does every "
                       "factor stay between -1 and 1?")
        if not math.isclose(got, expected, rel_tol=1e-3):
            check.fail(f"for curvatures {curvatures.tolist()}: got {got:.5g}, expected {expected:.5g}",
                       "each step multiplies coordinate i by (1 - lr * curvature_i); it diverges as soon as one "
                       "factor is below -1")
    check.passed("2 / the largest curvature: past it the steepest direction overshoots more each step")


@exercise("initial_loss")
def initial_loss(check, answer):
    """``answer(n_classes)`` -> the predicted cross-entropy of an untrained classifier whose logits are all
    (nearly) equal: ln(n_classes), within 2 %."""
    for k in (10, 2, 1000):
        got = check.number(check.call(answer, k, what=f"initial_loss({k})"), "the predicted loss")
        expected = math.log(k)
        if got < 0:
            check.fail(f"for {k} classes you predicted a negative loss, {got:.4g}",
                       "the loss is -log p with p <= 1, so it is never negative")
        if math.isclose(got, 1 / k, rel_tol=1e-3):
            check.fail(f"for {k} classes you gave 1/{k}, the probability of the right class",
                       "the loss is minus the log of that probability")
        for base, name in ((2, "base 2 (bits)"), (10, "base 10")):
            if math.isclose(got, math.log(k, base), rel_tol=1e-2):
                check.fail(f"for {k} classes you gave the logarithm in {name}",
                           "F.cross_entropy uses the natural logarithm: its loss is in nats")
        if not math.isclose(got, expected, rel_tol=0.02):
            check.fail(f"for {k} classes you predicted {got:.4g}: an untrained classifier does not start there",
                       "with (nearly) equal logits, the softmax gives every class the same probability; "
                       "what is the cross-entropy -log p of the right class then?")
    check.passed("the loss of a classifier that has learned nothing is ln(number of classes)")
