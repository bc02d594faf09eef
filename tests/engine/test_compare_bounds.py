"""The comparison helpers stay small on large or odd results: counts are checked before any
per-item work, and no whole array becomes Python objects (traced allocations measured)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from course.graders.compare import expect_frame, expect_list

MB = 1024**2


def traced_peak(check) -> tuple[int, str]:
    tracemalloc.start()
    try:
        with pytest.raises(AssertionError) as failed:
            check()
        return tracemalloc.get_traced_memory()[1], str(failed.value)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("got", [
    np.zeros(2_000_000_000, dtype=np.dtype("V0")),  # no bytes, 2e9 items
    np.zeros(4_000_000, dtype=np.float64),
    np.arange(4_000_000, dtype=np.int64),
    np.zeros(4_000_000, dtype=bool),
], ids=["zero-size items", "floats", "integers", "booleans"])
def test_expect_list_on_a_large_array(got):
    peak, message = traced_peak(lambda: expect_list(got, [1, 2, 3], what="top"))
    assert peak < 2 * MB, peak
    assert message.startswith("top: expected")


def test_wrong_length_message_is_unchanged_for_small_arrays():
    _, message = traced_peak(lambda: expect_list(np.array([1, 2]), [1, 2, 3], what="top"))
    assert message == "top: expected [1, 2, 3], got [1, 2] (3 items expected, 2 got)"
    _, message = traced_peak(lambda: expect_list(np.array([1.0, 2.0]), [1, 2], what="top"))
    assert message == ("top: expected integers, got np.float64(1.0) (of type float64) in "
                       "[np.float64(1.0), np.float64(2.0)]")


def test_expect_frame_with_far_too_many_rows():
    n = 1_000_000
    got = pd.DataFrame({"neuron": np.arange(n), "value": np.zeros(n)})
    expected = pd.DataFrame({"neuron": [0, 1, 2], "value": [0.0, 0.0, 0.0]})
    peak, message = traced_peak(lambda: expect_frame(got, expected, what="frame",
                                                     keys=["neuron"], value_cols=["value"]))
    assert "expected 3 rows, got 1000000" in message
    assert peak < 40 * MB, peak  # one copy of the frame's 16 MB (expect_columns), no tuples
