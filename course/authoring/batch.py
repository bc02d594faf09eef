"""Grade a set of notebooks with the real ``nbgrader autograde``, in throw-away course copies.

Used by the self-check, the demo and the tests: each batch is a fresh course folder (the
config, ``source/<lab>``, ``tests/graders/<lab>``) with its own gradebook, so batches can
run in parallel and never touch the instructor's gradebook. Scores are read back from the
gradebook, where nbgrader recorded them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..layout import ROOT, Course
from ..runner.nbgrader_cmd import nbgrader
from . import notebooks as nbk


@dataclass
class Graded:
    student: str
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade id -> (got, max)
    feedback: dict[str, str] = field(default_factory=dict)  # grade id -> text shown
    notebook: object = None

    @property
    def total(self) -> float:
        return sum(s for s, _ in self.scores.values())


def read_gradebook(course: Path, lab: str, students: list[str]) -> dict[str, Graded]:
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, Graded] = {}
    course = Course(course)
    with Gradebook(f"sqlite:///{course.gradebook}") as gb:
        for student in students:
            graded = Graded(student)
            out[student] = graded
            try:
                submission = gb.find_submission(lab, student)
            except MissingEntry:  # nbgrader could not even record it
                continue
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.cell.cell_type == "code":
                        graded.scores[grade.name] = (float(grade.score or 0),
                                                     float(grade.max_score))
            path = course.autograded(student, lab) / f"{lab}.ipynb"
            if path.exists():
                graded.notebook = nbk.read(path)
                for cell in graded.notebook.cells:
                    meta = cell.metadata.get("nbgrader", {})
                    if meta.get("grade") and cell.cell_type == "code" and cell.outputs:
                        graded.feedback[meta["grade_id"]] = cell.outputs[0].get("text", "")
    return out


def grade_batch(lab: str, submissions: dict[str, object], workdir: Path,
                root: Path = ROOT, *, tolerate: bool = False) -> dict[str, Graded]:
    """Autograde ``{student: notebook or folder}`` in one course copy (sequential nbgrader).

    With ``tolerate``, a failing nbgrader run (a broken submission) still returns what the
    gradebook holds for every student.
    """
    course = Course(root).copy_lab(lab, workdir)
    nbgrader(course.root, "generate_assignment", lab, "--force")
    for student, sub in submissions.items():
        folder = course.submitted(student, lab)
        if isinstance(sub, (str, Path)) and Path(sub).is_dir():
            shutil.copytree(sub, folder)
        else:
            folder.mkdir(parents=True)
            nbk.write(sub, folder / f"{lab}.ipynb")
    nbgrader(course.root, "autograde", lab, "--force", check=not tolerate)
    return read_gradebook(course.root, lab, list(submissions))


def grade_parallel(lab: str, submissions: dict[str, object], *, workers: int | None = None,
                   root: Path = ROOT, keep: Path | None = None,
                   tolerate: bool = False) -> dict[str, Graded]:
    """Split the submissions over ``workers`` course copies graded side by side."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(submissions)))
    names = list(submissions)
    batches = [names[i::workers] for i in range(workers)]
    base = Path(tempfile.mkdtemp(prefix=f"course-{lab}-", dir=keep))
    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(grade_batch, lab, {n: submissions[n] for n in batch},
                                   base / f"batch{i}", root, tolerate=tolerate)
                       for i, batch in enumerate(batches) if batch]
            results: dict[str, Graded] = {}
            for f in futures:
                results.update(f.result())
        return results
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
