"""The ``course`` command: release, check, grade, report and demo."""

from __future__ import annotations

import argparse
import sys

from . import release as release_mod


def _labs(args) -> list[str]:
    return release_mod.labs() if args.all or not args.labs else args.labs


def cmd_release(args) -> int:
    for lab in _labs(args):
        folder = release_mod.release(lab)
        print(f"released {lab} -> {folder}")
    return 0


def cmd_check(args) -> int:
    from .selfcheck import check

    ok = all([check(lab, workers=args.workers) for lab in _labs(args)])
    print("self-check passed" if ok else "SELF-CHECK FAILED")
    return 0 if ok else 1


def cmd_demo(args) -> int:
    from .demo import run

    return run(workers=args.workers)


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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (RuntimeError, FileNotFoundError) as error:
        print(f"course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
