"""The attempt time in an LMS entry name: ``YYYY-MM-DD-HH-MM-SS``, exactly.

nbgrader hands this text to ``dateutil``, which reads ``-HH-MM-SS`` as a time-zone offset: of
the 86,400 seconds of a day 51,840 failed to parse (and aborted the whole collection) and
the rest lost their minutes and seconds. This parser accepts only the documented format and
turns it into the naive datetime nbgrader records, or raises ``ValueError``.
"""

from __future__ import annotations

import re
from datetime import datetime

FORMAT = "%Y-%m-%d-%H-%M-%S"
_PATTERN = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})", re.ASCII)


def parse(text: str) -> datetime:
    """``YYYY-MM-DD-HH-MM-SS`` -> datetime; ``ValueError`` for anything else."""
    match = _PATTERN.fullmatch(text)
    if not match:
        raise ValueError(f"not a YYYY-MM-DD-HH-MM-SS timestamp: {text[:40]!r}")
    return datetime(*map(int, match.groups()))  # ValueError for a 13th month, 25th hour...


def format(moment: datetime) -> str:  # noqa: A001 - the inverse of parse
    """The entry-name text of ``moment`` (seconds precision), as an LMS writes it."""
    return f"{moment.year:04d}-{moment:%m-%d-%H-%M-%S}"
