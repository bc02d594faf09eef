"""The graders' zygote: it preloads what a lab's grader files import, and each request runs
in a fresh fork (exit code back, a time limit kills it, nothing carries over)."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from course.graders.runner import preload_modules
from course.runner import zygote as zygote_module
from course.runner.zygote import request

ROOT = Path(__file__).resolve().parent.parent.parent

PROBE = """
import sys, time
def loaded(name):
    return 0 if name in sys.modules else 3
def leave_a_mark():
    sys.modules["course_zygote_mark"] = None
    return 0
def sleep(seconds):
    time.sleep(seconds)
"""


def test_the_graders_preload_is_read_from_the_lab_files_top_level_imports(tmp_path):
    (tmp_path / "test_a.py").write_text(
        "import numpy as np\nfrom hypothesis import given\nfrom .cases import case\n"
        "def test():\n    import torch\n")
    (tmp_path / "test_broken.py").write_text("def (:\n")
    (tmp_path / "cases.py").write_text("import pandas\n")  # the lab's strategies
    names = preload_modules(tmp_path)
    assert {"numpy", "hypothesis", "pytest", "pandas", "course.graders.runner",
            "course.graders.pytest_plugin"} <= set(names)
    # Not what runs later only, nor the lab's own modules (each run imports its copy).
    assert "torch" not in names and not any("cases" in n for n in names)


@pytest.fixture
def zygote(tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    path = str(tmp_path / "z.sock")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    proc = subprocess.Popen(zygote_module.command(["reference.activations"], path), env=env,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not os.path.exists(path):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    yield lambda call, *args, timeout=30: request(path, {
        "call": call, "args": list(args), "cwd": str(tmp_path), "env": {},
        "log": str(tmp_path / "log.txt"), "timeout": timeout})
    proc.kill()
    proc.wait()


def test_children_start_with_the_preload_and_leave_nothing_behind(zygote):
    assert zygote("probe:loaded", "reference.activations") == 0
    assert zygote("probe:loaded", "torch") == 3  # not imported by the graders
    assert zygote("probe:leave_a_mark") == 0
    assert zygote("probe:loaded", "course_zygote_mark") == 3  # each child a fresh fork


def test_time_limit_and_exit_codes(zygote):
    assert zygote("probe:sleep", 30, timeout=1) is None
    assert zygote("sys:exit", 7) == 7
    assert zygote("probe:no_such_function") == 1


def test_graders_fall_back_to_a_new_python_without_a_live_zygote(tmp_path, monkeypatch):
    from course.graders.runner import _in_zygote

    monkeypatch.delenv("COURSE_GRADER_ZYGOTE", raising=False)
    assert _in_zygote([], {}, tmp_path, tmp_path, 10) == (False, "")
    gone = subprocess.Popen(["true"])
    time.sleep(0.2)  # exited, not reaped: a zombie counts as gone
    monkeypatch.setenv("COURSE_GRADER_ZYGOTE", str(tmp_path / "never.sock"))
    monkeypatch.setenv("COURSE_GRADER_ZYGOTE_PID", str(gone.pid))
    start = time.monotonic()
    assert _in_zygote([], {}, tmp_path, tmp_path, 10) == (False, "")
    assert time.monotonic() - start < 1
    gone.wait()
