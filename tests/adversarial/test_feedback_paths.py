"""Paths in feedback: functions that answer differently when hypothesis replays an example.

Hypothesis then raises Flaky / FlakyFailure (an ExceptionGroup) whose text and notes name
the grader's file by its absolute host path. Graded in one batch beside honest controls:
no feedback may contain a host path or a grader file name, and it must say what happened.
"""

from __future__ import annotations

import re

import pytest
from attacks import with_add
from tiny_course import LAB, SOURCE, make_course

from course.authoring.batch import grade_parallel

pytestmark = pytest.mark.slow

CONFIG = """
c.SandboxedExecute.timeout = 10
c.SandboxedExecute.call_timeout = 3
"""

FLAKY = {
    # right on odd calls, wrong on even ones
    "alternating_answer": '''
_calls = [0]
def add(a, b):
    _calls[0] += 1
    return a + b if _calls[0] % 2 else a - b
''',
    # wrong the first time it sees an input, right on every replay
    "wrong_on_first_sight": '''
_seen = set()
def add(a, b):
    if (a, b) in _seen:
        return a + b
    _seen.add((a, b))
    return a - b
''',
    # wrong the first time it sees an input, another error when that input is replayed
    "error_on_replay": '''
_seen = set()
def add(a, b):
    if (a, b) in _seen:
        raise ValueError("replayed")
    _seen.add((a, b))
    return a - b
''',
    # its own error text names host-looking paths and grader files
    "error_text_with_paths": '''
def add(a, b):
    raise RuntimeError("see /srv/course/tests/graders/tiny/test_correct_add.py line 3")
''',
}

HOST_PATH = re.compile(r"(?<![\w.])/(?:[\w.-]+/)+[\w.-]*")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("paths"), CONFIG)
    subs = {"honest": SOURCE}
    subs.update({name: with_add(source) for name, source in FLAKY.items()})
    return course, grade_parallel(LAB, subs, workers=2, root=course, tolerate=True)


def test_honest_submission_keeps_full_marks(graded):
    _, results = graded
    assert results["honest"].scores == {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}


@pytest.mark.parametrize("name", sorted(FLAKY))
def test_feedback_has_no_path_or_grader_name(graded, name):
    course, results = graded
    text = "\n".join(results[name].feedback.values())
    assert results[name].scores["correct_add"][0] < 2.0, text
    assert results[name].scores["correct_scale"] == (3.0, 3.0)
    for leak in (str(course), "/tmp/", "test_correct_add", "tests/graders", ".py"):
        assert leak not in text, text
    assert not HOST_PATH.search(text), text


def test_flaky_feedback_says_what_happened(graded):
    _, results = graded
    for name in ("wrong_on_first_sight", "error_on_replay"):
        text = results[name].feedback["correct_add"]
        assert "different" in text and "same input" in text, text
