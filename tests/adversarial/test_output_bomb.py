"""Issue 14, class 4 (outputs): a notebook that floods the grader with outputs.

nbclient keeps every output the kernel sends in nbgrader's memory, and nbgrader writes them
all to the autograded notebook (its LimitOutput counts lines, and these are single lines).
Graded beside honest controls of the tiny lab, with small caps so the test is quick:

- display_flood: FLOOD_TIMES displays of FLOOD_MB each;
- print_flood: FLOOD_TIMES prints of 1 MB each (stream messages);
- one_huge_message: one display larger than the largest message the grader accepts.

After the fix: the outputs kept are capped per cell and per notebook, with a note in the
cell and a message in the feedback; one message past the cap is refused by ZMQ on the
grader's side; 0 points gained, the honest controls keep their scores.
"""

import os

import pytest
from attacks import with_cell
from tiny_course import LAB, SOURCE, make_course

from course.authoring.batch import grade_parallel
from course.layout import Course

pytestmark = pytest.mark.slow

MB = 2**20
FLOOD_MB, FLOOD_TIMES = 4, 24  # 96 MB sent in all
PER_CELL, PER_NOTEBOOK, PER_MESSAGE = 2 * MB, 6 * MB, 8 * MB
HONEST = {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}

CONFIG = f"""
c.SandboxedExecute.timeout = 30
c.SandboxedExecute.call_timeout = 3
c.SandboxedExecute.max_cell_output_bytes = {PER_CELL}
c.SandboxedExecute.max_notebook_output_bytes = {PER_NOTEBOOK}
c.SandboxedExecute.max_message_bytes = {PER_MESSAGE}
c.Sandbox.tmpfs_size = 128 * 1024**2
c.Sandbox.memory_limit = 2 * 1024**3
"""

ATTACKS = {
    "display_flood": with_cell(
        "from IPython.display import display\n"
        f"for i in range({FLOOD_TIMES}):\n"
        f"    display({{'text/plain': str(i) * {FLOOD_MB * MB}}}, raw=True)", at=2),
    # flushed after each print: one message each (ipykernel would join unflushed prints)
    "print_flood": with_cell(
        "import sys\n"
        f"for i in range({FLOOD_TIMES}):\n"
        f"    print(str(i % 10) * {MB})\n    sys.stdout.flush()", at=2),
    "one_huge_message": with_cell(
        "from IPython.display import display\n"
        f"display({{'text/plain': 'x' * {5 * PER_MESSAGE}}}, raw=True)", at=2),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("bomb-src"), CONFIG)
    keep = tmp_path_factory.mktemp("bomb-keep")
    subs = {"honest_a": SOURCE, **ATTACKS, "honest_b": SOURCE}
    results = grade_parallel(LAB, subs, workers=2, root=course, tolerate=True, keep=keep)
    (run,) = keep.iterdir()
    sizes = {}
    for batch in run.iterdir():
        for name in subs:
            path = Course(batch).autograded(name, LAB) / f"{LAB}.ipynb"
            if path.exists():
                sizes[name] = os.path.getsize(path)
    print("autograded notebook sizes (bytes):", sizes)
    return results, sizes


def test_honest_controls_keep_their_scores(graded):
    results, _ = graded
    for name in ("honest_a", "honest_b"):
        assert results[name].scores == HONEST, results[name].feedback


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_flood_gains_nothing_and_the_batch_completes(graded, name):
    results, _ = graded
    assert set(results[name].scores) == set(HONEST), name  # graded, recorded
    assert results[name].scores["correct_add"][0] == 0.0


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_what_is_kept_is_capped(graded, name):
    _, sizes = graded
    # the notebook's own text and feedback are a few kB: 1 MB of slack is plenty
    assert sizes[name] < PER_NOTEBOOK + MB, sizes


@pytest.mark.parametrize("name", ["display_flood", "print_flood"])
def test_feedback_says_outputs_were_cut(graded, name):
    results, _ = graded
    text = "\n".join(results[name].feedback.values())
    assert "output of 1 cell(s) was cut" in text, text
    cell = next(c for c in results[name].notebook.cells if "range(" in c.source)
    assert any("[output cut" in out.get("text", "") for out in cell.outputs)


def test_a_refused_message_is_explained(graded):
    results, _ = graded
    text = "\n".join(results["one_huge_message"].feedback.values())
    assert f"at most {PER_MESSAGE // MB:g} MB" in text, text
