"""The trusted side's file helpers (course/sandbox/fs.py) against what a sandbox can leave:
symlinks swapped in, deep chains, hostile names, unreadable folders, FIFOs, sockets."""

from __future__ import annotations

import os
import socket
import stat
import threading

import pytest

from course.sandbox import fs


@pytest.fixture
def canary(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    secret = host / "secret"
    secret.write_bytes(b"secret\n")
    os.chmod(secret, 0o600)
    return secret


@pytest.fixture
def shared(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    fd = fs.open_dir(str(folder))
    yield folder, fd
    os.close(fd)


def test_open_dir_refuses_a_symlink(shared, canary):
    folder, fd = shared
    os.symlink(canary.parent, folder / "link")
    with pytest.raises(OSError):
        fs.open_dir("link", fd)


def test_write_new_never_writes_through_a_link_or_over_a_file(shared, canary):
    folder, fd = shared
    os.symlink(canary, folder / "args.pkl")
    with pytest.raises(FileExistsError):
        fs.write_new("args.pkl", b"payload", fd)
    assert canary.read_bytes() == b"secret\n"
    fs.write_new("fresh", b"data", fd, 0o640)
    assert stat.S_IMODE(os.lstat(folder / "fresh").st_mode) == 0o640


def test_make_dir_returns_the_folder_it_made(shared):
    folder, fd = shared
    sub = fs.make_dir("call-1", fd)
    fs.write_new("x", b"1", sub)
    os.close(sub)
    assert (folder / "call-1" / "x").read_bytes() == b"1"
    with pytest.raises(FileExistsError):
        fs.make_dir("call-1", fd)


def test_pin_socket_accepts_only_a_real_socket_in_the_folder(shared, canary, tmp_path):
    folder, fd = shared
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "kernel-ipc-1"))
    server.listen()
    pinned = fs.pin_socket("kernel-ipc-1", fd, (os.geteuid(),))
    # the name is swapped afterwards: the pinned inode is still the one connected to
    os.rename(folder / "kernel-ipc-1", folder / "moved")
    os.symlink(canary, folder / "kernel-ipc-1")
    client = socket.socket(socket.AF_UNIX)
    client.connect(f"/proc/self/fd/{pinned}")
    conn, _ = server.accept()
    conn.close(), client.close(), server.close()
    os.close(pinned)
    with pytest.raises(OSError):
        fs.pin_socket("kernel-ipc-1", fd, (os.geteuid(),))  # a symlink
    (folder / "plain").write_bytes(b"")
    with pytest.raises(fs.Swapped):
        fs.pin_socket("plain", fd, (os.geteuid(),))
    with pytest.raises(fs.Swapped):
        fs.pin_socket("moved", fd, (os.geteuid() + 1,))  # another owner
    other = socket.socket(socket.AF_UNIX)
    other.bind("/dev/shm/course-test-pin.sock" if os.path.isdir("/dev/shm") else
               str(tmp_path / "o.sock"))
    try:
        if os.path.isdir("/dev/shm"):
            os.symlink("/dev/shm/course-test-pin.sock", folder / "elsewhere")
            with pytest.raises(OSError):
                fs.pin_socket("elsewhere", fd, (os.geteuid(),))
    finally:
        other.close()
        if os.path.exists("/dev/shm/course-test-pin.sock"):
            os.unlink("/dev/shm/course-test-pin.sock")


def test_remove_tree_never_follows_links(shared, canary):
    folder, fd = shared
    (folder / "a").mkdir()
    os.symlink(canary, folder / "a" / "file-link")
    os.symlink(canary.parent, folder / "a" / "dir-link")
    os.symlink(canary.parent, folder / "top-link")
    assert fs.remove_tree("shared", fs.open_dir(str(folder.parent))) == 0
    assert not folder.exists()
    assert canary.read_bytes() == b"secret\n"
    assert stat.S_IMODE(canary.stat().st_mode) == 0o600


def test_remove_tree_of_a_link_removes_the_link_only(tmp_path, canary):
    os.symlink(canary.parent, tmp_path / "link")
    top = fs.open_dir(str(tmp_path))
    try:
        assert fs.remove_tree("link", top) == 0
    finally:
        os.close(top)
    assert canary.exists() and not os.path.lexists(tmp_path / "link")


def _deep_chain(top, depth: int, names=(b"d",)) -> None:
    fd = fs.open_dir(str(top))
    fds = [fd]
    for i in range(depth):
        name = names[i % len(names)]
        os.mkdir(name, dir_fd=fds[-1])
        fds.append(os.open(name, fs.DIR_FLAGS, dir_fd=fds[-1]))
        if len(fds) > 8:
            os.close(fds.pop(0))
    os.mkfifo("fifo", dir_fd=fds[-1])
    fs.write_new("bottom", b"y" * 4096, fds[-1])
    for f in fds:
        os.close(f)


def test_remove_tree_deep_chain_hostile_names(tmp_path):
    top = tmp_path / "shared"
    top.mkdir()
    _deep_chain(top, 3000, names=(b"d", b"new\nline", b"\xff\xfe-not-utf8", b"-rf"))
    parent = fs.open_dir(str(tmp_path))
    try:
        assert fs.remove_tree("shared", parent) == 0
    finally:
        os.close(parent)
    assert not top.exists()


def test_remove_tree_uses_few_descriptors(tmp_path):
    top = tmp_path / "shared"
    top.mkdir()
    _deep_chain(top, 1500)
    before = len(os.listdir("/proc/self/fd"))
    seen = []
    real = os.listdir

    def watch(fd):
        seen.append(len(real("/proc/self/fd")))
        return real(fd)

    parent = fs.open_dir(str(tmp_path))
    try:
        fs.os.listdir = watch
        assert fs.remove_tree("shared", parent) == 0
    finally:
        fs.os.listdir = real
        os.close(parent)
    assert max(seen) - before < 100  # the window (64) and a few more, not 1,500


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable folders anyway")
def test_remove_tree_unreadable_folders(tmp_path):
    top = tmp_path / "shared"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "f").write_bytes(b"x")
    os.chmod(top / "a" / "b", 0)
    os.chmod(top / "a", 0)
    parent = fs.open_dir(str(tmp_path))
    try:
        assert fs.remove_tree("shared", parent) == 0
    finally:
        os.close(parent)
    assert not top.exists()


def test_remove_tree_wide_folder_and_sockets(tmp_path):
    top = tmp_path / "shared"
    top.mkdir()
    for i in range(2000):
        (top / f"sub{i}").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(top / "s.sock"))
    parent = fs.open_dir(str(tmp_path))
    try:
        assert fs.remove_tree("shared", parent) == 0
    finally:
        os.close(parent)
        sock.close()
    assert not top.exists()


def test_remove_tree_never_raises(tmp_path):
    assert fs.remove_tree("missing", fs.open_dir(str(tmp_path))) == 0
    assert fs.remove_tree("x", 987654) == 1  # a bad descriptor: reported, not raised


def test_remove_tree_while_the_sandbox_swaps_names(tmp_path, canary):
    """A writer that keeps swapping folders for links during the removal: it may leave
    entries, but nothing outside is touched and the call returns."""
    top = tmp_path / "shared"
    top.mkdir()
    for i in range(200):
        (top / f"d{i}").mkdir()
        (top / f"d{i}" / "f").write_bytes(b"x")
    stop = threading.Event()

    def swap():
        i = 0
        while not stop.is_set():
            name = top / f"d{i % 200}"
            try:
                os.rename(name, top / "tmp")
                os.symlink(canary.parent, name)
            except OSError:
                pass
            i += 1

    writer = threading.Thread(target=swap)
    writer.start()
    parent = fs.open_dir(str(tmp_path))
    try:
        fs.remove_tree("shared", parent)
    finally:
        stop.set()
        writer.join()
    assert canary.read_bytes() == b"secret\n"
    assert fs.remove_tree("shared", parent) == 0  # the writer is gone: all of it goes
    os.close(parent)


def test_tree_usage_counts_without_following(shared, canary, tmp_path):
    folder, fd = shared
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "f").write_bytes(b"x" * 100_000)
    os.symlink(canary.parent, folder / "a" / "link")
    used, entries = fs.tree_usage(fd)
    assert entries == 4
    assert 100_000 <= used < 200_000  # blocks of 4 KiB: a little more than the data
    _deep_chain(folder, 1500)
    used, entries = fs.tree_usage(fd)
    assert entries == 4 + 1500 + 2
    assert fs.tree_usage(fd, stop_at=50_000)[0] > 50_000
    assert fs.remove_tree("shared", fs.open_dir(str(folder.parent))) == 0  # not for pytest


def test_chmod_tree_leaves_links_and_their_targets_alone(shared, canary):
    folder, fd = shared
    (folder / "sub").mkdir(mode=0o700)
    (folder / "sub" / "f").write_bytes(b"x")
    os.chmod(folder / "sub" / "f", 0o600)
    os.symlink(canary, folder / "sub" / "link")
    os.symlink(canary.parent, folder / "dirlink")
    os.chmod(canary.parent, 0o711)
    fs.chmod_tree(fd, 0o755, 0o644)
    assert stat.S_IMODE(os.lstat(folder / "sub").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(folder / "sub" / "f").st_mode) == 0o644
    assert stat.S_IMODE(canary.stat().st_mode) == 0o600
    assert stat.S_IMODE(canary.parent.stat().st_mode) == 0o711
