"""Sandbox to trusted: what a call's result may be, and how it is read.

Everything here is data the sandbox wrote, so it is read as hostile: files are opened
relative to the call folder's descriptor, without following links, must be regular files
and count against a size budget; arrays are ``.npy`` read with ``allow_pickle=False``,
DataFrames Parquet, charts their Vega-Lite JSON, torch tensors arrays plus a dtype, torch
modules their class name, mode and tensors (`ModuleData`). Nothing is ever unpickled.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

import numpy as np

from .budget import DecodeBudget, ResultBudget, TooLarge
from .decoders import read_frame, read_json, read_npy
from .errors import (  # noqa: F401 - re-exported: the bridge's errors live with its results
    BridgeError,
    CallTimeout,
    KernelDead,
    ResultRejected,
    StudentError,
)


def _megabytes(value) -> str:
    return f"{value / 1e6:.1f}" if isinstance(value, int) else "?"


@dataclass(frozen=True)
class Unsupported:
    """Stands for a returned object the bridge does not carry (only its type name)."""

    type: str

    def __repr__(self) -> str:
        return f"<object of type {self.type}>"


@dataclass(frozen=True)
class ModuleData:
    """A torch ``nn.Module`` as data: its class name, mode, parameters and buffers."""

    type: str
    training: bool
    parameters: dict  # name -> torch.Tensor (requires_grad as it was in the kernel)
    buffers: dict
    modules: list  # (qualified name, class name, training) from named_modules()

    def n_parameters(self) -> int:
        return sum(int(t.numel()) for t in self.parameters.values())

    def state_dict(self) -> dict:
        return {**self.parameters, **self.buffers}

    def __repr__(self) -> str:
        return f"<{self.type} module with {self.n_parameters()} parameters>"


@dataclass(frozen=True)
class VegaLite:
    """An altair chart, as the Vega-Lite dict the student's chart produced."""

    spec: dict


class ResultReader:
    """Reads the files of one call folder (the descriptor ``dir_fd``) within ``max_bytes``
    of files, and decodes them within ``max_bytes`` of memory, charged to the submission's
    ``budget`` too (a fresh one when none is given)."""

    def __init__(self, dir_fd: int, max_bytes: int, budget: DecodeBudget | None = None):
        self.dir_fd, self.max_bytes, self.budget = dir_fd, max_bytes, max_bytes
        self.decoded = ResultBudget(budget or DecodeBudget(max_bytes, max_bytes))

    def status(self) -> dict:
        """The call's ``status.json``, within the budget."""
        self.decoded.submission.check()
        status = read_json(self.read("status.json"), self.decoded, "the result")
        if not isinstance(status, dict) or "ok" not in status:
            raise ResultRejected("the kernel wrote an unreadable status")
        return status

    def read(self, name: str) -> bytes:
        """The bytes of the call folder's file ``name``, counted against the budget."""
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            raise ResultRejected(f"bad file name in result: {name!r}")
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.dir_fd)
        except OSError as error:
            raise ResultRejected(f"result file {name} is missing or not a file") from error
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ResultRejected(f"result file {name} is not a regular file")
            if info.st_size > self.budget:
                raise TooLarge(f"its files take {info.st_size / 1e6:.1f} MB; the limit is "
                               f"{self.max_bytes / 1e6:.0f} MB")
            data = f.read(self.budget + 1)
        self.budget -= len(data)
        if self.budget < 0:
            raise TooLarge(f"its files take more than {self.max_bytes / 1e6:.0f} MB")
        return data

    def decode(self, node, depth: int = 0):
        """The value a call's result tree (the JSON the kernel wrote) stands for; a
        malformed tree is a `ResultRejected`, never another error."""
        try:
            return self._decode(node, depth)
        except (KeyError, TypeError, IndexError, AttributeError, ValueError):
            raise ResultRejected("malformed result") from None

    def _decode(self, node, depth: int = 0):
        if depth > 50:
            raise TooLarge("it is nested more than 50 levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise ResultRejected("malformed result")
        kind = node.get("$type")
        if kind in ("list", "tuple"):
            items = [self._decode(v, depth + 1) for v in node.get("items", [])]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            out = {}
            for pair in node.get("items", []):
                key = self._decode(pair[0], depth + 1)
                try:
                    out[key] = self._decode(pair[1], depth + 1)
                except TypeError as error:  # unhashable key
                    raise ResultRejected("a dict key is not hashable") from error
            return out
        if kind == "bigint":
            try:
                return int(str(node["value"])[:400])
            except ValueError:
                raise ResultRejected("malformed result") from None
        if kind == "npscalar":
            return self._decode_scalar(node, depth)
        if kind == "ndarray":
            return read_npy(self.read(node["file"]), self.decoded)
        if kind in ("dataframe", "series", "index"):
            return self._decode_frame(node, kind, depth)
        if kind == "vegalite":
            spec = read_json(self.read(node["file"]), self.decoded, "the chart")
            if not isinstance(spec, dict):
                raise ResultRejected("a chart spec must be a dict")
            return VegaLite(spec)
        if kind == "tensor":
            return self._decode_tensor(node, depth)
        if kind == "module":
            return self._decode_module(node, depth)
        if kind == "toolarge":  # the kernel's own early check; read() checks sizes regardless
            raise TooLarge(f"an array of {_megabytes(node.get('bytes'))} MB; the limit is "
                           f"{self.max_bytes / 1e6:.0f} MB")
        if kind == "unsupported":
            return Unsupported(str(node.get("type"))[:200])
        raise ResultRejected(f"unknown result type {str(kind)[:50]!r}")

    def _decode_scalar(self, node, depth):
        try:
            dtype = np.dtype(str(node["dtype"])[:20])
            if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype:
                raise ResultRejected("bad numpy scalar")
            return dtype.type(self._decode(node["value"], depth + 1))
        except (TypeError, ValueError, OverflowError):
            raise ResultRejected("bad numpy scalar") from None

    def _decode_tensor(self, node, depth):
        import torch

        array = self._decode(node.get("data"), depth + 1)
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            raise ResultRejected("malformed tensor")
        tensor = torch.from_numpy(np.array(array))
        dtype = getattr(torch, str(node.get("dtype", "")), None)
        if isinstance(dtype, torch.dtype) and dtype != tensor.dtype and dtype.is_floating_point:
            tensor = tensor.to(dtype)  # bfloat16 travels as float32
        if node.get("requires_grad") is True and tensor.is_floating_point():
            tensor.requires_grad_(True)
        return tensor

    def _decode_module(self, node, depth):
        def tensors(key):
            value = self._decode(node.get(key), depth + 1)
            if not isinstance(value, dict):
                raise ResultRejected("malformed module")
            return value

        modules = node.get("modules")
        if not isinstance(modules, list) or not all(
                isinstance(m, list) and len(m) == 3 for m in modules):
            raise ResultRejected("malformed module")
        return ModuleData(str(node.get("class"))[:200], bool(node.get("training")),
                          tensors("parameters"), tensors("buffers"),
                          [(str(a)[:200], str(b)[:200], bool(c)) for a, b, c in modules[:10000]])

    def _decode_frame(self, node, kind, depth):
        frame = read_frame(self.read(node["file"]), self.decoded)
        names = list(node.get("index_names", []))
        if names:
            frame = frame.set_index(list(frame.columns[: len(names)]))
            frame.index.names = names
        columns = [self._decode(c, depth + 1) for c in node.get("columns", [])]
        if len(columns) != frame.shape[1]:
            raise ResultRejected("DataFrame columns do not match")
        frame.columns = columns
        if kind == "series":
            series = frame.iloc[:, 0]
            return series.rename(None) if columns[0] == "__series__" else series
        if kind == "index":
            import pandas as pd

            return pd.Index(frame.iloc[:, 0].to_numpy())
        return frame
