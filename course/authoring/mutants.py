"""Mutants of a lab's solutions: the "student" the mutation benchmark grades.

The student is the source notebook's solution cells; the code a student writes is what lies
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, so only that is mutated (never the
given signatures, docstrings or ``super().__init__()``). The mutation operators are mutmut's
own (mutmut 3.x, ``mutmut.mutation.mutators``: numbers, operators, comparisons, arguments
dropped or set to None, assignments to None, ...), applied one at a time to a cell's source
with libcst: each mutant is the whole cell with one node replaced, so it runs in the
kernel-less harness as a student's cell would run in a notebook.

Each mutant belongs to one exercise (a grade cell): the one the fixtures' ``CELL_OF`` gives
for the top-level function or class it lives in (the cell's other names decide for a helper
the table does not name; without fixtures, the first grade cell after the solution cell).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from mutmut.mutation.file_mutation import MutationVisitor, deep_replace
from mutmut.mutation.mutators import mutation_operators
from mutmut.mutation.pragma_handling import IgnoredCode

from ..layout import ROOT, Course
from .selfcheck import lab_fixtures

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Mutant:
    """One mutation of one solution cell."""

    cell: str  # the solution cell's grade id
    exercise: str  # the grade cell whose graders must catch it
    function: str  # qualified: "relu", "HiddenLayerNet.forward"
    line: int  # 1-based line in the solution cell
    before: str  # the mutated node's code, whitespace collapsed
    after: str
    occurrence: int  # n-th mutant of the same function with the same before/after
    source: str  # the whole mutated cell

    @property
    def text(self) -> str:
        """What the mutant changed, stable across edits elsewhere in the notebook (no line
        number): the key of its entry in equivalent.toml."""
        suffix = f" #{self.occurrence}" if self.occurrence > 1 else ""
        return f"{self.function}: `{self.before}` -> `{self.after}`{suffix}"


@dataclass(frozen=True)
class LabSolutions:
    """What the mutation run needs from a lab: its solution cells (in notebook order, only
    those the self-test runs), which exercise each cell's names belong to, the preamble."""

    lab: str
    cells: dict[str, str]  # solution cell id -> source
    exercise_of: dict[str, str]  # top-level name -> grade cell id
    cell_exercise: dict[str, str]  # solution cell id -> grade cell id (fallback)
    grade_ids: list[str]  # every autograded cell, sorted
    preamble: str

    def sources(self, replaced: dict[str, str] | None = None) -> list[str]:
        """The notebook to run: preamble, then every solution cell (``replaced`` swapped in)."""
        cells = {**self.cells, **(replaced or {})}
        return [self.preamble, *cells.values()]


def load(lab: str, root: Path = ROOT) -> LabSolutions:
    nb = json.loads(Course(root).source_notebook(lab).read_text())
    solutions: dict[str, str] = {}
    grade_ids: list[str] = []
    after: dict[str, str] = {}  # solution cell -> first grade cell after it
    pending: list[str] = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code":
            continue
        if meta.get("solution"):
            solutions[meta["grade_id"]] = "".join(cell["source"])
            pending.append(meta["grade_id"])
        elif meta.get("grade"):
            grade_ids.append(meta["grade_id"])
            for cell_id in pending:
                after[cell_id] = meta["grade_id"]
            pending = []
    data = lab_fixtures(lab, root)
    order = list(getattr(data, "DEFINITIONS", solutions))
    cell_of = dict(getattr(data, "CELL_OF", {}))
    return LabSolutions(
        lab=lab,
        cells={cell_id: solutions[cell_id] for cell_id in order},
        exercise_of=cell_of,
        cell_exercise=after,
        grade_ids=sorted(grade_ids),
        preamble=getattr(data, "PREAMBLE", ""),
    )


def solution_lines(source: str) -> set[int]:
    """The 1-based lines strictly between BEGIN and END SOLUTION markers."""
    lines, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _collapse(code: str) -> str:
    return re.sub(r"\s+", " ", code).strip()


def _qualified_names(module: cst.Module) -> dict[int, str]:
    """id(FunctionDef) -> "name" or "Class.method" for top-level functions and methods."""
    names = {}
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            names[id(statement)] = statement.name.value
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for method in statement.body.body:
                if isinstance(method, cst.FunctionDef):
                    names[id(method)] = f"{statement.name.value}.{method.name.value}"
    return names


def _top_level_names(source: str) -> set[str]:
    return {node.name for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def mutate_cell(source: str) -> list[tuple[str, int, str, str, str]]:
    """(function, line, before, after, mutated source) for each of mutmut's mutations of a
    node inside a function and between the solution markers, in source order. Mutants that
    are not valid Python are left out (a student's cell always parses)."""
    wrapper = MetadataWrapper(cst.parse_module(source))
    visitor = MutationVisitor(mutation_operators, IgnoredCode(set(), set(), set()))
    wrapper.visit(visitor)
    module = wrapper.module
    positions = wrapper.resolve(PositionProvider)
    names = _qualified_names(module)
    allowed = solution_lines(source)
    out = []
    for mutation in visitor.mutations:
        function = mutation.contained_by_top_level_function
        if not isinstance(function, cst.FunctionDef) or id(function) not in names:
            continue
        where = positions[mutation.original_node]
        if not set(range(where.start.line, where.end.line + 1)) <= allowed:
            continue
        code = deep_replace(module, mutation.original_node, mutation.mutated_node).code
        try:
            compile(code, "<mutant>", "exec")
        except SyntaxError:
            continue
        out.append((names[id(function)], where.start.line,
                    _collapse(module.code_for_node(mutation.original_node)),
                    _collapse(module.code_for_node(mutation.mutated_node)), code))
    return out


def generate(solutions: LabSolutions) -> list[Mutant]:
    """Every mutant of the lab's solution cells, in notebook order."""
    mutants = []
    for cell_id, source in solutions.cells.items():
        seen: Counter = Counter()
        cell_exercises = {solutions.exercise_of[name] for name in _top_level_names(source)
                          if name in solutions.exercise_of}
        for function, line, before, after, code in mutate_cell(source):
            top = function.split(".")[0]
            exercise = solutions.exercise_of.get(top)
            if exercise is None:
                exercise = (next(iter(cell_exercises)) if len(cell_exercises) == 1
                            else solutions.cell_exercise.get(cell_id))
                if exercise is None:
                    continue
            seen[(function, before, after)] += 1
            mutants.append(Mutant(cell_id, exercise, function, line, before, after,
                                  seen[(function, before, after)], code))
    return mutants
