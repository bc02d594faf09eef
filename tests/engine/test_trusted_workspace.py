"""The trusted side's own guards, without a notebook run: the graders' client refuses any
connection but the kernel's pinned IPC sockets; the workspace caps the shared folder, tells
a full disk apart, never follows a student's link, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import socket
import stat
import tempfile
import time

import pytest
import zmq

from course.bridge import Bridge, KernelDead
from course.sandbox import disk, fs
from course.sandbox.ipc import KernelSocketsRefused, Pins
from course.sandbox.workspace import Workspace, WorkspaceError

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


def _connection(path, shared, **changes):
    info = {"transport": "ipc", "ip": os.path.join(shared, "kernel-ipc"), "key": "k",
            "signature_scheme": "hmac-sha256", "kernel_name": "",
            "shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
    info.update(changes)
    path.write_text(json.dumps(info))
    return str(path)


@pytest.fixture
def host_socket(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "host.sock"))
    server.listen()
    server.settimeout(0.5)
    yield server
    server.close()


def _accepted(server) -> bool:
    try:
        server.accept()[0].close()
        return True
    except (TimeoutError, OSError):
        return False


@pytest.mark.parametrize("changes", [{"transport": "tcp", "ip": "127.0.0.1"},
                                     {"ip": "/elsewhere/kernel-ipc"}])
def test_bridge_refuses_any_other_connection(tmp_path, changes):
    shared = tmp_path / "shared"
    shared.mkdir()
    bridge = Bridge(_connection(tmp_path / "trusted.json", str(shared), **changes), str(shared))
    try:
        with pytest.raises(KernelDead, match="refused to connect"):
            bridge.call("add", 1, 2)
    finally:
        bridge.close()


def test_bridge_refuses_swapped_kernel_sockets(tmp_path, host_socket):
    shared = tmp_path / "shared"
    shared.mkdir()
    for port in range(1, 6):
        os.symlink(host_socket.getsockname(), shared / f"kernel-ipc-{port}")
    bridge = Bridge(_connection(tmp_path / "trusted.json", str(shared)), str(shared))
    try:
        with pytest.raises(KernelDead, match="replaced or removed"):
            bridge.call("add", 1, 2)
    finally:
        bridge.close()
    assert not _accepted(host_socket)


def test_pinned_zmq_socket_survives_a_swapped_name(tmp_path, host_socket):
    shared = tmp_path / "shared"
    shared.mkdir()
    ctx = zmq.Context()
    server = ctx.socket(zmq.REP)
    server.bind(f"ipc://{shared}/kernel-ipc-7")
    pins = Pins(str(shared), "kernel-ipc", (os.geteuid(),))
    try:
        pins.check("ipc", f"{shared}/kernel-ipc")
        with pytest.raises(KernelSocketsRefused):
            pins.check("tcp", "127.0.0.1")
        url = pins.url(7)
        os.rename(shared / "kernel-ipc-7", shared / "moved")
        os.symlink(host_socket.getsockname(), shared / "kernel-ipc-7")
        client = ctx.socket(zmq.REQ)
        client.connect(url)
        client.send(b"ping")
        assert server.poll(5000) and server.recv() == b"ping"
        server.send(b"pong")
        assert client.recv() == b"pong"
        client.close(0)
    finally:
        pins.close()
        server.close(0)
        ctx.term()
    assert not _accepted(host_socket)


def _mounted(path: str) -> bool:
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


@as_root
def test_shared_folder_is_a_capped_tmpfs_and_goes_away(tmp_path):
    (tmp_path / "sub.ipynb").write_text("{}")
    ws = Workspace(str(tmp_path), shared_size=4 * 1024**2, shared_entries=1000)
    try:
        assert ws.capped and _mounted(ws.shared) and not ws.needs_watchdog
        with pytest.raises(OSError) as error, open(os.path.join(ws.shared, "big"), "wb") as f:
            for _ in range(8):
                f.write(b"x" * 1024**2)
                f.flush()
        assert error.value.errno == 28  # ENOSPC
        assert stat.S_IMODE(os.stat(ws.root).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(ws.trusted).st_mode) == 0o700
    finally:
        ws.close()
    assert not os.path.exists(ws.root) and not _mounted(ws.shared)


def test_watchdog_stops_the_kernel_past_the_cap(tmp_path, monkeypatch):
    """Without root there is no tmpfs: the watchdog measures and stops the kernel."""
    monkeypatch.setattr(disk, "mount_tmpfs", lambda *a: False)
    (tmp_path / "sub.ipynb").write_text("{}")
    ws = Workspace(str(tmp_path), shared_size=1024**2, shared_entries=1000)
    stopped = []
    dog = disk.Watchdog(ws, stopped.append, interval=0.05)
    try:
        assert ws.needs_watchdog
        dog.start()
        time.sleep(0.3)
        assert stopped == []  # under the cap: nothing happens
        with open(os.path.join(ws.shared, "big"), "wb") as f:
            f.write(os.urandom(2 * 1024**2))
        deadline = time.monotonic() + 5
        while not stopped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stopped and "wrote more than 1 MB" in stopped[0]
    finally:
        dog.stop()
        ws.close()
    assert not os.path.exists(ws.root)


@as_root
def test_a_full_temp_disk_is_reported_not_raised(tmp_path, monkeypatch):
    small = tmp_path / "small-tmp"
    small.mkdir()
    assert disk.mount_tmpfs(str(small), 256 * 1024, 100)
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        sub = tmp_path / "sub"
        sub.mkdir()
        (sub / "data.bin").write_bytes(b"x" * 1024**2)
        with pytest.raises(WorkspaceError, match="temporary disk is full"):
            Workspace(str(sub))
        assert os.listdir(small) == []  # the half-made copy was removed
    finally:
        disk.unmount(str(small))


@as_root
def test_links_in_the_submission_are_never_followed(tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    secret = host / "secret"
    secret.write_bytes(b"secret\n")
    os.chmod(secret, 0o600)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "link").symlink_to(secret)
    (sub / "dirlink").symlink_to(host)
    os.chmod(host, 0o711)
    (sub / "mine.txt").write_text("x")
    os.chmod(sub / "mine.txt", 0o600)
    ws = Workspace(str(sub))
    try:
        ws.give_to(61234)
        assert stat.S_IMODE(os.stat(os.path.join(ws.submission, "mine.txt")).st_mode) == 0o644
        assert os.stat(ws.shared).st_uid == 61234
    finally:
        ws.close()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(host.stat().st_mode) == 0o711


def test_close_never_raises_and_removes_what_the_sandbox_left(tmp_path):
    (tmp_path / "sub.ipynb").write_text("{}")
    ws = Workspace(str(tmp_path))
    top = fs.open_dir(ws.shared)
    fd = top
    for _ in range(1500):
        os.mkdir("d", dir_fd=fd)
        new = fs.open_dir("d", fd)
        if fd != top:
            os.close(fd)
        fd = new
    os.mkfifo("fifo", dir_fd=fd)
    os.close(fd)
    os.close(top)
    os.symlink("/etc", os.path.join(ws.shared, "etc-link"))
    ws.close()
    ws.close()  # twice: still no error
    assert not os.path.exists(ws.root)


@as_root
def test_discard_removes_what_a_killed_grading_left(tmp_path):
    """A grading killed mid-run leaves its workspace with the tmpfs still mounted (and the
    sandbox's deep folders in it): the run folder's cleanup detaches and removes it all."""
    run = tmp_path / "cgrun-1-x"
    shared = run / "t" / "course-sandbox-x" / "shared"
    shared.mkdir(parents=True)
    assert disk.mount_tmpfs(str(shared), 8 * 1024**2, 10_000)
    fd = fs.open_dir(str(shared))
    for _ in range(1200):
        os.mkdir("d", dir_fd=fd)
        new = fs.open_dir("d", fd)
        os.close(fd)
        fd = new
    os.symlink(str(tmp_path), "up", dir_fd=fd)
    os.close(fd)
    (tmp_path / "keep").write_text("kept")
    assert disk.discard(run) == 0
    assert not run.exists() and not _mounted(str(shared))
    assert (tmp_path / "keep").read_text() == "kept"
