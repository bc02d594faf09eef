"""Grade a lab's mutants with its hidden graders: the mutation benchmark's engine.

Each mutant (``mutants.py``) is graded the way the self-test grades a wrong fixture: the
preamble and every solution cell, the mutated one swapped in, run in one namespace; then the
hidden graders of the mutant's exercise through the kernel-less harness (the bridge's own
pickling and result decoding, the grading profile's derandomized examples). A mutant is
killed when one property fails (an assertion, a student error, or a grader tripping over
the mutant's result), when its cell raises as it runs, when it hangs past the timeout, or
when it kills its process; it survives when every property passes.

Every mutant is graded in a process forked from one warmed-up parent (graders imported,
the fixed MNIST models trained or loaded): a mutant that changes a shared model or module
in place cannot change the next one's verdict, and a hanging one is simply killed. At most
``jobs`` children run at once, each on one torch thread.

Verdicts are cached on disk under ``.cache/mutation/<lab>/``, keyed by the hash of the
mutant's notebook (every solution cell, the mutant swapped in), its exercise, and the
files that decide a verdict (the lab's graders and fixtures, the reference package, the
harness and comparison helpers): a re-run after a grader change regrades only what it can
change.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from ..layout import ROOT, Course
from .mutants import LabSolutions, Mutant
from .selfcheck import lab_fixtures

PROFILE = "grading-noshrink"  # the grading examples, without shrinking a failure
MIN_TIMEOUT = 60.0  # seconds
TIMEOUT_FACTOR = 10  # a mutant may take this many times its exercise's correct solution


@dataclass(frozen=True)
class Verdict:
    killed: bool
    by: str  # the failing property, or "timeout", "cell raises: <Error>", "process died"
    seconds: float = 0.0  # not part of any report: timings differ from run to run


def fingerprint(lab: str, root: Path = ROOT) -> str:
    """Hash of every file a verdict depends on besides the mutant's own notebook."""
    course = Course(root)
    files = sorted(course.graders(lab).rglob("*.py"))
    files += [course.fixtures(lab)] if course.fixtures(lab).exists() else []
    files += sorted((root / "reference").rglob("*.py"))
    files += sorted((root / "course" / "graders").glob("*.py"))
    files += sorted((root / "course" / "bridge").glob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(solutions: LabSolutions, exercise: str, cell: str | None, source: str | None,
              files: str) -> str:
    replaced = {cell: source} if cell is not None else {}
    payload = json.dumps([exercise, solutions.sources(replaced), files])
    return hashlib.sha256(payload.encode()).hexdigest()


class Cache:
    def __init__(self, folder: Path | None):
        self.folder = folder

    def get(self, key: str) -> Verdict | None:
        if self.folder is None:
            return None
        try:
            data = json.loads((self.folder / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return Verdict(**data)

    def put(self, key: str, verdict: Verdict) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(verdict.__dict__))
        os.replace(tmp, self.folder / f"{key}.json")


def _one_thread():
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


class Grader:
    """The warmed-up parent: a lab's graders imported, its fixed models ready."""

    def __init__(self, solutions: LabSolutions, root: Path = ROOT):
        from ..graders.harness import GraderSet

        self.solutions = solutions
        self.graders = GraderSet(solutions.lab, root)
        try:
            import torch

            torch.set_num_threads(1)  # before any torch work: children fork from here
        except ImportError:
            pass
        for grade_id in self.graders.grade_ids:
            self.graders.properties(grade_id, PROFILE)
        data = lab_fixtures(solutions.lab, root)
        if hasattr(data, "warm"):
            data.warm()

    def grade(self, exercise: str, cell: str | None, source: str | None) -> Verdict:
        """The verdict on the solutions with ``cell`` replaced by ``source`` (in this
        process: call it in a child)."""
        from ..bridge import StudentError
        from ..graders.harness import FakeStudent, namespace

        start = time.monotonic()
        _one_thread()
        replaced = {cell: source} if cell is not None else {}
        try:
            ns = namespace(*self.solutions.sources(replaced))
        except BaseException as error:  # noqa: BLE001 - a student's cell that raises
            return Verdict(True, f"cell raises: {type(error).__name__}",
                           time.monotonic() - start)
        student = FakeStudent(ns)
        for name, test in self.graders.properties(exercise, PROFILE):
            try:
                test(student)
            except (AssertionError, StudentError):
                return Verdict(True, name, time.monotonic() - start)
            except BaseException as error:  # noqa: BLE001 - the grader errors: points lost
                return Verdict(True, f"{name} ({type(error).__name__})",
                               time.monotonic() - start)
        return Verdict(False, "", time.monotonic() - start)


def _child(grader: Grader, job, conn) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # a mutant's prints and warnings are noise here
    os.dup2(devnull, 2)
    try:
        verdict = grader.grade(*job)
    except BaseException as error:  # noqa: BLE001
        verdict = Verdict(True, f"harness error: {type(error).__name__}")
    conn.send(verdict)
    conn.close()
    os._exit(0)  # no atexit handlers, no flushing of the parent's buffers


def run_forked(grader: Grader, jobs: dict, timeouts: dict, workers: int = 2,
               progress=None) -> dict:
    """{key: Verdict} for ``jobs`` ({key: (exercise, cell, source)}), each in a child forked
    from this process, at most ``workers`` at once; ``timeouts[key]`` seconds each."""
    context = multiprocessing.get_context("fork")
    pending = list(jobs)
    running: dict = {}  # connection -> (process, key, deadline)
    verdicts: dict = {}
    while pending or running:
        while pending and len(running) < workers:
            key = pending.pop(0)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(grader, jobs[key], send))
            process.start()
            send.close()
            running[receive] = (process, key, time.monotonic() + timeouts[key])
        nearest = min(deadline for _, _, deadline in running.values())
        for conn in wait(list(running), timeout=max(0.0, nearest - time.monotonic())):
            process, key, _ = running.pop(conn)
            try:
                verdicts[key] = conn.recv()
            except EOFError:
                verdicts[key] = Verdict(True, "process died")
            conn.close()
            process.join()
            if progress:
                progress(len(verdicts), len(jobs))
        now = time.monotonic()
        for conn, (process, key, deadline) in list(running.items()):
            if now >= deadline:
                process.kill()
                process.join()
                conn.close()
                del running[conn]
                verdicts[key] = Verdict(True, "timeout", timeouts[key])
                if progress:
                    progress(len(verdicts), len(jobs))
    return verdicts


class BaselineFailed(RuntimeError):
    """The unmutated solutions do not pass their own graders: no mutant could survive."""


def grade_mutants(solutions: LabSolutions, mutants: list[Mutant], *, root: Path = ROOT,
                  workers: int = 2, timeout: float | None = None, use_cache: bool = True,
                  progress=None) -> dict[Mutant, Verdict]:
    """{mutant: Verdict}, from the cache where it has the verdict, else graded here."""
    files = fingerprint(solutions.lab, root)
    cache = Cache(root / ".cache" / "mutation" / solutions.lab if use_cache else None)
    exercises = sorted({m.exercise for m in mutants})
    base_keys = {e: cache_key(solutions, e, None, None, files) for e in exercises}
    keys = {m: cache_key(solutions, m.exercise, m.cell, m.source, files) for m in mutants}
    base = {e: cache.get(k) for e, k in base_keys.items()}
    cached = {m: cache.get(k) for m, k in keys.items()}
    missing_base = [e for e in exercises if base[e] is None]
    missing = [m for m in mutants if cached[m] is None]
    grader = None
    if missing_base or missing:
        grader = Grader(solutions, root)
    if missing_base:
        # The correct solutions first: their time sets each exercise's timeout.
        jobs = {base_keys[e]: (e, None, None) for e in missing_base}
        got = run_forked(grader, jobs, {k: 3600.0 for k in jobs}, workers)
        for e in missing_base:
            base[e] = got[base_keys[e]]
            if not base[e].killed:
                cache.put(base_keys[e], base[e])
    broken = {e: v.by for e, v in base.items() if v.killed}
    if broken:
        raise BaselineFailed(f"{solutions.lab}: the source solutions fail {broken}")
    if missing:
        jobs = {keys[m]: (m.exercise, m.cell, m.source) for m in missing}
        limits = {keys[m]: timeout or max(MIN_TIMEOUT, TIMEOUT_FACTOR * base[m.exercise].seconds)
                  for m in missing}
        got = run_forked(grader, jobs, limits, workers, progress)
        for m in missing:
            cached[m] = got[keys[m]]
            cache.put(keys[m], cached[m])
    return cached


TOOL = "mutmut 3.8.1"


def run_lab(lab: str, root: Path = ROOT, *, equivalents: dict | None = None, workers: int = 2,
            timeout: float | None = None, use_cache: bool = True, progress=None):
    """Generate, grade and count a lab's mutants: its `mutation_report.LabResult`."""
    from . import mutants as mut
    from .mutation_report import classify

    solutions = mut.load(lab, root)
    generated = mut.generate(solutions)
    verdicts = grade_mutants(solutions, generated, root=root, workers=workers,
                             timeout=timeout, use_cache=use_cache, progress=progress)
    return classify(lab, solutions.grade_ids, verdicts, equivalents or {})
