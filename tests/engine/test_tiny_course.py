"""The whole loop on a tiny lab, with the real nbgrader commands: release, autograde in the
sandbox with hidden graders, scores in the gradebook, feedback text, export."""

import pytest
from tiny_course import LAB, SOURCE, make_course

from course.authoring import notebooks as nbk
from course.authoring.batch import grade_batch
from course.runner.nbgrader_cmd import nbgrader

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory, root):
    course = make_course(tmp_path_factory.mktemp("tiny-src"))
    nbgrader(course, "generate_assignment", LAB, "--force")
    release = nbk.read(course / "release" / LAB / f"{LAB}.ipynb")
    half = nbk.set_source(SOURCE, "scale_solution",
                          "def scale(x, k):\n    return [v * k for v in x]")
    subs = {"good": SOURCE, "blank": release, "half": half}
    # grade_batch copies the course from `root`: use the tiny course as the root.
    return grade_batch(LAB, subs, tmp_path_factory.mktemp("tiny-grade"), root=course)


def test_solution_gets_full_marks(graded):
    assert graded["good"].scores == {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}


def test_release_gets_zero(graded):
    assert graded["blank"].total == 0


def test_wrong_exercise_loses_only_its_points(graded):
    assert graded["half"].scores == {"correct_add": (2.0, 2.0), "correct_scale": (0.0, 3.0)}


def test_feedback_names_the_failed_property_without_grader_source(graded):
    text = graded["half"].feedback["correct_scale"]
    assert "[FAIL] scale multiplies every element by k" in text
    assert "expected a numpy array, got list" in text
    assert "student.scale" not in text and "assert_allclose" not in text  # no grader source
    assert "Score: 0 of 3" in text


def test_blank_feedback_shows_the_students_error(graded):
    assert "NotImplementedError" in graded["blank"].feedback["correct_add"]


def test_grade_cells_hold_only_feedback_and_score(graded):
    for cell in graded["good"].notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
            assert kinds == [("stream", "stdout"), ("execute_result", None)]
