"""Where everything of a course lives: the one module that spells the course's paths.

As nbgrader's ``CourseDirectory`` does for nbgrader, `Course` names every folder and file the
engine reads or writes in a course folder:

```
nbgrader_config.py               the course's nbgrader configuration
source/<lab>/<lab>.ipynb         nbgrader source notebooks (labs are discovered here)
release/<lab>/                   generated student notebooks
tests/graders/<lab>/             hidden graders: test_<grade_id>.py, cases.py (a package)
tests/fixtures/<lab>.py          wrong solutions and the lab's self-test data
submitted/ autograded/ feedback/ reports/ gradebook.db   nbgrader's and the engine's output
```

``ROOT`` is this repository (the course shipped with the engine); a course copy made for a
grading batch or task is a `Course` of its own folder. ``PACKAGE_PATH`` is where the
``course`` and ``reference`` packages are importable from, for the subprocesses the engine
starts (nbgrader, the graders' run).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_PATH = str(ROOT)
CONFIG = "nbgrader_config.py"
GRADERS = Path("tests", "graders")
FIXTURES = Path("tests", "fixtures")


@dataclass(frozen=True)
class Course:
    """The folders of the course at ``root``."""

    root: Path = ROOT

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    # -- the course's own files ------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    def labs(self) -> list[str]:
        """Every lab: a folder ``source/<lab>/`` holding ``<lab>.ipynb``."""
        folder = self.root / "source"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def source(self, lab: str) -> Path:
        return self.root / "source" / lab

    def source_notebook(self, lab: str) -> Path:
        return self.source(lab) / f"{lab}.ipynb"

    def release(self, lab: str) -> Path:
        return self.root / "release" / lab

    def release_notebook(self, lab: str) -> Path:
        return self.release(lab) / f"{lab}.ipynb"

    def graders(self, lab: str) -> Path:
        return self.root / GRADERS / lab

    def grader_file(self, lab: str, grade_id: str) -> Path:
        return self.graders(lab) / f"test_{grade_id}.py"

    def grade_ids_with_graders(self, lab: str) -> set[str]:
        folder = self.graders(lab)
        if not folder.is_dir():
            return set()
        return {p.stem[len("test_"):] for p in folder.glob("test_*.py")}

    def fixtures(self, lab: str) -> Path:
        return self.root / FIXTURES / f"{lab}.py"

    # -- nbgrader's and the engine's output ------------------------------------------------
    @property
    def submitted_root(self) -> Path:
        return self.root / "submitted"

    def submitted(self, student: str, lab: str) -> Path:
        return self.submitted_root / student / lab

    def autograded(self, student: str, lab: str) -> Path:
        return self.root / "autograded" / student / lab

    def downloaded(self, lab: str) -> Path:
        return self.root / "downloaded" / lab

    def reports(self, lab: str) -> Path:
        return self.root / "reports" / lab

    # -- copies ----------------------------------------------------------------------------
    def copy_lab(self, lab: str, dest: Path) -> Course:
        """A new course folder at ``dest`` holding only what grading ``lab`` needs: the
        config, ``source/<lab>`` and the lab's graders."""
        copy = Course(dest)
        copy.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.config, copy.config)
        shutil.copytree(self.source(lab), copy.source(lab))
        if self.graders(lab).is_dir():
            shutil.copytree(self.graders(lab), copy.graders(lab),
                            ignore=shutil.ignore_patterns("__pycache__"))
        return copy


def module_call(function) -> str:
    """``"package.module:function"``: how a zygote request names a function to call."""
    return f"{function.__module__}:{function.__name__}"
