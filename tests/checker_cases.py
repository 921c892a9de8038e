"""What every exercise checker must do, shared by the tests of each chapter's checkers:
accept the reference answer, and turn down wrong answers (stubs, code that raises, plausible
mistakes) with a message instead of a traceback."""


def raising(*args, **kwargs):
    raise RuntimeError("boom")


# Answers every checker must turn down: the untouched stub, code that raises, and a function returning None.
STUBS = (None, raising, lambda *args, **kwargs: None)


def assert_passes(checker, answer, capsys) -> None:
    verdict = checker(answer)
    assert bool(verdict) is True and verdict == True  # noqa: E712 (a Verdict, equal to the bool it stands for)
    assert "all checks passed" in capsys.readouterr().out


def in_float64(answer):
    """``answer`` as a reader who computes in float64 would write it: the same values, in double precision."""
    import torch

    def double(*args, **kwargs):
        result = answer(*args, **kwargs)
        if isinstance(result, torch.Tensor) and result.is_floating_point():
            return result.double()
        if isinstance(result, tuple):
            return tuple(r.double() if isinstance(r, torch.Tensor) and r.is_floating_point() else r for r in result)
        return result

    return double


def assert_rejected(checker, wrong_answers, capsys) -> None:
    for answer in [*STUBS, *wrong_answers]:
        assert not checker(answer), f"{checker.__name__} accepted {answer!r}"
        out = capsys.readouterr().out
        assert "not yet" in out and "[wrong]" in out, out


def checker_tests(cases):
    """The two tests of a module whose ``cases`` map each checker to ``(reference answer,
    [wrong answers])``; assign them to module names starting with ``test_`` for pytest."""
    import pytest

    checkers = pytest.mark.parametrize("checker", list(cases), ids=lambda c: c.__name__)

    @checkers
    def test_reference_passes(checker, capsys):
        assert_passes(checker, cases[checker][0], capsys)

    @checkers
    def test_wrong_answers_fail_without_raising(checker, capsys):
        assert_rejected(checker, cases[checker][1], capsys)

    @checkers
    def test_a_right_answer_in_float64_passes(checker, capsys):
        assert_passes(checker, in_float64(cases[checker][0]), capsys)

    return test_reference_passes, test_wrong_answers_fail_without_raising, test_a_right_answer_in_float64_passes
