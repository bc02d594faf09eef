"""Folders as data: submissions go to workers and results come back as ``{path: (bytes, mode)}``.

A grading task needs no shared filesystem: the driver reads a submission into this form,
the worker writes it out in its course copy, and the autograded folder comes back the
same way. Symlinks are never followed or shipped, and nothing is written outside the
target folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

# nbgrader's own CourseDirectory.ignore, plus folders a student may leave behind.
IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")


def read_tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """``{relative path: (bytes, mode)}`` of the regular files under ``folder``.

    Symlinks are skipped: a link in a submission must never make the driver ship (and the
    worker grade) a file of the driver's machine.
    """
    out = {}
    for dirpath, dirs, files in os.walk(folder):
        ignored = IGNORE(dirpath, dirs + files)
        dirs[:] = sorted(d for d in dirs if d not in ignored)
        for name in sorted(set(files) - ignored):
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(folder).as_posix()] = (path.read_bytes(),
                                                           path.stat().st_mode & 0o777)
    return out


def write_tree(files: dict[str, tuple[bytes, int]], folder: Path) -> None:
    for rel, (data, mode) in files.items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():  # data from elsewhere: stay inside
            raise ValueError(f"refusing to write outside {folder}: {rel}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode or 0o644)  # nbgrader makes autograded files read-only: keep it


def digest(files: dict[str, tuple[bytes, int]]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel][0]).digest())
    return h.hexdigest()
