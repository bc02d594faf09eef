"""What a grade cell shows after grading: feedback text and the score nbgrader records.

nbgrader scores a test cell 0 when it has an error or any stderr output, reads partial
credit from a numeric ``execute_result``, and gives full marks otherwise. So every grade
cell gets exactly two outputs, written here: the feedback on stdout, and the score.
Every text from a record or an error is scrubbed of paths and grader file names on its
way in (`course.graders.scrub`), whoever wrote it.
"""

from __future__ import annotations

from nbformat.v4 import new_output

from ..graders.scrub import scrub


def visible_result(cell) -> tuple[bool, str]:
    """Did the cell's own (visible) asserts pass when the notebook ran?"""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = str(out.get("ename", "Error"))[:100], str(out.get("evalue", ""))[:500]
            return False, scrub(f"{name}: {value}" if value else name)
    if cell.get("execution_count") is None:
        return False, "the cell did not run"
    return True, ""


def score_cell(cell, records: list[dict]) -> tuple[float, float, str]:
    """(score, points, feedback text) of one grade cell."""
    meta = cell.metadata["nbgrader"]
    points = float(meta.get("points", 0))
    mine = [r for r in records if r["grade_id"] == meta["grade_id"]]
    ok, why = visible_result(cell)
    if mine:
        # The hidden checks decide: they call each function with correct versions of the
        # others, so a mistake costs the points of its own exercise only. The visible
        # asserts run on the student's whole chain, so they are shown but not scored.
        passed = sum(r["passed"] for r in mine)
        score = min(points, round(points * passed / len(mine), 4))
        state = "passed" if ok else f"failed - {why} (shown only; the checks below decide)"
        lines = [f"Visible tests: {state}",
                 f"Hidden checks: {passed} of {len(mine)} passed"]
        for r in mine:
            lines.append(f"  [{'pass' if r['passed'] else 'FAIL'}] {scrub(str(r['property']))}")
            if not r["passed"] and r.get("message"):
                lines += ["        " + line for line in scrub(str(r["message"])).splitlines()]
    else:
        score = points if ok else 0.0
        lines = [f"Tests: {'passed' if ok else 'FAILED - ' + why}"]
    lines.append(f"Score: {score:g} of {points:g}")
    return score, points, "\n".join(lines) + "\n"


def write_grade_cell(cell, records: list[dict]) -> float:
    """Replace the grade cell's outputs with its feedback and score; return the score."""
    score, _points, text = score_cell(cell, records)
    cell.outputs = [
        new_output("stream", name="stdout", text=text),
        new_output("execute_result", data={"text/plain": repr(score)},
                   execution_count=cell.get("execution_count")),
    ]
    return score


def all_failed(grade_cells, why: str) -> list[dict]:
    """One failed record for each grade cell, when nothing could be checked."""
    return [{"grade_id": c.metadata["nbgrader"]["grade_id"], "test": "kernel",
             "property": "the notebook ran to the end", "passed": False, "message": why}
            for c in grade_cells]


def kernel_died_message(index: int, cells, dead: bool = True) -> str:
    what = ("The kernel died" if dead else "The kernel stopped answering")
    return (f"{what} while running cell {index + 1} of {len(cells)} (it may have run out of "
            "memory, exited, been killed, or had Python itself broken); the cells after it "
            "were not run and their checks could not be done.")
