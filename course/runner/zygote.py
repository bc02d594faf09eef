"""A pre-loaded Python that forks one child per grading run (a "zygote").

Importing nbgrader costs about 3 s of CPU (it pulls in jupyter_server, nbconvert,
sqlalchemy...) before any grading: on a small lab as much as grading one submission. So a
grading worker starts this process once with the modules to preload (``--preload``); it
imports them, then for each request forks a child which calls a function (the worker's
``autograde_child``: the same ``NbGraderApp.launch_instance(argv)`` that ``python -m
nbgrader`` runs) in its own session, folder and environment, and kills the child's whole
process group past its time limit. The zygote imports nothing of the engine by itself: its
caller says what to preload, and its environment is the base of every child's.

Protocol, one JSON object per line: the worker writes ``{"call": "module:function", "args",
"cwd", "env" (added to the zygote's own environment), "log", "timeout"}``; the zygote
answers ``{"code": the function's exit code, or null after a timeout}``. The zygote is
single-threaded, so forking it is safe, and it dies with its parent (Linux).

``--socket PATH --preload ...`` starts a second kind, the graders' zygote: pytest,
hypothesis and every module the lab's grader files import (course/graders/runner.py lists
them from their source: a lab of charts and scikit-learn imports ~6 s of them, which every
hidden-grader run would otherwise pay), preloaded. It serves the same protocol on a Unix
socket, one request per connection, so that the nbgrader run a worker forks can reach it
(``COURSE_GRADER_ZYGOTE``, read by course/graders/runner.py). The socket appears once the
preload is done.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import sys
import tempfile
import time


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies (a killed driver leaves nothing)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _child(request: dict, env: dict, answers: int) -> None:
    """In the forked child: run the requested function; never returns."""
    code = 1
    try:
        os.close(answers)  # only the zygote answers: its death must reach the worker as EOF
        die_with_parent()
        os.setsid()  # its own process group: a timeout kills it with everything it started
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update({**env, **request.get("env", {})})
        tempfile.tempdir = None  # TMPDIR may differ from the zygote's
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # never read the zygote's requests
        os.dup2(log, 1)
        os.dup2(log, 2)
        module, name = request["call"].split(":")
        code = int(getattr(importlib.import_module(module), name)(*request.get("args", [])) or 0)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported in the log, as a crashed command would
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - exiting anyway
                pass
        os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)  # bwrap --die-with-parent: the kernel goes too
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return None
        time.sleep(0.05)


def _preload(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the child imports (and reports) it again
            continue
    import gc

    gc.collect()
    gc.freeze()  # children's collections skip the preloaded heap: less copy-on-write


def main(preload: list[str]) -> None:
    die_with_parent()
    # Answers go on a copy of stdout; fd 1 becomes stderr, so nothing printed while importing
    # can corrupt the protocol.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _preload(preload)
    env = dict(os.environ)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, env, answers.fileno())
        answers.write(json.dumps({"code": _wait(pid, request["timeout"])}) + "\n")
        answers.flush()


def serve(path: str, preload: list[str]) -> None:
    """The graders' zygote: one request per connection on the Unix socket ``path``."""
    die_with_parent()
    os.dup2(2, 1)
    _preload(preload)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)  # after the preload: the socket's existence means "ready"
    server.listen(8)
    env = dict(os.environ)
    while True:
        conn, _ = server.accept()
        with conn, conn.makefile("rw") as stream:
            try:
                request = json.loads(stream.readline())
            except ValueError:
                continue
            pid = os.fork()
            if pid == 0:
                server.close()
                _child(request, env, conn.fileno())
            stream.write(json.dumps({"code": _wait(pid, request["timeout"])}) + "\n")
            stream.flush()


def request(path: str, payload: dict) -> int | None:
    """Send one request to the graders' zygote at ``path``; its answer (see the protocol)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        with conn.makefile("rw") as stream:
            stream.write(json.dumps(payload) + "\n")
            stream.flush()
            answer = stream.readline()
    if not answer:
        raise ConnectionError("the graders' zygote closed the connection")
    return json.loads(answer)["code"]


def command(preload: list[str], socket_path: str | None = None) -> list[str]:
    """The command line that starts a zygote (a graders' zygote with ``socket_path``)."""
    where = ["--socket", socket_path] if socket_path else []
    return [sys.executable, "-m", __spec__.name if __spec__ else __name__, *where,
            "--preload", *preload]


if __name__ == "__main__":
    args = sys.argv[1:]
    socket_at = args[1] if args[:1] == ["--socket"] else None
    modules = args[args.index("--preload") + 1:] if "--preload" in args else []
    if socket_at:
        serve(socket_at, modules)
    else:
        main(modules)
