"""The half of the bridge that runs inside the student's kernel.

This file is never imported by the kernel (the course folder is not mounted in the
sandbox): its source is sent as text, once, and run in a private namespace. ``serve``
then answers the trusted side's calls over a Unix socket in the shared folder, in the
kernel's main thread, until the trusted side hangs up: one Jupyter execute request for
all the calls of a grading run, not one each (that round trip cost ~25 ms a call).
A call reads its arguments (pickled by the trusted side), calls the student's function,
and writes the result as plain data: JSON for scalars and containers, ``.npy`` for arrays,
Parquet for DataFrames, the Vega-Lite dict for altair charts. The trusted side never
unpickles anything from here.
"""

import json
import os
import pickle
import sys
import traceback


def _encode(value, call_dir, counter):
    import numpy as np

    def save(suffix, writer):
        counter[0] += 1
        name = f"part{counter[0]}{suffix}"
        writer(os.path.join(call_dir, name))
        return name

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        if isinstance(value, int) and abs(value) > 2**63:
            return {"$type": "bigint", "value": str(value)}
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return {"$type": "npscalar", "dtype": value.dtype.str,
                "value": _encode(value.item(), call_dir, counter)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufcUSMm":
            return {"$type": "unsupported", "type": f"numpy array of dtype {value.dtype}"}
        if value.nbytes > _LIMIT[0]:  # refused before it fills the sandbox's disk
            return {"$type": "toolarge", "bytes": int(value.nbytes)}
        arr = np.array(value, order="C", copy=True)  # ascontiguousarray makes 0-d 1-d
        return {"$type": "ndarray", "file": save(".npy", lambda p: np.save(p, arr))}
    if isinstance(value, (list, tuple)):
        return {"$type": type(value).__name__ if type(value) in (list, tuple) else "list",
                "items": [_encode(v, call_dir, counter) for v in value]}
    if isinstance(value, (range,)):
        return {"$type": "list", "items": list(value)}
    if isinstance(value, dict):
        return {"$type": "dict",
                "items": [[_encode(k, call_dir, counter), _encode(v, call_dir, counter)]
                          for k, v in value.items()]}
    module = type(value).__module__ or ""
    if "torch" in sys.modules:  # a student's nn.Module subclass lives in __main__
        encoded = _encode_torch(value, call_dir, counter)
        if encoded is not None:
            return encoded
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(value, pd.Series):
            value = value.to_frame(name="__series__" if value.name is None else value.name)
            kind = "series"
        elif isinstance(value, pd.Index):
            value = value.to_frame(index=False, name="__index__")
            kind = "index"
        elif isinstance(value, pd.DataFrame):
            kind = "dataframe"
        else:
            return {"$type": "unsupported", "type": f"{module}.{type(value).__name__}"}
        columns = [_encode(c, call_dir, counter) for c in value.columns]
        frame = value.copy()
        frame.columns = [f"c{i}" for i in range(frame.shape[1])]
        index_names = [str(n) if n is not None else None for n in frame.index.names]
        frame = frame.reset_index(drop=False)
        frame.columns = [str(c) for c in frame.columns]
        return {"$type": kind, "columns": columns, "index_names": index_names,
                "file": save(".parquet", lambda p: frame.to_parquet(p, index=False))}
    if module.startswith("altair") and hasattr(value, "to_dict"):
        import altair as alt

        with alt.data_transformers.disable_max_rows():
            spec = value.to_dict()

        def write(p):
            with open(p, "w") as f:
                json.dump(spec, f)

        return {"$type": "vegalite", "file": save(".json", write)}
    return {"$type": "unsupported", "type": f"{module}.{type(value).__qualname__}"}


def _encode_torch(value, call_dir, counter):
    """A tensor as an array file; a module as its class, mode, parameters and buffers."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.layout != torch.strided:
            return {"$type": "unsupported", "type": f"torch tensor {value.dtype} {value.layout}"}
        array = value.detach().cpu()
        if array.dtype == torch.bfloat16:
            array = array.float()
        return {"$type": "tensor", "dtype": str(value.dtype).replace("torch.", ""),
                "requires_grad": bool(value.requires_grad),
                "data": _encode(array.numpy(), call_dir, counter)}
    if isinstance(value, torch.nn.Module):
        def tensors(pairs):
            return {"$type": "dict", "items": [[str(k), _encode(t, call_dir, counter)]
                                               for k, t in pairs if t is not None]}

        return {"$type": "module", "class": type(value).__name__, "training": value.training,
                "parameters": tensors(value.named_parameters()),
                "buffers": tensors(value.named_buffers()),
                "modules": [[name, type(m).__name__, bool(m.training)]
                            for name, m in value.named_modules()]}
    return None


_LIMIT = [2**63]  # bytes the trusted side accepts, set by call()


def call(namespace, name, call_dir, max_bytes=2**63):
    _LIMIT[0] = max_bytes
    status = {}
    try:
        with open(os.path.join(call_dir, "args.pkl"), "rb") as f:
            args, kwargs, patch, driver = pickle.load(f)
        # A driver (a grader's function) gets the notebook's globals first: it builds the
        # student's classes and calls their methods.
        function = namespace.get(name) if driver is None else driver
        if driver is not None:
            args = (namespace, *args)
        if function is None:
            raise NameError(f"name '{name}' is not defined in the notebook")
        if not callable(function):
            raise TypeError(f"'{name}' is not a function")
        # The grader may swap in correct versions of the helpers this function calls, so
        # that a mistake in one exercise costs the points of that exercise only.
        missing = object()
        saved = {key: namespace.get(key, missing) for key in patch}
        namespace.update(patch)
        try:
            result = function(*args, **kwargs)
        finally:
            for key, value in saved.items():
                if value is missing:
                    namespace.pop(key, None)
                else:
                    namespace[key] = value
        status = {"ok": True, "result": _encode(result, call_dir, [0])}
    except BaseException as error:  # noqa: BLE001 - a student's SystemExit is a failure too
        frames = traceback.extract_tb(error.__traceback__)[1:]
        status = {"ok": False, "error": type(error).__name__, "message": str(error)[:2000],
                  "traceback": "".join(traceback.format_list(frames[-5:]))[-3000:]}
    with open(os.path.join(call_dir, "status.json.tmp"), "w") as f:
        json.dump(status, f)
    os.replace(os.path.join(call_dir, "status.json.tmp"), os.path.join(call_dir, "status.json"))


def serve(namespace, socket_path):
    """Answer calls until the trusted side closes the connection.

    A request is one JSON line ``{"id", "name", "dir", "max_bytes"}``; the answer is the
    id on a line, sent once the call's files are written. An interrupt (a call past its
    time limit) ends that call, never the loop: outside a call, SIGINT is ignored.
    """
    import signal
    import socket

    in_call = [False]

    def on_interrupt(signum, frame):
        if in_call[0]:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: the default handler stays
        previous = None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(socket_path)
    buffer = b""
    try:
        while True:
            while b"\n" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            try:
                in_call[0] = True
                call(namespace, request["name"], request["dir"], request["max_bytes"])
            except KeyboardInterrupt:
                pass  # it came after the call's own handler: the status may be missing
            finally:
                in_call[0] = False
            sock.sendall(str(request["id"]).encode() + b"\n")
    finally:
        sock.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
