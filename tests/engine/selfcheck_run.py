"""Run `course check LAB` as a test (one test file per lab, so that pytest-xdist spreads
the labs' self-checks over its workers: each takes minutes)."""

import subprocess
import sys


def course_check(lab, root):
    proc = subprocess.run([sys.executable, "-m", "course", "check", lab, "--workers", "2"],
                          cwd=root, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
