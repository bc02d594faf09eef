"""Collecting an LMS export (course/collect/): names, caps, modes, attempts, the report.

These call `collect` directly with small caps; tests/adversarial/test_zip_collect.py runs
the same attacks through ``nbgrader zip_collect`` and ``course grade --zip``.
"""

from __future__ import annotations

import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.collect.names import UnsafeName, check_student_id, safe_parts
from course.collect.plan import collect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adversarial"))
from lms_zips import (  # noqa: E402
    LATER,
    SETUID,
    STAMP,
    SYMLINK,
    entry,
    lie_about_size,
    member,
    nested_zip,
    zeros_member,
)

LAB = "lab1"
CAPS = {"member_bytes": 1024**2, "student_bytes": 3 * 1024**2, "total_bytes": 8 * 1024**2,
        "max_members": 1000}


def _collect(tmp_path: Path, build, **caps):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        build(zf)
    out = tmp_path / "out"
    out.mkdir()
    return archive, out, collect([archive], out, lab=LAB, **(CAPS | caps))


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def _skipped(report) -> dict[str, str]:
    return {s["entry"]: s["reason"] for s in report.skipped}


# -- names -------------------------------------------------------------------------------------

@given(st.text(max_size=60))
def test_an_accepted_name_stays_inside(name):
    try:
        parts = safe_parts(name)
    except UnsafeName:
        return
    root = Path("/srv/out")
    target = Path(os.path.normpath(root.joinpath(*parts)))
    assert target.is_relative_to(root) and target != root
    assert all(p not in ("", ".", "..") and "/" not in p and "\\" not in p for p in parts)


@given(st.lists(st.sampled_from(["a", "..", ".", "", "/", "b/", "\\", "c:"]), min_size=1,
                max_size=6).map("".join))
def test_traversal_shapes_are_refused_or_harmless(name):
    try:
        parts = safe_parts(name)
    except UnsafeName:
        return
    assert ".." not in parts and not name.startswith("/")


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\x",
                                  "a//b", "./a", "a/\x00b", "a/\u202eb", "x/" * 40 + "y",
                                  "a" * 256])
def test_unsafe_names(name):
    with pytest.raises(UnsafeName):
        safe_parts(name)


@given(st.text(max_size=40))
def test_student_ids_are_plain_folder_names(text):
    try:
        sid = check_student_id(text)
    except UnsafeName:
        return
    assert sid == text and sid not in (".", "..") and not sid.startswith(".")
    assert safe_parts(sid) == (sid,)


# -- extraction --------------------------------------------------------------------------------

def test_modes_are_dropped_and_links_not_made(tmp_path):
    _, out, report = _collect(tmp_path, lambda zf: (
        member(zf, entry(LAB, "ann", "lab1.ipynb"), b"{}", SETUID),
        member(zf, entry(LAB, "ann", "run.sh"), b"#!/bin/sh", 0o100777),
        member(zf, entry(LAB, "bob", "lab1.ipynb"), b"/etc/shadow", SYMLINK),
        member(zf, entry(LAB, "cal", "dir") + "/sub/lab1.ipynb", b"{}", 0o104777)))
    for path in [out, *out.rglob("*")]:
        st_ = os.lstat(path)
        assert stat.S_IMODE(st_.st_mode) == (0o755 if stat.S_ISDIR(st_.st_mode) else 0o644)
        assert stat.S_ISDIR(st_.st_mode) or stat.S_ISREG(st_.st_mode)
    assert sorted(report.collected) == ["ann", "cal"]
    assert _skipped(report) == {entry(LAB, "bob", "lab1.ipynb"): "a symbolic link"}
    assert _files(out)[f"cal/{STAMP}/sub/lab1.ipynb"] == b"{}"


def test_sizes_are_counted_while_streaming(tmp_path):
    def build(zf):
        member(zf, entry(LAB, "ann", "lab1.ipynb"), b"ok")
        zeros_member(zf, entry(LAB, "big", "lab1.ipynb"), 64 * 1024**2)  # 64 MiB, says so
        zeros_member(zf, entry(LAB, "liar", "lab1.ipynb"), 64 * 1024**2)
        zeros_member(zf, entry(LAB, "low", "lab1.ipynb"), 2 * 1024**2)

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        build(zf)
    lie_about_size(archive, entry(LAB, "liar", "lab1.ipynb"), 100)  # says 100 bytes
    lie_about_size(archive, entry(LAB, "low", "lab1.ipynb"), 10)
    out = tmp_path / "out"
    out.mkdir()
    report = collect([archive], out, lab=LAB, **CAPS)
    skipped = _skipped(report)
    assert sorted(report.collected) == ["ann"]
    assert "cap per file" in skipped[entry(LAB, "big", "lab1.ipynb")]
    for liar in ("liar", "low"):  # stops at the claimed size, then the CRC fails
        assert "unreadable member" in skipped[entry(LAB, liar, "lab1.ipynb")]
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) == 2


def test_caps_per_student_and_in_all(tmp_path):
    blob = os.urandom(900 * 1024)  # incompressible, under the per-file cap

    def build(zf):
        for i in range(5):
            member(zf, entry(LAB, "hog", f"f{i}.bin"), blob)
        for student in ("s1", "s2", "s3", "s4", "s5", "s6"):
            member(zf, entry(LAB, student, "lab1.ipynb"), blob)

    _, out, report = _collect(tmp_path, build, total_bytes=6 * 1024**2)
    assert len(report.collected["hog"]["files"]) == 3  # 3 x 900 KiB of a 3 MiB cap
    assert sum("per student" in r for r in _skipped(report).values()) == 2
    assert sum("whole collection" in r for r in _skipped(report).values()) >= 1
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert total <= 6 * 1024**2


# -- whose upload, which attempt ---------------------------------------------------------------

def test_a_student_id_comes_from_the_top_level_entry_only(tmp_path):
    _, out, report = _collect(tmp_path, lambda zf: (
        member(zf, entry(LAB, "ann", "lab1.ipynb"), b"ann's"),
        member(zf, entry(LAB, "mal", "up.zip"), nested_zip({
            entry(LAB, "ann", "lab1.ipynb", LATER): b"mal's"})),
        member(zf, entry(LAB, "mal", "d") + "/" + entry(LAB, "ann", "lab1.ipynb", LATER),
               b"mal's")))
    files = _files(out)
    assert files[f"ann/{STAMP}/lab1.ipynb"] == b"ann's"
    assert [f for f in files if f.startswith("ann/")] == [f"ann/{STAMP}/lab1.ipynb"]
    assert sorted(report.collected) == ["ann", "mal"]
    assert all(f.startswith("mal/") for f in files if files[f] != b"ann's")


def test_newest_attempt_wins_and_older_ones_are_listed(tmp_path):
    _, out, report = _collect(tmp_path, lambda zf: (
        member(zf, entry(LAB, "ann", "lab1.ipynb", "2024-01-30-15-07-09"), b"old"),
        member(zf, entry(LAB, "ann", "data.csv", "2024-01-30-15-07-09"), b"old"),
        member(zf, entry(LAB, "ann", "lab1.ipynb", "2024-01-30-15-07-10"), b"new"),
        member(zf, f"{LAB}_ann_attempt_2024-01-30-15-07-11", b"no file id")))
    assert _files(out) == {"ann/2024-01-30-15-07-10/lab1.ipynb": b"new"}
    assert _skipped(report) == {f"{LAB}_ann_attempt_2024-01-30-15-07-11":
                                "name does not match the LMS pattern"}
    assert report.collected["ann"]["timestamp"] == "2024-01-30-15-07-10"
    assert len(report.superseded) == 2


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile's, writing the duplicate
def test_bad_entries_are_skipped_and_the_rest_collected(tmp_path):
    bad = ["../" + entry(LAB, "evil", "lab1.ipynb"), "/abs/" + entry(LAB, "abs", "lab1.ipynb"),
           entry(LAB, "ts", "lab1.ipynb", "2024-02-30-00-00-00"),
           entry(LAB, "a b", "lab1.ipynb"), "README.txt",
           entry(LAB, "late", "d") + "/timestamp.txt", entry(LAB, "late", "timestamp.txt"),
           entry(LAB, "dup", "lab1.ipynb")]
    _, out, report = _collect(tmp_path, lambda zf: (
        [member(zf, name, b"x") for name in bad],
        member(zf, entry(LAB, "dup", "lab1.ipynb"), b"y"),
        member(zf, entry(LAB, "ann", "lab1.ipynb"), b"ann's")))
    skipped = _skipped(report)
    assert set(skipped) == set(bad[:7]) | {entry(LAB, "dup", "lab1.ipynb")}
    assert "unreadable timestamp" in skipped[bad[2]]
    assert sorted(report.collected) == ["ann", "dup"]
    assert _files(out)[f"dup/{STAMP}/lab1.ipynb"] == b"x"  # the first one, not replaced


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1,
                        max_size=24), min_size=1, max_size=4))
def test_any_member_name_lands_under_out_or_is_reported(tmp_path_factory, names):
    tmp = tmp_path_factory.mktemp("names")
    names = [entry(LAB, "ann", "lab1.ipynb") + "/" + "/".join(names), "/".join(names)]
    _, out, report = _collect(tmp, lambda zf: [member(zf, n, b"z") for n in names])
    seen = {p.resolve() for p in tmp.rglob("*")}
    assert all(p.is_relative_to(tmp) for p in seen)
    inside = [p for p in out.rglob("*") if p.is_file()]
    files = {n for n in names if not n.endswith("/")}  # a "name/" member is a folder entry
    assert len(inside) + len(report.skipped) == len(files)
    assert all(p.relative_to(out).parts[0] == "ann" for p in inside)


def test_every_second_of_a_day_picks_the_right_attempt(tmp_path):
    """1,440 students (one per minute of a day) with 60 attempts each (every second of their
    minute, shuffled): each must get their :59 attempt, stamped to the second."""
    import random
    from datetime import datetime, timedelta

    day = datetime(2024, 1, 30)
    seconds = list(range(86_400))
    random.Random(14).shuffle(seconds)

    def build(zf):
        for s in seconds:
            moment = day + timedelta(seconds=s)
            zf.writestr(entry(LAB, f"s{s // 60:04d}", "lab1.ipynb",
                              moment.strftime("%Y-%m-%d-%H-%M-%S")), str(s))

    _, out, report = _collect(tmp_path, build, max_members=100_000)
    assert not report.skipped and len(report.superseded) == 86_400 - 1_440
    assert len(report.collected) == 1_440
    for minute in range(1_440):
        newest = day + timedelta(minutes=minute, seconds=59)
        stamp = newest.strftime("%Y-%m-%d-%H-%M-%S")
        assert report.collected[f"s{minute:04d}"]["timestamp"] == stamp
        assert (out / f"s{minute:04d}" / stamp / "lab1.ipynb").read_text() == str(
            minute * 60 + 59)


@pytest.mark.parametrize("umask", [0o077, 0o000])
def test_modes_do_not_depend_on_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        _, out, _ = _collect(tmp_path, lambda zf: member(
            zf, entry(LAB, "ann", "d") + "/a/b/lab1.ipynb", b"{}", 0o100600))
    finally:
        os.umask(old)
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(os.lstat(p).st_mode)
             for p in out.rglob("*")}
    assert modes == {"ann": 0o755, f"ann/{STAMP}": 0o755, f"ann/{STAMP}/a": 0o755,
                     f"ann/{STAMP}/a/b": 0o755, f"ann/{STAMP}/a/b/lab1.ipynb": 0o644}
