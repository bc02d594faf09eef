"""Trained torch models for the hidden graders, made once and kept on disk.

A grader's fixed real-MNIST case needs a trained network; training it in every grading run
would cost seconds per submission. The first run trains it (deterministically) and saves
its state dict under ``<repo>/.cache/graders`` (or ``$COURSE_GRADER_CACHE``); later runs
load it. The file is written atomically and readable by all, so parallel graders never see
half a file, and a corrupt file is simply trained again.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def cache_file(key: str) -> Path:
    folder = Path(os.environ.get("COURSE_GRADER_CACHE", ROOT / ".cache" / "graders"))
    return folder / f"{key}-torch{torch.__version__.split('+')[0]}.pt"


def cached_model(key: str, build: Callable[[], torch.nn.Module],
                 train: Callable[[torch.nn.Module], object]) -> torch.nn.Module:
    """``build()``, with the weights of the cache ``key`` if present, else after
    ``train(model)`` (then cached); in eval mode, a fresh object on every call."""
    model, path = build(), cache_file(key)
    if path.is_file():
        try:
            model.load_state_dict(torch.load(path, weights_only=True))
            return model.eval()
        except Exception:  # noqa: BLE001 - a corrupt cache is simply rebuilt
            model = build()
    train(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        torch.save(model.state_dict(), f)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
    os.replace(tmp, path)
    return model.eval()
