"""Pickling for the kernel, with a check of the reference code that goes with it.

Arguments travel into the student's kernel pickled (cloudpickle); ``reference`` cannot be
imported in the sandbox, so its functions and classes travel by value, and the student's
code can keep a copy of them. Every reference function or class pickled is recorded by its
top-level name, and a grader may send only what its file declares in ``SENDS`` (the order
of grader files makes sure those names were graded before: course/graders/order.py).
"""

from __future__ import annotations

import io
import pickle
import types
from contextlib import contextmanager

import cloudpickle

# The names the running grader declared (None: no grader is running, nothing is checked).
_allowed: frozenset[str] | None = None


class ReferenceNotDeclared(RuntimeError):
    """A grader tried to send reference code its file does not declare in SENDS."""


@contextmanager
def declared(sends):
    """Within this block only the reference names in ``sends`` may be sent."""
    global _allowed
    saved, _allowed = _allowed, frozenset(sends)
    try:
        yield
    finally:
        _allowed = saved


def reference_name(obj) -> str | None:
    """The top-level reference name a function or class belongs to (``LeNet5`` for
    ``LeNet5.forward``); None for anything else and for private helpers."""
    kind = type(obj)  # not isinstance: that asks some proxies (torch's) for __class__
    if kind is not types.FunctionType and not issubclass(kind, type):
        return None
    module = getattr(obj, "__module__", None) or ""
    if module != "reference" and not module.startswith("reference."):
        return None
    name = (getattr(obj, "__qualname__", "") or "").split(".")[0]
    return None if not name or name.startswith(("_", "<")) else name


class _RecordingPickler(cloudpickle.Pickler):
    def __init__(self, file, sent: set):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.sent = sent

    def reducer_override(self, obj):
        name = reference_name(obj)
        if name is not None:
            self.sent.add(name)
        return super().reducer_override(obj)


def dumps_with_names(value, by_value=()) -> tuple[bytes, set[str]]:
    """(pickle of ``value``, reference names in it). ``reference`` and the ``by_value``
    modules (a grader's own module, for its drivers) go by value."""
    import reference

    modules = {reference, *by_value}
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    sent: set[str] = set()
    buffer = io.BytesIO()
    try:
        _RecordingPickler(buffer, sent).dump(value)
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)
    return buffer.getvalue(), sent


def dumps_for_kernel(value, by_value=()) -> bytes:
    """The pickle of ``value`` for the kernel; ReferenceNotDeclared if it holds reference
    code the running grader did not declare."""
    payload, sent = dumps_with_names(value, by_value)
    if _allowed is not None and not sent <= _allowed:
        raise ReferenceNotDeclared(
            "a grader sent reference code it does not declare in SENDS: "
            f"{sorted(sent - _allowed)}")
    return payload
