"""The trusted half of the bridge: call a student's function in the sandboxed kernel.

Trusted to sandbox: arguments are pickled into a call folder in the shared directory.
Sandbox to trusted: only data (``status.json``, ``.npy`` read with ``allow_pickle=False``,
Parquet, Vega-Lite JSON), each file opened without following links, checked to be a regular
file and counted against a size limit. Every call has a timeout; a kernel that does not
answer after an interrupt is declared dead and every later call fails at once.
Calls are announced to the kernel's serve loop (kernel_side.serve) over a Unix socket,
started by a single execute request: ~1 ms a call instead of ~25 ms.
"""

from __future__ import annotations

import json
import os
import select
import socket
import time
import uuid
from pathlib import Path
from typing import NoReturn

from jupyter_client.blocking.client import BlockingKernelClient

from . import kernel_side
from .budget import DecodeBudget
from .results import (
    BridgeError,
    CallTimeout,
    KernelDead,
    ResultReader,
    StudentError,
)
from .sending import dumps_for_kernel

_KERNEL_SOURCE = Path(kernel_side.__file__).read_text()
# One execute request starts the kernel's side; it then serves every call over a socket.
_SERVE_CODE = (
    "__course_bridge = {{}}\n"
    "exec(compile({src!r}, '<course-bridge>', 'exec'), __course_bridge)\n"
    "try:\n"
    "    __course_bridge['serve'](globals(), {path!r})\n"
    "finally:\n"
    "    del __course_bridge\n"
)


def driver_module(driver):
    """The module a driver function is defined in (sent by value with the driver)."""
    import sys

    if not callable(driver) or getattr(driver, "__name__", "<lambda>") == "<lambda>":
        raise TypeError("a driver must be a named function defined in a module")
    return sys.modules[driver.__module__]


class Bridge:
    def __init__(self, connection_file: str, shared_dir: str, *, call_timeout: float = 30,
                 max_bytes: int = 64 * 1024**2, sandbox_uid: int = 0,
                 max_submission_bytes: int | None = None):
        self.shared = shared_dir
        self.call_timeout = call_timeout
        self.max_bytes = max_bytes
        # What all results of this grading run may decode to, together (see budget.py).
        self.budget = DecodeBudget(max_bytes, max_submission_bytes or 16 * max_bytes)
        self.uid = sandbox_uid
        self.dead: str | None = None
        self.hung: set[str] = set()  # functions that once ran out of time fail at once after
        self.kc = BlockingKernelClient()
        self.kc.load_connection_file(connection_file)
        # No iopub: whatever the student's code prints during a call is simply dropped.
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=True, control=True)
        self.conn: socket.socket | None = None  # to the kernel's serve loop, once started
        self.serving = ""  # the msg_id of the execute request running the serve loop
        self.buffer = b""

    def close(self) -> None:
        self._hang_up()  # the kernel's serve loop returns
        self.kc.stop_channels()

    def _hang_up(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.buffer = b""

    # -- calling -------------------------------------------------------------------------
    def call(self, name: str, *args, _patch: dict | None = None, timeout: float | None = None,
             **kwargs):
        """Call the student's ``name(*args, **kwargs)`` in the kernel and return the result.

        ``_patch`` maps names of the notebook's globals to functions (usually from
        ``reference``) that replace them during this call only; they travel by value
        (cloudpickle), since ``reference`` cannot be imported inside the sandbox.
        """
        return self._call(name, None, args, kwargs, _patch, timeout)

    def run(self, driver, *args, timeout: float | None = None, **kwargs):
        """Run ``driver(notebook_globals, *args, **kwargs)`` in the kernel; return its result.

        ``driver`` is a grader's module-level function, sent by value: it instantiates the
        student's classes and calls their methods, and returns data like any call.
        """
        return self._call(f"<{driver.__name__}>", driver, args, kwargs, None, timeout)

    def _call(self, name, driver, args, kwargs, patch, timeout):
        if self.dead:
            raise KernelDead(self.dead)
        if name in self.hung:
            raise CallTimeout(f"{name} did not return in time on an earlier call (interrupted)")
        self.budget.check()  # spent: the rest of the submission's checks fail at once
        by_value = (driver_module(driver),) if driver is not None else ()
        dir_fd, call_dir = self._new_call_dir()
        try:
            payload = dumps_for_kernel((args, kwargs, dict(patch or {}), driver), by_value)
            fd = os.open("args.pkl", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o644, dir_fd=dir_fd)
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            self._execute(os.path.basename(call_dir), name, call_dir,
                          timeout or self.call_timeout)
            reader = ResultReader(dir_fd, self.max_bytes, self.budget)
            status = reader.status()
            if not status["ok"]:
                raise StudentError(name, str(status.get("error")), str(status.get("message")),
                                   str(status.get("traceback", "")))
            return reader.decode(status.get("result"))
        finally:
            os.close(dir_fd)

    def _new_call_dir(self) -> tuple[int, str]:
        path = os.path.join(self.shared, "call-" + uuid.uuid4().hex)
        os.mkdir(path, 0o755)
        dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        if self.uid and os.geteuid() == 0:
            os.fchown(dir_fd, self.uid, self.uid)
        return dir_fd, path

    def _connect(self) -> socket.socket:
        """The connection to the kernel's serve loop, started by one execute request.

        The trusted side listens on a fresh, unguessable path in the shared folder and the
        kernel connects to it. Nothing it sends is trusted: it only says when a call is over.
        """
        if self.conn is not None:
            return self.conn
        path = os.path.join(self.shared, f"b{uuid.uuid4().hex[:8]}.sock")  # short: 107 bytes max
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            os.chmod(path, 0o666)  # the sandbox's uid connects to it (grading as root)
            listener.listen(1)
            self.serving = self.kc.execute(_SERVE_CODE.format(src=_KERNEL_SOURCE, path=path),
                                           silent=True, store_history=False)
            deadline = time.monotonic() + self.call_timeout
            while not select.select([listener], [], [], 1.0)[0]:
                self._check_alive()
                if time.monotonic() > deadline:
                    raise KernelDead(self._declare_dead(
                        "the kernel did not start the graders' connection (was the notebook "
                        "still running, or are sockets broken in it?)"))
            self.conn, _ = listener.accept()
        finally:
            listener.close()
            os.unlink(path)
        return self.conn

    def _execute(self, call_id: str, name: str, call_dir: str, timeout: float) -> None:
        conn = self._connect()
        request = {"id": call_id, "name": name, "dir": call_dir, "max_bytes": self.max_bytes}
        try:
            conn.sendall(json.dumps(request).encode() + b"\n")
        except OSError:
            self._loop_ended()
        if self._wait_done(call_id, timeout):
            return
        # Interrupt, then give the kernel a moment to unwind the student's code.
        msg = self.kc.session.msg("interrupt_request", {})
        self.kc.control_channel.send(msg)
        self.hung.add(name)
        if self._wait_done(call_id, 10):
            raise CallTimeout(f"{name} did not return within {timeout:g} s and was interrupted")
        raise KernelDead(self._declare_dead(
            f"the kernel stopped answering: {name} ran for more than {timeout:g} s "
            "and could not be interrupted"))

    def _wait_done(self, call_id: str, timeout: float) -> bool:
        """True once the serve loop says call ``call_id`` is over; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                if line.decode(errors="replace") == call_id:
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not select.select([self.conn], [], [], min(left, 1.0))[0]:
                self._check_alive()
                continue
            chunk = self.conn.recv(65536)
            if not chunk:  # the loop ended: the student's code closed it, or the kernel died
                self._loop_ended()
            self.buffer += chunk

    def _loop_ended(self) -> NoReturn:
        """The serve loop's connection closed: raise KernelDead if the kernel went with it,
        else BridgeError (the next call starts a new loop).

        A live kernel answers the loop's execute request; a dead one stops its heartbeat.
        """
        self._hang_up()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                reply = self.kc.get_shell_msg(timeout=0.5)
            except Exception:  # noqa: BLE001 - queue.Empty: check the heartbeat and go on
                self._check_alive()
                continue
            if reply.get("parent_header", {}).get("msg_id") == self.serving:
                break
        else:
            self._check_alive()
        raise BridgeError("the function closed the graders' connection to the notebook")

    def _check_alive(self) -> None:
        if not self.kc.hb_channel.is_beating():
            raise KernelDead(self._declare_dead(
                "the kernel died (it may have run out of memory or exited)"))

    def _declare_dead(self, why: str) -> str:
        self.dead = why
        self._hang_up()
        return why
