"""Mutation score of every lab's hidden graders (`make mutation`; not part of `make test`).

For each lab (or ``--lab X``): mutmut's mutation operators applied to the source notebook's
solutions, each mutant graded by its exercise's hidden graders through the kernel-less
harness (engine: course/authoring/mutants.py, mutation.py, mutation_report.py). Writes
``benchmarks/mutation/<lab>.md`` and prints per-lab and overall scores
(killed / non-equivalent). ``--check`` writes nothing and fails if a committed report
differs from the re-run. Equivalent mutants are argued, one line each, in
``benchmarks/mutation/equivalent.toml`` (``[lab.exercise]``, key: the mutant's text as the
report prints it).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # this checkout's engine, whatever is installed

from course.authoring.mutation import TOOL, BaselineFailed, run_lab  # noqa: E402
from course.authoring.mutation_report import (  # noqa: E402
    LabResult,
    Tally,
    load_equivalents,
    markdown,
    percent,
    summary_line,
)
from course.layout import ROOT, Course  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", action="append", help="only this lab (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="fail if a committed report differs from the re-run")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--reports", type=Path, default=HERE, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per mutant (default: 10 x the exercise's solution, "
                             "at least 60)")
    parser.add_argument("--no-cache", action="store_true", help="regrade every mutant")
    args = parser.parse_args(argv)

    labs = args.lab or Course(args.root).labs()
    equivalents = load_equivalents(args.reports / "equivalent.toml")
    overall, failed = Tally(), False
    for lab in labs:
        def progress(done, todo, lab=lab):
            if done == todo or done % 10 == 0:
                print(f"  {lab}: {done}/{todo} mutants graded", file=sys.stderr, flush=True)

        try:
            result: LabResult = run_lab(lab, args.root, equivalents=equivalents,
                                        workers=args.workers, timeout=args.timeout,
                                        use_cache=not args.no_cache, progress=progress)
        except BaselineFailed as error:
            print(f"{lab}: {error}")
            failed = True
            continue
        for entry in result.stale:
            print(f"  warning: equivalent.toml [{lab}] {entry}", file=sys.stderr)
        text = markdown(result, TOOL)
        path = args.reports / f"{lab}.md"
        if args.check:
            old = path.read_text() if path.exists() else ""
            if old != text:
                failed = True
                print(f"{path.name} differs from the re-run:")
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), f"{lab}.md (committed)",
                    f"{lab}.md (re-run)"))
        else:
            path.write_text(text)
        print(summary_line(result), flush=True)
        overall.add(result.total)
    print(f"overall: {overall.killed} of {overall.relevant} non-equivalent mutants killed "
          f"({percent(overall.score)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
