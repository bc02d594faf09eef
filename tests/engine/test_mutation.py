"""The mutation benchmark (`make mutation`) on a two-exercise course made here.

``add`` has a grader that checks sums, so ``a + b -> a - b`` is killed; ``scale`` has
graders that only pass float arrays, so ``np.asarray(x, dtype=float) -> dtype=None`` (a
bug for integer input) survives; ``countdown`` has a mutant that never ends, killed by the
timeout. The report must be the same on every run (no timings, no paths), a changed grader
must change the cache key, and ``run.py --check`` must notice a report that differs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from course.authoring import mutants as mut
from course.authoring import notebooks as nbk
from course.authoring.mutation import fingerprint, run_lab
from course.authoring.mutation_report import markdown

ROOT = Path(__file__).resolve().parents[2]
LAB = "mutlab"

SOURCE = nbk.notebook([
    nbk.md("# A lab to mutate", grade_id="intro"),
    nbk.solution("add_solution", '''
def add(a, b):
    """Return a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION
'''),
    nbk.test("correct_add", 1, "assert add(1, 2) == 3"),
    nbk.solution("scale_solution", '''
def scale(x, k):
    """Return x (any numbers) times k as a float array."""
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=float) * k
    ### END SOLUTION
'''),
    nbk.test("correct_scale", 1, "assert scale([1.0], 2).shape == (1,)"),
    nbk.solution("countdown_solution", '''
def countdown(n):
    """Count n down to 0 and return it."""
    ### BEGIN SOLUTION
    while n > 0:
        n -= 1
    return n
    ### END SOLUTION
'''),
    nbk.test("correct_countdown", 1, "assert countdown(3) == 0"),
])

GRADERS = {
    "test_correct_add.py": '''
from hypothesis import given, strategies as st


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_sum(student, a, b):
    """add returns the sum of two integers"""
    assert student.add(a, b) == a + b
''',
    "test_correct_scale.py": '''
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays


@given(arrays(np.float64, st.integers(0, 6), elements=st.floats(-1e3, 1e3)), st.integers(-5, 5))
def test_scale(student, x, k):
    """scale multiplies every element by k"""
    np.testing.assert_allclose(student.scale(x, k), x * k)
''',
    "test_correct_countdown.py": '''
def test_countdown(student):
    """countdown ends at 0"""
    assert student.countdown(3) == 0
''',
}

FIXTURES = '''
PREAMBLE = "import numpy as np"
CELL_OF = {"add": "correct_add", "scale": "correct_scale", "countdown": "correct_countdown"}
'''

KILLED = "add: `a + b` -> `a - b`"
SURVIVOR = "scale: `np.asarray(x, dtype=float)` -> `np.asarray(x, dtype=None)`"
HANGS = "countdown: `n -= 1` -> `n += 1`"


def make_lab(root: Path) -> Path:
    nbk.write(SOURCE, root / "source" / LAB / f"{LAB}.ipynb")
    graders = root / "tests" / "graders" / LAB
    graders.mkdir(parents=True)
    for name, text in GRADERS.items():
        (graders / name).write_text(text.lstrip())
    (root / "tests" / "fixtures").mkdir(parents=True)
    (root / "tests" / "fixtures" / f"{LAB}.py").write_text(FIXTURES)
    # The files a verdict depends on besides the lab's own (hashed into the cache key).
    for folder in ("reference", "course/graders", "course/bridge"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_lab(tmp_path_factory.mktemp("mutation"))


@pytest.fixture(scope="module")
def result(course):
    return run_lab(LAB, course, timeout=5)  # fills the cache the later runs read


def test_only_the_students_lines_are_mutated(course):
    solutions = mut.load(LAB, course)
    assert list(solutions.cells) == ["add_solution", "scale_solution", "countdown_solution"]
    generated = mut.generate(solutions)
    texts = {m.text for m in generated}
    assert {KILLED, SURVIVOR, HANGS} <= texts
    assert all(m.line not in (1, 2, 3) for m in generated)  # def line, docstring, marker
    exercise = {m.function: m.exercise for m in generated}
    assert exercise == {"add": "correct_add", "scale": "correct_scale",
                        "countdown": "correct_countdown"}
    # The mutant is the whole cell with one change: it still defines the function.
    killed = next(m for m in generated if m.text == KILLED)
    assert "return a - b" in killed.source and "def add(a, b):" in killed.source


def test_a_bug_the_graders_catch_is_killed_and_one_they_miss_survives(result):
    survivors = {m.text for m in result.survivors}
    assert SURVIVOR in survivors
    assert KILLED not in survivors
    assert result.tallies["correct_add"].survived == 0
    assert result.tallies["correct_add"].killed == result.tallies["correct_add"].generated


def test_a_mutant_that_hangs_is_killed_by_the_timeout(result):
    assert HANGS not in {m.text for m in result.survivors}
    assert result.tallies["correct_countdown"].by_timeout >= 1


def test_an_argued_equivalent_mutant_leaves_the_score(course, result):
    equivalents = {LAB: {"correct_scale": {SURVIVOR: "the graders' inputs are floats"}}}
    argued = run_lab(LAB, course, equivalents=equivalents, timeout=5)  # from the cache
    tally = argued.tallies["correct_scale"]
    assert tally.equivalent == 1 and tally.survived == result.tallies["correct_scale"].survived - 1
    text = markdown(argued, "mutmut")
    assert "the graders' inputs are floats" in text


def test_the_report_is_deterministic(course, result):
    again = run_lab(LAB, course, timeout=5, use_cache=False)  # graded again, not cached
    first, second = markdown(result, "mutmut"), markdown(again, "mutmut")
    assert first == second
    assert str(course) not in first and "seconds" not in first
    assert SURVIVOR.replace("|", "\\|") in first


def test_a_grader_change_changes_the_cache_key(course):
    before = fingerprint(LAB, course)
    path = course / "tests" / "graders" / LAB / "test_correct_add.py"
    text = path.read_text()
    path.write_text(text + "\n# a comment\n")
    try:
        assert fingerprint(LAB, course) != before
    finally:
        path.write_text(text)
    assert fingerprint(LAB, course) == before


def _run_script():
    spec = importlib.util.spec_from_file_location(
        "mutation_run", ROOT / "benchmarks" / "mutation" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_fails_when_the_committed_report_differs(course, tmp_path, capsys):
    run = _run_script()
    args = ["--lab", LAB, "--root", str(course), "--reports", str(tmp_path), "--timeout", "5"]
    assert run.main(args) == 0  # writes the report (verdicts from the cache)
    report = tmp_path / f"{LAB}.md"
    assert report.exists()
    assert run.main([*args, "--check"]) == 0
    report.write_text(report.read_text().replace("| correct_add |", "| correct_add (edited) |"))
    capsys.readouterr()
    assert run.main([*args, "--check"]) == 1
    assert "differs" in capsys.readouterr().out
