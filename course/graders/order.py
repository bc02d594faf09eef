"""The order a lab's grader files run in, from what each declares.

A grader file says which of the notebook's names it grades and which names it sends into
the kernel as reference code (a function patched in with ``_patch``, a reference class or
an instance of one passed as an argument, a driver's reference helpers)::

    GRADES = ("calculate_activation_matrix",)
    SENDS = ("get_layer_output", "get_average_activations")

Student code running during a call can copy whatever reference code is in the kernel and
answer later calls with it. So a name's reference may enter the kernel only after every
check of that name has run: each file that grades a name runs before every file that sends
it, and no file sends what it grades itself. The bridge refuses to send undeclared
reference code (course/bridge/sending.py), so a declaration cannot silently fall behind
its file.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


class DeclarationError(ValueError):
    """A grader file's GRADES / SENDS are missing, malformed, or cannot be ordered."""


@dataclass(frozen=True)
class Declaration:
    grades: tuple[str, ...]
    sends: tuple[str, ...]


def read_declaration(path: Path, *, required: bool = True) -> Declaration:
    """GRADES and SENDS of a grader file, read from its source (the file is not run).

    A file without them grades and sends nothing when ``required`` is false (the bridge then
    refuses to send any reference code from it)."""
    found: dict[str, tuple[str, ...]] = {}
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("GRADES", "SENDS"):
                found[target.id] = _names(node.value, path, target.id)
    missing = {"GRADES", "SENDS"} - set(found)
    if missing and required:
        raise DeclarationError(f"{Path(path).name}: no {' and no '.join(sorted(missing))} "
                               "(see tests/graders/README.md)")
    declaration = Declaration(found.get("GRADES", ()), found.get("SENDS", ()))
    both = set(declaration.grades) & set(declaration.sends)
    if both:
        raise DeclarationError(f"{Path(path).name} sends the reference of what it grades: "
                               f"{sorted(both)}")
    return declaration


def _names(value: ast.expr, path, what: str) -> tuple[str, ...]:
    try:
        names = ast.literal_eval(value)
    except ValueError:
        names = None
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise DeclarationError(f"{Path(path).name}: {what} must be a literal tuple of names")
    return tuple(names)


def grading_order(paths, *, required: bool = True) -> list[Path]:
    """``paths`` ordered so that every file grading a name runs before any file sending it;
    otherwise in name order (stable, so a regrade runs the same order)."""
    paths = sorted(Path(p) for p in paths)
    declared = {p: read_declaration(p, required=required) for p in paths}
    graders_of: dict[str, set[Path]] = {}
    for path, declaration in declared.items():
        for name in declaration.grades:
            graders_of.setdefault(name, set()).add(path)
    before = {p: {g for name in d.sends for g in graders_of.get(name, ())} - {p}
              for p, d in declared.items()}
    order: list[Path] = []
    done: set[Path] = set()
    while len(order) < len(paths):
        ready = [p for p in paths if p not in done and before[p] <= done]
        if not ready:
            cycle = sorted(p.name for p in paths if p not in done)
            raise DeclarationError(f"grader files send each other's references: {cycle}")
        order.append(ready[0])
        done.add(ready[0])
    return order
