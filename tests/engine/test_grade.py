"""``course grade`` on the tiny lab: the same grades as plain ``nbgrader autograde``, after a
SIGKILL of the driver and a re-run, on a Dask cluster, with failures recorded; then the report.

One class of four (right, blank, one wrong exercise each) is graded: once by plain nbgrader
(the reference), once by ``course grade`` killed and resumed, once on a LocalCluster.
"""

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import pytest
from tiny_course import LAB, SOURCE, make_course

from course.authoring import notebooks as nbk
from course.runner.nbgrader_cmd import nbgrader, nbgrader_env

pytestmark = pytest.mark.slow

STAMP = "2024-01-30 15:00:00"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The tiny course after generate_assignment (gradebook holds the assignment)."""
    course = make_course(tmp_path_factory.mktemp("grade-released"))
    nbgrader(course, "generate_assignment", LAB, "--force")
    return course


@pytest.fixture(scope="module")
def cls(released):
    blank = nbk.read(released / "release" / LAB / f"{LAB}.ipynb")
    return {"ann": SOURCE, "ben": blank,
            "cat": nbk.set_source(SOURCE, "scale_solution",
                                  "def scale(x, k):\n    return [v * k for v in x]"),
            "dan": nbk.set_source(SOURCE, "add_solution", "def add(a, b):\n    return a - b")}


def fresh(released, dest, subs=None):
    """A copy of the released course with ``subs`` in submitted/ (nbgrader's layout)."""
    shutil.copytree(released, dest)
    for student, nb in (subs or {}).items():
        nbk.write(nb, dest / "submitted" / student / LAB / f"{LAB}.ipynb")
        (dest / "submitted" / student / LAB / "timestamp.txt").write_text(STAMP)
    return dest


def gradebook(course) -> dict:
    """Everything autograde records, per student, and how many rows of each kind."""
    db = sqlite3.connect(course / "gradebook.db")
    rows = {}
    for student, stamp, penalty in db.execute(
            "SELECT s.student_id, s.timestamp, n.late_submission_penalty FROM "
            "submitted_assignment s JOIN submitted_notebook n ON n.assignment_id = s.id"):
        rows[student] = {"timestamp": stamp, "penalty": penalty, "grades": {}, "comments": {}}
    for student, name, auto, manual in db.execute(
            "SELECT s.student_id, c.name, g.auto_score, g.needs_manual_grade FROM grade g "
            "JOIN base_cell c ON c.id = g.cell_id JOIN submitted_notebook n ON n.id = "
            "g.notebook_id JOIN submitted_assignment s ON s.id = n.assignment_id"):
        assert name not in rows[student]["grades"], f"duplicate grade {name} for {student}"
        rows[student]["grades"][name] = (auto, manual)
    for student, name, text in db.execute(
            "SELECT s.student_id, c.name, m.auto_comment FROM comment m JOIN base_cell c ON "
            "c.id = m.cell_id JOIN submitted_notebook n ON n.id = m.notebook_id JOIN "
            "submitted_assignment s ON s.id = n.assignment_id"):
        rows[student]["comments"][name] = text
    db.close()
    return rows


def logged(course) -> dict:
    try:
        with sqlite3.connect(course / "gradebook.db", timeout=30) as db:
            return {s: (t, w) for s, t, w in db.execute(
                "SELECT student, graded_at, worker FROM course_grade_log")}
    except sqlite3.OperationalError:  # the table is made when the driver starts
        return {}


@pytest.fixture(scope="module")
def plain(released, cls, tmp_path_factory):
    """The reference: plain `nbgrader autograde` of the class, sequential."""
    course = fresh(released, tmp_path_factory.mktemp("plain") / "course", cls)
    nbgrader(course, "autograde", LAB)
    return course


@pytest.fixture(scope="module")
def resumed(released, cls, tmp_path_factory):
    """`course grade` killed with SIGKILL after its first recorded submission, then re-run."""
    course = fresh(released, tmp_path_factory.mktemp("resumed") / "course", cls)
    log = open(course.parent / "killed-run.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "course", "grade", LAB, "--course",
                             str(course), "--workers", "1"], env=nbgrader_env(),
                            stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    while not logged(course):
        assert proc.poll() is None, (course.parent / "killed-run.log").read_text()
        assert time.monotonic() < deadline, "no submission recorded in 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    before = logged(course)
    from course.runner.driver import grade

    run = grade(LAB, root=course, workers=2, progress=False)
    return course, before, run


def test_killed_driver_resumes_without_losing_or_duplicating(resumed, plain, cls):
    course, before, run = resumed
    assert 1 <= len(before) < len(cls), "the kill must land in the middle of the batch"
    assert sorted(run.skipped) == sorted(before)  # recorded before the kill: not graded again
    assert sorted(run.graded) == sorted(set(cls) - set(before)) and not run.failed
    after = logged(course)
    assert sorted(after) == sorted(cls)
    assert all(after[s] == before[s] for s in before)
    got = gradebook(course)
    for student in cls:  # one complete set each: every grade cell scored, every comment row
        assert sorted(got[student]["grades"]) == ["correct_add", "correct_scale"]
        assert all(auto is not None for auto, _ in got[student]["grades"].values())
        assert sorted(got[student]["comments"]) == ["add_solution", "scale_solution"]
    assert got == gradebook(plain)
    assert got["cat"]["grades"]["correct_scale"] == (0.0, 0)


def test_feedback_and_export_work_as_after_plain_autograde(resumed, plain, cls):
    course = resumed[0]
    for folder in (course, plain):
        nbgrader(folder, "generate_feedback", LAB)
        nbgrader(folder, "export")
    # Same rows (nbgrader orders students by name, and these have none: order may differ).
    lines = [sorted((f / "grades.csv").read_text().splitlines()) for f in (course, plain)]
    assert lines[0] == lines[1] and len(lines[0]) == len(cls) + 1
    for student in cls:
        page = (course / "feedback" / student / LAB / f"{LAB}.html").read_text()
        assert "Score:" in page
    assert not list((course / "autograded").glob(f"*/.{LAB}.*"))  # no half-installed folders


def test_dask_cluster_from_a_zip_gives_the_local_grades(released, cls, resumed, tmp_path):
    from distributed import LocalCluster

    from course.runner.driver import grade

    course = fresh(released, tmp_path / "course")
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # as an LMS download: one file per student
        for student, nb in cls.items():
            nbk.write(nb, tmp_path / "nb.ipynb")
            zf.write(tmp_path / "nb.ipynb", f"{LAB}_{student}_attempt_2024-01-30-15-00-00_"
                                            f"{LAB}.ipynb")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        run = grade(LAB, root=course, scheduler=cluster.scheduler_address, zip_path=archive,
                    progress=False)
    assert sorted(run.graded) == sorted(cls) and not run.failed
    assert gradebook(course) == gradebook(resumed[0])
    workers = {w for _, w in logged(course).values()}
    assert len(workers) == 2  # both cluster workers took tasks, none ran in this process


def test_timeouts_and_crashes_are_recorded_and_the_batch_goes_on(resumed):
    import json

    from course.runner.driver import grade

    course = resumed[0]
    broken = course / "submitted" / "eve" / LAB
    broken.mkdir(parents=True)
    (broken / f"{LAB}.ipynb").write_text("{not a notebook")
    nbk.write(nbk.set_source(SOURCE, "add_solution", "while True:\n    pass"),
              course / "submitted" / "fay" / LAB / f"{LAB}.ipynb")
    before = gradebook(course)
    start = time.monotonic()
    run = grade(LAB, root=course, workers=2, timeout=10, students=["ann", "eve", "fay"],
                force=True, progress=False)
    assert time.monotonic() - start < 60
    assert run.graded == ["ann"] and not run.skipped  # --force: graded again; --student: only
    assert gradebook(course) == before  # ann's one set of grades, updated to the same values
    assert run.failed["eve"]["kind"] == "error" and "nbgrader autograde failed" in \
        run.failed["eve"]["message"]
    assert run.failed["fay"]["kind"] == "timeout"
    kept = json.loads((course / "reports" / LAB / "failures.json").read_text())
    assert sorted(kept) == ["eve", "fay"]
    assert "eve" not in gradebook(course) and "fay" not in gradebook(course)


def test_report_charts_and_csv(resumed, plain):
    import altair as alt
    import pandas as pd
    import vl_convert

    from course.report import charts, collect, write_report

    course = resumed[0]
    page = write_report(LAB, root=course)
    text = page.read_text()
    assert text.count("<svg") == 3
    if (course / "reports" / LAB / "failures.json").exists():  # after the test above
        assert "eve" in text and "fay" in text
    csv = pd.read_csv(course / "reports" / LAB / "grades.csv").set_index("student")
    reference = gradebook(plain)
    for student, row in csv.iterrows():
        for cell, (auto, _) in reference[student]["grades"].items():
            assert row[cell] == auto
    assert csv.loc["ann", "score"] == 5 and csv.loc["ben", "score"] == 0
    scores, fails, cells = collect(LAB, course)
    top = fails[fails.exercise == "correct_scale"]["property"].value_counts()
    assert top.index[0] == "scale multiplies every element by k"
    made = charts(scores, fails, cells)
    for chart in made.values():
        png = vl_convert.vegalite_to_png(chart.to_dict())
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width > 100 and height > 50
    preview = vl_convert.vegalite_to_png(alt.vconcat(*made.values()).to_dict())
    with open("/tmp/report_preview.png", "wb") as out:  # for a person to look at
        out.write(preview)
