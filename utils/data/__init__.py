"""Every data set the book uses, one module per family, each generated or shipped offline.

* :mod:`utils.data.toy2d`: 2-D mixtures with exact densities and modes.
* :mod:`utils.data.digits`: scikit-learn's real 8x8 handwritten digits.
"""

from .digits import Digits, load_digits
from .toy2d import TOY_NAMES, Toy2D, toy_2d

__all__ = ["Digits", "load_digits", "TOY_NAMES", "Toy2D", "toy_2d"]
