"""The contract every lab's hidden graders keep, checked for each lab in source/.

Kernel-less (course/graders/harness.py stands for the kernel, with the bridge's own
pickling and result encoding), from the lab's data in tests/fixtures/<lab>.py:

- every autograded cell of the source notebook has a grader file, each property a
  docstring a student can read (what the feedback lists) and a fixed real-MNIST case;
- the reference, an independent student-style solution and the source notebook's own
  solution cells pass every property;
- each wrong solution (the notebook fixtures and more variants) fails a property of the
  cell it belongs to, with a message fit for a student;
- every cell keeps full marks with the functions of all *other* cells raising, so a mistake
  in one exercise can never cost points in another;

and end to end, with the real nbgrader and sandbox (`course check`): the solution gets full
marks, the release 0, and each wrong fixture loses points on its own cell and no other.

One test class per lab: pytest-xdist (``--dist loadscope``) sends each class to one worker,
so the labs' checks run side by side while each lab trains its cached models once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from reference_thief import make_thief

from course.authoring.selfcheck import lab_fixtures
from course.graders.harness import (
    FakeStudent,
    GraderSet,
    expect_failed_cleanly,
    failures,
    isolated,
    namespace,
    notebook_cells,
    solution_sources,
)
from course.graders.order import grading_order, read_declaration
from course.layout import Course

LABS = Course().labs()
# What a property's first docstring line must not show a student: grader file or function
# names, paths, the reference package, testing jargon.
NOT_FOR_STUDENTS = re.compile(r"test_|tests/|graders?\b|\.py\b|/\w+/|reference\.\w|\bref\.|"
                              r"hypothesis|pytest|\bassert")


class Lab:
    """A lab's graders and self-test data, loaded once per test class."""

    def __init__(self, name: str):
        self.name = name
        self.graders = GraderSet(name)
        self.data = lab_fixtures(name)
        cells = [c.get("metadata", {}).get("nbgrader", {}) for c in notebook_cells(name)]
        # The autograded cells of the source notebook.
        self.grade_ids = sorted(m["grade_id"] for m in cells
                                if m.get("grade") and not m.get("solution"))
        sources = solution_sources(name)
        self.definitions = [sources[c] for c in getattr(self.data, "DEFINITIONS", sources)]

    def solutions(self, replaced: dict | None = None) -> list[str]:
        sources = {**solution_sources(self.name), **(replaced or {})}
        return [sources[c] for c in getattr(self.data, "DEFINITIONS", sources)]

    def run(self, ns: dict, grade_id: str, profile: str = "grading-quick", **options) -> dict:
        """{failed property: message} of one cell's graders on the namespace ``ns``."""
        return failures(self.graders.run_cell(FakeStudent(ns), grade_id,
                                              profile_name=profile, **options))


def released_definitions(lab: Lab) -> list[str]:
    """The lab's solution cells as released (solutions cleared): each wrapped so that a
    cell raising NotImplementedError at definition time leaves its names undefined."""
    release = json.loads(Course().release_notebook(lab.name).read_text())["cells"]
    sources = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in release
               if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {})
               .get("solution")}
    wanted = getattr(lab.data, "DEFINITIONS", sources)
    return [f"try:\n    exec({sources[c]!r})\nexcept NotImplementedError:\n    pass\n"
            for c in wanted if c in sources]


_LOADED: dict[str, Lab] = {}


def _lab(name: str) -> Lab:
    if name not in _LOADED:
        _LOADED[name] = Lab(name)
    return _LOADED[name]


def pytest_generate_tests(metafunc):
    if metafunc.cls is None or not hasattr(metafunc.cls, "LAB"):
        return
    lab = _lab(metafunc.cls.LAB)
    if "grade_id" in metafunc.fixturenames:
        metafunc.parametrize("grade_id", lab.grade_ids)
    if "fixture" in metafunc.fixturenames:
        metafunc.parametrize("fixture", sorted(lab.data.WRONG))
    if "variant" in metafunc.fixturenames:
        variants = lab.data.VARIANTS
        metafunc.parametrize("variant", variants, ids=[f"{v[1]}: {v[0]}" for v in variants])


class Contract:
    LAB: str

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def lab(cls) -> Lab:
        lab = _lab(cls.LAB)
        if hasattr(lab.data, "warm"):
            lab.data.warm()  # trained models, once, outside any property
        return lab

    def test_every_autograded_cell_has_a_grader_file(self, lab):
        lab.graders.check_files(lab.grade_ids)
        assert set(lab.data.CELL_OF.values()) <= set(lab.grade_ids)

    def test_grader_files_declare_what_they_grade_and_send(self, lab):
        """GRADES names the cell's own functions (CELL_OF); SENDS is checked at every call
        by the bridge (test_reference_passes fails on an undeclared send)."""
        for grade_id in lab.grade_ids:
            declaration = read_declaration(lab.graders.folder / f"test_{grade_id}.py")
            own = {name for name, cell in lab.data.CELL_OF.items() if cell == grade_id}
            assert set(declaration.grades) == own, grade_id

    def test_every_name_is_graded_before_its_reference_is_sent(self, lab):
        graded_somewhere = {n for n, c in lab.data.CELL_OF.items() if c in lab.grade_ids}
        graded: set[str] = set()
        for path in grading_order(lab.graders.folder.glob("test_*.py")):
            declaration = read_declaration(path)
            early = (set(declaration.sends) & graded_somewhere) - graded
            assert not early, f"{path.name} sends {sorted(early)} before they are graded"
            graded |= set(declaration.grades)

    def test_a_thief_of_reference_code_scores_no_more_than_a_blank_notebook(self, lab):
        """The blank release, and the same blank release whose functions keep whatever
        reference code the graders send and answer with it, graded cell after cell in the
        grading order on one namespace each (as in one kernel)."""
        blank = namespace(lab.data.PREAMBLE, *released_definitions(lab))
        thief = make_thief(namespace(lab.data.PREAMBLE, *released_definitions(lab)),
                           set(lab.data.CELL_OF))
        gained = {}
        for path in grading_order(lab.graders.folder.glob("test_*.py")):
            grade_id = path.stem[len("test_"):]
            scores = [len(lab.graders.run_cell(FakeStudent(ns), grade_id,
                                               profile_name="grading-quick"))
                      - len(lab.run(ns, grade_id)) for ns in (blank, thief)]
            if scores[1] > scores[0]:
                gained[grade_id] = scores
        assert not gained, f"passed properties (blank, thief): {gained}; " \
                           f"stolen: {sorted(thief['__stolen__'])}"

    def test_property_docstrings_are_written_for_students(self, lab):
        for grade_id in lab.grade_ids:
            for name, test in lab.graders.properties(grade_id):
                first = (test.__doc__ or "").strip().splitlines()[0:1]
                assert first, f"{grade_id}.{name}: no docstring"
                found = NOT_FOR_STUDENTS.search(first[0])
                assert not found, f"{grade_id}.{name}: {found.group(0)!r} in {first[0]!r}"

    def test_fixtures_and_definitions_name_real_cells(self, lab):
        sources = solution_sources(lab.name)
        assert set(getattr(lab.data, "DEFINITIONS", sources)) <= set(sources)
        for name, fixture in lab.data.WRONG.items():
            assert fixture["target"] in lab.grade_ids, name
            assert set(fixture["cells"]) <= set(sources), name
        defined = namespace(lab.data.PREAMBLE, *lab.definitions)
        assert set(lab.data.CELL_OF) <= set(defined)

    def test_reference_passes(self, lab, grade_id):
        ns = namespace(lab.data.PREAMBLE, lab.data.REFERENCE)
        assert not lab.run(ns, grade_id)

    def test_student_style_passes(self, lab, grade_id):
        assert not lab.run(namespace(lab.data.PREAMBLE, lab.data.STUDENT_STYLE), grade_id)

    def test_source_notebook_solutions_pass(self, lab, grade_id):
        assert not lab.run(namespace(lab.data.PREAMBLE, *lab.definitions), grade_id)

    def test_wrong_fixture_fails_its_cell(self, lab, fixture):
        wrong = lab.data.WRONG[fixture]
        ns = namespace(lab.data.PREAMBLE, *lab.solutions(wrong["cells"]))
        outcome = lab.run(ns, wrong["target"], "grading-noshrink", first_failure=True)
        expect_failed_cleanly(outcome, fixture)

    def test_wrong_variant_fails_its_cell(self, lab, variant):
        name, where, code = variant
        grade_id = lab.data.CELL_OF.get(where, where)
        ns = namespace(lab.data.PREAMBLE, lab.data.STUDENT_STYLE, code)
        outcome = lab.run(ns, grade_id, "grading-noshrink", first_failure=True)
        expect_failed_cleanly(outcome, name)

    def test_cells_are_isolated(self, lab, grade_id):
        """With every other exercise's names raising, a correct solution keeps full marks."""
        keep = getattr(lab.data, "KEEP", {}).get(grade_id, ())
        ns = isolated(namespace(lab.data.PREAMBLE, lab.data.STUDENT_STYLE), lab.data.CELL_OF,
                      grade_id, keep=keep)
        profile = getattr(lab.data, "ISOLATION_PROFILE", "grading-quick")
        assert not lab.run(ns, grade_id, profile)

    @pytest.mark.slow
    def test_course_check_tells_right_from_wrong(self, lab, root):
        """`course check` with the real nbgrader and sandbox: solution full, release 0,
        each wrong fixture loses points on its own cell only."""
        proc = subprocess.run([sys.executable, "-m", "course", "check", lab.name,
                               "--workers", "2"], cwd=root, capture_output=True, text=True,
                              timeout=1800)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


for _name in LABS:
    globals()[f"TestLab_{_name}"] = type(f"TestLab_{_name}", (Contract,), {"LAB": _name})


def test_every_lab_has_its_self_test_data_and_wrong_fixtures():
    required = ("WRONG", "CELL_OF", "PREAMBLE", "REFERENCE", "STUDENT_STYLE", "VARIANTS")
    for name in LABS:
        data = lab_fixtures(name)
        assert data is not None, f"{name}: tests/fixtures/{name}.py is missing"
        missing = [attr for attr in required if not hasattr(data, attr)]
        assert not missing, f"{name}: tests/fixtures/{name}.py lacks {missing}"
        assert len(data.WRONG) >= 4, f"{name}: at least 4 wrong-solution fixtures"
