"""Load CIFAR-10 from its "python version" archive (the hidden_activity homework).

The archive ``cifar-10-python.tar.gz`` (163 MiB) holds a folder ``cifar-10-batches-py``
with the pickled batches ``data_batch_1`` .. ``data_batch_5`` (10,000 training images
each), ``test_batch`` (10,000 test images) and ``batches.meta`` (the class names). Each
batch is a dict with ``b"data"``, a uint8 array of shape (10000, 3072) whose rows hold an
image's 1024 red, then 1024 green, then 1024 blue pixels (each plane row by row), and
``b"labels"``, a list of class numbers 0-9.

The archive is downloaded once, verified by MD5, and kept in the cache directory of
`reference.data` (``cache_dir``, else ``$COURSE_DATA_DIR``, else ``~/.cache/course-mnist``)::

    X_train, y_train, X_test, y_test, classes = load_cifar10()   # X: uint8 (n, 3072)
    images = to_images(X_train[:8])                               # uint8 (8, 32, 32, 3)
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import pickle
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from reference.data import DataUnavailableError, _cache_dir

__all__ = [
    "CIFAR10_URL",
    "CIFAR10_MD5",
    "ARCHIVE_NAME",
    "download_cifar10",
    "read_cifar10_archive",
    "load_cifar10",
    "to_images",
]

logger = logging.getLogger(__name__)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
N_VALUES = 3 * 32 * 32
_CHUNK = 1 << 20


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_cifar10(cache_dir=None, *, url=CIFAR10_URL, md5=CIFAR10_MD5, timeout=60.0) -> Path:
    """Return the path of the verified archive in the cache, downloading it if needed.

    The download streams into a temporary file next to the cache entry and replaces it
    only once its MD5 matches, so the cache never holds a partial or altered archive. A
    cached file with the wrong MD5 is deleted and downloaded again.

    Raises
    ------
    DataUnavailableError
        If there is no cache directory, the download fails or its checksum is wrong.
    """
    cache = _cache_dir(cache_dir)
    if cache is None:
        raise DataUnavailableError("no cache directory for CIFAR-10: pass cache_dir")
    path = cache / ARCHIVE_NAME
    if path.is_file():
        if _md5_of(path) == md5:
            return path
        logger.debug("deleting %s: wrong checksum", path)
        with contextlib.suppress(OSError):
            path.unlink()
    tmp = None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{ARCHIVE_NAME}.", suffix=".tmp")
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise DataUnavailableError(
                f"CIFAR-10 from {url}: checksum mismatch (md5 {digest.hexdigest()}, "
                f"expected {md5})")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
        return path
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DataUnavailableError(
            f"could not download CIFAR-10 from {url}: {exc}\nDownload "
            f"{CIFAR10_URL} (163 MiB) by hand and save it as {path}.") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _batch(archive: tarfile.TarFile, name: str) -> dict:
    member = f"{FOLDER}/{name}"
    try:
        handle = archive.extractfile(member)
    except KeyError:
        raise ValueError(f"the archive has no {member}") from None
    if handle is None:
        raise ValueError(f"{member} in the archive is not a file")
    with handle:
        # The batches are pickles. Unpickling runs code only for a crafted file; this
        # archive is the official one, verified by its MD5 before it was cached (or the
        # file the caller chose to trust), so it is safe to load.
        return pickle.load(handle, encoding="bytes")  # noqa: S301


def _images_and_labels(batch: dict, name: str):
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != N_VALUES:
        raise ValueError(f"{name}: data should be uint8 of shape (n, {N_VALUES}), "
                         f"got {data.dtype} {data.shape}")
    if labels.shape != (len(data),) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"{name}: expected {len(data)} labels in 0-9")
    return data, labels


def read_cifar10_archive(path):
    """Read the five training batches, the test batch and the class names of an archive.

    Parameters
    ----------
    path : str or os.PathLike
        A ``cifar-10-python.tar.gz`` archive (or one of the same layout).

    Returns
    -------
    X_train : ndarray of uint8, shape (n_train, 3072)
        Batches 1 to 5, in order.
    y_train : ndarray of int64, shape (n_train,)
    X_test : ndarray of uint8, shape (n_test, 3072)
    y_test : ndarray of int64, shape (n_test,)
    classes : list of str
        The class names from ``batches.meta`` (``"airplane"``, ..., ``"truck"``).

    Raises
    ------
    ValueError
        If a batch is missing or malformed.
    """
    with tarfile.open(path, "r:gz") as archive:
        train = [_images_and_labels(_batch(archive, n), n) for n in TRAIN_BATCHES]
        X_test, y_test = _images_and_labels(_batch(archive, "test_batch"), "test_batch")
        meta = _batch(archive, "batches.meta")
    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in meta[b"label_names"]]
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return X_train, y_train, X_test, y_test, classes


def load_cifar10(cache_dir=None, *, url=CIFAR10_URL, md5=CIFAR10_MD5, timeout=60.0):
    """Download (once) and read CIFAR-10: `download_cifar10` then `read_cifar10_archive`."""
    return read_cifar10_archive(download_cifar10(cache_dir, url=url, md5=md5, timeout=timeout))


def to_images(X):
    """Rows of 3072 values to images of shape (n, 32, 32, 3), channels last (for plotting)."""
    X = np.asarray(X)
    return X.reshape(len(X), 3, 32, 32).transpose(0, 2, 3, 1)
