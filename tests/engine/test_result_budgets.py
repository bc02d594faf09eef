"""The bridge's bounded decoders (course/bridge/decoders.py) and decoding budget.

Honest values round-trip exactly; random or damaged bytes never raise anything but
`ResultRejected`; crafted bombs are refused before anything is allocated (the peak of
traced allocations and of the process's resident memory is measured around each one).
"""

from __future__ import annotations

import io
import json
import resource
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

from course.bridge import DecodeBudget, ResultReader, ResultRejected, TooLarge
from course.bridge.budget import ResultBudget
from course.bridge.decoders import read_frame, read_json, read_npy

MB = 1024**2
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


def budget(per_result=64 * MB, per_submission=1024 * MB) -> ResultBudget:
    return ResultBudget(DecodeBudget(per_result, per_submission))


def npy_bytes(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def npy_file(descr: str, shape: tuple, data: bytes = b"") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def parquet_bytes(frame: pd.DataFrame, **options) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False, **options)
    return out.getvalue()


def dictionary_bomb(rows: int, length: int) -> bytes:
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)),
                                            pa.array([b"x" * length]))
    out = io.BytesIO()
    pq.write_table(pa.table({"c0": column}), out, store_schema=False, compression="zstd",
                   write_statistics=False)
    return out.getvalue()


def page_bomb(rows: int) -> bytes:
    """One plain int64 page of zeros: ``8 x rows`` bytes once decompressed."""
    out = io.BytesIO()
    pq.write_table(pa.table({"c0": pa.array(np.zeros(rows, dtype=np.int64))}), out,
                   use_dictionary=False, compression="zstd", write_statistics=False,
                   data_page_size=2**30)
    return out.getvalue()


class Peak:
    """Peak traced allocations and resident-memory growth within a block."""

    def __enter__(self):
        self.rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        pool = pa.default_memory_pool()
        self.arrow = pool.max_memory() or 0
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.rss
        self.arrow_growth = (pa.default_memory_pool().max_memory() or 0) - self.arrow
        return False


# -- honest values round-trip ---------------------------------------------------------------
PLAIN_DTYPES = st.one_of(hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
                         hnp.floating_dtypes(), hnp.complex_number_dtypes(),
                         hnp.boolean_dtypes(), hnp.datetime64_dtypes(),
                         hnp.timedelta64_dtypes(), hnp.unicode_string_dtypes(min_len=1),
                         hnp.byte_string_dtypes(min_len=1))


@FUZZ
@given(hnp.arrays(PLAIN_DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0)),
       st.booleans())
def test_honest_arrays_round_trip(array, fortran):
    array = np.asfortranarray(array) if fortran else array
    got = read_npy(npy_bytes(array), budget())
    assert got.dtype == array.dtype and got.shape == array.shape
    np.testing.assert_array_equal(got, array)  # NaN == NaN here
    assert got.flags.writeable and got.flags.owndata


FRAMES = hpd.data_frames([
    hpd.column("i", dtype=np.int64),
    hpd.column("f", dtype=np.float64),
    hpd.column("b", dtype=bool),
    hpd.column("s", elements=st.one_of(st.none(), st.text(max_size=20))),
], index=hpd.range_indexes(max_size=40))


@FUZZ
@given(FRAMES, st.sampled_from(["snappy", "zstd", "gzip", "none"]))
def test_honest_frames_round_trip(frame, compression):
    got = read_frame(parquet_bytes(frame, compression=compression), budget())
    pd.testing.assert_frame_equal(got, frame.reset_index(drop=True))


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**62, 2**62)
                    | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=5),
                    max_leaves=60)


@FUZZ
@given(JSON)
def test_honest_json_round_trips(value):
    assert read_json(json.dumps(value).encode(), budget(), "the result") == value


def test_a_string_full_of_brackets_is_not_deep():
    text = json.dumps({"a": "[" * 10_000 + '"{' * 100, "b": ","})
    assert read_json(text.encode(), budget(), "x")["a"].startswith("[[[")


# -- random and damaged bytes: only the module's own error ----------------------------------
def only_rejected(decode, data):
    try:
        decode(data)
    except ResultRejected:
        pass


@FUZZ
@given(st.binary(max_size=4000))
def test_random_bytes_are_only_ever_rejected(data):
    only_rejected(lambda d: read_npy(d, budget()), data)
    only_rejected(lambda d: read_npy(b"\x93NUMPY\x01\x00" + d, budget()), data)
    only_rejected(lambda d: read_frame(d, budget()), data)
    only_rejected(lambda d: read_frame(b"PAR1" + d + b"PAR1", budget()), data)
    only_rejected(lambda d: read_json(d, budget(), "x"), data)


HONEST_FILES = {
    "npy": npy_bytes(np.arange(24, dtype=np.float32).reshape(4, 6)),
    "parquet": parquet_bytes(pd.DataFrame({"a": np.arange(50), "s": ["x", "yy"] * 25,
                                           "f": np.linspace(0, 1, 50)})),
    "plain parquet": parquet_bytes(pd.DataFrame({"s": [str(i) for i in range(300)]}),
                                   use_dictionary=False, compression="none"),
}


@FUZZ
@given(st.sampled_from(sorted(HONEST_FILES)), st.data())
def test_damaged_files_are_only_ever_rejected(name, data):
    raw = bytearray(HONEST_FILES[name])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    decode = read_npy if name == "npy" else read_frame
    for candidate in (bytes(raw), bytes(raw[:cut])):
        only_rejected(lambda d: decode(d, budget()), candidate)


TREES = st.recursive(
    st.none() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["$type", "items", "file", "dtype", "value", "data",
                                       "columns", "modules", "parameters"]), inner, max_size=4)
    | st.fixed_dictionaries({"$type": st.sampled_from(
        ["list", "tuple", "dict", "bigint", "npscalar", "ndarray", "dataframe", "tensor",
         "module", "vegalite", "toolarge", "unsupported", "series", "index"])},
        optional={"items": inner, "value": inner, "dtype": inner, "file": inner,
                  "data": inner, "modules": inner, "columns": inner}),
    max_leaves=30)


@FUZZ
@given(TREES)
def test_malformed_result_trees_are_only_ever_rejected(tree):
    only_rejected(lambda t: ResultReader(-1, MB).decode(t), tree)


# -- bombs: refused before allocation --------------------------------------------------------
BOMBS = {  # name -> (file, its decoder): made before memory is measured
    "parquet dictionary of 98 GiB": (lambda: dictionary_bomb(100_000, MB), read_frame),
    "parquet page of 256 MB": (lambda: page_bomb(32 * MB), read_frame),
    "npy of 2e9 zero-size items": (lambda: npy_file("|V0", (2 * 10**9,)), read_npy),
    "npy of 2e9 empty strings": (lambda: npy_file("<U0", (2 * 10**9,)), read_npy),
    "npy header claiming 1 TB": (lambda: npy_file("<f8", (2**37,)), read_npy),
    "npy of 1e12 bytes in 4 dims": (lambda: npy_file("|u1", (1000,) * 4), read_npy),
    "json nested 100000 deep": (lambda: b"[" * 10**5 + b"]" * 10**5, read_json),
    "json of 20 million zeros": (lambda: b"[" + b"0," * 20_000_000 + b"0]", read_json),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bombs_are_refused_before_allocation(name):
    make, decode = BOMBS[name]
    data = make()
    with Peak() as peak, pytest.raises(TooLarge) as refused:
        decode(data, budget(), "the result") if decode is read_json else decode(data, budget())
    assert "too large to grade" in str(refused.value)
    # At most one copy of the file itself (the JSON check strips strings out of a copy).
    allowed = 16 * MB + len(data)
    assert peak.traced < allowed, peak.traced
    assert peak.rss_growth < 64 * MB + len(data), peak.rss_growth
    assert peak.arrow_growth < 16 * MB, peak.arrow_growth
    print(f"{name}: file {len(data)} bytes, traced peak {peak.traced / MB:.1f} MB, "
          f"RSS growth {peak.rss_growth / MB:.1f} MB")


def test_small_dictionary_columns_are_read():
    frame = read_frame(dictionary_bomb(2000, 1024), budget())  # 2 MB once decoded
    assert frame.shape == (2000, 1) and frame["c0"].str.len().eq(1024).all()


def test_object_and_structured_dtypes_are_refused():
    with pytest.raises(ResultRejected):
        read_npy(npy_file("|O", (3,)), budget())
    with pytest.raises(ResultRejected):
        read_npy(npy_bytes(np.zeros(3, dtype=[("a", "<f8")])), budget())
    with pytest.raises(ResultRejected):
        read_npy(npy_file("(3,)<f8", (2,), bytes(48)), budget())


def test_data_must_match_the_header():
    good = npy_bytes(np.arange(10, dtype=np.int64))
    with pytest.raises(ResultRejected):
        read_npy(good[:-1], budget())
    with pytest.raises(ResultRejected):
        read_npy(good + b"\0", budget())


# -- the budgets -----------------------------------------------------------------------------
def test_parts_of_one_result_share_its_limit():
    result = budget(per_result=10 * MB)
    read_npy(npy_bytes(np.zeros(MB // 8 * 6)), result)  # 6 MB
    with pytest.raises(TooLarge, match="in all its parts"):
        read_npy(npy_bytes(np.zeros(MB // 8 * 6)), result)


def test_a_spent_submission_budget_fails_every_later_result():
    submission = DecodeBudget(8 * MB, 20 * MB)
    for _ in range(3):
        read_npy(npy_bytes(np.zeros(MB // 8 * 6)), ResultBudget(submission))  # 18 MB
    with pytest.raises(TooLarge, match="for one submission") as first:
        read_npy(npy_bytes(np.zeros(MB // 8 * 6)), ResultBudget(submission))
    with pytest.raises(TooLarge) as later:
        read_npy(npy_bytes(np.zeros(1)), ResultBudget(submission))  # even a tiny one
    assert str(later.value) == str(first.value)
    with pytest.raises(TooLarge):
        submission.check()


def test_a_refused_result_costs_the_submission_nothing():
    submission = DecodeBudget(8 * MB, 20 * MB)
    with pytest.raises(TooLarge):
        read_npy(npy_file("<f8", (2**37,)), ResultBudget(submission))
    assert submission.spent == 0 and submission.exhausted is None
