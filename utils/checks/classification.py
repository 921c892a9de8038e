"""Checkers for chapter 1: discriminative vs generative classifiers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import exercise


@exercise("sigmoid_cross_entropy")
def sigmoid_cross_entropy(check, answer):
    """``answer(logits, labels)``: mean binary cross-entropy from logits (N,), labels 0/1 (N,)."""
    logits = torch.tensor([0.0, 2.0, -1.0, 3.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    expected = F.binary_cross_entropy_with_logits(logits, labels)
    got = check.call(answer, logits, labels, what="sigmoid_cross_entropy(logits, labels)")
    check.close(got, expected, "the loss on four small logits",
                "the loss of one example is -[y log s(z) + (1-y) log(1 - s(z))]; take the mean")
    check.passed("small logits give the right mean loss")
    extreme = torch.tensor([100.0, -100.0, 40.0])
    labels = torch.tensor([0.0, 1.0, 1.0])
    got = check.call(answer, extreme, labels, what="sigmoid_cross_entropy on logits of +-100")
    check.close(got, F.binary_cross_entropy_with_logits(extreme, labels), "the loss on logits of +-100",
                "log(sigmoid(z)) underflows for large |z|; use F.logsigmoid, or the identity "
                "-log s(z) = softplus(-z)")
    check.passed("large logits stay finite and exact (numerically stable)")


@exercise("fit_class_gaussians")
def fit_class_gaussians(check, answer):
    """``answer(x, y, n_classes)`` -> (means (K, D), shared covariance (D, D), priors (K,))."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(60, 3, generator=gen, dtype=torch.float64)
    y = torch.arange(60) % 3
    x = x + y[:, None].double() * 2.0
    result = check.call(answer, x, y, 3, what="fit_class_gaussians(x, y, 3)")
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        check.fail(f"expected a tuple (means, covariance, priors), got {type(result).__name__}",
                   "return means, covariance, priors")
    means, covariance, priors = result
    true_means = torch.stack([x[y == k].mean(0) for k in range(3)])
    centred = x - true_means[y]
    true_cov = centred.T @ centred / len(x)
    true_priors = torch.bincount(y, minlength=3).double() / len(y)
    check.close(priors, true_priors, "priors", "the prior of class k is the share of examples labelled k")
    check.passed("priors are the class frequencies")
    check.close(means, true_means, "means", "row k is the average of the examples of class k")
    check.passed("means are the class averages")
    unbiased = centred.T @ centred / (len(x) - 3)
    got_cov = check.tensor(covariance, "covariance")
    if got_cov.shape == true_cov.shape and torch.allclose(got_cov, unbiased, atol=1e-6):
        check.fail("the covariance is the unbiased estimate (divided by N - K)",
                   "maximum likelihood divides by N, the number of examples")
    check.close(covariance, true_cov, "covariance",
                "pool the deviations of every example from its own class mean, then divide by N")
    check.passed("the shared covariance is the maximum-likelihood estimate")


@exercise("bayes_posterior")
def bayes_posterior(check, answer):
    """``answer(log_likelihoods (N, K), log_priors (K,))`` -> posterior probabilities (N, K)."""
    log_lik = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.5, -4.0]], dtype=torch.float64)
    log_prior = torch.log(torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64))
    expected = torch.softmax(log_lik + log_prior, dim=1)
    got = check.call(answer, log_lik, log_prior, what="bayes_posterior(log_likelihoods, log_priors)")
    check.close(got, expected, "the posterior of two examples",
                "p(k | x) is proportional to p(x | k) p(k): add the logs, then normalise each row to sum to 1")
    check.passed("posteriors are right and each row sums to 1")
    far = log_lik - 1000.0  # a point far from every class: likelihoods underflow to 0
    got = check.call(answer, far, log_prior, what="bayes_posterior on log-likelihoods near -1000")
    check.close(got, expected, "the posterior when every log-likelihood is near -1000",
                "exp(-1000) is 0 in floating point; subtract each row's maximum before exp "
                "(torch.softmax and torch.logsumexp do this for you)")
    check.passed("stable for points far from every class")


@exercise("predicted_share")
def predicted_share(check, answer):
    """``answer(class_counts, k)`` -> the share of class ``k`` among the samples of a generative model that
    draws the class first, with the priors fitted by maximum likelihood (a prediction made before sampling)."""
    cases = [([10, 10, 10, 10], 2, "four equal classes"),
             ([130, 128, 5, 140], 2, "a class with only 5 examples"),
             ([1, 2, 3, 4], 3, "unequal classes")]
    for counts, k, what in cases:
        got = check.call(answer, list(counts), k, what=f"predicted_share({counts}, {k})")
        expected = counts[k] / sum(counts)
        value = check.tensor(got, "the share")
        if value.numel() == 1 and abs(float(value) - 1 / len(counts)) < 1e-9 and abs(expected - 1 / len(counts)) > 1e-9:
            check.fail(f"for {what} you predicted 1/{len(counts)}, the share of a balanced data set",
                       "the model learns its prior p(k) from the training set: the classes are not balanced there")
        check.close(got, torch.tensor(expected), f"the predicted share for {what}",
                    "the model draws class k with its fitted prior: the share of class k in the training set "
                    "(the Gaussians decide only what each digit looks like)")
    check.passed("the model draws each class as often as its training set holds it: bias in, bias out")
