"""Primitives that the labs' strategies and fixed cases share.

Each lab's own strategies and real-MNIST cases live beside its graders
(``tests/graders/<lab>/cases.py``); what they have in common is here: seeding torch without
disturbing the caller's random state, and one thread for the small networks they train.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def seeded(seed):
    """Run with torch's global RNG seeded from ``seed``, and restore it afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def one_thread() -> None:
    """Small networks: one thread is the fastest on a shared machine, and the same everywhere."""
    import torch

    torch.set_num_threads(1)
