"""Tests of reference.cifar10 on small archives of the real layout, served as file:// URLs.

No test touches the network: any URL other than file:// fails the test.
"""

import hashlib
import io
import pickle
import tarfile
import urllib.request

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from reference import cifar10
from reference.cifar10 import (
    ARCHIVE_NAME,
    download_cifar10,
    load_cifar10,
    read_cifar10_archive,
    to_images,
)
from reference.data import DataUnavailableError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    real_urlopen = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        full_url = getattr(url, "full_url", url)
        if not full_url.startswith("file:"):
            raise AssertionError(f"test tried the network: {full_url}")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "default-cache"))


def write_archive(path, seed=0, per_batch=3, n_test=4, skip=(), extra=None):
    """A cifar-10-python.tar.gz in the real layout, tiny; returns (url, md5, arrays)."""
    rng = np.random.default_rng(seed)
    batches = {f"data_batch_{i}": per_batch for i in range(1, 6)} | {"test_batch": n_test}
    arrays = {}
    with tarfile.open(path, "w:gz") as archive:
        def add(name, obj):
            if name in skip:
                return
            raw = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))

        for name, n in batches.items():
            data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            labels = rng.integers(0, 10, n).tolist()
            arrays[name] = (data, np.array(labels))
            add(name, {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                       b"filenames": [b"x.png"] * n} | (extra or {}))
        add("batches.meta", {b"label_names": [c.encode() for c in CLASSES],
                             b"num_cases_per_batch": per_batch, b"num_vis": 3072})
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    return path.as_uri(), md5, arrays


def test_reads_train_batches_in_order_then_test(tmp_path):
    url, md5, arrays = write_archive(tmp_path / "c.tar.gz")
    X_train, y_train, X_test, y_test, classes = load_cifar10(tmp_path / "cache", url=url, md5=md5)
    expected = np.concatenate([arrays[f"data_batch_{i}"][0] for i in range(1, 6)])
    assert X_train.dtype == np.uint8 and X_train.shape == (15, 3072)
    assert_array_equal(X_train, expected)
    assert_array_equal(y_train, np.concatenate([arrays[f"data_batch_{i}"][1]
                                                for i in range(1, 6)]))
    assert y_train.dtype == np.int64
    assert_array_equal(X_test, arrays["test_batch"][0])
    assert_array_equal(y_test, arrays["test_batch"][1])
    assert classes == CLASSES


def test_download_is_verified_and_cached(tmp_path):
    source = tmp_path / "mirror" / ARCHIVE_NAME
    source.parent.mkdir()
    url, md5, _ = write_archive(source)
    cache = tmp_path / "cache"
    path = download_cifar10(cache, url=url, md5=md5)
    assert path == cache / ARCHIVE_NAME and path.read_bytes() == source.read_bytes()
    assert [p.name for p in cache.iterdir()] == [ARCHIVE_NAME], "no temporary files left"
    source.unlink()  # served from the cache now
    assert download_cifar10(cache, url=url, md5=md5) == path


def test_corrupt_cache_is_downloaded_again(tmp_path):
    url, md5, _ = write_archive(tmp_path / "c.tar.gz", seed=1)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / ARCHIVE_NAME).write_bytes(b"half a download")
    path = download_cifar10(cache, url=url, md5=md5)
    assert hashlib.md5(path.read_bytes()).hexdigest() == md5


def test_wrong_checksum_raises_and_caches_nothing(tmp_path):
    url, _, _ = write_archive(tmp_path / "c.tar.gz", seed=2)
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailableError, match="checksum mismatch"):
        download_cifar10(cache, url=url, md5="0" * 32)
    assert not any(cache.iterdir())


def test_unreachable_source_says_how_to_get_the_data(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailableError) as info:
        download_cifar10(cache, url=(tmp_path / "gone.tar.gz").as_uri())
    message = str(info.value)
    assert cifar10.CIFAR10_URL in message and str(cache / ARCHIVE_NAME) in message
    assert isinstance(info.value, RuntimeError)


def test_default_cache_is_the_course_data_dir(tmp_path):
    url, md5, _ = write_archive(tmp_path / "c.tar.gz", seed=3)
    path = download_cifar10(url=url, md5=md5)
    assert path == tmp_path / "default-cache" / ARCHIVE_NAME


@pytest.mark.parametrize("missing", ["data_batch_3", "test_batch", "batches.meta"])
def test_missing_batch_raises(tmp_path, missing):
    write_archive(tmp_path / "c.tar.gz", skip=(missing,))
    with pytest.raises(ValueError, match=missing):
        read_cifar10_archive(tmp_path / "c.tar.gz")


def test_malformed_batch_raises(tmp_path):
    write_archive(tmp_path / "c.tar.gz", extra={b"data": np.zeros((3, 100), np.uint8)})
    with pytest.raises(ValueError, match="3072"):
        read_cifar10_archive(tmp_path / "c.tar.gz")


def test_to_images_puts_the_three_planes_last():
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)])
    row[1] = 99  # red plane, image row 0, column 1
    images = to_images(row[None].astype(np.uint8))
    assert images.shape == (1, 32, 32, 3)
    assert images[0, 5, 5].tolist() == [10, 20, 30]
    assert images[0, 0, 1, 0] == 99


def test_official_source():
    assert cifar10.CIFAR10_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar10.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
