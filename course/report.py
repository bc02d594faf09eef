"""``course report LAB``: how the class did, from the gradebook and the autograded notebooks.

Writes ``reports/LAB/grades.csv`` (one row per submission: the score of every grade cell,
then raw score, late penalty and score as ``nbgrader export`` has them) and
``reports/LAB/index.html`` with three altair charts: the distribution of scores, the pass
rate (full marks) of each grade cell, and the most common failing property of each exercise.
Failing properties are read from the feedback that ``course/nbgrader_plugin/feedback.py``
writes into each grade cell (lines ``  [FAIL] <property>``).
The charts are inlined as SVG (rendered with vl-convert), so the page works offline.
Works after ``course grade`` and after a plain ``nbgrader autograde`` alike.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path

import altair as alt
import pandas as pd

from .authoring import notebooks as nbk
from .layout import ROOT, Course
from .runner.driver import course_settings

FAIL_LINE = re.compile(r"^\s*\[FAIL\] (.+?)\s*$", re.MULTILINE)
VISIBLE_FAILED = re.compile(r"^Tests: FAILED - (.+?)\s*$", re.MULTILINE)  # no hidden checks


def _cell_order(root: Path, lab: str, names: set[str]) -> list[str]:
    """Grade ids in the order of the source notebooks (the order students saw)."""
    order = []
    for path in sorted(Course(root).source(lab).glob("*.ipynb")):
        for cell in nbk.read(path).cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in names and gid not in order:
                order.append(gid)
    return order + sorted(names - set(order))


def collect(lab: str, root: Path = ROOT) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(one row per submission, one row per failing property, grade ids in order)."""
    from nbgrader.api import Gradebook, MissingEntry

    settings = course_settings(root)
    rows, fails, maxima = [], [], {}
    with Gradebook(settings["db_url"], settings["course_id"]) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            raise RuntimeError(f"{lab} is not in the gradebook: grade it first") from None
        for sub in assignment.submissions:
            row = {"student": sub.student.id, "timestamp": sub.timestamp}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    row[grade.name] = float(grade.score)
                    maxima[grade.name] = float(grade.max_score)
            penalty = float(sub.late_submission_penalty or 0)
            # nbgrader export's columns: raw score, late penalty, score = raw - penalty.
            row.update(raw_score=float(sub.score), late_penalty=penalty,
                       score=float(sub.score) - penalty, max_score=float(sub.max_score))
            rows.append(row)
            for path in sorted(Course(root).autograded(sub.student.id, lab).glob("*.ipynb")):
                fails += _failing(nbk.read(path), sub.student.id)
    cells = _cell_order(root, lab, set(maxima))
    columns = ["student", "timestamp", *cells, "raw_score", "late_penalty", "score", "max_score"]
    scores = pd.DataFrame(rows, columns=columns).sort_values("student", ignore_index=True)
    scores.attrs["max"] = maxima
    return scores, pd.DataFrame(fails, columns=["student", "exercise", "property"]), cells


def _failing(nb, student: str) -> list[dict]:
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        shown = "".join(o.get("text", "") for o in cell.get("outputs", [])
                        if o.get("output_type") == "stream")
        props = FAIL_LINE.findall(shown) or [
            f"visible tests: {why}" for why in VISIBLE_FAILED.findall(shown)]
        out += [{"student": student, "exercise": meta["grade_id"], "property": p}
                for p in dict.fromkeys(props)]  # a property counts once per student
    return out


def charts(scores: pd.DataFrame, fails: pd.DataFrame, cells: list[str]) -> dict[str, alt.Chart]:
    """The report's charts, by name."""
    top = scores["max_score"].max() if len(scores) else 1
    dist = alt.Chart(scores, title="Score distribution").mark_bar().encode(
        x=alt.X("score:Q", bin=alt.Bin(extent=[0, float(top)], step=max(float(top) / 20, 0.5)),
                title=f"score (of {top:g})"),
        y=alt.Y("count():Q", title="submissions", axis=alt.Axis(format="d", values=list(
            range(0, len(scores) + 1, max(1, -(-len(scores) // 6)))))))  # whole numbers only
    maxima = scores.attrs.get("max", {})
    rates = pd.DataFrame([{"cell": c, "pass_rate": float((scores[c] >= maxima[c]).mean())
                           if len(scores) else 0.0} for c in cells])
    base = alt.Chart(rates, title="Full marks, per grade cell").encode(
        y=alt.Y("cell:N", sort=cells, title=None))
    passing = base.mark_bar().encode(
        x=alt.X("pass_rate:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                title="submissions with full marks")) + base.mark_text(align="left", dx=3).encode(
        x="pass_rate:Q", text=alt.Text("pass_rate:Q", format=".0%"))
    common = []
    for exercise in cells:
        counts = Counter(fails.loc[fails["exercise"] == exercise, "property"])
        if counts:
            prop, n = counts.most_common(1)[0]
            label = prop if len(prop) <= 70 else prop[:67] + "..."
            common.append({"exercise": exercise, "failing": n, "property": label,
                           "full": prop})
    worst = alt.Chart(pd.DataFrame(common, columns=["exercise", "failing", "property", "full"]),
                      title="Most common failing property, per exercise").encode(
        y=alt.Y("exercise:N", sort=cells, title=None))
    failing = worst.mark_bar(color="#d62728").encode(
        x=alt.X("failing:Q", title="submissions failing it",
                axis=alt.Axis(tickMinStep=1, format="d")),
        tooltip=["exercise", "full", "failing"]) + worst.mark_text(align="left", dx=3).encode(
        x="failing:Q", text="property:N")
    return {"score_distribution": dist.properties(width=420, height=220),
            "pass_rate": passing.properties(width=420),
            "common_failures": failing.properties(width=420)}


def write_report(lab: str, root: Path = ROOT) -> Path:
    """Write ``reports/LAB/{index.html,grades.csv}``; return the HTML page's path."""
    import vl_convert

    root = Path(root).resolve()
    scores, fails, cells = collect(lab, root)
    out = Course(root).reports(lab)
    out.mkdir(parents=True, exist_ok=True)
    scores.to_csv(out / "grades.csv", index=False)
    parts = [f"<h1>{html.escape(lab)}: {len(scores)} graded submissions</h1>",
             "<p>Scores from the gradebook (manual grades override automatic ones); "
             "<a href='grades.csv'>grades.csv</a>.</p>"]
    for chart in charts(scores, fails, cells).values():
        parts.append(f"<div>{vl_convert.vegalite_to_svg(chart.to_dict())}</div>")
    failures = out / "failures.json"
    if failures.exists() and (failed := json.loads(failures.read_text())):
        parts.append("<h2>Not graded (see failures.json; re-run course grade)</h2><ul>")
        parts += [f"<li>{html.escape(s)}: {html.escape(r['kind'])} - "
                  f"{html.escape(r['message'].splitlines()[0] if r['message'] else '')}</li>"
                  for s, r in sorted(failed.items())]
        parts.append("</ul>")
    parts.append(scores.to_html(index=False, na_rep="", float_format="{:g}".format))
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(lab)} report</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
            "</style></head><body>" + "\n".join(parts) + "</body></html>\n")
    (out / "index.html").write_text(page)
    return out / "index.html"
