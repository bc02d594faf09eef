"""Run a lab's hidden graders against a live student kernel, in a trusted process.

``python -m course.run_graders LAB CONNECTION SHARED OUT.json`` runs pytest on
``tests/graders/LAB`` with the course plug-in and writes one JSON record per property.
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

from .zygote import request

COURSE_ROOT = Path(__file__).resolve().parent.parent


def graders_dir(lab: str, root: Path = COURSE_ROOT) -> Path:
    return root / "tests" / "graders" / lab


def grade_ids_with_graders(lab: str, root: Path = COURSE_ROOT) -> set[str]:
    folder = graders_dir(lab, root)
    return {p.stem[len("test_"):] for p in folder.glob("test_*.py")} if folder.is_dir() else set()


def run(lab: str, connection: str, shared: str, uid: int, *, grade_ids: list[str],
        call_timeout: float, total_timeout: float, max_bytes: int,
        root: Path = COURSE_ROOT) -> list[dict]:
    """Run the graders of ``grade_ids`` in a subprocess; return their records."""
    folder = graders_dir(lab, root)
    files = [str(folder / f"test_{g}.py") for g in grade_ids if (folder / f"test_{g}.py").exists()]
    if not files:
        return []
    out = Path(shared).parent / "grader-results.json"  # not in the shared (sandbox) folder
    args = ["--out", str(out), "--kernel-connection", connection, "--kernel-shared", shared,
            "--kernel-uid", str(uid), "--call-timeout", str(call_timeout),
            "--max-result-bytes", str(max_bytes), "--rootdir", str(root), *files]
    engine = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (engine, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=path)
    code, output = _in_zygote(args, env, root, Path(shared).parent, total_timeout)
    if code is False:  # no graders' zygote: start Python, as plain nbgrader does
        try:
            proc = subprocess.run([sys.executable, "-m", "course.run_graders", *args], cwd=root,
                                  env=env, capture_output=True, text=True,
                                  timeout=total_timeout)
            code, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code = None
    if code is None:
        return [_whole_run_failed(g, f"grading stopped after {total_timeout:g} s")
                for g in grade_ids]
    if not out.exists():
        raise RuntimeError(f"the graders of {lab} crashed (exit {code}):\n{output[-2000:]}")
    return json.loads(out.read_text())


def _in_zygote(args: list[str], env: dict, root: Path, scratch: Path,
               timeout: float) -> tuple[int | None | bool, str]:
    """Under ``course grade``, run the graders in a fork of the worker's graders' zygote
    (course/zygote.py): (exit code or None after a timeout, output); (False, "") if there
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
        code = request(socket_path, {"call": "course.run_graders:main", "args": [args],
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


def _whole_run_failed(grade_id: str, why: str) -> dict:
    return {"grade_id": grade_id, "test": "all", "property": "grading finished in time",
            "passed": False, "message": why}


def main(argv: list[str] | None = None) -> int:
    import pytest

    from .pytest_plugin import Recorder

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args, rest = parser.parse_known_args(argv)
    recorder = Recorder()
    # no:unraisableexception: its forced garbage collections at exit cost ~0.2 s a run.
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception",
                        "-p", "course.pytest_plugin",
                        "--assert=plain", "-o", "addopts=", "--no-header", "-rN",
                        "-W", "ignore", *rest], plugins=[recorder])
    Path(args.out).write_text(json.dumps(recorder.results))
    return 0 if code in (0, 1) else int(code)


if __name__ == "__main__":
    sys.exit(main())
