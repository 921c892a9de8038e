"""Exercise checkers: ``checks.<name>(your_function)`` prints what is right or wrong.

Each checker returns True when every check passed and never raises on a wrong answer.
One module per chapter topic holds its checkers; :mod:`utils.checks.core` the framework.
"""

from .classification import bayes_posterior, fit_class_gaussians, sigmoid_cross_entropy

__all__ = ["bayes_posterior", "fit_class_gaussians", "sigmoid_cross_entropy"]
