"""The shared package of the book: plumbing and reusable blocks, one module per concern.

* ``device``: where code runs and at which size profile; seeding.
* ``data``: every data set, generated or shipped with a package.
* ``train``: the one training loop, schedules, checkpoints, FLOPs and MFU.
* ``plot``: image grids, loss curves, 2-D scatter and density plots.
* ``metrics``: numbers that score generative models.
* ``judge``: the digit classifier that scores generated digits (FD-digits).
* ``checks``: the exercise checkers.
* ``record``: one call to record a chapter's numbers.
"""

from . import record as _record  # noqa: F401  (starts the notebook clock at first import)
