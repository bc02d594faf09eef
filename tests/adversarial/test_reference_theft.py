"""A notebook that steals the reference code graders send into its kernel, graded with the
real nbgrader and sandbox beside the blank release: it must not score more.

The blank release gets one more cell at the end: the thief of tests/engine/reference_thief.py,
which wraps every graded function of the lab (see there). Before the graders' order
(course/graders/order.py) such a notebook took 10 of 21 points on activation_matrix.
"""

import copy
from pathlib import Path

import pytest

from course.authoring import notebooks as nbk
from course.authoring.batch import grade_parallel
from course.authoring.selfcheck import lab_fixtures
from course.layout import Course

pytestmark = pytest.mark.slow

LAB = "activation_matrix"
THIEF = Path(__file__).resolve().parents[1] / "engine" / "reference_thief.py"


def thief_notebook(release, names):
    nb = copy.deepcopy(release)
    nb.cells.append(nbk.code(THIEF.read_text() + f"\nmake_thief(globals(), {sorted(names)!r})\n"))
    return nb


def test_a_thief_scores_no_more_than_the_blank_release():
    release = nbk.read(Course().release_notebook(LAB))
    names = set(lab_fixtures(LAB).CELL_OF)
    graded = grade_parallel(LAB, {"blank": release, "thief": thief_notebook(release, names)},
                            workers=2)
    blank, thief = graded["blank"].scores, graded["thief"].scores
    assert set(thief) == set(blank) and blank, (blank, thief)
    gained = {cell: (blank[cell][0], got) for cell, (got, _) in thief.items()
              if got > blank[cell][0]}
    assert not gained, gained
