"""Which names from an archive may become paths, and which texts may be student ids.

A member name is written by the LMS and, below the top level, by the student: it is data,
never a path to trust. `safe_parts` accepts only a plain relative path (no ``..``, no
absolute or drive names, no backslashes or control characters, bounded depth and length)
and returns its components; anything else is rejected with a reason, never "cleaned" into
some other path.
"""

from __future__ import annotations

import re
import unicodedata

MAX_DEPTH = 16  # components below the top-level entry (a 1,500-deep chain is refused)
MAX_COMPONENT_BYTES = 255  # a file name on Linux
_STUDENT_ID = re.compile(r"[\w@+\-][\w.@+\-]{0,127}")


class UnsafeName(ValueError):
    """A name that must not become a path; the message is the reason."""


def safe_parts(name: str) -> tuple[str, ...]:
    """The components of the relative path ``name`` (a trailing ``/`` marks a folder)."""
    if not name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise UnsafeName("absolute name")
    if "\\" in name:
        raise UnsafeName("backslash in name")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise UnsafeName("control character in name")
    parts = tuple(name.rstrip("/").split("/"))
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafeName("'..', '.' or empty component in name")
    if len(parts) > MAX_DEPTH + 1:
        raise UnsafeName(f"deeper than {MAX_DEPTH} folders")
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_COMPONENT_BYTES for p in parts):
        raise UnsafeName(f"a component longer than {MAX_COMPONENT_BYTES} bytes")
    return parts


def check_student_id(text: str) -> str:
    """``text`` if it can be a folder name in ``submitted/`` as is; else ``UnsafeName``."""
    if not _STUDENT_ID.fullmatch(text) or text in (".", ".."):
        raise UnsafeName(f"not a usable student id: {text[:60]!r}")
    return text
