"""One grading task of ``course grade``: a submission graded by the real ``nbgrader autograde``.

The same function runs in a local process pool and on Dask distributed workers, so it needs
no shared filesystem: everything comes in as bytes and plain data goes back.

- The *bundle* (built once per run by the driver, sent once to each worker) holds the course
  files a copy needs: ``nbgrader_config.py``, ``source/LAB``, ``tests/graders/LAB`` and a
  ``gradebook.db`` holding only the assignment, copied from the instructor's gradebook. The
  copy is used rather than a fresh ``generate_assignment``, so a worker restores locked cells
  from exactly what was released, and the due date (late penalties) is the instructor's.
- The *task* holds one submission's files, the student's extension and a time limit.
- The *result* holds the scores and comments nbgrader wrote into the copy's gradebook, and
  the files of ``autograded/<student>/LAB/``, for the driver to record.

``nbgrader autograde LAB --student ID --force`` runs in a child forked from a pre-loaded
interpreter (course/runner/zygote.py, one per worker thread): the same app ``python -m nbgrader``
starts, without paying nbgrader's imports again for every submission. Likewise its hidden
graders run in a fork of a graders' zygote holding what they import. The worker process
itself never imports nbgrader (that alone takes seconds).

A worker needs this repository's Python environment (nbgrader, the ``course`` package, the
graders' dependencies) and bubblewrap, exactly like a machine running plain nbgrader.
"""

from __future__ import annotations

import json
import multiprocessing.util
import os
import pickle
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import traceback
from pathlib import Path

from .. import nbgrader_plugin
from ..graders import runner as graders_runner
from ..layout import Course, module_call
from . import zygote
from .files import MAX_SUBMISSION_BYTES, Unreadable, digest, read_tree, write_tree
from .nbgrader_cmd import nbgrader_env
from .zygote import die_with_parent

# What the nbgrader zygote imports once: nbgrader's app, the executor that the course's
# nbgrader_config.py imports, and this module (whose autograde_child each child runs).
NBGRADER_PRELOAD = ["nbgrader.apps.nbgraderapp", f"{nbgrader_plugin.__name__}.executor",
                    __name__]

_TEMPLATES: dict[str, Path] = {}  # bundle key -> the course template made from it here
_LOCAL = threading.local()  # a zygote per thread: a Dask worker may run tasks in threads


def copy_assignment(src_url: str, dst_url: str, lab: str) -> None:
    """Copy one assignment (notebooks, cells, due date) into a new gradebook, no submissions."""
    import sqlite3

    from nbgrader.api import Gradebook
    from sqlalchemy import text

    with Gradebook(src_url) as src:
        a = src.find_assignment(lab)
        # A new gradebook runs `alembic heads` (seconds) for its schema version: give it the
        # source's version instead, so it sees an existing database and only adds tables.
        version = src.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        with sqlite3.connect(dst_url.removeprefix("sqlite:///")) as db:
            db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            db.execute("INSERT INTO alembic_version VALUES (?)", (version,))
        with Gradebook(dst_url, a.course_id) as dst:
            dst.update_or_create_assignment(lab, duedate=a.duedate)
            for nb in a.notebooks:
                dst.update_or_create_notebook(nb.name, lab, kernelspec=nb.kernelspec)
                for c in nb.grade_cells:
                    dst.update_or_create_grade_cell(c.name, nb.name, lab, max_score=c.max_score,
                                                    cell_type=c.cell_type)
                for c in nb.solution_cells:
                    dst.update_or_create_solution_cell(c.name, nb.name, lab)
                for c in nb.task_cells:
                    dst.update_or_create_task_cell(c.name, nb.name, lab, max_score=c.max_score,
                                                   cell_type=c.cell_type)
                for c in nb.source_cells:
                    dst.update_or_create_source_cell(c.name, nb.name, lab, cell_type=c.cell_type,
                                                     locked=c.locked, source=c.source,
                                                     checksum=c.checksum)


def make_bundle(lab: str, root: Path, db_url: str) -> dict:
    """The course files a worker needs, as bytes (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="course-bundle-") as tmp:
        course = Course(root).copy_lab(lab, Path(tmp) / "course")
        copy_assignment(db_url, f"sqlite:///{course.gradebook}", lab)
        files = read_tree(course.root)
    return {"lab": lab, "key": digest(files), "files": files}


def _template(bundle: dict) -> Path:
    """The bundle written out once per worker process; every task copies it."""
    path = _TEMPLATES.get(bundle["key"])
    if path is None or not path.is_dir():
        path = Path(tempfile.mkdtemp(prefix="cgtpl-", dir=_LOCAL_BASE.get("dir")))
        write_tree(bundle["files"], path)
        _TEMPLATES[bundle["key"]] = path
        # Not atexit: pool processes leave by os._exit, which runs only these finalizers.
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(path, True), exitpriority=10)
    return path


def _zygote() -> subprocess.Popen:
    """This thread's nbgrader zygote (course/runner/zygote.py), started on first use."""
    proc = getattr(_LOCAL, "zygote", None)
    if proc is None or proc.poll() is not None:
        proc = subprocess.Popen(zygote.command(NBGRADER_PRELOAD), env=nbgrader_env(),
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        _LOCAL.zygote = proc
        # At exit (no task is running then): stop it, even mid-import, and reap it.
        multiprocessing.util.Finalize(None, _stop, args=(proc,), exitpriority=10)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def _grader_zygote(template: Path, lab: str) -> dict:
    """This thread's graders' zygote for the bundle at ``template`` (a zygote with a
    socket), started on first use and not waited for: its preload runs while the first
    notebook executes. The environment that tells the graders' run where it is."""
    started = getattr(_LOCAL, "graders", None)
    if started and started["template"] == template and started["proc"].poll() is None:
        return started["env"]
    if started:
        _stop(started["proc"])
    folder = tempfile.mkdtemp(prefix="cgz-", dir=_LOCAL_BASE.get("dir"))
    if len(folder) > 80:  # a Unix socket path has at most 107 bytes
        folder = tempfile.mkdtemp(prefix="cgz-", dir="/tmp")
    path = os.path.join(folder, "graders.sock")
    env = dict(nbgrader_env(), PYTHONWARNINGS="ignore")
    preload = graders_runner.preload_modules(Course(template).graders(lab))
    proc = subprocess.Popen(zygote.command(preload, path), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    multiprocessing.util.Finalize(None, _stop, args=(proc,), exitpriority=10)
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=9)
    env = {"COURSE_GRADER_ZYGOTE": path, "COURSE_GRADER_ZYGOTE_PID": str(proc.pid)}
    _LOCAL.graders = {"template": template, "proc": proc, "env": env}
    return env


def _call(call: str, args: list, cwd: Path, timeout: float, log: Path, env: dict) -> int | None:
    """Run ``call(*args)`` in a zygote child: its exit code, or None after a timeout."""
    proc = _zygote()
    request = {"call": call, "args": args, "cwd": str(cwd), "timeout": timeout,
               "log": str(log), "env": env}
    try:
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        answer = proc.stdout.readline()
    except OSError:
        answer = ""
    if not answer:
        proc.kill()
        raise RuntimeError(f"the zygote process died (exit {proc.wait()})")
    return json.loads(answer)["code"]


def autograde_child(lab: str, student: str, extension: float | None, out: str) -> int:
    """In a zygote child, in the course copy: ``nbgrader autograde``, then pickle its results.

    The results are what nbgrader recorded in the copy's gradebook, as plain data.
    """
    import datetime

    from nbgrader.api import Gradebook
    from nbgrader.apps.nbgraderapp import NbGraderApp

    url = "sqlite:///" + os.path.abspath("gradebook.db")
    if extension:  # the instructor's extension, for the late penalty
        with Gradebook(url) as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(lab, student,
                                           extension=datetime.timedelta(seconds=extension))
    NbGraderApp.launch_instance(argv=["autograde", lab, "--student", student, "--force"])
    with Gradebook(url) as gb:
        sub = gb.find_submission(lab, student)
        notebooks = {nb.name: {"late_penalty": nb.late_submission_penalty,
                               "grades": {g.name: g.auto_score for g in nb.grades},
                               "comments": {c.name: c.auto_comment for c in nb.comments}}
                     for nb in sub.notebooks}
        stamp = sub.timestamp.isoformat() if sub.timestamp else None
    Path(out).write_text(json.dumps({"timestamp": stamp, "notebooks": notebooks}))
    return 0


def failure(task: dict, kind: str, message: str, seconds: float = 0.0) -> dict:
    return {"student": task["student"], "ok": False, "kind": kind, "message": message,
            "seconds": seconds, "worker": f"{socket.gethostname()}:{os.getpid()}"}


def grade_one(task: dict, bundle: dict) -> dict:
    """Grade ``task`` (one submission) in a throw-away course copy; never raises."""
    start = time.monotonic()
    lab, student = bundle["lab"], task["student"]
    # Short names: the sandbox's IPC sockets go below `t`, and socket paths are short.
    work = Path(tempfile.mkdtemp(prefix="cg-", dir=_LOCAL_BASE.get("dir")))
    try:
        course = Course(work / "course")
        template = _template(bundle)
        graders = _grader_zygote(template, lab)  # preloading while this notebook runs
        shutil.copytree(template, course.root)
        write_tree(task["files"], course.submitted(student, lab))
        (work / "t").mkdir()
        # The sandbox's folders go with the copy, unless their socket paths would be too long.
        env = {"TMPDIR": str(work / "t")} if len(str(work)) < 60 else {}
        env.update(graders)
        out = work / "result.json"
        code = _call(module_call(autograde_child),
                     [lab, student, task.get("extension"), str(out)], course.root, task["timeout"],
                     work / "nbgrader.log", env)
        if code is None:
            return failure(task, "timeout", f"grading stopped after {task['timeout']:g} s",
                           time.monotonic() - start)
        folder = course.autograded(student, lab)
        if code != 0 or not out.exists() or not folder.is_dir():
            output = (work / "nbgrader.log").read_text(errors="replace")[-3000:]
            return failure(task, "error", f"nbgrader autograde failed (exit {code}):\n{output}",
                           time.monotonic() - start)
        result = json.loads(out.read_text())
        try:  # the submission plus nbgrader's outputs
            result["files"] = read_tree(folder, 2 * MAX_SUBMISSION_BYTES)
        except Unreadable as error:
            return failure(task, "refused", f"autograded folder not read: {error}",
                           time.monotonic() - start)
        result.update(student=student, ok=True, seconds=time.monotonic() - start,
                      worker=f"{socket.gethostname()}:{os.getpid()}")
        return result
    except Exception:  # noqa: BLE001 - a broken task must come back as a record, not kill the batch
        return failure(task, "crash", traceback.format_exc()[-3000:], time.monotonic() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Local process pool: the bundle is read once per process, from a file the driver wrote;
# all temporary folders go in the driver's run folder (one folder to sweep after a crash).
_POOL_BUNDLES: dict[str, dict] = {}
_LOCAL_BASE: dict[str, str] = {}


def init_pool_worker(base: str) -> None:
    """Start this process's zygote at once: its imports overlap the driver's preparations."""
    die_with_parent()  # a killed driver takes its workers, their zygotes and gradings along
    _LOCAL_BASE["dir"] = base
    _zygote()


def warm_up() -> None:
    """A no-op task: submitting one per worker makes the pool start all its processes now."""


def grade_in_pool(task: dict, bundle_path: str) -> dict:
    if bundle_path not in _POOL_BUNDLES:
        _POOL_BUNDLES[bundle_path] = pickle.loads(Path(bundle_path).read_bytes())
    return grade_one(task, _POOL_BUNDLES[bundle_path])
