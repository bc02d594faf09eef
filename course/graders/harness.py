"""Run a lab's hidden graders without a kernel: the self-test harness of every lab.

A ``FakeStudent`` stands for the notebook's kernel: its functions live in a namespace dict
(as a notebook's globals do), ``_patch`` swaps names in that dict during a call, ``_run``
hands the namespace to a grader's driver, the arguments go through the bridge's cloudpickle
and the results through the bridge's own encoder and decoder (.npy, Parquet, Vega-Lite JSON,
tensors, modules), so a grader sees exactly what it would see from a real kernel.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import sys
import tempfile
import textwrap
from contextlib import contextmanager
from pathlib import Path

from hypothesis import Phase, settings

from ..bridge import (
    ResultReader,
    StudentError,
    declared,
    driver_module,
    dumps_for_kernel,
    kernel_side,
)
from ..layout import ROOT, Course

_BEFORE = settings.default
from . import pytest_plugin  # noqa: E402 - registers (and loads) the "grading" profile

settings.register_profile("before-graders", _BEFORE)
settings.load_profile("before-graders")
# Same examples as grading (derandomized), but a failure is not shrunk: faster, same verdict.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
settings.register_profile("grading-noshrink", settings.get_profile("grading"), phases=NO_SHRINK)
# Fewer examples, for solutions checked elsewhere too (the end-to-end `course check`).
settings.register_profile("grading-quick", settings.get_profile("grading"), phases=NO_SHRINK,
                          max_examples=3)


class FakeStudent:
    """Calls functions of a notebook namespace the way the bridge calls the kernel."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.calls = 0
        self.max_bytes = 64 * 1024**2

    def _run(self, driver, *args, timeout=None, **kwargs):
        payload = dumps_for_kernel((args, kwargs, {}, driver), (driver_module(driver),))
        args, kwargs, _, driver = pickle.loads(payload)
        return self._invoke(f"<{driver.__name__}>", driver, (self.namespace, *args), kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, _patch=None, timeout=None, **kwargs):
            args, kwargs, patch, _ = pickle.loads(
                dumps_for_kernel((args, kwargs, dict(_patch or {}), None)))
            function = self.namespace.get(name)
            if function is None:
                raise StudentError(name, "NameError", f"name {name!r} is not defined")
            missing = object()
            saved = {key: self.namespace.get(key, missing) for key in patch}
            self.namespace.update(patch)
            try:
                return self._invoke(name, function, args, kwargs)
            finally:
                for key, value in saved.items():
                    if value is missing:
                        self.namespace.pop(key, None)
                    else:
                        self.namespace[key] = value

        return call

    def _invoke(self, name, function, args, kwargs):
        self.calls += 1
        try:
            result = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - becomes feedback, as in the kernel
            raise StudentError(name, type(error).__name__, str(error)) from None
        return self._roundtrip(result)

    def _roundtrip(self, result):
        with tempfile.TemporaryDirectory() as folder:
            encoded = json.loads(json.dumps(kernel_side._encode(result, folder, [0])))
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                return ResultReader(fd, self.max_bytes).decode(encoded)
            finally:
                os.close(fd)


def namespace(*sources: str) -> dict:
    """The globals of a notebook made of ``sources``, run in order in one namespace."""
    ns: dict = {"__name__": "__main__"}
    for source in sources:
        exec(compile(textwrap.dedent(source), "<notebook>", "exec"), ns)  # noqa: S102
    return ns


def notebook_cells(lab: str) -> list[dict]:
    path = Course(ROOT).source_notebook(lab)
    return json.loads(path.read_text())["cells"]


def solution_sources(lab: str) -> dict[str, str]:
    """{solution cell id: its source} of the lab's source notebook, in notebook order."""
    out = {}
    for cell in notebook_cells(lab):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            out[meta["grade_id"]] = "".join(cell["source"])
    return out


@contextmanager
def profile(name):
    settings.load_profile(name)
    try:
        yield
    finally:
        settings.load_profile("before-graders")


class GraderSet:
    """The hidden graders of one lab (tests/graders/<lab>/test_<grade_id>.py)."""

    def __init__(self, lab: str, root: Path = ROOT):
        self.lab = lab
        self.folder = Course(root).graders(lab)
        if str(self.folder.parent) not in sys.path:  # the labs' grader packages
            sys.path.insert(0, str(self.folder.parent))
        self._modules: dict = {}

    @property
    def grade_ids(self) -> list[str]:
        return sorted(p.stem[len("test_"):] for p in self.folder.glob("test_*.py"))

    def module(self, grade_id, profile_name="grading"):
        """The grader module, imported under ``profile_name``: @given takes the settings that
        are current when a test is decorated (the grading run loads its profile first too)."""
        key = (grade_id, profile_name)
        if key not in self._modules:
            path = self.folder / f"test_{grade_id}.py"
            # In the lab's package (``from .cases import ...``), once per profile.
            importlib.import_module(self.lab)
            name = f"{self.lab}.test_{grade_id}__{profile_name.replace('-', '_')}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # drivers are pickled from their module by value
            with profile(profile_name):
                spec.loader.exec_module(module)
            self._modules[key] = module
        return self._modules[key]

    def properties(self, grade_id, profile_name="grading"):
        module = self.module(grade_id, profile_name)
        return [(name, getattr(module, name)) for name in sorted(dir(module))
                if name.startswith("test_") and callable(getattr(module, name))]

    def check_files(self, grade_ids, min_properties=3) -> None:
        """One grader file per grade cell, each with a fixed real-MNIST case
        (``test_trained_mnist``) among at least ``min_properties`` properties, each with a
        one-line docstring: the name of the property a student reads in the feedback."""
        assert self.grade_ids == sorted(grade_ids)
        for grade_id in grade_ids:
            tests = self.properties(grade_id)
            assert len(tests) >= min_properties, grade_id
            assert any(name == "test_trained_mnist" for name, _ in tests), grade_id
            for name, test in tests:
                doc = (test.__doc__ or "").strip()
                assert doc and len(doc.splitlines()[0]) <= 100, f"{grade_id}.{name}: docstring"

    def run_cell(self, student, grade_id, *, profile_name="grading-noshrink",
                 first_failure=False) -> dict:
        """{property name: None if it passed, else the student's feedback message}."""
        outcome = {}
        sends = getattr(self.module(grade_id, profile_name), "SENDS", ())
        for name, test in self.properties(grade_id, profile_name):
            try:
                with declared(sends):  # as the graders' pytest plug-in does
                    test(student)
            except (AssertionError, StudentError) as error:
                outcome[name] = pytest_plugin.student_message(error)
                if first_failure:
                    break
            else:
                outcome[name] = None
        return outcome


def failures(outcome: dict) -> dict:
    return {name: message for name, message in outcome.items() if message is not None}


def poisoned(name):
    """A stand-in for another exercise's function: any call to it fails loudly."""

    def function(*args, **kwargs):
        raise RuntimeError(f"{name} is another exercise's function and must be patched")

    return function


def expect_failed_cleanly(outcome: dict, what: str) -> None:
    """At least one property failed, and every message is fit for a student: not empty,
    not too long, no grader source or path."""
    assert outcome, f"{what}: no property failed"
    for message in outcome.values():
        assert "test_" not in message and "tests/graders" not in message, message
        assert 0 < len(message) <= 1600, message


def isolated(ns: dict, cell_of: dict, grade_id: str, keep=()) -> dict:
    """``ns`` with every function of the other cells (``cell_of``: name -> grade id) made to
    raise, except ``keep``: a cell's graders must patch in what else they need."""
    for name, cell in cell_of.items():
        if cell != grade_id and name not in keep:
            ns[name] = poisoned(name)
    return ns
