"""Trained models for the hidden graders, made once and kept on disk.

A grader's fixed real-MNIST case needs a trained network; training it in every grading run
would cost seconds per submission. The first run trains it (deterministically) and saves it
under ``<repo>/.cache/graders`` (or ``$COURSE_GRADER_CACHE``); later runs load it. Torch
networks are kept as state dicts (`cached_model`), scikit-learn models pickled
(`cached_object`: a cache this trusted side alone writes, never a file from a sandbox).
Files are written atomically and readable by all, so parallel graders never see half a
file, and a corrupt file is simply made again.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..layout import ROOT


def _cached(name: str) -> Path:
    folder = Path(os.environ.get("COURSE_GRADER_CACHE", ROOT / ".cache" / "graders"))
    return folder / name


def cache_file(key: str) -> Path:
    """Where `cached_model` keeps the state dict of ``key`` (named by torch's version)."""
    import torch

    return _cached(f"{key}-torch{torch.__version__.split('+')[0]}.pt")


def _write_atomic(path: Path, write: Callable) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        write(f)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
    os.replace(tmp, path)


def cached_model(key: str, build: Callable, train: Callable):
    """``build()``, with the weights of the cache ``key`` if present, else after
    ``train(model)`` (then cached); in eval mode, a fresh object on every call."""
    import torch

    model, path = build(), cache_file(key)
    if path.is_file():
        try:
            model.load_state_dict(torch.load(path, weights_only=True))
            return model.eval()
        except Exception:  # noqa: BLE001 - a corrupt cache is simply rebuilt
            model = build()
    train(model)
    _write_atomic(path, lambda f: torch.save(model.state_dict(), f))
    return model.eval()


def cached_object(key: str, make: Callable, expected_type: type):
    """The object ``make()`` returns, pickled under ``key`` the first time (keys name the
    library version: a pickle is only read back by the version that wrote it)."""
    path = _cached(f"{key}.pkl")
    if path.is_file():
        try:
            with path.open("rb") as f:
                value = pickle.load(f)  # noqa: S301 - this trusted side's own cache
            if isinstance(value, expected_type):
                return value
        except Exception:  # noqa: BLE001 - a corrupt cache is simply rebuilt
            pass
    value = make()
    _write_atomic(path, lambda f: pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL))
    return value
