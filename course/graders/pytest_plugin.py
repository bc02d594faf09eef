"""pytest plug-in loaded by the hidden-grader run (``python -m course.graders.runner``).

It gives grader tests a ``student`` fixture (the student's live kernel, through the
bridge), fixes hypothesis' randomness so a regrade gives the same score, and records one
outcome per test (= one property) with a message written for the student: the property,
the counterexample, expected against got. Tracebacks, grader source lines and file paths
are never recorded.
"""

from __future__ import annotations

import os
import re
import traceback

import pytest
from hypothesis import HealthCheck, Phase, settings

from ..bridge import (
    Bridge,
    BridgeError,
    CallTimeout,
    KernelDead,
    StudentError,
    TooLarge,
    declared,
)
from .scrub import scrub

settings.register_profile(
    "grading",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=10,
    print_blob=False,
    report_multiple_bugs=False,  # one clear failure for the student, not an ExceptionGroup
    # No "explain" phase: it reports grader file names and line numbers.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
settings.load_profile("grading")

MAX_MESSAGE = 1500


class Student:
    """The student's notebook: ``student.some_function(*args)`` runs it in the kernel."""

    def __init__(self, bridge: Bridge):
        self._bridge = bridge

    def _run(self, driver, *args, **kwargs):
        """``driver(notebook_globals, *args, **kwargs)`` in the kernel (see Bridge.run)."""
        return self._bridge.run(driver, *args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            return self._bridge.call(name, *args, **kwargs)

        call.__name__ = name
        return call


def pytest_collection_modifyitems(items):
    # A failure is reported to the student by the Recorder. pytest's own rendering of it,
    # which hypothesis also asks for (twice), re-reads and parses the source of every
    # frame: on a blank submission that was half of the grading time. The plain traceback
    # stays in the graders' log for whoever debugs a grader.
    for item in items:
        item.repr_failure = _plain_traceback


def _plain_traceback(excinfo) -> str:
    return "".join(traceback.format_exception(excinfo.value))


def pytest_addoption(parser):
    group = parser.getgroup("course")
    group.addoption("--kernel-connection", default=None)
    group.addoption("--kernel-shared", default=None)
    group.addoption("--kernel-uid", type=int, default=0)
    group.addoption("--call-timeout", type=float, default=30.0)
    group.addoption("--max-result-bytes", type=int, default=64 * 1024**2)
    group.addoption("--max-submission-bytes", type=int, default=0)


@pytest.fixture(scope="session")
def student(request):
    opt = request.config.getoption
    if not opt("--kernel-connection"):
        pytest.fail("graders need a kernel (run them through course.graders.runner)")
    bridge = Bridge(opt("--kernel-connection"), opt("--kernel-shared"),
                    call_timeout=opt("--call-timeout"), max_bytes=opt("--max-result-bytes"),
                    sandbox_uid=opt("--kernel-uid"),
                    max_submission_bytes=opt("--max-submission-bytes") or None)
    yield Student(bridge)
    bridge.close()


@pytest.fixture(autouse=True)
def declared_reference(request):
    """A grader may send into the kernel only the reference code its file declares in
    SENDS (the files run in an order where those names are already graded)."""
    with declared(getattr(request.module, "SENDS", ())):
        yield


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


FLAKY = ("Your function gave a different answer when it was called again with the same "
         "input: the same input must always give the same answer (does it keep something "
         "between calls, or use randomness?)")
GRADER_ERROR = "the check could not be completed ({}): please tell your instructor"


def _text(value, limit: int = 4000) -> str:
    """``str(value)``, whatever its ``__str__`` does."""
    try:
        text = value if isinstance(value, str) else str(value)
    except BaseException:  # noqa: BLE001 - an exception that cannot even be printed
        return "<unprintable>"
    return text[:limit]


def _is_flaky(error: BaseException) -> bool:
    from hypothesis.errors import Flaky

    return isinstance(error, Flaky)


def _describe(error: BaseException, depth: int = 0) -> str:
    """The message for ``error``, from parts that cannot hold grader source or paths: the
    student's own error, the bridge's own texts, a grader's assertion message."""
    if _is_flaky(error):
        inner = getattr(error, "exceptions", ())
        first = next((e for e in inner if not _is_flaky(e)), None) if depth < 5 else None
        return FLAKY + (f"\nThe first time: {_describe(first, depth + 1)}" if first else "")
    if isinstance(error, BaseExceptionGroup):
        inner = error.exceptions
        return _describe(inner[0], depth + 1) if inner and depth < 5 else GRADER_ERROR.format(
            type(error).__name__)
    if isinstance(error, StudentError):
        text = f"Your function raised {_text(error.error, 200)}: {_text(error.message)}"
        if error.trace:
            text += f"\n(in your code)\n{_text(error.trace)}"
        return text
    if isinstance(error, (CallTimeout, KernelDead, TooLarge)):
        text = _text(error)
        return text[:1].upper() + text[1:]
    if isinstance(error, BridgeError):
        return f"The result could not be read: {_text(error)}"
    if isinstance(error, AssertionError):
        return _text(error) or "the check failed"
    # A grader's own error (or hypothesis'): its name and first line only.
    return GRADER_ERROR.format(f"{type(error).__name__}: {_first_line(_text(error, 500))}")


def _counterexample(error: BaseException) -> str:
    """The falsifying example hypothesis noted, without the test's name or ``student``."""
    notes = getattr(error, "__notes__", None)
    if not isinstance(notes, list):
        return ""
    notes = [n for n in notes if isinstance(n, str)
             and n.startswith(("Falsifying", "Failing test case"))]
    if not notes:
        return ""
    lines = notes[0].splitlines()[1:]  # drop "Failing test case: test_name("
    lines = [ln for ln in lines if not ln.strip().startswith("student=")]
    return "\nCounterexample:\n" + "\n".join(lines[:-1] if lines[-1:] == [")"] else lines)


def student_message(error: BaseException) -> str:
    """What a student reads about a failed property: no grader source, no paths (built
    from safe parts, then scrubbed as a last line of defence), whatever was raised."""
    try:
        example = _counterexample(error)
        if not example and isinstance(error, BaseExceptionGroup):
            example = next((e for e in map(_counterexample, error.exceptions) if e), "")
        text = _describe(error) + example
    except BaseException:  # noqa: BLE001 - never let a message take the run down
        text = GRADER_ERROR.format("an error that could not be described")
    text = scrub(text)
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "\n... (shortened)"
    return text


class Recorder:
    def __init__(self):
        self.results: list[dict] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            file = os.path.basename(str(item.path))
            grade_id = re.sub(r"^test_|\.py$", "", file)
            doc = getattr(getattr(item, "function", None), "__doc__", None)
            entry = {"grade_id": grade_id, "test": item.name,
                     "property": scrub(_first_line(doc) or item.name.replace("_", " ")),
                     "passed": report.passed, "message": ""}
            if not report.passed and call.excinfo is not None:
                entry["message"] = student_message(call.excinfo.value)
                entry["kernel_dead"] = isinstance(call.excinfo.value, KernelDead)
            self.results.append(entry)
