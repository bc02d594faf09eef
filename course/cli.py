"""The ``course`` command: release, check, grade, report and demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .layout import ROOT, Course


def _labs(args) -> list[str]:
    return Course(ROOT).labs() if args.all or not args.labs else args.labs


def cmd_release(args) -> int:
    from .authoring.release import release

    for lab in _labs(args):
        folder = release(lab)
        print(f"released {lab} -> {folder}")
    return 0


def cmd_check(args) -> int:
    from .authoring.selfcheck import check

    ok = all([check(lab, workers=args.workers) for lab in _labs(args)])
    print("self-check passed" if ok else "SELF-CHECK FAILED")
    return 0 if ok else 1


def cmd_demo(args) -> int:
    from .authoring.demo import run

    return run(workers=args.workers)


def cmd_grade(args) -> int:
    from .runner.driver import grade

    run = grade(args.lab, root=args.course, workers=args.workers, scheduler=args.scheduler,
                students=args.student, force=args.force, timeout=args.timeout,
                zip_path=args.zip)
    for entry in run.collect_skipped:
        print(f"  NOT COLLECTED {entry['entry'][:200]!r}: {entry['reason']}")
    if run.collect_skipped:
        print(f"  (zip entries not collected: {len(run.collect_skipped)}, listed in "
              f"downloaded/{args.lab}/collect_report.json)")
    print(f"{args.lab}: graded {len(run.graded)}, skipped {len(run.skipped)} (already graded), "
          f"failed {len(run.failed)} in {run.seconds:.0f} s")
    for student, failure in sorted(run.failed.items()):
        print(f"  FAILED {student}: {failure['kind']}: {failure['message'].strip()[-300:]}")
    if run.failed:
        print(f"  (kept in reports/{args.lab}/failures.json; re-run to retry them)")
    return 1 if run.failed else 0


def cmd_report(args) -> int:
    from .report import write_report

    print(f"report: {write_report(args.lab, root=args.course)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, text in [
        ("release", cmd_release, "generate release/LAB with nbgrader and check for leaks"),
        ("check", cmd_check, "self-check the graders: solution full, blank 0, wrong ones lose"),
    ]:
        p = sub.add_parser(name, help=text)
        p.add_argument("labs", nargs="*")
        p.add_argument("--all", action="store_true", help="every lab in source/")
        p.add_argument("--workers", type=int, default=None)
        p.set_defaults(func=func)
    p = sub.add_parser("demo", help="grade a small simulated class end to end, offline")
    p.add_argument("--workers", type=int, default=None)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("grade", help="grade submitted/*/LAB in parallel (or on a Dask cluster)")
    p.add_argument("lab")
    p.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--student", action="append", default=None, help="only these (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again what is already graded")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per submission")
    p.add_argument("--zip", type=Path, default=None,
                   help="zip of submissions (an LMS export) for nbgrader zip_collect: "
                   "top-level entries named [LAB_]STUDENT_attempt_YYYY-MM-DD-HH-MM-SS_NOTEBOOK"
                   ".ipynb (unless the config sets FileNameCollectorPlugin.named_regexp); "
                   "each student's newest attempt is collected, bad entries are reported")
    p.add_argument("--course", type=Path, default=ROOT, help="course folder (default: here)")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("report", help="reports/LAB/index.html (charts) and grades.csv")
    p.add_argument("lab")
    p.add_argument("--course", type=Path, default=ROOT, help="course folder (default: here)")
    p.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (RuntimeError, FileNotFoundError) as error:
        print(f"course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
