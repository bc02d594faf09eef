"""File operations of the trusted side in folders the sandbox can write.

Code in the sandbox may swap any name in its shared folder for a symlink, a FIFO, another
folder or a socket of its own, at any moment. So the trusted side works relative to a
directory descriptor it opened itself, never follows a link (``O_NOFOLLOW``), never opens
what it only means to remove, checks the type of what it opened, and never recurses:
a folder 100,000 levels deep costs time, not the trusted process.
"""

from __future__ import annotations

import errno
import os
import stat

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WINDOW = 64  # directory descriptors remove_tree keeps open at most (the deepest ones)


class Swapped(OSError):
    """A name in a sandbox-writable folder is not what the trusted side made or expects."""


def open_dir(name: str, dir_fd: int | None = None) -> int:
    """A descriptor of the directory ``name`` (relative to ``dir_fd``), never via a link."""
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def make_dir(name: str, dir_fd: int, mode: int = 0o755) -> int:
    """Create ``name`` in ``dir_fd`` and return a descriptor of it; fail if it existed or
    was swapped for something that is not ours between the two steps."""
    os.mkdir(name, mode, dir_fd=dir_fd)
    fd = open_dir(name, dir_fd)
    if os.fstat(fd).st_uid != os.geteuid():
        os.close(fd)
        raise Swapped(errno.EEXIST, "the new folder was swapped", name)
    return fd


def write_new(name: str, data: bytes, dir_fd: int, mode: int = 0o644) -> None:
    """Write a new file ``name`` in ``dir_fd``: never an existing file, never via a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, mode, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        os.fchmod(f.fileno(), mode)  # the mode asked for, whatever the umask


def pin_socket(name: str, dir_fd: int, owners: tuple[int, ...]) -> int:
    """An ``O_PATH`` descriptor of the Unix socket ``name`` in ``dir_fd``.

    Connecting to ``/proc/self/fd/<it>`` reaches exactly this inode, whatever the name
    points to later: a symlink, another file type, a socket of another owner or on another
    filesystem (a hard link to a host socket) is refused.
    """
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    st, folder = os.fstat(fd), os.fstat(dir_fd)
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid not in owners or st.st_dev != folder.st_dev:
        os.close(fd)
        raise Swapped(errno.EPERM, "not the kernel's socket", name)
    return fd


def _open_for_removal(name: str, dir_fd: int) -> int | None:
    """A descriptor of the directory ``name`` to empty it; None if it is not a directory.

    A folder the sandbox made unreadable is made readable first when it is ours (grading
    without root: the sandbox's uid is ours); root reads it anyway.
    """
    try:
        return open_dir(name, dir_fd)
    except OSError as error:
        if error.errno in (errno.ENOTDIR, errno.ELOOP, errno.ENOENT):
            return None
        if error.errno != errno.EACCES:
            raise
    path_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(path_fd)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise PermissionError(errno.EACCES, "unreadable folder", name)
        os.chmod(f"/proc/self/fd/{path_fd}", 0o700)  # this very inode, not a path
    finally:
        os.close(path_fd)
    return open_dir(name, dir_fd)


def remove_tree(name: str, dir_fd: int | None = None) -> int:
    """Remove ``name`` and everything below it; return how many entries could not be
    removed (0: all gone). Never raises, never follows a link, never recurses."""
    try:
        parent = os.dup(dir_fd) if dir_fd is not None else os.open(".", DIR_FLAGS)
    except OSError:
        return 1
    try:
        return _remove_tree(parent, name)
    except Exception:  # noqa: BLE001 - a cleanup must never take the grading down with it
        return 1
    finally:
        os.close(parent)


class _Level:
    """One folder on remove_tree's path: its name, descriptor (None: closed to save
    descriptors, reopened by name from above), sub-folders still to empty, listings done."""

    def __init__(self, name: str):
        self.name, self.fd, self.pending, self.listed = name, None, None, 0


def _remove_tree(top: int, name: str) -> int:
    failed = 0
    path: list[_Level] = [_Level(name)]
    while path:
        level = path[-1]
        fd = _reopen(top, path)
        if fd is None:  # not a directory (any more): a plain entry to unlink
            path.pop()
            failed += _unlink(level.name, _parent_fd(top, path))
            continue
        if not level.pending:
            if level.listed >= 2:  # listed twice and still not empty: give up on it
                level.pending = []
            else:
                level.listed += 1
                level.pending, bad = _empty_files(fd)
                failed += bad
        if level.pending:
            path.append(_Level(level.pending.pop()))
            _trim(path)
            continue
        os.close(fd)
        level.fd = None
        path.pop()
        try:
            os.rmdir(level.name, dir_fd=_parent_fd(top, path))
        except FileNotFoundError:
            pass
        except OSError:
            failed += 1
    return failed


def _parent_fd(top: int, path: list[_Level]) -> int:
    return _reopen(top, path) if path else top


def _reopen(top: int, path: list[_Level]) -> int | None:
    """The descriptor of ``path[-1]``, reopening closed levels by name from the nearest
    open one (never through ``..``: the sandbox may have moved folders)."""
    start = len(path)
    while start > 0 and path[start - 1].fd is None:
        start -= 1
    fd = path[start - 1].fd if start else top
    for i in range(start, len(path)):
        level = path[i]
        try:
            level.fd = _open_for_removal(level.name, fd)
        except OSError:
            level.fd = None
        if level.fd is None:
            return None
        fd = level.fd
        behind = path[i - _WINDOW] if i >= _WINDOW else None
        if behind is not None and behind.fd is not None:
            os.close(behind.fd)
            behind.fd = None
    return fd


def _trim(path: list[_Level]) -> None:
    """Keep at most _WINDOW descriptors open: close the shallowest ones."""
    open_levels = [lv for lv in path if lv.fd is not None]
    for level in open_levels[:-_WINDOW]:
        os.close(level.fd)
        level.fd = None


def _empty_files(fd: int) -> tuple[list[str], int]:
    """Unlink every non-directory in ``fd``; return (its sub-folders, entries that failed)."""
    folders, failed = [], 0
    try:
        names = os.listdir(fd)
    except OSError:
        return [], 1
    for entry in names:
        try:
            st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
        except OSError:
            continue  # gone already
        if stat.S_ISDIR(st.st_mode):
            folders.append(entry)
        else:
            failed += _unlink(entry, fd)
    return folders, failed


def _unlink(name: str, dir_fd: int) -> int:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        return 0  # swapped for a folder: the caller lists it again
    except OSError:
        return 1
    return 0


def walk(dir_fd: int):
    """Yield ``(folder descriptor, name, lstat)`` for every entry below ``dir_fd``, without
    following links or recursing. A folder is opened only when its turn comes, and closed
    once its last sub-folder was listed: few descriptors, however deep or wide the tree."""
    refs: dict[int, int] = {}  # open folder -> its sub-folders still to list (+1 itself)
    top = os.dup(dir_fd)
    refs[top] = 1
    stack: list[tuple[int, str | None]] = [(top, None)]
    try:
        while stack:
            parent, name = stack.pop()
            try:
                fd = parent if name is None else open_dir(name, parent)
            except OSError:
                fd = -1
            if name is not None:
                _release(refs, parent)
                if fd < 0:
                    continue
                refs[fd] = 1
            try:
                names = os.listdir(fd)
            except OSError:
                names = []
            for entry in names:
                try:
                    st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    refs[fd] += 1
                    stack.append((fd, entry))
                yield fd, entry, st
            _release(refs, fd)
    finally:
        for fd in refs:
            os.close(fd)


def _release(refs: dict[int, int], fd: int) -> None:
    refs[fd] -= 1
    if refs[fd] == 0:
        del refs[fd]
        os.close(fd)


def tree_usage(dir_fd: int, *, stop_at: int | None = None) -> tuple[int, int]:
    """(bytes allocated, entries) below ``dir_fd``; stops once the bytes pass ``stop_at``."""
    total, entries = 0, 0
    tree = walk(dir_fd)
    try:
        for _fd, _name, st in tree:
            total += st.st_blocks * 512
            entries += 1
            if stop_at is not None and total > stop_at:
                break
    finally:
        tree.close()
    return total, entries


def chmod_tree(dir_fd: int, dir_mode: int, file_mode: int) -> None:
    """Set the mode of every folder and regular file below ``dir_fd``; links are left
    alone (a chmod by name would change what they point to)."""
    for fd, name, st in walk(dir_fd):
        if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
            path_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            try:
                kind = stat.S_IFMT(os.fstat(path_fd).st_mode)
                if kind in (stat.S_IFDIR, stat.S_IFREG):
                    mode = dir_mode if kind == stat.S_IFDIR else file_mode
                    os.chmod(f"/proc/self/fd/{path_fd}", mode)  # this inode, not a path
            finally:
                os.close(path_fd)
