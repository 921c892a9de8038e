"""The exercise framework: a checker runs the reader's function on known cases and
prints what is right, what is wrong, and a hint. It never raises on a wrong answer.

A checker is written as a function of ``(check, answer)`` and wrapped with
:func:`exercise`; inside, ``check.call`` runs the reader's code and ``check.close``
compares a result with the expected one. The first failure stops the checker, since
later cases usually fail for the same reason.
"""

from __future__ import annotations

import functools
import traceback

import numpy as np
import torch


class _Stop(Exception):
    """Raised inside a checker to stop at the first failure."""


class Check:
    """What one run of a checker found: lines of passes and failures."""

    def __init__(self, title: str):
        self.title = title
        self.lines: list[str] = []
        self.ok = True

    def passed(self, message: str) -> None:
        self.lines.append(f"  [ok] {message}")

    def fail(self, message: str, hint: str | None = None) -> None:
        self.ok = False
        self.lines.append(f"  [wrong] {message}")
        if hint:
            self.lines.append(f"  hint: {hint}")
        raise _Stop

    def call(self, answer, *args, what: str = "your function", **kwargs):
        """Call the reader's code; report an exception or a missing result as a failure."""
        try:
            result = answer(*args, **kwargs)
        except Exception as error:  # the reader's code may raise anything
            frame = traceback.extract_tb(error.__traceback__)[-1]
            self.fail(f"{what} raised {type(error).__name__}: {error} (line {frame.lineno})",
                      "read the error above; run your function on a small input to see where it breaks")
        if result is None:
            self.fail(f"{what} returned None", "it is still the stub: replace `return None` with your code")
        return result

    def tensor(self, value, what: str) -> torch.Tensor:
        """Turn the reader's result into a float64 tensor, or fail saying what it was."""
        if isinstance(value, (np.ndarray, float, int, list, tuple)) and not isinstance(value, bool):
            try:
                value = torch.as_tensor(np.asarray(value, dtype=np.float64))
            except (TypeError, ValueError):
                self.fail(f"{what} is a {type(value).__name__} that is not a number or array of numbers",
                          "return numbers: a tensor, a float, or a list of floats")
        if not isinstance(value, torch.Tensor):
            self.fail(f"{what} should be a tensor, got {type(value).__name__}",
                      "return the tensor you computed (torch.tensor(...) turns numbers into one)")
        return value.detach().double().cpu()

    def number(self, value, what: str, hint: str | None = None) -> float:
        """The reader's result as one finite float (a float, an int, or a tensor or array holding one
        number), or a failure that says what it was instead."""
        if isinstance(value, torch.Tensor) and value.numel() == 1 or isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            shape = f" of shape {tuple(value.shape)}" if hasattr(value, "shape") else ""
            self.fail(f"{what} should be one number, got a {type(value).__name__}{shape}",
                      hint or "return a float (or a tensor holding one number): reduce what you computed to "
                      "a single value")
        if not np.isfinite(value):
            self.fail(f"{what} is {value}", hint or "a finite number is expected: look for a log of 0 or a "
                      "division by 0")
        return float(value)

    @staticmethod
    def matches(value, expected, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
        """True when ``value`` has ``expected``'s shape and values, whatever the float dtype or device of
        either (a correct float64 answer must not fail against a float32 reference)."""
        if not isinstance(value, torch.Tensor) or not isinstance(expected, torch.Tensor):
            return False
        if value.shape != expected.shape:
            return False
        return torch.allclose(value.detach().double().cpu(), expected.detach().double().cpu(), atol=atol, rtol=rtol)

    def close(self, value, expected, what: str, hint: str | None = None,
              atol: float = 1e-5, rtol: float = 1e-4) -> None:
        """Fail unless ``value`` has ``expected``'s shape and values (within tolerance)."""
        got = self.tensor(value, what)
        expected = torch.as_tensor(expected).double()
        if got.shape != expected.shape:
            shape_hint = (f"print the shape of what your function returns and compare it with "
                          f"{tuple(expected.shape)}: a missing sum or mean, a transposed result or a kept "
                          "dimension of size 1 are the usual causes")
            self.fail(f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}",
                      f"{hint}; {shape_hint}" if hint else shape_hint)
        if not torch.isfinite(got).all():
            self.fail(f"{what} contains NaN or inf", hint)
        if not torch.allclose(got, expected, atol=atol, rtol=rtol):
            where = (got - expected).abs().argmax().item()
            self.fail(f"{what} is off: got {got.flatten()[where]:.6g}, expected {expected.flatten()[where]:.6g} "
                      f"(largest difference {(got - expected).abs().max():.3g})", hint)

    def report(self) -> None:
        verdict = "all checks passed" if self.ok else "not yet"
        print(f"{self.title}: {verdict}")
        print("\n".join(self.lines))


class Verdict:
    """What a checker returns: true when every check passed. It shows nothing when it is a cell's last
    value (the checker has printed its report already), so a stub's cell shows only the report."""

    def __init__(self, ok: bool):
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __eq__(self, other) -> bool:
        return bool(self) == other

    __hash__ = None

    def __repr__(self) -> str:
        return f"Verdict({'passed' if self.ok else 'not yet'})"

    def _ipython_display_(self) -> None:
        pass


def exercise(title: str):
    """Turn ``body(check, answer)`` into a checker ``checker(answer) -> Verdict`` that prints."""

    def wrap(body):
        @functools.wraps(body)
        def checker(answer) -> bool:
            check = Check(title)
            if answer is None or not callable(answer):
                check.ok = False
                check.lines.append(f"  [wrong] expected your function, got {type(answer).__name__}")
                check.lines.append("  hint: pass the function itself, e.g. checker(my_function), not its result")
            else:
                try:
                    body(check, answer)
                except _Stop:
                    pass
                except Exception as error:  # a checker must never crash on odd answers
                    check.ok = False
                    check.lines.append(f"  [wrong] your answer could not be checked: {type(error).__name__}: {error}")
                    check.lines.append("  hint: check the type and shape of what your function returns")
            check.report()
            return Verdict(check.ok)

        return checker

    return wrap
