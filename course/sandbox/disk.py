"""A size cap on the shared folder, the only host folder the sandbox can write.

Grading as root, the shared folder is a tmpfs of its own (``size=`` and ``nr_inodes=``):
a notebook that fills it gets "No space left on device" and nothing reaches the host's
disk; unmounting it frees everything at once, however deep the folders in it. Without
root (no mount), a ``Watchdog`` measures the folder twice a second and stops the kernel
once it is over the cap; that is weaker: between two measures a notebook may write up to
the per-file limit (``Sandbox.file_size``) more, which the cleanup then removes.
"""

from __future__ import annotations

import ctypes
import os
import threading

from . import fs

_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MNT_DETACH = 2


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def mount_tmpfs(path: str, size: int, entries: int) -> bool:
    """Mount a size-capped tmpfs on ``path`` (a folder only we can write); True if done."""
    if os.geteuid() != 0:
        return False
    options = f"size={int(size)},nr_inodes={int(entries)},mode=0700".encode()
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    return _libc().mount(b"tmpfs", os.fsencode(path), b"tmpfs", flags, options) == 0


def unmount(path: str) -> None:
    """Detach the tmpfs on ``path`` (its memory is freed once the sandbox is gone too)."""
    _libc().umount2(os.fsencode(path), _MNT_DETACH)


class Watchdog:
    """Stops the kernel (``stop(why)``) when the shared folder passes its cap."""

    def __init__(self, workspace, stop, interval: float = 0.5):
        self.workspace, self.stop_kernel, self.interval = workspace, stop, interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="shared-folder-watchdog",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        cap, most = self.workspace.shared_size, self.workspace.shared_entries
        while not self._done.wait(self.interval):
            try:
                used, entries = fs.tree_usage(self.workspace.shared_fd, stop_at=cap)
            except OSError:
                continue
            if used > cap or entries > most:
                self.stop_kernel(shared_full_message(cap, most))
                return


def shared_full_message(cap: int, entries: int) -> str:
    return (f"The notebook wrote more than {cap / 1024**2:.0f} MB (or {entries} files) into "
            "the folder it shares with the graders, so it was stopped.")


def _mounts_below(folder: str) -> list[str]:
    """Mount points strictly below ``folder`` (as /proc/self/mounts spells them: octal
    escapes for spaces and the like), deepest first."""
    prefix = folder.rstrip("/") + "/"
    found = []
    try:
        with open("/proc/self/mounts", "rb") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 1:
                    point = fields[1].decode("unicode_escape").encode("latin-1")
                    point = os.fsdecode(point)
                    if point.startswith(prefix):
                        found.append(point)
    except OSError:
        return []
    return sorted(found, key=len, reverse=True)


def discard(folder: str | os.PathLike) -> int:
    """Remove a folder that may hold sandbox workspaces (a killed grading leaves them, with
    their tmpfs mounted): detach the mounts below it, then remove it without following a
    link or recursing. Returns the entries left (0: all gone); never raises."""
    folder = os.path.abspath(os.fspath(folder))
    try:
        if os.geteuid() == 0:
            for point in _mounts_below(folder):
                unmount(point)
        parent = fs.open_dir(os.path.dirname(folder))
    except Exception:  # noqa: BLE001 - a cleanup must never take the grading down with it
        return 1
    try:
        return fs.remove_tree(os.path.basename(folder), parent)
    finally:
        os.close(parent)
