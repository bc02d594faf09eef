"""A tiny course (one lab, two exercises) for engine and attack tests that do not need a
real lab: it grades in seconds, with the course's real config, sandbox and graders."""

from __future__ import annotations

from pathlib import Path

from course.authoring import notebooks as nbk

ROOT = Path(__file__).resolve().parents[2]
LAB = "tiny"

SOURCE = nbk.notebook([
    nbk.md("# A tiny lab", grade_id="intro"),
    nbk.code("import numpy as np"),
    nbk.solution("add_solution", '''
def add(a, b):
    """Return a + b."""
    ### BEGIN SOLUTION
    return a + b
    ### END SOLUTION
'''),
    nbk.test("correct_add", 2, '''
"""add gives the sum of two small numbers."""
assert add(1, 2) == 3
'''),
    nbk.solution("scale_solution", '''
def scale(x, k):
    """Return the array x multiplied by k."""
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=float) * k
    ### END SOLUTION
'''),
    nbk.test("correct_scale", 3, '''
"""scale keeps the shape of its input."""
assert scale([1.0, 2.0], 2).shape == (2,)
'''),
])

GRADERS = {
    "test_correct_add.py": '''
from hypothesis import given, strategies as st

GRADES = ("add",)
SENDS = ()


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_sum(student, a, b):
    """add returns the sum of two integers"""
    got = student.add(a, b)
    assert got == a + b, f"add({a}, {b}): expected {a + b}, got {got!r}"


def test_floats(student):
    """add works on floats"""
    got = student.add(0.5, 0.25)
    assert isinstance(got, float) and got == 0.75, f"expected 0.75, got {got!r}"
''',
    "test_correct_scale.py": '''
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

GRADES = ("scale",)
SENDS = ()

@given(arrays(np.float64, st.integers(0, 6), elements=st.floats(-1e3, 1e3)), st.integers(-5, 5))
def test_scale(student, x, k):
    """scale multiplies every element by k"""
    got = student.scale(x, k)
    assert isinstance(got, np.ndarray), f"expected a numpy array, got {type(got).__name__}"
    np.testing.assert_allclose(got, x * k, rtol=1e-12, err_msg="scale(x, k) != x * k")


def _scale_twice(ns, x):
    f = ns["scale"]
    return {"once": f(x, 2), "twice": f(f(x, 2), 3)}


def test_composes(student):
    """scale composes with itself (run by a driver inside the kernel)"""
    got = student._run(_scale_twice, [1.0, -2.0])
    assert all(isinstance(v, np.ndarray) for v in got.values()), "expected numpy arrays"
    np.testing.assert_allclose(got["twice"], [6.0, -12.0], rtol=1e-12)
    np.testing.assert_allclose(got["once"], [2.0, -4.0], rtol=1e-12)
''',
}


def make_course(dest: Path, extra_config: str = "") -> Path:
    """Write the tiny course into ``dest`` (config copied from the real course)."""
    dest.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text() + "\n" + extra_config
    (dest / "nbgrader_config.py").write_text(config)
    nbk.write(SOURCE, dest / "source" / LAB / f"{LAB}.ipynb")
    graders = dest / "tests" / "graders" / LAB
    graders.mkdir(parents=True, exist_ok=True)
    for name, text in GRADERS.items():
        (graders / name).write_text(text.lstrip())
    return dest
