"""``course release LAB``: generate ``release/LAB`` with nbgrader and check nothing leaks."""

from __future__ import annotations

import re
from pathlib import Path

from ..layout import ROOT, Course
from ..runner.nbgrader_cmd import nbgrader

# What must never reach a student: solution regions, hidden tests, the reference package.
LEAKS = re.compile(
    r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|"
    r"^\s*(?:import|from)\s+(?:reference|course)\b|tests/graders",
    re.MULTILINE,
)


def leaks(folder: Path) -> list[str]:
    """Files under ``folder`` with solution, hidden-test or reference text in them."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            # In a notebook the sources are JSON strings: match each line of them too.
            text = text.replace("\\n", "\n").replace('"', "\n")
            match = LEAKS.search(text)
            if match:
                found.append(f"{path.relative_to(folder)}: {match.group(0).strip()!r}")
    return found


def release(lab: str, root: Path = ROOT) -> Path:
    nbgrader(root, "generate_assignment", lab, "--force")
    folder = Course(root).release(lab)
    bad = leaks(folder)
    if bad:
        raise RuntimeError("the release would leak:\n  " + "\n  ".join(bad))
    return folder
