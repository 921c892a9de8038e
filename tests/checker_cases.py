"""What every exercise checker must do, shared by the tests of each chapter's checkers:
accept the reference answer, and turn down wrong answers (stubs, code that raises, plausible
mistakes) with a message instead of a traceback."""


def raising(*args, **kwargs):
    raise RuntimeError("boom")


# Answers every checker must turn down: the untouched stub, code that raises, and a function returning None.
STUBS = (None, raising, lambda *args, **kwargs: None)


def assert_passes(checker, answer, capsys) -> None:
    assert checker(answer) is True
    assert "all checks passed" in capsys.readouterr().out


def assert_rejected(checker, wrong_answers, capsys) -> None:
    for answer in [*STUBS, *wrong_answers]:
        assert checker(answer) is False, f"{checker.__name__} accepted {answer!r}"
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

    return test_reference_passes, test_wrong_answers_fail_without_raising
