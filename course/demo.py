"""``make demo``: the whole loop on this machine, offline, with the real nbgrader commands.

Releases every lab, puts a small simulated class into ``submitted/`` (a correct, a blank
and a few partly wrong submissions), runs ``nbgrader autograde`` (sandboxed, hidden
graders), ``nbgrader generate_feedback``, and prints the grade table from the gradebook.
"""

from __future__ import annotations

import shutil
import time

from . import notebooks as nbk
from .autograde import ROOT, nbgrader, read_gradebook
from .release import labs, release
from .selfcheck import load_fixtures, wrong_notebook

# Demo students: who submits what (fixture names from tests/fixtures/<lab>.py).
CLASS = {"alice": "solution", "bob": "blank", "carol": "ascending_order",
         "dave": "mean_over_wrong_axis", "erin": "hard_coded_visible_answers"}


def simulated_class(lab: str) -> dict:
    source = nbk.read(ROOT / "source" / lab / f"{lab}.ipynb")
    fixtures = load_fixtures(lab)
    subs = {}
    for student, kind in CLASS.items():
        if kind == "solution":
            subs[student] = source
        elif kind == "blank":
            subs[student] = nbk.read(ROOT / "release" / lab / f"{lab}.ipynb")
        elif kind in fixtures:
            subs[student] = wrong_notebook(source, fixtures[kind]["cells"])
    return subs


def run(workers: int | None = None) -> int:
    for lab in labs():
        release(lab)
        print(f"released {lab}: release/{lab}/")
        subs = simulated_class(lab)
        for student, nb in subs.items():
            folder = ROOT / "submitted" / student / lab
            shutil.rmtree(folder, ignore_errors=True)
            nbk.write(nb, folder / f"{lab}.ipynb")
        start = time.monotonic()
        print(f"nbgrader autograde {lab}: {len(subs)} submissions ...", flush=True)
        nbgrader(ROOT, "autograde", lab, "--force")
        print(f"  graded in {time.monotonic() - start:.0f} s")
        nbgrader(ROOT, "generate_feedback", lab, "--force")
        results = read_gradebook(ROOT, lab, list(subs))
        ids = list(next(iter(results.values())).scores)
        print(f"\n{lab}: points per exercise (from the gradebook)")
        numbers = " ".join(f"{i + 1:>4d}" for i in range(len(ids)))
        print(f"{'student':8s} {'submitted':28s} {numbers}  total")
        for student, graded in results.items():
            cells = " ".join(f"{graded.scores[g][0]:4g}" for g in ids)
            top = sum(m for _, m in graded.scores.values())
            print(f"{student:8s} {CLASS[student]:28s} {cells}  {graded.total:g}/{top:g}")
        print("exercises: " + ", ".join(f"{i + 1}={g}" for i, g in enumerate(ids)))
        print(f"feedback: feedback/<student>/{lab}/{lab}.html\n")
    return 0
