"""A memory cap for the trusted processes that read what a submission produced.

nbgrader's process (it holds the notebook and every output the kernel sends) and the
graders' process (it reads the results of the student's functions) run outside the
sandbox; a submission that makes them grow could take the whole machine and every other
grading with it. A soft address-space limit (``RLIMIT_AS``) turns that into a
``MemoryError`` in that one process, for that one submission. Only the soft limit is set:
the sandbox's init program, started from here, sets its own (``c.Sandbox.memory_limit``)
whether that is lower or higher.
"""

from __future__ import annotations

import resource


def limit_memory(limit: int) -> None:
    """Cap this process's address space at ``limit`` bytes (0: leave it); never raises it."""
    if limit <= 0:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def gigabytes(limit: int) -> str:
    return f"{limit / 2**30:g} GB"
