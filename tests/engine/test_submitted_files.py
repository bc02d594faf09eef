"""Reading ``submitted/`` (course/runner/files.py): sizes by lstat first, links never followed.

A 10 GB sparse file in a submission once got the ``course grade`` driver OOM-killed: every
file was read before the size check. Now a folder over its cap is refused before any read.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from course.runner.files import Unreadable, read_tree, tree_size


def test_a_sparse_10_gb_file_is_refused_without_reading(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "lab.ipynb").write_text("{}")
    with open(folder / "huge.bin", "wb") as f:
        f.truncate(10 * 1024**3)  # sparse: no disk used, 10 GB when read
    assert tree_size(folder) == 10 * 1024**3 + 2
    # In a child with 1 GiB of address space: reading the file would raise MemoryError there.
    code = ("import resource, sys; from course.runner.files import Unreadable, read_tree\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))\n"
            f"try:\n    read_tree(__import__('pathlib').Path({str(folder)!r}), 200 * 1024**2)\n"
            "except Unreadable as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert out.returncode == 0 and "refused: 10,737,418,242 bytes, over the cap" in out.stdout, \
        out.stderr[-2000:]


def test_links_are_never_followed(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("host secret")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "lab.ipynb").write_text("{}")
    (folder / "key").symlink_to(secret / "key")
    (folder / "dir").symlink_to(secret)
    os.mkfifo(folder / "fifo")  # would block a plain open()
    assert read_tree(folder, 1024) == {"lab.ipynb": (b"{}", 0o644)}
    linked = tmp_path / "linked"
    linked.symlink_to(folder)
    with pytest.raises(Unreadable, match="not a folder"):
        read_tree(linked, 1024)


def test_exactly_at_the_cap_is_read_over_it_is_not(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 600)
    (tmp_path / "b").write_bytes(b"y" * 424)
    assert set(read_tree(tmp_path, 1024)) == {"a", "b"}
    with pytest.raises(Unreadable):
        read_tree(tmp_path, 1023)
    assert read_tree(tmp_path / "missing", 10) == {}
