"""``make bench-grade``: a simulated class of a lab graded three ways, in one run.

(a) plain ``nbgrader autograde`` with this course's configuration (sequential; same sandbox
    and hidden graders), (b) ``course grade --workers 2`` (called in-process: the CLI only
    adds a Python start-up), (c) bare execution of the same notebooks with nbclient, two at a
    time like (b) and with the sandbox's thread setting: no sandbox, no grading, no nbgrader.
    Prints throughput in submissions per minute, the speed-up a/b and the overhead b/c, and
    checks (a) and (b) agree on every grade.
The machine may be shared: best of N runs (``--repeats N``, a and b alternated), with the
load average. ``--lab tiny`` (default) is the two-exercise fixture lab, where fixed costs
show; ``--lab activation_matrix`` (or any lab) grades its solution, blank release and
wrong-solution fixtures, repeated up to 12 submissions: the cost of a real lab.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "engine"))
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

from tiny_course import LAB, SOURCE, make_course  # noqa: E402

from course.authoring import notebooks as nbk  # noqa: E402
from course.authoring.selfcheck import build_class  # noqa: E402
from course.layout import Course  # noqa: E402
from course.runner import driver as grade_mod  # noqa: E402
from course.runner.nbgrader_cmd import nbgrader  # noqa: E402

MIX = {"correct": 5, "blank": 3, "scale_wrong": 2, "add_wrong": 2}  # 12 submissions


def simulated_class(released: Path) -> dict:
    kinds = {"correct": SOURCE,
             "blank": nbk.read(released / "release" / LAB / f"{LAB}.ipynb"),
             "scale_wrong": nbk.set_source(SOURCE, "scale_solution",
                                           "def scale(x, k):\n    return [v * k for v in x]"),
             "add_wrong": nbk.set_source(SOURCE, "add_solution",
                                         "def add(a, b):\n    return a - b")}
    names = [kind for kind, n in MIX.items() for _ in range(n)]
    return {f"s{i:02d}_{kind}": kinds[kind] for i, kind in enumerate(names)}


def real_class(lab: str, size: int = 12) -> dict:
    subs, _ = build_class(lab)
    names = list(subs)
    return {f"s{i:02d}_{names[i % len(names)]}": subs[names[i % len(names)]]
            for i in range(max(size, len(names)))}


def course_with(released: Path, dest: Path, subs: dict, lab: str) -> Path:
    shutil.copytree(released, dest)
    for student, nb in subs.items():
        nbk.write(nb, dest / "submitted" / student / lab / f"{lab}.ipynb")
        (dest / "submitted" / student / lab / "timestamp.txt").write_text("2024-01-30 15:00:00")
    return dest


def scores(course: Path) -> dict:
    with sqlite3.connect(course / "gradebook.db") as db:
        return {(s, c): a for s, c, a in db.execute(
            "SELECT sa.student_id, bc.name, g.auto_score FROM grade g JOIN base_cell bc ON "
            "bc.id = g.cell_id JOIN submitted_notebook n ON n.id = g.notebook_id JOIN "
            "submitted_assignment sa ON sa.id = n.assignment_id")}


def sandbox_threads(course: Path) -> int:
    """``c.Sandbox.threads`` of the course's nbgrader_config.py (0: the libraries decide)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return int(config.Sandbox.get("threads", 0))


def limit_threads(threads: int) -> None:
    """(c) runs its kernels with the sandbox's thread setting: only grading differs."""
    if threads > 0:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)


def run_bare(path: str) -> None:
    from nbclient import NotebookClient

    nb = nbk.read(path)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()


def grade_ours(course: Path, lab: str) -> tuple[float, float, float]:
    """(wall seconds, mean seconds of a task on a worker, driver seconds spent recording)."""
    recording = [0.0]
    record = grade_mod.record

    def timed_record(*args, **kwargs):  # the driver's share: gradebook + autograded files
        t = time.perf_counter()
        record(*args, **kwargs)
        recording[0] += time.perf_counter() - t

    grade_mod.record = timed_record
    try:
        start = time.perf_counter()
        run = grade_mod.grade(lab, root=course, workers=2, progress=False)
        wall = time.perf_counter() - start
    finally:
        grade_mod.record = record
    assert not run.failed, run.failed
    with sqlite3.connect(course / "gradebook.db") as db:
        per_task = [s for (s,) in db.execute("SELECT seconds FROM course_grade_log")]
    return wall, sum(per_task) / len(per_task), recording[0] / len(per_task)


def main(repeats: int, lab: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    try:
        if lab == LAB:
            released = make_course(base / "released")
            nbgrader(released, "generate_assignment", LAB, "--force")
            subs = simulated_class(released)
            mix = ", ".join(f"{v} {k}" for k, v in MIX.items())
        else:
            released = Course().copy_lab(lab, base / "released").root
            nbgrader(released, "generate_assignment", lab, "--force")
            subs = real_class(lab)
            mix = "solution, blank release and wrong-solution fixtures"
        n = len(subs)
        print(f"{n} submissions of the {lab} lab ({mix}); {os.cpu_count()} cores; "
              f"load average {os.getloadavg()[0]:.1f}; best of {repeats}", flush=True)
        t_a = t_b = t_c = float("inf")
        for r in range(repeats):  # alternated, so that a change of load hits both
            plain = course_with(released, base / f"plain{r}", subs, lab)
            start = time.perf_counter()
            nbgrader(plain, "autograde", lab)
            a = time.perf_counter() - start
            t_a = min(t_a, a)
            ours = course_with(released, base / f"ours{r}", subs, lab)
            wall, task, rec = grade_ours(ours, lab)
            t_b = min(t_b, wall)
            assert scores(ours) == scores(plain), "course grade and nbgrader autograde disagree"
            notebooks = [str(ours / "submitted" / s / lab / f"{lab}.ipynb") for s in subs]
            start = time.perf_counter()
            with ProcessPoolExecutor(2, initializer=limit_threads,
                                     initargs=(sandbox_threads(released),)) as pool:
                list(pool.map(run_bare, notebooks))
            c = time.perf_counter() - start
            t_c = min(t_c, c)
            print(f"  run {r + 1}: (a) {a:5.1f} s  (b) {wall:5.1f} s (a task: {task:.2f} s on "
                  f"a worker; recording: {rec * 1e3:.0f} ms per result)  (c) {c:5.1f} s",
                  flush=True)
        print(f"(a) nbgrader autograde, sequential  {t_a:6.1f} s  {60 * n / t_a:6.1f} subs/min")
        print(f"(b) course grade --workers 2        {t_b:6.1f} s  {60 * n / t_b:6.1f} subs/min")
        print(f"(c) bare nbclient, 2 at a time      {t_c:6.1f} s  {60 * n / t_c:6.1f} subs/min")
        print(f"a/b = {t_a / t_b:.2f}x (target >= 1.8)   b/c = {t_b / t_c:.2f}x (target <= 1.15)"
              "   grades of (a) and (b) identical: yes")
        workers, total = 100, 10_000
        print(f"projection, {total} such submissions on {workers} workers: "
              f"{total / workers * task / 60:.1f} min of grading; the driver records "
              f"{total * rec / 60:.1f} min of results (it keeps up while a task lasts more "
              f"than {workers * rec:.1f} s)")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default=LAB)
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs (default 2 for the tiny lab, 1 for a real one)")
    opts = parser.parse_args()
    main(opts.repeats or (2 if opts.lab == LAB else 1), opts.lab)
