"""The hidden-grader run's own reporting (course/graders/runner.py and its pytest plug-in)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from course.graders import runner

ROOT = Path(__file__).resolve().parents[2]

GRADER = '''
from hypothesis import given
from hypothesis import strategies as st


@given(st.integers(0, 100))
def test_small(x):
    """Numbers stay below five."""
    assert x < 5, f"{x} is not below five"


def test_fine():
    """Nothing to see."""
'''


def test_a_failure_is_recorded_for_the_student_and_logged_as_a_plain_traceback(tmp_path):
    grader = tmp_path / "test_counting.py"
    grader.write_text(textwrap.dedent(GRADER))
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", runner.__name__, "--out", str(out),
                           "--rootdir", str(tmp_path), str(grader)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    records = {r["test"]: r for r in json.loads(out.read_text())}
    assert records["test_fine"]["passed"]
    failed = records["test_small"]
    assert not failed["passed"]
    assert failed["property"] == "Numbers stay below five."
    # The derandomized, shrunk counterexample, in the student's words.
    assert failed["message"].startswith("5 is not below five")
    assert "x=5" in failed["message"]
    assert "test_counting.py" not in failed["message"]
    # The graders' log keeps a traceback for whoever debugs a grader, in Python's plain
    # form rather than pytest's re-parsed source listing.
    assert "Traceback (most recent call last)" in proc.stdout
    assert "\nE   " not in proc.stdout
