"""The host folders of one sandboxed run, under a private (0700) root:

- ``submission/``: a private copy of the student's folder; the sandbox reads it (read-only)
  and copies it into its own home, so nothing it does can change what nbgrader later writes;
- ``shared/``: the only folder the sandbox can write (bind-mounted): the kernel's IPC
  sockets, its connection file, the bridge's call folders. Size-capped (``disk``). The
  trusted side never follows a path in it (``fs``);
- ``trusted/``: never mounted in the sandbox: the graders' copy of the connection, their
  results and log.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile

from . import disk, fs


class WorkspaceError(RuntimeError):
    """The run's folders could not be made (the host's temp disk is full, say)."""


def _disk_full(error: BaseException) -> bool:
    if isinstance(error, shutil.Error):  # copytree gathers its errors as text
        return any("[Errno 28]" in str(e) or "[Errno 122]" in str(e) for e in error.args[0])
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_message(error: BaseException, what: str) -> str:
    """What the student reads: the cause, never a host path."""
    if _disk_full(error):
        return (f"{what}: the grading machine's temporary disk is full. This is not your "
                "fault; ask your instructor to grade your submission again.")
    if isinstance(error, RecursionError):
        return f"{what}: the submitted folder is nested too deeply."
    if isinstance(error, shutil.Error):
        return f"{what}: {len(error.args[0])} of its files could not be copied."
    return f"{what}: {getattr(error, 'strerror', None) or type(error).__name__}."


class Workspace:
    """Temporary host folders of one sandboxed run (see the module docstring)."""

    def __init__(self, submission_dir: str, *, shared_size: int = 0,
                 shared_entries: int = 100_000):
        self.shared_size, self.shared_entries = shared_size, shared_entries
        self.root = tempfile.mkdtemp(prefix="course-sandbox-")  # 0700, ours
        self.root_fd = fs.open_dir(self.root)
        self.submission = os.path.join(self.root, "submission")
        self.shared = os.path.join(self.root, "shared")
        self.trusted = os.path.join(self.root, "trusted")
        self.capped = False
        self.shared_fd = self.trusted_fd = -1
        try:
            for name in ("shared", "trusted"):
                os.mkdir(name, 0o700, dir_fd=self.root_fd)
            self.trusted_fd = fs.open_dir("trusted", self.root_fd)
            if shared_size:
                self.capped = disk.mount_tmpfs(self.shared, shared_size, shared_entries)
            self.shared_fd = fs.open_dir("shared", self.root_fd)
            # symlinks=True: a link to a course file must stay a (dangling) link, never a copy.
            shutil.copytree(submission_dir, self.submission, symlinks=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        except (OSError, RecursionError) as error:
            self.close()
            raise WorkspaceError(disk_message(error, "Your submission could not be "
                                              "prepared for grading")) from None

    @property
    def needs_watchdog(self) -> bool:
        """A cap was asked for, but there is no tmpfs to enforce it (no root)."""
        return bool(self.shared_size) and not self.capped

    def give_to(self, uid: int) -> None:
        """Let the sandbox's uid write the shared folder and read the submission's copy
        (only when grading as root). Descriptors, not paths: links are never followed."""
        if uid and os.geteuid() == 0:
            os.fchown(self.shared_fd, uid, uid)
            os.fchmod(self.shared_fd, 0o700)
            submission = fs.open_dir("submission", self.root_fd)
            try:
                os.fchmod(submission, 0o755)
                fs.chmod_tree(submission, 0o755, 0o644)
            finally:
                os.close(submission)

    def write_trusted(self, name: str, data: bytes) -> str:
        """Write a file the sandbox can neither see nor change; return its path."""
        fs.write_new(name, data, self.trusted_fd, 0o600)
        return os.path.join(self.trusted, name)

    def close(self) -> None:
        """Remove everything; never raises (a failure is left for the next cleanup)."""
        for fd in (self.shared_fd, self.trusted_fd):
            if fd >= 0:
                os.close(fd)
        self.shared_fd = self.trusted_fd = -1
        if self.capped:
            disk.unmount(self.shared)
            self.capped = False
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1
            parent = fs.open_dir(os.path.dirname(self.root))
            try:
                fs.remove_tree(os.path.basename(self.root), parent)
            finally:
                os.close(parent)
