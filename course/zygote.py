"""A pre-loaded Python that forks one child per grading run (a "zygote").

Importing nbgrader costs about 3 s of CPU (it pulls in jupyter_server, nbconvert,
sqlalchemy...) before any grading: on a small lab as much as grading one submission. So a
grading worker starts this process once; it imports all that, then for each request forks a
child which calls a function (``course.grade_worker.autograde_child``: the same
``NbGraderApp.launch_instance(argv)`` that ``python -m nbgrader`` runs) in its own session,
folder and environment, and kills the child's whole process group past its time limit.

Protocol, one JSON object per line: the worker writes ``{"call": "module:function", "args",
"cwd", "env" (added to the course's nbgrader environment), "log", "timeout"}``; the zygote
answers ``{"code": the function's exit code, or null after a timeout}``. The zygote is
single-threaded, so forking it is safe, and it dies with its parent (Linux).

``--socket PATH GRADERS`` starts a second kind, the graders' zygote: pytest, hypothesis
and every module the lab's grader files import (read from their source: a lab of
charts and scikit-learn imports ~6 s of them, which every hidden-grader run would
otherwise pay), preloaded. It serves the same protocol on a Unix socket, one request per
connection, so that the nbgrader run a worker forks can reach it (``COURSE_GRADER_ZYGOTE``,
read by course/run_graders.py). The socket appears once the preload is done.
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


def main() -> None:
    die_with_parent()
    # Answers go on a copy of stdout; fd 1 becomes stderr, so nothing printed while importing
    # can corrupt the protocol.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    # The preload: nbgrader's app, the course's executor (nbgrader_config.py imports it).
    import nbgrader.apps.nbgraderapp  # noqa: F401

    import course.executor  # noqa: F401
    import course.grade_worker  # noqa: F401
    from course.autograde import nbgrader_env

    env = nbgrader_env()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, env, answers.fileno())
        answers.write(json.dumps({"code": _wait(pid, request["timeout"])}) + "\n")
        answers.flush()


def grader_imports(folder: str) -> list[str]:
    """The modules the grader files in ``folder`` import at their top level."""
    import ast
    from pathlib import Path

    names = ["pytest", "hypothesis", "course.run_graders", "course.pytest_plugin"]
    for path in sorted(Path(folder).glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError, ValueError):
            continue  # the child reports it
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return list(dict.fromkeys(names))


def serve(path: str, graders: str) -> None:
    """The graders' zygote: one request per connection on the Unix socket ``path``."""
    die_with_parent()
    os.dup2(2, 1)
    for name in grader_imports(graders):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the child imports (and reports) it again
            continue
    import gc

    gc.collect()
    gc.freeze()  # children's collections skip the preloaded heap: less copy-on-write
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["--socket"]:
        serve(sys.argv[2], sys.argv[3])
    else:
        main()
