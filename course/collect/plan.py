"""From an LMS export to each student's newest attempt, laid out for the collector.

The student id and the attempt time come only from a top-level entry's name (the first
component of a member name, or a plain file's name): what a student uploads (a folder, a
zip, files named for classmates) stays inside their own entry. For each student only the
newest attempt is collected; every entry that is not collected is reported with a reason,
and the collection goes on. The result is written as ``OUT/<student>/<stamp>/<path>``
(``<stamp>`` is ``YYYY-MM-DD-HH-MM-SS`` or ``none``) plus a report.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import timestamps
from .extract import OVER_CAP, Budget, Refused, copy_file, copy_member, member_kind
from .names import UnsafeName, check_student_id, safe_parts

# nbgrader's documented example, LAB_STUDENT_attempt_YYYY-MM-DD-HH-MM-SS_FILE, matched against
# the top-level name only; the lab prefix is optional.
DEFAULT_REGEXP = (r"(?:{lab}_)?(?P<student_id>.+?)_attempt_"
                  r"(?P<timestamp>\d{{4}}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file_id>.+)")
NO_STAMP = "none"
RESERVED = "timestamp.txt"  # written by zip_collect from the entry's time, never uploaded


@dataclass
class Report:
    collected: dict[str, dict] = field(default_factory=dict)  # student -> stamp, files
    skipped: list[dict] = field(default_factory=list)  # {"entry", "reason"}
    superseded: list[dict] = field(default_factory=list)  # older attempts, not collected

    def skip(self, entry: str, reason: str) -> None:
        self.skipped.append({"entry": entry, "reason": reason})

    def as_dict(self) -> dict:
        return {"collected": self.collected, "skipped": self.skipped,
                "superseded": self.superseded}


@dataclass
class _Upload:
    """One file of a student's attempt and where its bytes are."""

    entry: str  # the name as in the export, for the report
    student: str
    stamp: datetime | None
    parts: tuple[str, ...]  # path inside the student's submission
    archive: zipfile.ZipFile | None
    source: zipfile.ZipInfo | str


def _identify(top: str, regexp: re.Pattern) -> tuple[str, datetime | None, str | None]:
    """(student, attempt time, file id) from a top-level name; ``UnsafeName`` if none."""
    match = regexp.match(top)
    if not match or "student_id" not in match.groupdict():
        raise UnsafeName("name does not match the LMS pattern")
    groups = match.groupdict()
    student = check_student_id(groups["student_id"] or "")
    stamp = None
    if groups.get("timestamp"):
        try:
            stamp = timestamps.parse(groups["timestamp"])
        except ValueError as error:
            raise UnsafeName(f"unreadable timestamp: {error}") from error
    return student, stamp, groups.get("file_id")


def _upload(name: str, regexp, archive, source, report: Report) -> _Upload | None:
    try:
        parts = safe_parts(name)
        student, stamp, file_id = _identify(parts[0], regexp)
        if len(parts) > 1:  # a folder: its files keep their paths below it
            inside = parts[1:]
        else:  # nbgrader's rule: the file id's stem with the real file's extension
            stem = os.path.splitext(file_id)[0] if file_id else parts[0]
            inside = safe_parts(stem + os.path.splitext(parts[0])[1])
            if len(inside) != 1:
                raise UnsafeName("the file id is not a plain file name")
        if inside == (RESERVED,):
            raise UnsafeName("timestamp.txt is nbgrader's record of the submission time")
    except UnsafeName as error:
        report.skip(name, str(error))
        return None
    return _Upload(name, student, stamp, inside, archive, source)


def _scan(sources: list[Path], regexp, max_members: int, report: Report,
          opened: list) -> list[_Upload]:
    uploads = []
    for path in sources:
        if path.suffix.lower() != ".zip":
            if path.suffix.lower() in (".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar"):
                report.skip(path.name, "only zip archives are extracted")
            elif (up := _upload(path.name, regexp, None, str(path), report)) is not None:
                uploads.append(up)
            continue
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            report.skip(path.name, f"not a readable zip: {error}")
            continue
        opened.append(archive)
        members = archive.infolist()
        if len(members) > max_members:
            report.skip(path.name, f"{len(members) - max_members} members beyond the first "
                        f"{max_members:,} are not read")
        for info in members[:max_members]:
            kind = member_kind(info)
            if kind == "folder":
                continue  # folders are made for the files in them
            if kind != "file":
                report.skip(info.filename, kind)
            elif (up := _upload(info.filename, regexp, archive, info, report)) is not None:
                uploads.append(up)
    return uploads


def _newest(uploads: list[_Upload], report: Report) -> dict[str, list[_Upload]]:
    """Each student's newest attempt (an attempt without a time counts as the oldest)."""
    by_student: dict[str, list[_Upload]] = {}
    for up in uploads:
        by_student.setdefault(up.student, []).append(up)
    chosen = {}
    for student, ups in sorted(by_student.items()):
        newest = max((u.stamp for u in ups), key=lambda s: (s is not None, s or datetime.min))
        chosen[student], seen = [], set()
        for up in ups:
            if up.stamp != newest:
                report.superseded.append({"entry": up.entry, "reason": "an older attempt"})
            elif up.parts in seen:
                report.skip(up.entry, "the same file twice in one attempt")
            else:
                seen.add(up.parts)
                chosen[student].append(up)
    return chosen


def collect(sources: list[Path], out: Path, *, lab: str, regexp: str | None = None,
            member_bytes: int, student_bytes: int, total_bytes: int,
            max_members: int) -> Report:
    """Lay out the newest attempt of every student found in ``sources`` (zips and plain
    files) under the empty folder ``out``; see the module docstring."""
    pattern = re.compile(regexp or DEFAULT_REGEXP.format(lab=re.escape(lab)))
    report, opened = Report(), []
    budget = Budget(member_bytes, student_bytes, total_bytes)
    root_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        uploads = _scan(sorted(sources), pattern, max_members, report, opened)
        for student, ups in _newest(uploads, report).items():
            stamp = timestamps.format(ups[0].stamp) if ups[0].stamp else NO_STAMP
            files = []
            for up in ups:
                room, too_big = budget.room(student)
                parts = (student, stamp, *up.parts)
                try:
                    if up.archive is None:
                        n = copy_file(up.source, root_fd, parts, room)
                    else:
                        n = copy_member(up.archive, up.source, root_fd, parts, room)
                except Refused as error:
                    reason = str(error)
                    report.skip(up.entry, too_big if reason == OVER_CAP else reason)
                    continue
                budget.spend(student, n)
                files.append("/".join(up.parts))
            if files:
                report.collected[student] = {"timestamp": None if stamp == NO_STAMP else stamp,
                                             "files": files}
    finally:
        os.close(root_fd)
        for archive in opened:
            archive.close()
    return report
