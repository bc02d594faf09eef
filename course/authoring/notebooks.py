"""Building and editing nbgrader notebooks from Python (authoring, fixtures, attacks).

The source notebooks are committed as .ipynb; these helpers make the cells with the right
nbgrader metadata, and let tests derive submissions from a release by scripted edits.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str, grade_id: str | None = None):
    cell = new_markdown_cell(text.strip("\n"))
    if grade_id:  # locked prose: comes back if a student deletes it
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def code(source: str):
    return new_code_cell(source.strip("\n"))


def solution(grade_id: str, source: str):
    """A code cell whose ``### BEGIN SOLUTION`` regions nbgrader strips in the release."""
    cell = new_code_cell(source.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
    return cell


def test(grade_id: str, points: float, source: str):
    """A locked, autograded test cell (its visible asserts; hidden graders live elsewhere)."""
    cell = new_code_cell(source.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True, points=points))
    return cell


def answer(grade_id: str, points: float, prompt: str = "YOUR ANSWER HERE"):
    """A manually graded markdown answer cell."""
    cell = new_markdown_cell(prompt)
    cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False, points=points))
    return cell


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write(nb, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def read(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def cell_by_id(nb, grade_id: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def set_source(nb, grade_id: str, source: str):
    """Return a copy of ``nb`` whose cell ``grade_id`` has a new source (a scripted edit)."""
    nb = copy.deepcopy(nb)
    cell_by_id(nb, grade_id).source = source.strip("\n")
    return nb
