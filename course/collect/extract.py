"""Writing one archive member (or one plain file) into a fresh folder, capped and mode-less.

Sizes are counted on the bytes actually decompressed, while streaming: a header's size is
only used to refuse early, never to allow (a member may say 1 KB and inflate to 1.5 GiB).
Files are created 0644 and folders 0755 whatever the archive says (no setuid, no exec
bits), with ``O_EXCL | O_NOFOLLOW`` relative to folder descriptors, so a name can neither
replace another file nor follow a link. A failed copy leaves no partial file.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from dataclasses import dataclass, field

CHUNK = 1024**2
FILE_MODE, DIR_MODE = 0o644, 0o755
OVER_CAP = "over the size cap"


class Refused(Exception):
    """A member that is not written; the message is the reason, for the report."""


@dataclass
class Budget:
    """Decompressed bytes allowed per member, per student and for the whole collection."""

    member_bytes: int
    student_bytes: int
    total_bytes: int
    used: int = 0
    by_student: dict[str, int] = field(default_factory=dict)

    def room(self, student: str) -> tuple[int, str]:
        """Bytes the next file of ``student`` may have, and the reason if it has more."""
        return min((self.member_bytes, f"larger than the {self.member_bytes:,}-byte cap per file"),
                   (self.student_bytes - self.by_student.get(student, 0),
                    f"over the {self.student_bytes:,}-byte cap per student"),
                   (self.total_bytes - self.used,
                    f"over the {self.total_bytes:,}-byte cap of the whole collection"))

    def spend(self, student: str, n: int) -> None:
        self.used += n
        self.by_student[student] = self.by_student.get(student, 0) + n


def member_kind(info: zipfile.ZipInfo) -> str:
    """``"file"``, ``"folder"`` or the reason the member is no regular file."""
    mode = info.external_attr >> 16
    if info.is_dir():
        return "folder"
    if info.create_system == 3 and mode:  # unix: the type bits mean something
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            return "a symbolic link"
        if kind == stat.S_IFDIR:
            return "folder"
        if kind not in (0, stat.S_IFREG):
            return "a special file (device, fifo or socket)"
    return "file"


def _folder_fd(root_fd: int, parts: tuple[str, ...]) -> int:
    """A descriptor of ``root/parts...``, making missing folders 0755 (never via a link)."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            try:
                os.mkdir(part, DIR_MODE, dir_fd=fd)
                made = True
            except FileExistsError:
                made = False
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                              dir_fd=fd)
            except OSError as error:  # a file of that name, already written
                raise Refused(f"'{part}' is a file and a folder at once") from error
            os.close(fd)
            fd = nxt
            if made:
                os.fchmod(fd, DIR_MODE)  # whatever the umask
        return fd
    except BaseException:
        os.close(fd)
        raise


def write_stream(read, root_fd: int, parts: tuple[str, ...], limit: int) -> int:
    """Copy ``read(n)`` until it is exhausted into ``root/parts``: the number of bytes, or
    ``Refused`` once more than ``limit`` bytes come out (the partial file is removed)."""
    limit = max(0, limit)  # read(-n) would read everything
    folder = _folder_fd(root_fd, parts[:-1])
    try:
        try:
            fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, FILE_MODE, dir_fd=folder)
        except FileExistsError as error:
            raise Refused("the same path twice in one upload") from error
        except IsADirectoryError as error:
            raise Refused(f"'{parts[-1]}' is a file and a folder at once") from error
        written = 0
        try:
            os.fchmod(fd, FILE_MODE)
            while chunk := read(min(CHUNK, limit + 1 - written)):
                written += len(chunk)
                if written > limit:
                    raise Refused(OVER_CAP)
                _write_all(fd, chunk)
        except BaseException:
            os.close(fd)
            os.unlink(parts[-1], dir_fd=folder)
            raise
        os.close(fd)
        return written
    finally:
        os.close(folder)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, root_fd: int,
                parts: tuple[str, ...], limit: int) -> int:
    """Decompress ``info`` into ``root/parts``, at most ``limit`` bytes; see `write_stream`."""
    if info.file_size > limit:  # the header may lie low, never high: refuse at once
        raise Refused(OVER_CAP)
    try:
        with archive.open(info) as src:
            return write_stream(src.read, root_fd, parts, limit)
    except Refused:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError) as error:  # corrupt, lying, encrypted or unsupported compression
        raise Refused(f"unreadable member: {error}") from error


def copy_file(path: str, root_fd: int, parts: tuple[str, ...], limit: int) -> int:
    """Copy the regular file ``path`` (never through a link) into ``root/parts``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise Refused(f"not readable as a regular file: {error.strerror}") from error
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("not a regular file")
        if st.st_size > limit:
            raise Refused(OVER_CAP)
        return write_stream(lambda n: os.read(fd, n), root_fd, parts, limit)
    finally:
        os.close(fd)
