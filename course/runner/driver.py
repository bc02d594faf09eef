"""``course grade LAB``: grade every submission in parallel, on this machine or on Dask.

One task per submission (``course.runner.worker.grade_one``: the real ``nbgrader autograde``
in a throw-away course copy). Workers only return plain data; this driver is the only
writer of the instructor's gradebook and of ``autograded/``, so after a run
``nbgrader generate_feedback`` and ``nbgrader export`` work as after ``nbgrader autograde``.

Resuming: each result is recorded with a completion mark (course/runner/recording.py); a
re-run skips marked submissions whose files have not changed since, unless ``force``, and
grades the rest again, so a killed driver loses nothing and duplicates nothing.

Where: a local pool of processes (default: one per core), or with ``scheduler`` a Dask
distributed cluster. Dask workers need no shared filesystem (the course bundle is scattered
once, each task carries its submission's files) but do need this repository's Python
environment and bubblewrap. At most two tasks per worker are in flight, so neither the
driver nor the scheduler holds a whole class of submissions or results in memory.

Input: ``submitted/<student>/<LAB>/`` (nbgrader's default layout; other
``directory_structure`` settings are not supported), or a zip that ``collect_zip`` hands to
the real ``nbgrader zip_collect`` with the course's safe plugins
(course/nbgrader_plugin/zipcollect.py): top-level entries named as in nbgrader's
documentation, ``[LAB_]STUDENT_attempt_YYYY-MM-DD-HH-MM-SS_NOTEBOOK.ipynb`` (unless the
course config sets its own ``FileNameCollectorPlugin.named_regexp``), the newest attempt of
each student; entries it skips are in ``Run.collect_skipped``.

Submitted files are checked by size (``lstat``) before any is read, and links in
``submitted/`` are never followed (course/runner/files.py).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from ..layout import ROOT, Course
from . import worker as gw
from .files import MAX_SUBMISSION_BYTES, Unreadable, digest, read_tree
from .nbgrader_cmd import nbgrader, nbgrader_env
from .recording import LOG_TABLE, is_complete, record

PLUGINS = "course.nbgrader_plugin.zipcollect"


@dataclass
class Run:
    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, dict] = field(default_factory=dict)  # student -> failure record
    seconds: float = 0.0
    collect_skipped: list[dict] = field(default_factory=list)  # --zip entries not collected


def course_settings(root: Path) -> dict:
    """What this module needs from the course's nbgrader config."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cd = cfg.get("CourseDirectory", {})
    if cd.get("directory_structure", "{nbgrader_step}/{student_id}/{assignment_id}") != \
            "{nbgrader_step}/{student_id}/{assignment_id}":
        raise RuntimeError("course grade supports nbgrader's default directory_structure only")
    return {"course_id": cd.get("course_id", ""),
            "db_url": cd.get("db_url") or f"sqlite:///{Course(root).gradebook}"}


def collect_zip(lab: str, archive: Path, root: Path) -> list[dict]:
    """Put a zip of submissions into ``submitted/`` with the real ``nbgrader zip_collect``
    and the safe plugins (whatever the course config says); the entries it skipped."""
    import json

    from ..nbgrader_plugin.zipcollect import REPORT

    downloaded = Course(root).downloaded(lab)
    (downloaded / "archive").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archive, downloaded / "archive" / Path(archive).name)
    (downloaded / REPORT).unlink(missing_ok=True)
    nbgrader(root, "zip_collect", lab, "--force",
             f"--ZipCollectApp.extractor_plugin={PLUGINS}.SafeExtractor",
             f"--ZipCollectApp.collector_plugin={PLUGINS}.TopLevelCollector")
    report = json.loads((downloaded / REPORT).read_text())
    return report["skipped"]


def _gradebook(settings: dict):
    from nbgrader.api import Gradebook

    return Gradebook(settings["db_url"], settings["course_id"])


def _run_folder() -> Path:
    """This run's temporary folder; those of killed drivers (dead pid) are removed first."""
    # Short names: the sandbox's IPC sockets live below, and socket paths are short (108 B).
    for old in Path(tempfile.gettempdir()).glob("cgrun-*"):
        try:
            os.kill(int(old.name.split("-")[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            pass
    return Path(tempfile.mkdtemp(prefix=f"cgrun-{os.getpid()}-"))


def _start_pool(workers: int, folder: Path):
    """A pool of ``workers`` processes, started (and their zygotes warming up) right away."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: no copy of the driver's open gradebook connection in the workers.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=gw.init_pool_worker, initargs=(str(folder),))
    for _ in range(workers):
        pool.submit(gw.warm_up)
    return pool


def _read_submission(root: Path, student: str, lab: str) -> dict:
    """``submitted/<student>/<lab>/`` as data: `Unreadable` if it is reached through a link
    or holds more than MAX_SUBMISSION_BYTES (sizes by lstat, before anything is read)."""
    if Course(root).submitted_root.joinpath(student).is_symlink():
        raise Unreadable(f"submitted/{student} is a link")
    return read_tree(Course(root).submitted(student, lab), MAX_SUBMISSION_BYTES)


def _load(task: dict, root: Path, lab: str, digests: dict) -> dict:
    """The task with its files, read now (only a bounded number of tasks are in flight)."""
    files = _read_submission(root, task["student"], lab)
    digests[task["student"]] = digest(files)  # what is graded is what gets marked
    return dict(task, files=files)


def _stream(tasks: list[dict], submit, wait_any, in_flight: int) -> Iterator[dict]:
    """Results in completion order, with at most ``in_flight`` tasks submitted at a time.

    Bounded so that neither this process nor a Dask scheduler holds every submission's
    files (or every result) at once; a result is dropped here once it is yielded.
    """
    pending, queue = {}, iter(tasks)
    while True:
        while len(pending) < in_flight and (task := next(queue, None)) is not None:
            try:
                pending[submit(task)] = task
            except (Unreadable, OSError) as error:  # changed since it was planned
                yield gw.failure(task, "refused", f"submission not read: {error}")
        if not pending:
            return
        for future in wait_any(list(pending)):
            task = pending.pop(future)
            try:
                yield future.result()
            except Exception as error:  # noqa: BLE001 - e.g. a worker process killed
                yield gw.failure(task, "crash", f"the task failed: {error!r}")


def _run_local(pool, tasks, bundle: dict, folder: Path, load, workers: int) -> Iterator[dict]:
    import pickle
    from concurrent.futures import FIRST_COMPLETED, wait

    path = folder / "bundle.pickle"  # read once by each worker process
    path.write_bytes(pickle.dumps(bundle))
    try:
        yield from _stream(tasks, lambda t: pool.submit(gw.grade_in_pool, load(t), str(path)),
                           lambda fs: wait(fs, return_when=FIRST_COMPLETED).done, 2 * workers)
    except BaseException:  # Ctrl-C or the caller gave up: do not wait for running gradings
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _run_dask(tasks, bundle: dict, address: str, load) -> Iterator[dict]:
    from distributed import Client, wait

    with Client(address) as client:
        # The bundle is sent once to every worker; tasks refer to it by its future.
        [shared] = client.scatter([bundle], broadcast=True)
        threads = sum(client.nthreads().values()) or 1

        def submit(task):
            key = f"grade-{bundle['lab']}-{task['student']}-{os.getpid()}-{time.time_ns()}"
            return client.submit(gw.grade_one, load(task), shared, pure=False, key=key)

        yield from _stream(tasks, submit,
                           lambda fs: wait(fs, return_when="FIRST_COMPLETED").done, 2 * threads)


def _plan(lab: str, root: Path, settings: dict, found: list[str], force: bool,
          timeout: float, run: Run) -> tuple[list[dict], dict]:
    """The tasks to run (files are read later) and every submission's digest; fills
    ``run.skipped`` and ``run.failed``."""
    from nbgrader.api import MissingEntry

    with _gradebook(settings) as gb:
        try:
            gb.find_assignment(lab)
            missing = False
        except MissingEntry:
            missing = True
    if missing:  # nbgrader needs the assignment in the gradebook before grading
        nbgrader(root, "generate_assignment", lab, "--force")
    tasks, digests = [], {}
    with _gradebook(settings) as gb:
        gb.db.execute(text(LOG_TABLE))
        gb.db.commit()
        notebooks = [nb.name for nb in gb.find_assignment(lab).notebooks]
        for student in found:
            try:
                ext = gb.find_submission(lab, student).extension
            except MissingEntry:
                ext = None
            task = {"student": student, "timeout": timeout,
                    "extension": ext.total_seconds() if ext else None}
            try:
                digests[student] = digest(_read_submission(root, student, lab))
            except (Unreadable, OSError) as error:
                run.failed[student] = gw.failure(task, "refused", f"submission not read: {error}")
                continue
            if not force and is_complete(gb, root, lab, student, digests[student], notebooks):
                run.skipped.append(student)
                continue
            tasks.append(task)
    return tasks, digests


def grade(lab: str, *, root: Path = ROOT, workers: int | None = None,
          scheduler: str | None = None, students: list[str] | None = None, force: bool = False,
          timeout: float = 1800.0, zip_path: Path | None = None, progress: bool = True) -> Run:
    """Grade the submissions of ``lab`` in ``root``; see the module docstring."""
    from tqdm import tqdm

    start, root, run = time.monotonic(), Path(root).resolve(), Run()
    os.environ["PATH"] = nbgrader_env()["PATH"]  # nbgrader's gradebook runs `alembic` by name
    settings = course_settings(root)
    if zip_path:
        run.collect_skipped = collect_zip(lab, Path(zip_path), root)
    found = sorted(p.parent.name for p in Course(root).submitted_root.glob(f"*/{lab}")
                   if p.is_dir())
    for missing in sorted(set(students or []) - set(found)):
        print(f"course grade: no submission for {missing} in submitted/", file=sys.stderr)
    found = [s for s in found if students is None or s in students]
    # Start the workers before reading the gradebook: their start-up overlaps ours. If all
    # turns out to be graded already, they are stopped unused.
    folder = _run_folder()
    workers = max(1, min(workers or os.cpu_count() or 1, len(found)))
    pool = None if scheduler or not found else _start_pool(workers, folder)
    try:
        tasks, digests = _plan(lab, root, settings, found, force, timeout, run)
        if tasks:
            bundle = gw.make_bundle(lab, root, settings["db_url"])
            load = functools.partial(_load, root=root, lab=lab, digests=digests)
            results = (_run_dask(tasks, bundle, scheduler, load) if scheduler else
                       _run_local(pool, tasks, bundle, folder, load, workers))
            with _gradebook(settings) as gb, tqdm(total=len(tasks), desc=f"grading {lab}",
                                                  unit="sub", file=sys.stderr,
                                                  disable=not progress) as bar:
                for result in results:
                    if result["ok"]:
                        record(gb, root, lab, result, digests[result["student"]])
                        run.graded.append(result["student"])
                    else:
                        run.failed[result["student"]] = result
                    bar.update(1)
                    bar.set_postfix(failed=len(run.failed))
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)  # already done when all went well
        shutil.rmtree(folder, ignore_errors=True)
    _write_failures(root, lab, run)
    run.seconds = time.monotonic() - start
    return run


def _write_failures(root: Path, lab: str, run: Run) -> None:
    """``reports/LAB/failures.json``: submissions not graded, kept until they are."""
    path = Course(root).reports(lab) / "failures.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    done = set(run.graded) | set(run.skipped)
    now = {s: r for s, r in old.items() if s not in done} | {
        s: {k: r[k] for k in ("kind", "message", "seconds", "worker")}
        for s, r in run.failed.items()}
    if now or path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
