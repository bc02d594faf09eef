"""``make demo``: the whole loop on this machine, offline, with the real nbgrader commands.

Releases every lab, puts a small simulated class into ``submitted/`` (a correct, a blank
and a few partly wrong submissions), grades them with ``course grade`` (the real
``nbgrader autograde`` per student, sandboxed, hidden graders, in parallel), runs
``nbgrader generate_feedback``, and prints the grade table from the gradebook.
"""

from __future__ import annotations

import shutil
import time

from ..layout import ROOT, Course
from ..runner.driver import grade
from ..runner.nbgrader_cmd import nbgrader
from . import notebooks as nbk
from .batch import read_gradebook
from .release import release
from .selfcheck import load_fixtures, wrong_notebook

# Demo students: a correct, a blank and three partly wrong submissions per lab (the wrong
# ones are the lab's first three wrong-solution fixtures, tests/fixtures/<lab>.py).
STUDENTS = ("alice", "bob", "carol", "dave", "erin")


def simulated_class(lab: str) -> dict:
    """{student: (what they submitted, notebook)}."""
    course = Course(ROOT)
    source = nbk.read(course.source_notebook(lab))
    kinds = [("solution", source), ("blank", nbk.read(course.release_notebook(lab)))]
    kinds += [(name, wrong_notebook(source, fixture["cells"]))
              for name, fixture in list(load_fixtures(lab).items())[:3]]
    return dict(zip(STUDENTS, kinds, strict=False))  # a lab may have fewer fixtures


def run(workers: int | None = None) -> int:
    for lab in Course(ROOT).labs():
        release(lab)
        print(f"released {lab}: release/{lab}/")
        subs = simulated_class(lab)
        for student, (_, nb) in subs.items():
            folder = Course(ROOT).submitted(student, lab)
            shutil.rmtree(folder, ignore_errors=True)
            nbk.write(nb, folder / f"{lab}.ipynb")
        start = time.monotonic()
        print(f"course grade {lab} (nbgrader autograde per student, in parallel): "
              f"{len(subs)} submissions ...", flush=True)
        done = grade(lab, root=ROOT, workers=workers, force=True, progress=False)
        if done.failed:
            print(f"  could not grade: {done.failed}")
        print(f"  graded in {time.monotonic() - start:.0f} s")
        nbgrader(ROOT, "generate_feedback", lab, "--force")
        results = read_gradebook(ROOT, lab, list(subs))
        ids = list(next(iter(results.values())).scores)
        print(f"\n{lab}: points per exercise (from the gradebook)")
        numbers = " ".join(f"{i + 1:>4d}" for i in range(len(ids)))
        width = max(len(kind) for kind, _ in subs.values())
        print(f"{'student':8s} {'submitted':{width}s} {numbers}  total")
        for student, graded in results.items():
            cells = " ".join(f"{round(graded.scores[g][0], 2):4g}" for g in ids)
            top = sum(m for _, m in graded.scores.values())
            total = round(graded.total, 2)
            print(f"{student:8s} {subs[student][0]:{width}s} {cells}  {total:g}/{top:g}")
        print("exercises: " + ", ".join(f"{i + 1}={g}" for i, g in enumerate(ids)))
        print(f"feedback: feedback/<student>/{lab}/{lab}.html\n")
    return 0
