"""Crafted LMS exports (zips of submissions) for the zip-collection attacks.

Names follow nbgrader's documented example, ``LAB_STUDENT_attempt_YYYY-MM-DD-HH-MM-SS_FILE``.
Every hostile member is built here with ``zipfile`` (and a byte patch where the format has to
lie), so the tests say exactly what each attack is.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from pathlib import Path

STAMP = "2024-01-30-15-07-09"  # minutes and seconds set: nbgrader's parser got these wrong
LATER = "2099-12-31-23-00-00"  # a newer "attempt" for a classmate (HH-00-00: parsed today)


def entry(lab: str, student: str, file: str, stamp: str = STAMP) -> str:
    return f"{lab}_{student}_attempt_{stamp}_{file}"


def member(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o100644,
           compress: int = zipfile.ZIP_DEFLATED) -> None:
    """Write ``data`` as ``name`` with the unix mode ``mode`` in the external attributes."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 30, 15, 7, 8))
    info.external_attr = (mode & 0xFFFF) << 16
    info.create_system = 3  # unix: the mode bits are meant to be honoured
    info.compress_type = compress
    zf.writestr(info, data)


def zeros_member(zf: zipfile.ZipFile, name: str, size: int) -> None:
    """A member of ``size`` zero bytes, streamed in (a 1.5 GiB one deflates to ~1.5 MB)."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 30, 15, 7, 8))
    info.compress_type = zipfile.ZIP_DEFLATED
    chunk = bytes(16 * 1024**2)
    with zf.open(info, "w", force_zip64=size >= 2**31) as out:
        left = size
        while left:
            out.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))


def nested_zip(members: dict[str, bytes]) -> bytes:
    """A zip (as bytes) a student uploads: it ends up as one member of the LMS export."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def lie_about_size(path: Path, name: str, claimed: int) -> None:
    """Patch ``name``'s uncompressed size in both its local and central headers to ``claimed``
    (the data stays as it is): a reader that trusts the header is fooled."""
    raw = bytearray(path.read_bytes())
    encoded = name.encode()
    central = raw.find(b"PK\x01\x02")
    patched = 0
    while central != -1:
        (name_len,) = struct.unpack_from("<H", raw, central + 28)
        if raw[central + 46:central + 46 + name_len] == encoded:
            struct.pack_into("<I", raw, central + 24, claimed)
            (local,) = struct.unpack_from("<I", raw, central + 42)
            assert raw[local:local + 4] == b"PK\x03\x04"
            struct.pack_into("<I", raw, local + 22, claimed)
            patched += 1
        central = raw.find(b"PK\x01\x02", central + 4)
    assert patched == 1, f"{name} not found once in {path}"
    path.write_bytes(bytes(raw))


SETUID = stat.S_IFREG | stat.S_ISUID | stat.S_ISGID | 0o777
SYMLINK = stat.S_IFLNK | 0o777
