"""Recording one graded submission in the instructor's gradebook, so that a killed run resumes.

For each result the driver of ``course grade`` (1) clears the submission's completion mark,
(2) puts the autograded files in place (built aside, then renamed), (3) writes the
submission, its grades and comments and a new completion mark in one transaction. The mark
is a row of ``course_grade_log``, a table this module adds to ``gradebook.db`` (nbgrader
ignores it): student, digest of the submitted files, when, where. A driver killed at any
point leaves each submission either marked, with one full set of grades, or unmarked, and
then it is graded again; nbgrader's rows are updated or created, never duplicated.
The rows written are those ``nbgrader autograde`` writes, with the values it computed in
the worker's copy (see ``_write_grades``).
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

from sqlalchemy import text

from ..layout import Course
from .files import write_tree

LOG_TABLE = """CREATE TABLE IF NOT EXISTS course_grade_log (
    assignment VARCHAR(128) NOT NULL, student VARCHAR(128) NOT NULL,
    digest VARCHAR(64) NOT NULL, graded_at VARCHAR(32) NOT NULL, seconds FLOAT,
    worker VARCHAR(255), PRIMARY KEY (assignment, student))"""


def _mark(gb, lab: str, student: str) -> str | None:
    row = gb.db.execute(text("SELECT digest FROM course_grade_log WHERE assignment = :a AND "
                             "student = :s"), {"a": lab, "s": student}).first()
    return row[0] if row else None


def is_complete(gb, root: Path, lab: str, student: str, dig: str, notebooks: list[str]) -> bool:
    from nbgrader.api import MissingEntry

    if _mark(gb, lab, student) != dig:
        return False
    try:
        gb.find_submission(lab, student)
    except MissingEntry:
        return False
    folder = Course(root).autograded(student, lab)
    return all((folder / f"{nb}.ipynb").is_file() for nb in notebooks)


def _install(root: Path, lab: str, student: str, files: dict) -> None:
    """Replace ``autograded/<student>/<lab>/`` by the worker's files (build aside, rename)."""
    dest = Course(root).autograded(student, lab)
    incoming, old = dest.with_name(f".{lab}.incoming"), dest.with_name(f".{lab}.old")
    for leftover in (incoming, old):
        shutil.rmtree(leftover, ignore_errors=True)
    write_tree(files, incoming)
    if dest.exists():
        dest.rename(old)
    incoming.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def _write_grades(gb, lab: str, result: dict) -> None:
    """In the open transaction: the submission, grades and comments, as nbgrader writes them."""
    from nbgrader.api import (
        Comment,
        Grade,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )
    from nbgrader.utils import parse_utc

    db, student = gb.db, result["student"]
    if db.get(Student, student) is None:  # autograde's create_student
        db.add(Student(id=student))
    try:
        sub = gb.find_submission(lab, student)
    except MissingEntry:  # what Gradebook.add_submission builds, minus its own commit
        assignment = gb.find_assignment(lab)
        with db.no_autoflush:  # nothing half-built is flushed while the rows are made
            sub = SubmittedAssignment(assignment=assignment, student=db.get(Student, student))
            for notebook in assignment.notebooks:
                nb = SubmittedNotebook(notebook=notebook, assignment=sub)
                for cell in notebook.grade_cells:
                    Grade(cell=cell, notebook=nb)
                for cell in notebook.solution_cells:
                    Comment(cell=cell, notebook=nb)
                for cell in notebook.task_cells:
                    Comment(cell=cell, notebook=nb)
                    Grade(cell=cell, notebook=nb)
            db.add(sub)
    if result["timestamp"]:
        sub.timestamp = parse_utc(result["timestamp"])
    for nb in sub.notebooks:
        got = result["notebooks"].get(nb.name, {"late_penalty": None, "grades": {},
                                                "comments": {}})
        nb.late_submission_penalty = got["late_penalty"]
        for grade in nb.grades:
            if grade.name in got["grades"]:
                grade.auto_score = got["grades"][grade.name]
                # As SaveAutoGrades: a manual grade, or no automatic score, needs a human.
                grade.needs_manual_grade = (grade.manual_score is not None
                                            or grade.auto_score is None)
        for comment in nb.comments:
            if comment.name in got["comments"]:
                comment.auto_comment = got["comments"][comment.name]


def record(gb, root: Path, lab: str, result: dict, dig: str) -> None:
    """Record one graded submission (see "Resuming" in the module docstring)."""
    student = result["student"]
    gb.db.execute(text("DELETE FROM course_grade_log WHERE assignment = :a AND student = :s"),
                  {"a": lab, "s": student})
    gb.db.commit()
    _install(root, lab, student, result["files"])
    try:
        _write_grades(gb, lab, result)
        gb.db.execute(text("INSERT INTO course_grade_log VALUES (:a, :s, :d, :t, :sec, :w)"),
                      {"a": lab, "s": student, "d": dig, "sec": result["seconds"],
                       "t": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                       "w": result["worker"]})
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise
