"""Folders as data: submissions go to workers and results come back as ``{path: (bytes, mode)}``.

A grading task needs no shared filesystem: the driver reads a submission into this form,
the worker writes it out in its course copy, and the autograded folder comes back the
same way. Symlinks are never followed or shipped, and nothing is written outside the
target folder. Sizes are taken with ``lstat`` before anything is read: a folder over its cap
(a 10 GB sparse file, say) is refused without reading a byte of it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

# nbgrader's own CourseDirectory.ignore, plus folders a student may leave behind.
IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")
MAX_SUBMISSION_BYTES = 200 * 1024**2  # larger submissions are refused, never read


class Unreadable(Exception):
    """A folder that is not read: over its size cap, a link, or changing while read."""


def _walk(folder: Path):
    """``(relative path, name, dir fd, lstat)`` of the regular files under ``folder``,
    never through a link (the folder itself included)."""
    try:
        top = os.lstat(folder)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(top.st_mode):
        raise Unreadable(f"{folder.name} is not a folder (a link?)")
    for dirpath, dirs, files, dirfd in os.fwalk(folder, follow_symlinks=False):
        ignored = IGNORE(dirpath, dirs + files)
        dirs[:] = sorted(d for d in dirs if d not in ignored)
        rel = Path(dirpath).relative_to(folder)
        for name in sorted(set(files) - ignored):
            st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                yield (rel / name).as_posix(), name, dirfd, st


def tree_size(folder: Path) -> int:
    """Bytes in the regular files under ``folder`` (by ``lstat``: nothing is read)."""
    return sum(st.st_size for *_, st in _walk(folder))


def read_tree(folder: Path, max_bytes: int | None = None) -> dict[str, tuple[bytes, int]]:
    """``{relative path: (bytes, mode)}`` of the regular files under ``folder``.

    Symlinks are skipped: a link in a submission must never make the driver ship (and the
    worker grade) a file of the driver's machine. With ``max_bytes``, a folder whose files
    add up to more (by ``lstat``) raises `Unreadable` before any file is read.
    """
    if max_bytes is not None and (size := tree_size(folder)) > max_bytes:
        raise Unreadable(f"{size:,} bytes, over the cap of {max_bytes:,}")
    out, left = {}, max_bytes
    for rel, name, dirfd, st in _walk(folder):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     dir_fd=dirfd)
        with os.fdopen(fd, "rb") as f:
            now = os.fstat(f.fileno())
            if (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev) or not stat.S_ISREG(now.st_mode):
                raise Unreadable(f"{rel} changed while it was read")
            want = now.st_size if left is None else min(now.st_size, left)
            data = f.read(want + 1)  # one more: a file that grew is noticed, not read on
        if len(data) > want:
            raise Unreadable(f"{rel} grew while it was read")
        if left is not None:
            left -= len(data)
        out[rel] = (data, now.st_mode & 0o777)
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
