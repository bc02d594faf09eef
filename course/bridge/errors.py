"""What can go wrong with a call to the student's code, as the graders see it."""

from __future__ import annotations


class BridgeError(Exception):
    """A call to the student's code did not give a usable result."""


class StudentError(BridgeError):
    """The student's function raised an exception."""

    def __init__(self, name: str, error: str, message: str, trace: str = ""):
        super().__init__(f"{name} raised {error}: {message}")
        self.error, self.message, self.trace = error, message, trace


class CallTimeout(BridgeError):
    """The student's function did not return in time (it was interrupted)."""


class KernelDead(BridgeError):
    """The kernel died or stopped answering; no later call can succeed."""


class ResultRejected(BridgeError):
    """The result is too large or not in a format the bridge accepts."""
