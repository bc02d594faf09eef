"""Every hidden property's docstring is written for the student who reads it in feedback.

The first docstring line of a grader property is the name the student sees next to a lost
point: it must say the rule in the student's words. So it is there, fits one line (at most
100 characters), and shows nothing of the grading machinery: no grader function or file
names, no paths, no reference module ("ref.", "reference"), no testing jargon. Every offender
of a lab is listed at once, so one run tells a lab's author all there is to fix.
"""

from __future__ import annotations

import re

import pytest

from course.graders.harness import GraderSet
from course.layout import Course

MAX_LINE = 100
# What a student must not read in a property's name: grader names (test_...), grader or
# reference paths and files, the reference package (reference.x, ref.x, "the reference"),
# testing jargon.
NOT_FOR_STUDENTS = re.compile(
    r"test_|tests/|\bgraders?\b|\.py\b|/\w+/|\breference\b|\bref\.|hypothesis|pytest|\bassert",
    re.IGNORECASE)


def offenders(lab: str) -> list[str]:
    """'<grade id>.<property>: <what is wrong>' for every property of ``lab`` that breaks
    a rule of this module."""
    graders = GraderSet(lab)
    found = []
    for grade_id in graders.grade_ids:
        for name, test in graders.properties(grade_id):
            lines = (test.__doc__ or "").strip().splitlines()
            first = lines[0].strip() if lines else ""
            where = f"{grade_id}.{name}"
            if not first:
                found.append(f"{where}: no docstring")
                continue
            if len(first) > MAX_LINE:
                found.append(f"{where}: first line has {len(first)} characters (> {MAX_LINE})")
            hit = NOT_FOR_STUDENTS.search(first)
            if hit:
                found.append(f"{where}: {hit.group(0)!r} in {first!r}")
    return found


def test_the_rule_flags_what_a_student_must_not_read():
    for bad in ("test_sum checks the sum", "compares with reference.single_neuron",
                "same as ref.relu", "matches the reference solution", "see tests/graders/x",
                "the grader's cases.py", "hypothesis finds no counterexample"):
        assert NOT_FOR_STUDENTS.search(bad), bad
    for good in ("relu is 0 for negative inputs and x otherwise",
                 "select_classes keeps the rows of both classes in their original order",
                 "the model's parameters are counted, trainable or not (1,234 for 784 -> 10)"):
        assert not NOT_FOR_STUDENTS.search(good), good


@pytest.mark.parametrize("lab", Course().labs())
def test_property_docstrings_are_student_readable(lab):
    found = offenders(lab)
    assert not found, f"{lab}: {len(found)} property docstrings to fix:\n" + "\n".join(found)
