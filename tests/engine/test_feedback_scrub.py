"""Feedback never shows a host path or a grader file name, whatever the graders raise.

`student_message` builds a message from safe parts (the student's own error, the bridge's
texts, a grader's assertion) and `scrub` removes paths as a last line of defence; the
feedback written into the notebook is scrubbed again.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, FlakyFailure
from nbformat.v4 import new_code_cell, new_output

from course.bridge import StudentError, TooLarge
from course.graders.pytest_plugin import FLAKY, student_message
from course.graders.scrub import scrub
from course.nbgrader_plugin import feedback

GRADER = "/srv/course/tests/graders/tiny/test_correct_add.py"
HOST_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.-]+/)+[\w.-]*")


def assert_clean(text: str) -> None:
    assert not HOST_PATH.search(text), text
    assert "test_correct_add" not in text and ".py" not in text and "tests/graders" not in text


def _flaky_failure() -> BaseException:
    """The real FlakyFailure hypothesis raises for a test that fails once then passes."""
    seen = set()

    @settings(database=None, derandomize=True, max_examples=10)
    @given(st.integers(1, 1000))
    def test_sum(a):
        first = a not in seen
        seen.add(a)
        assert not first, f"add({a}, 0): expected {a}, got {-a}"

    with pytest.raises(BaseException) as caught:
        test_sum()
    return caught.value


def test_hypothesis_flaky_failure_says_what_happened_without_paths():
    error = _flaky_failure()
    assert isinstance(error, Flaky)
    # hypothesis' own text names this file by its absolute path
    raw = str(error) + "".join(getattr(error, "__notes__", []))
    assert __file__ in raw or "test_sum" in raw
    message = student_message(error)
    assert message.startswith(FLAKY)
    assert "expected" in message and "Counterexample" in message  # the first failure
    assert_clean(message)


def test_flaky_failure_group_with_path_texts():
    inner = AssertionError(f"add(1, 2): expected 3 (see {GRADER})")
    error = FlakyFailure(f"Inconsistent results: INTERESTING from AssertionError at {GRADER}:6",
                         [inner, ValueError(f"boom at {GRADER}")])
    error.add_note(f"Failed to reproduce exception. Expected:\n  File \"{GRADER}\", line 6")
    message = student_message(error)
    assert message.startswith(FLAKY) and "expected 3" in message
    assert_clean(message)


def test_exception_group_reports_its_first_exception():
    group = ExceptionGroup(f"2 errors in {GRADER}", [
        StudentError("add", "ValueError", "bad input", f'  File "{GRADER}", line 3'),
        KeyError("x")])
    message = student_message(group)
    assert message.startswith("Your function raised ValueError: bad input")
    assert_clean(message)


@pytest.mark.parametrize("error", [
    FileNotFoundError(2, "No such file or directory", "/home/teacher/course/gradebook.db"),
    TypeError(f"unsupported operand in {GRADER}, line 7"),
    AssertionError(f"expected 3, got 4 ({GRADER}:12)"),
    RuntimeError("C:\\\\course\\\\tests\\\\graders\\\\test_x.py failed"),
    TooLarge(f"the file /tmp/bridge-xyz/call-1/part1.npy is {10**12} bytes"),
])
def test_exception_texts_with_paths(error):
    assert_clean(student_message(error))


def test_notes_with_paths():
    error = AssertionError("add(0, 1): expected 1, got -1")
    error.add_note("Falsifying example: test_sum(\n    student=<x>,\n    a=0,\n"
                   f"    b={GRADER!r},\n)")
    error.add_note(f"Traceback (most recent call last):\n  File \"{GRADER}\", line 9")
    message = student_message(error)
    assert "Counterexample" in message and "a=0" in message
    assert_clean(message)


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError(f"cannot print {GRADER}")


class BadNotes(AssertionError):
    @property
    def __notes__(self):
        raise RuntimeError(GRADER)


def _student_error_with_unprintable_parts():
    error = StudentError("f", "E", "m")
    error.error, error.message, error.trace = Unprintable(), Unprintable(), Unprintable()
    return error


@pytest.mark.parametrize("error", [
    Unprintable(), BadNotes("expected 3"), _student_error_with_unprintable_parts(),
])
def test_exceptions_raised_while_formatting(error):
    message = student_message(error)
    assert message
    assert_clean(message)


def test_weird_notes_are_ignored():
    error = AssertionError("expected 3")
    error.__notes__ = "Falsifying example: not a list"
    assert student_message(error) == "expected 3"
    error.__notes__ = [3, None, b"Falsifying"]
    assert student_message(error) == "expected 3"


def test_student_trace_keeps_the_line_but_not_the_kernel_path():
    error = StudentError("add", "ZeroDivisionError", "division by zero",
                         '  File "/tmp/ipykernel_7/1234.py", line 3, in add\n    return a / 0\n')
    message = student_message(error)
    assert 'File "<your notebook>", line 3, in add' in message and "return a / 0" in message


def test_written_feedback_is_scrubbed_again():
    cell = new_code_cell("assert add(1, 2) == 3", metadata={
        "nbgrader": {"grade": True, "grade_id": "correct_add", "points": 2}})
    cell.execution_count = 1
    cell.outputs = [new_output("error", ename="FileNotFoundError",
                               evalue=f"[Errno 2] No such file: '{GRADER}'", traceback=[])]
    records = [{"grade_id": "correct_add", "test": "t", "property": f"from {GRADER}",
                "passed": False, "message": f"see {GRADER}\nand /etc/passwd/x"}]
    _score, _points, text = feedback.score_cell(cell, records)
    assert_clean(text)
    assert "FileNotFoundError" in text and "<path>" in text


@given(st.text(alphabet=st.characters(blacklist_characters="/\\"), max_size=200))
def test_text_without_paths_is_unchanged(text):
    if not re.search(r"test\w*\.py|conftest", text):
        assert scrub(text) == text


@pytest.mark.parametrize("text", [
    "expected 1/2, got 3/4", "a/b", "https://vega.github.io/schema/vega-lite/v5.json",
    "add(1, 2): expected 3, got -1", "x / y", "ratio: 0.5 (1 / 2)",
])
def test_ordinary_messages_are_kept(text):
    assert scrub(text) == text
