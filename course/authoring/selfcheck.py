"""``course check LAB``: do the hidden graders tell right from wrong?

Grades, with the real ``nbgrader autograde`` and sandbox: the source notebook (must get full
marks), the unmodified release (must get 0), and each wrong-solution fixture of
``tests/fixtures/<lab>.py`` (must lose points on the grade cell it targets and keep all
the others).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..layout import ROOT, Course
from ..runner.nbgrader_cmd import nbgrader
from . import notebooks as nbk
from .batch import grade_parallel

_LOADED: dict = {}  # path -> module


def lab_fixtures(lab: str, root: Path = ROOT):
    """The module ``tests/fixtures/<lab>.py`` (None if the lab has none): its ``WRONG``
    solutions, and the data of the lab's grader self-test. The one way fixtures are loaded."""
    path = Course(root).fixtures(lab)
    if not path.exists():
        return None
    if str(path) not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"_fixtures_{lab}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED[str(path)] = module
    return _LOADED[str(path)]


def load_fixtures(lab: str, root: Path = ROOT) -> dict:
    """The lab's wrong solutions: ``{name: {"target": grade id, "cells": {id: source}}}``."""
    module = lab_fixtures(lab, root)
    return dict(module.WRONG) if module is not None else {}


def wrong_notebook(source, cells: dict[str, str]):
    nb = source
    for cell_id, text in cells.items():
        nb = nbk.set_source(nb, cell_id, text)
    return nb


def build_class(lab: str, root: Path = ROOT) -> tuple[dict, dict]:
    """Submissions to grade and, for each, the grade id it must lose points on."""
    course = Course(root)
    source = nbk.read(course.source_notebook(lab))
    release = course.release_notebook(lab)
    if not release.exists():
        nbgrader(root, "generate_assignment", lab, "--force")
    subs = {"solution": source, "blank": nbk.read(release)}
    targets = {}
    for name, wrong in load_fixtures(lab, root).items():
        subs[name] = wrong_notebook(source, wrong["cells"])
        targets[name] = wrong["target"]
    return subs, targets


def verdicts(results: dict, targets: dict) -> list[tuple[str, bool, str]]:
    """(submission, ok, explanation) for every graded submission."""
    out = []
    sol = results["solution"]
    full = all(got == mx for got, mx in sol.scores.values()) and sol.scores
    out.append(("solution", bool(full), f"{sol.total:g} of {_max(sol):g}"))
    blank = results["blank"]
    out.append(("blank", blank.total == 0, f"{blank.total:g} of {_max(blank):g}"))
    for name, target in targets.items():
        r = results[name]
        lost = [g for g, (got, mx) in r.scores.items() if got < mx]
        ok = lost == [target]
        out.append((name, ok, f"lost points on {', '.join(lost) or 'nothing'} "
                              f"(must be only {target})"))
    return out


def _max(graded) -> float:
    return sum(mx for _, mx in graded.scores.values())


def check(lab: str, *, workers: int | None = None, root: Path = ROOT, log=print) -> bool:
    subs, targets = build_class(lab, root)
    log(f"{lab}: grading {len(subs)} submissions (solution, blank, {len(targets)} wrong) ...")
    results = grade_parallel(lab, subs, workers=workers, root=root)
    ok_all = True
    for name, ok, why in verdicts(results, targets):
        ok_all &= ok
        log(f"  {'ok  ' if ok else 'FAIL'} {name:32s} {why}")
        if not ok:
            for grade_id, text in results[name].feedback.items():
                if results[name].scores.get(grade_id, (0, 0))[0] < \
                        results[name].scores.get(grade_id, (0, 0))[1]:
                    log(f"      --- {grade_id}\n" + "\n".join(
                        "      " + ln for ln in text.splitlines()[:25]))
    return ok_all
