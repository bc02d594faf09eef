"""Running the real nbgrader command, in the environment it needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..layout import PACKAGE_PATH


def nbgrader_env() -> dict:
    env = dict(os.environ)
    # nbgrader's gradebook runs `alembic` by name: this environment's bin must be on PATH.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PATH, env.get("PYTHONPATH")) if p)
    return env


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real nbgrader command in ``course``; raise with its output if it fails."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          env=nbgrader_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc
