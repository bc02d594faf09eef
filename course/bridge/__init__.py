"""Stage 2 of grading: the graders call the student's functions in the live kernel.

``trusted`` is the graders' side (`Bridge`: pickled arguments in, a call announced over a
Unix socket, a timeout), ``kernel_side`` the code sent into the kernel as text (it runs the
call and writes its result as plain data), ``results`` the reading of that data on the
trusted side (never unpickled; sizes and file types checked), ``sending`` the pickling of
arguments, which sends only the reference code a grader file declares.
"""

from .budget import DecodeBudget
from .results import (
    BridgeError,
    CallTimeout,
    KernelDead,
    ModuleData,
    ResultReader,
    ResultRejected,
    StudentError,
    TooLarge,
    Unsupported,
    VegaLite,
)
from .sending import ReferenceNotDeclared, declared, dumps_for_kernel
from .trusted import Bridge, driver_module

__all__ = [
    "Bridge",
    "BridgeError",
    "CallTimeout",
    "KernelDead",
    "ModuleData",
    "ReferenceNotDeclared",
    "ResultReader",
    "ResultRejected",
    "StudentError",
    "TooLarge",
    "DecodeBudget",
    "Unsupported",
    "VegaLite",
    "declared",
    "driver_module",
    "dumps_for_kernel",
]
