"""Run a lab's hidden graders against a live student kernel, in a trusted process.

``python -m course.graders.runner --out OUT.json [pytest options] FILES`` runs pytest on
the lab's grader files with the course plug-in and writes one JSON record per property.
The executor starts it as a subprocess (or, under ``course grade``, a fork of the worker's
pre-loaded graders' zygote): a grader that crashes or hangs costs only this process, never
nbgrader's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ..layout import PACKAGE_PATH, ROOT, Course, module_call
from ..runner.limits import gigabytes, limit_memory
from ..runner.zygote import request
from .order import grading_order

# Imported by the graders' process only (pytest, hypothesis): named, not imported, here.
PLUGIN = f"{__package__}.pytest_plugin"


def run(lab: str, connection: str, shared: str, uid: int, *, grade_ids: list[str],
        call_timeout: float, total_timeout: float, max_bytes: int,
        max_submission_bytes: int = 0, root: Path = ROOT,
        memory_limit: int = 0) -> list[dict]:
    """Run the graders of ``grade_ids`` in a subprocess; return their records."""
    course = Course(root)
    # Each name's own checks run before any file sends its reference into the kernel.
    paths = [course.grader_file(lab, g) for g in grade_ids]
    files = [str(p) for p in grading_order([p for p in paths if p.exists()], required=False)]
    if not files:
        return []
    # Beside the trusted copy of the connection: a folder the sandbox cannot reach.
    out = Path(connection).parent / "grader-results.json"
    args = ["--out", str(out), "--memory-limit", str(memory_limit),
            "--kernel-connection", connection, "--kernel-shared", shared,
            "--kernel-uid", str(uid), "--call-timeout", str(call_timeout),
            "--max-result-bytes", str(max_bytes),
            "--max-submission-bytes", str(max_submission_bytes), "--rootdir", str(root), *files]
    path = os.pathsep.join(p for p in (PACKAGE_PATH, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=path)
    code, output = _in_zygote(args, env, root, Path(connection).parent, total_timeout)
    if code is False:  # no graders' zygote: start Python, as plain nbgrader does
        try:
            proc = subprocess.run([sys.executable, "-m", __name__, *args], cwd=root,
                                  env=env, capture_output=True, text=True,
                                  timeout=total_timeout)
            code, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code = None
    if code is None:
        return [_whole_run_failed(g, f"grading stopped after {total_timeout:g} s")
                for g in grade_ids]
    if not out.exists() and "MemoryError" in output:
        why = ("the hidden graders ran out of memory reading this notebook's results (limit "
               f"{gigabytes(memory_limit)})")
        return [_whole_run_failed(g, why) for g in grade_ids]
    if not out.exists():
        raise RuntimeError(f"the graders of {lab} crashed (exit {code}):\n{output[-2000:]}")
    return json.loads(out.read_text())


def _in_zygote(args: list[str], env: dict, root: Path, scratch: Path,
               timeout: float) -> tuple[int | None | bool, str]:
    """Under ``course grade``, run the graders in a fork of the worker's graders' zygote
    (course/runner/zygote.py): (exit code or None after a timeout, output); (False, "") if there
    is none. Its socket appears when its preload is done: wait for it while it lives."""
    socket_path = os.environ.get("COURSE_GRADER_ZYGOTE")
    pid = int(os.environ.get("COURSE_GRADER_ZYGOTE_PID", "0") or 0)
    if not socket_path or not pid:
        return False, ""
    deadline = time.monotonic() + 300
    while not os.path.exists(socket_path):
        if not _alive(pid) or time.monotonic() > deadline:
            return False, ""
        time.sleep(0.05)
    log = scratch / "grader-log.txt"
    try:
        code = request(socket_path, {"call": module_call(main), "args": [args],
                                     "cwd": str(root), "env": env, "log": str(log),
                                     "timeout": timeout})
    except OSError:
        return False, ""  # it is gone: the caller starts Python
    return code, log.read_text(errors="replace") if log.exists() else ""


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie its parent has yet to reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def preload_modules(folder: Path) -> list[str]:
    """What a graders' zygote preloads for the lab in ``folder``: pytest, hypothesis, this
    runner and its plug-in, and every module the lab's files import by absolute name (read
    from their source). The lab's own modules are left to each run: a copy of the lab in
    another folder must not find them already imported from here."""
    import ast

    names = ["pytest", "hypothesis", __spec__.name if __spec__ else __name__, PLUGIN]
    for path in sorted(Path(folder).glob("*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError, ValueError):
            continue  # the run reports it
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return list(dict.fromkeys(names))


def _whole_run_failed(grade_id: str, why: str) -> dict:
    return {"grade_id": grade_id, "test": "all", "property": "grading finished in time",
            "passed": False, "message": why}


def main(argv: list[str] | None = None) -> int:
    import pytest

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--memory-limit", type=int, default=0)
    args, rest = parser.parse_known_args(argv)
    # Before anything reads a result: a result that decodes into gigabytes then fails alone.
    limit_memory(args.memory_limit)
    from .pytest_plugin import Recorder

    recorder = Recorder()
    # no:unraisableexception: its forced garbage collections at exit cost ~0.2 s a run.
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception",
                        "-p", PLUGIN,
                        "--assert=plain", "-o", "addopts=", "--no-header", "-rN",
                        "-W", "ignore", *rest], plugins=[recorder])
    Path(args.out).write_text(json.dumps(recorder.results))
    return 0 if code in (0, 1) else int(code)


if __name__ == "__main__":
    sys.exit(main())
