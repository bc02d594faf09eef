"""Timing shared by the benchmarks (run as scripts: this folder is on sys.path)."""

import time


def best_of(fn, repeats=5):
    """The fastest of ``repeats`` runs of ``fn()``, in seconds: the least disturbed by a
    shared, noisy machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
