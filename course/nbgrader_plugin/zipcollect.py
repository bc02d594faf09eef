"""``nbgrader zip_collect`` made safe: an extractor and a collector that replace nbgrader's.

nbgrader's own pair extracts everything (mode bits, setuid included, and any size), takes
the student id from a file's name at any depth (so a file in one student's upload can
replace a classmate's submission), parses the documented timestamp wrongly, and aborts the
whole class on one bad entry. Here `SafeExtractor` does the deciding (course.collect.plan:
the student and time come from the top-level entry only, newest attempt, capped and
mode-less extraction, bad entries skipped and reported) and lays each student's attempt out
as ``extracted/<student>/<stamp>/<path>``; `TopLevelCollector` only reads that layout back
for nbgrader, which then copies the files into ``submitted/`` as usual. The report is
logged and written to ``downloaded/<lab>/collect_report.json``.

Both are set in the course's nbgrader_config.py, so plain ``nbgrader zip_collect LAB`` uses
them; ``course grade --zip`` also passes them on the command line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Int

from ..collect import timestamps
from ..collect.names import UnsafeName, check_student_id, safe_parts
from ..collect.plan import NO_STAMP, collect

REPORT = "collect_report.json"


class SafeExtractor(ExtractorPlugin):
    max_member_bytes = Int(64 * 1024**2, help="decompressed bytes per file").tag(config=True)
    max_student_bytes = Int(200 * 1024**2, help="decompressed bytes per student").tag(
        config=True)
    max_total_bytes = Int(4 * 1024**3, help="decompressed bytes in all").tag(config=True)
    max_members = Int(50_000, help="members read per archive").tag(config=True)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        collector = getattr(self.parent, "collector_plugin_inst", None)
        if not isinstance(collector, TopLevelCollector):
            raise RuntimeError("SafeExtractor needs ZipCollectApp.collector_plugin = "
                               "course.nbgrader_plugin.zipcollect.TopLevelCollector")
        sources = []
        for dirpath, dirs, files in os.walk(archive_path):  # the instructor's own folder
            dirs.sort()
            sources += [Path(dirpath, f) for f in sorted(files)]
        report = collect(sources, Path(extracted_path), lab=self.parent.coursedir.assignment_id,
                         regexp=collector.named_regexp or None,
                         member_bytes=self.max_member_bytes,
                         student_bytes=self.max_student_bytes,
                         total_bytes=self.max_total_bytes, max_members=self.max_members)
        for skipped in report.skipped:
            self.log.warning("Skipped %s: %s", skipped["entry"], skipped["reason"])
        for old in report.superseded:
            self.log.info("Not collected (%s): %s", old["reason"], old["entry"])
        self.log.info("Extracted the newest attempt of %d students, skipped %d entries",
                      len(report.collected), len(report.skipped))
        path = Path(extracted_path).parent / REPORT
        path.write_text(json.dumps(report.as_dict(), indent=1, sort_keys=True) + "\n")


class TopLevelCollector(FileNameCollectorPlugin):
    """Reads back `SafeExtractor`'s layout; ``named_regexp`` is applied by the extractor, to
    top-level entry names only (default: nbgrader's documented example)."""

    def collect(self, submitted_file: str) -> dict | None:
        root = self.parent._format_collect_path(self.parent.extracted_directory)
        rel = os.path.relpath(submitted_file, root)
        try:
            student, stamp, *parts = safe_parts(rel.replace(os.sep, "/"))
            check_student_id(student)
            moment = None if stamp == NO_STAMP else timestamps.parse(stamp)
        except (UnsafeName, ValueError):
            self.log.warning("Not laid out by SafeExtractor, skipped: %s", submitted_file)
            return None
        if not parts or os.path.splitext(parts[-1])[1] not in self.valid_ext:
            return None
        return {"student_id": student, "file_id": "/".join(parts), "timestamp": moment}
