"""What the trusted-side attacks aim at on the host, and how a test sees whether they got it.

- ``Canaries``: root-owned 0600 files (and a folder) that the attacks point symlinks at;
  afterwards their mode and content must be unchanged.
- ``Listeners``: a TCP service on the host's loopback and Unix sockets on the host that
  the attacks try to redirect the graders' kernel client to; they count connections.
- ``TempWatch``: the batch runs with its own ``TMPDIR``; a sampler records the peak bytes
  under it while grading, and what is left afterwards.
- ``grade``: the tiny lab's batch (plain ``nbgrader autograde``) beside honest controls.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from pathlib import Path

from tiny_course import LAB, SOURCE, make_course

from course.authoring.batch import grade_parallel
from course.runner.nbgrader_cmd import nbgrader
from course.sandbox import fs

HONEST = {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}

CONFIG = """
c.SandboxedExecute.timeout = 20
c.SandboxedExecute.call_timeout = 3
c.Sandbox.tmpfs_size = 128 * 1024**2
c.Sandbox.memory_limit = 2 * 1024**3
"""

# The first lines of every attack cell: where the kernel's shared folder and connection
# file are (the kernel is told with -f; the folder is the one mounted from the host).
FIND_SHARED = """
import json, os, sys
CONNECTION = os.path.abspath(sys.argv[sys.argv.index('-f') + 1])
SHARED = os.path.dirname(CONNECTION)
"""


class Canaries:
    def __init__(self, folder: Path):
        self.folder = folder
        self.file = folder / "secret"
        self.file.write_bytes(b"canary: the trusted side must never touch me\n")
        os.chmod(self.file, 0o600)
        self.dir = folder / "keep"
        self.dir.mkdir()
        (self.dir / "inside").write_bytes(b"kept\n")
        os.chmod(self.dir, 0o700)
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple[int, int, bytes]]:
        out = {}
        for path in (self.file, self.dir, self.dir / "inside"):
            st = os.lstat(path)
            data = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
            out[str(path)] = (st.st_mode, st.st_uid, data)
        return out

    def changed(self) -> list[str]:
        now = self.snapshot() if self.dir.exists() and self.file.exists() else {}
        return [p for p, v in self.before.items() if now.get(p) != v]


class Listeners:
    """Host services that count who connects (the graders must never be one of them)."""

    def __init__(self, folder: Path):
        self.accepted: dict[str, int] = {}
        self.sockets: list[socket.socket] = []
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        self.tcp_port = tcp.getsockname()[1]
        self._serve("tcp", tcp)
        self.unix_path = str(folder / "host.sock")
        unix = socket.socket(socket.AF_UNIX)
        unix.bind(self.unix_path)
        self._serve("unix", unix)
        # An ipc "ip" prefix on the host: ZMQ would connect to PREFIX-<port>.
        self.ipc_prefix = str(folder / "evil")
        self.ipc_port = 4242
        ipc = socket.socket(socket.AF_UNIX)
        ipc.bind(f"{self.ipc_prefix}-{self.ipc_port}")
        self._serve("ipc", ipc)

    def _serve(self, name: str, sock: socket.socket) -> None:
        sock.listen(64)
        sock.settimeout(0.2)
        self.accepted[name] = 0
        self.sockets.append(sock)

        def loop():
            while sock.fileno() >= 0:
                try:
                    conn, _ = sock.accept()
                except (TimeoutError, OSError):
                    continue
                self.accepted[name] += 1
                conn.close()

        threading.Thread(target=loop, daemon=True).start()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _tree_bytes(top: str) -> int:
    """Bytes under ``top`` (iterative: os.walk recurses, and the attacks nest deep)."""
    try:
        fd = fs.open_dir(top)
    except OSError:
        return 0
    try:
        return fs.tree_usage(fd)[0]
    finally:
        os.close(fd)


class TempWatch:
    """Run the batch with TMPDIR=folder and sample the bytes under it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        self._old = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = str(self.folder)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, _tree_bytes(str(self.folder)))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self._old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = self._old

    def left(self) -> list[str]:
        return sorted(os.listdir(self.folder))

    def left_bytes(self) -> int:
        return _tree_bytes(str(self.folder))


def grade(tmp_path_factory, attacks: dict, config: str = CONFIG):
    """Grade the attacks with two honest controls in one batch; (results, TempWatch)."""
    course = make_course(tmp_path_factory.mktemp("src"), config)
    nbgrader(course, "generate_assignment", LAB, "--force")
    subs = {"honest_a": SOURCE, "honest_b": SOURCE}
    subs.update({name: nb for name, (nb, _) in attacks.items()})
    watch = TempWatch(tmp_path_factory.mktemp("tmpdir"))
    started = time.monotonic()
    with watch:
        results = grade_parallel(LAB, subs, workers=2, root=course, tolerate=True)
    watch.seconds = time.monotonic() - started
    return results, watch


def outputs_text(graded) -> str:
    """Every output of every cell of the autograded notebook (what the student reads)."""
    texts = []
    for cell in getattr(graded.notebook, "cells", []):
        for out in cell.get("outputs", []):
            texts.append(str(out.get("text", "")) + str(out.get("evalue", "")))
    return "\n".join(texts)
