"""Collecting a hostile LMS export: plain ``nbgrader zip_collect`` and ``course grade --zip``.

Each attack is one member (or a few) of an LMS zip beside honest classmates' entries. For
each: the class is still collected, every honest student gets their own submission (byte for
byte), the bad entry is skipped and reported by name with a reason, no file is written
outside the course's collect folders, every collected file is 0644 and every folder 0755,
and nothing larger than the per-member cap is written. Then the whole hostile export is
graded by ``course grade --zip`` beside honest controls, which keep their exact scores.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from lms_zips import (
    LATER,
    SETUID,
    SYMLINK,
    entry,
    lie_about_size,
    member,
    nested_zip,
    zeros_member,
)
from tiny_course import LAB, SOURCE, make_course

from course.authoring import notebooks as nbk
from course.runner.nbgrader_cmd import nbgrader, nbgrader_env

pytestmark = pytest.mark.slow

MEMBER_CAP = 64 * 1024**2  # the course's default per-member cap (nbgrader_config.py)


def _honest_bytes() -> bytes:
    import nbformat

    return nbformat.writes(SOURCE).encode()


def _wrong_add_bytes() -> bytes:
    import nbformat

    return nbformat.writes(nbk.set_source(SOURCE, "add_solution",
                                          "def add(a, b):\n    return a - b")).encode()


def _build(path: Path, attack) -> dict[str, bytes]:
    """An export with the honest students ann and cat, plus ``attack``'s members."""
    honest = {"ann": _honest_bytes(), "cat": _honest_bytes()}
    with zipfile.ZipFile(path, "w") as zf:
        for student, data in honest.items():
            member(zf, entry(LAB, student, f"{LAB}.ipynb"), data)
        attack(zf)
    return honest


def _setuid(zf):
    member(zf, entry(LAB, "sid", f"{LAB}.ipynb"), _honest_bytes(), SETUID)
    member(zf, entry(LAB, "sid", f"{LAB}.ipynb.sh"), b"#!/bin/sh\nid\n", SETUID)


def _nested_zip(zf):  # mallory's upload is a zip holding "newer attempts" of ann and cat
    member(zf, entry(LAB, "mallory", "upload.zip"), nested_zip({
        entry(LAB, "ann", f"{LAB}.ipynb", LATER): _wrong_add_bytes(),
        f"x/{entry(LAB, 'cat', f'{LAB}.ipynb', LATER)}": _wrong_add_bytes()}))


def _nested_folder(zf):  # ... or a folder whose files are named for them
    member(zf, entry(LAB, "mallory", "work") + "/" + entry(LAB, "ann", f"{LAB}.ipynb", LATER),
           _wrong_add_bytes())
    member(zf, entry(LAB, "mallory", "work") + "/deep/"
           + entry(LAB, "cat", f"{LAB}.ipynb", LATER), _wrong_add_bytes())


def _dotdot(zf):
    member(zf, "../" + entry(LAB, "evil", f"{LAB}.ipynb"), _wrong_add_bytes())
    member(zf, entry(LAB, "evil2", "x") + "/../../../" + entry(LAB, "ann", f"{LAB}.ipynb",
                                                               LATER), _wrong_add_bytes())


def _absolute(zf):
    member(zf, f"/tmp/zipcollect-canary/{entry(LAB, 'abs', f'{LAB}.ipynb')}",
           _wrong_add_bytes())


def _bad_timestamp(zf):
    member(zf, entry(LAB, "badts", f"{LAB}.ipynb", "2024-13-45-99-99-99"), _honest_bytes())
    member(zf, entry(LAB, "ann", f"{LAB}.ipynb", "9999-99-99-99-99-99"), _wrong_add_bytes())


def _bomb(zf):  # ~1.5 MB compressed, 1.5 GiB decompressed
    zeros_member(zf, entry(LAB, "bomb", f"{LAB}.ipynb"), 3 * 2**29)


def _symlink(zf):
    member(zf, entry(LAB, "link", f"{LAB}.ipynb"), b"/etc/shadow", SYMLINK)


ATTACKS = {"setuid": _setuid, "nested_zip": _nested_zip, "nested_folder": _nested_folder,
           "dotdot": _dotdot, "absolute": _absolute, "bad_timestamp": _bad_timestamp,
           "bomb": _bomb, "symlink": _symlink}
# What each attack must leave reported as skipped (student-facing entry names).
SKIPPED = {"dotdot": ["evil", "evil2"], "absolute": ["abs"], "bad_timestamp": ["badts"],
           "bomb": ["bomb"], "symlink": ["link"], "liar": ["liar"]}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("zip-released") / "course")
    nbgrader(course, "generate_assignment", LAB, "--force")
    return course


def _collect(released, tmp_path, build) -> tuple[Path, subprocess.CompletedProcess, dict]:
    course = tmp_path / "course"
    shutil.copytree(released, course)
    archive = course / "downloaded" / LAB / "archive" / "export.zip"
    archive.parent.mkdir(parents=True)
    honest = build(archive)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", LAB, "--force"],
                          cwd=course, env=nbgrader_env(), capture_output=True, text=True,
                          timeout=600)
    return course, proc, honest


def _liar(archive: Path) -> dict[str, bytes]:
    honest = _build(archive, lambda zf: zeros_member(zf, entry(LAB, "liar", f"{LAB}.ipynb"),
                                                     300 * 1024**2))
    lie_about_size(archive, entry(LAB, "liar", f"{LAB}.ipynb"), 1000)
    return honest


def _builder(name):
    if name == "liar":
        return _liar
    return lambda archive: _build(archive, ATTACKS[name])


def _check_tree_modes(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        st = os.lstat(path)
        assert stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode), path  # no links, fifos
        want = 0o755 if stat.S_ISDIR(st.st_mode) else 0o644
        assert stat.S_IMODE(st.st_mode) == want, f"{path}: {oct(st.st_mode)}"
        assert st.st_size <= MEMBER_CAP, f"{path}: {st.st_size} bytes"


@pytest.mark.parametrize("name", [*ATTACKS, "liar"])
def test_plain_zip_collect_survives(released, tmp_path, name):
    canary = Path("/tmp/zipcollect-canary")
    shutil.rmtree(canary, ignore_errors=True)
    course, proc, honest = _collect(released, tmp_path, _builder(name))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]  # the class is collected
    for student, data in honest.items():  # each honest student's own submission, unchanged
        assert (course / "submitted" / student / LAB / f"{LAB}.ipynb").read_bytes() == data, \
            student
    for folder in (course / "submitted", course / "downloaded" / LAB / "extracted"):
        _check_tree_modes(folder)
    assert not canary.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]  # nothing beside it
    report = json.loads((course / "downloaded" / LAB / "collect_report.json").read_text())
    skipped = {s["entry"]: s["reason"] for s in report["skipped"]}
    for student in SKIPPED.get(name, []):
        hits = [e for e in skipped if f"_{student}_" in e or e.startswith(f"{student}_")]
        assert hits, f"{student} not reported: {skipped}"
        assert all(e in log for e in hits)  # and said in nbgrader's log
    if name == "setuid":
        got = course / "submitted" / "sid" / LAB / f"{LAB}.ipynb"
        assert got.read_bytes() == _honest_bytes()  # collected, without its mode bits


def _run_all(zf):
    for attack in ATTACKS.values():
        attack(zf)
    # dan has two honest attempts: the newer (right) one must be graded, to the minute
    member(zf, entry(LAB, "dan", f"{LAB}.ipynb", "2024-01-30-15-07-09"), _wrong_add_bytes())
    member(zf, entry(LAB, "dan", f"{LAB}.ipynb", "2024-01-30-15-08-00"), _honest_bytes())


def test_course_grade_zip_grades_the_class_exactly(released, tmp_path, monkeypatch):
    from test_grade import gradebook

    from course.runner.driver import grade

    # A private temp folder (short: sandbox socket paths live below it), to see leftovers.
    private = tempfile.mkdtemp(prefix="zc-", dir="/tmp")
    monkeypatch.setenv("TMPDIR", private)
    monkeypatch.setattr(tempfile, "tempdir", private)
    course = tmp_path / "course"
    shutil.copytree(released, course)
    archive = tmp_path / "export.zip"
    _build(archive, _run_all)
    # Beside the zip, in submitted/ already: a 10 GB sparse file, and a folder that is a link.
    sparse = course / "submitted" / "sparse" / LAB
    sparse.mkdir(parents=True)
    (sparse / f"{LAB}.ipynb").write_bytes(_honest_bytes())
    with open(sparse / "huge.bin", "wb") as f:
        f.truncate(10 * 1024**3)
    elsewhere = tmp_path / "elsewhere" / LAB
    elsewhere.mkdir(parents=True)
    (elsewhere / f"{LAB}.ipynb").write_bytes(_honest_bytes())
    (course / "submitted" / "linked").symlink_to(elsewhere.parent)
    run = grade(LAB, root=course, zip_path=archive, workers=2, progress=False)
    import resource

    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 * 1024**2  # KiB: < 2 GiB
    for student in ("sparse", "linked"):
        assert run.failed[student]["kind"] == "refused", run.failed.get(student)
    got = gradebook(course)
    full = {"correct_add": (2.0, 0), "correct_scale": (3.0, 0)}
    for student in ("ann", "cat", "dan", "sid"):
        assert student in run.graded, (run.graded, run.failed)
        assert got[student]["grades"] == full, student
    assert got["dan"]["timestamp"].startswith("2024-01-30 15:08:00")
    for student in ("evil", "evil2", "abs", "badts", "bomb", "link"):
        assert student not in got and student not in run.graded
    reported = " ".join(s["entry"] for s in run.collect_skipped)
    for student in ("evil", "evil2", "abs", "badts", "bomb", "link"):
        assert f"_{student}_" in reported, reported
    (course / "submitted" / "linked").unlink()
    shutil.rmtree(sparse.parent)
    for folder in (course / "submitted", course / "downloaded" / LAB / "extracted"):
        _check_tree_modes(folder)
    assert os.listdir(private) == []  # nothing left behind by the driver or the workers
    os.rmdir(private)
