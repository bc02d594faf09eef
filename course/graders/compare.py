"""Comparisons for hidden graders: each raises AssertionError with a message for a student.

A message says what was checked, and shows a small expected-against-got; it never
contains grader source. Values arrive from the student's kernel through the bridge, so
they may be of any type: every helper checks the type first and says what it got. They
may also be large (up to the bridge's per-result limit): no helper turns a whole array
into Python objects or builds per-item detail before the counts are known to match.
"""

from __future__ import annotations

import dataclasses
import reprlib

import numpy as np
import pandas as pd

from ..bridge import Unsupported, VegaLite
from .vegalite import ChartSpecError, View, chart_differences, normalize

__all__ = [
    "short",
    "describe",
    "expect_type",
    "as_array",
    "as_floats",
    "expect_array",
    "expect_list",
    "expect_columns",
    "expect_frame",
    "as_chart",
    "chart_view",
    "only_channels",
    "expect_chart",
    "tooltip_fields",
    "expect_tooltip",
]

LIMIT = 300
SHOWN = 64  # items converted for a message: more than any message shows (reprlib: 12)
MAX_DETAIL_ROWS = 100_000  # past this, a row mismatch is described by its counts only

_repr = reprlib.Repr()
_repr.maxlist = _repr.maxtuple = 12
_repr.maxstring = _repr.maxother = 120


def short(value, limit: int = LIMIT) -> str:
    """A repr of ``value`` of at most ``limit`` characters."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=24, edgeitems=3, precision=6,
                               max_line_width=100)
    elif isinstance(value, pd.DataFrame):
        text = value.head(6).to_string(max_colwidth=30)
        if len(value) > 6:
            text += f"\n... ({len(value)} rows)"
    elif isinstance(value, pd.Series):
        text = short(value.to_numpy(), limit)
    else:
        text = _repr.repr(value)
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def describe(value) -> str:
    """Name the kind of a value a student returned: 'a list of 3 items', 'a DataFrame'..."""
    if isinstance(value, Unsupported):
        return f"an object of type {value.type}"
    if isinstance(value, VegaLite):
        return "an altair chart"
    if type(value).__module__.startswith("torch") and hasattr(value, "dtype"):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, pd.DataFrame):
        return f"a DataFrame with columns {list(value.columns[:10])} and {len(value)} rows"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"{type(value).__name__} {short(value, 80)}"


def expect_type(got, types, what: str):
    """``got`` must be an instance of ``types``; returns it."""
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(got, types):
        names = " or ".join(t.__name__ for t in types)
        raise AssertionError(f"{what}: expected a {names}, got {describe(got)}")
    return got


def _tensor_as_array(got):
    """A torch tensor as a numpy array (torch is not imported unless one was returned)."""
    if type(got).__module__.startswith("torch") and hasattr(got, "detach"):
        if got.is_complex():
            return got
        tensor = got.detach().cpu()
        return (tensor.float() if str(tensor.dtype) == "torch.bfloat16" else tensor).numpy()
    return got


def as_array(got, what: str, *, scalar: bool = False) -> np.ndarray:
    """The one way a student's numbers become a numpy array: from an array, a torch tensor,
    a list or tuple of numbers, a Series or a DataFrame; with ``scalar``, a single number
    too. The dtype is kept (any numeric kind); `as_floats` gives float64."""
    got = _tensor_as_array(got)
    if isinstance(got, (pd.Series, pd.DataFrame)):
        got = got.to_numpy()
    if isinstance(got, (list, tuple)):
        try:
            got = np.asarray(got)
        except (ValueError, TypeError):
            raise AssertionError(f"{what}: expected an array of numbers, got {describe(got)}"
                                 ) from None
    if scalar and isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(
            got, (bool, np.bool_)):
        got = np.asarray(got)
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
        kind = "numbers" if scalar else "an array of numbers"
        raise AssertionError(f"{what}: expected {kind}, got {describe(got)}")
    return got


def as_floats(got, what: str, *, scalar: bool = False) -> np.ndarray:
    """`as_array` as float64."""
    return as_array(got, what, scalar=scalar).astype(np.float64)


def _num(value) -> str:
    """A number as a student would write it (no numpy type around it)."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    return short(value, 60)


def _close(got, expected, rtol, atol):
    return np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def expect_array(got, expected, *, what: str, rtol: float, atol: float) -> np.ndarray:
    """``got`` must be a numeric array of ``expected``'s shape, equal within tolerances."""
    expected = np.asarray(expected)
    arr = as_array(got, what)
    if arr.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {arr.shape}")
    ok = _close(arr.astype(np.float64), expected.astype(np.float64), rtol, atol)
    if not ok.all():
        where = tuple(int(i) for i in np.unravel_index(int(np.argmin(ok)), ok.shape))
        index = where if len(where) != 1 else where[0]
        message = (f"{what}: {int((~ok).sum())} of {ok.size} values differ; "
                   f"at index {index} expected {_num(expected[where])}, got {_num(arr[where])}")
        if arr.size <= 12:
            message += f"\nexpected {short(expected)}\ngot      {short(arr)}"
        raise AssertionError(message)
    return arr


def _as_int(value):
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return None


def expect_list(got, expected, *, what: str) -> list:
    """``got`` (list, tuple or 1-D array/Series of integers) must equal ``expected`` in order."""
    expected = [int(v) for v in expected]
    if isinstance(got, (pd.Series, pd.Index)):
        got = got.to_numpy()
    if isinstance(got, np.ndarray):
        if got.ndim != 1:
            raise AssertionError(f"{what}: expected a flat list of integers, got {describe(got)}")
        if got.dtype.kind in "iu" and len(got) != len(expected):
            # Integers, but not as many as expected: say so from a few of them.
            raise AssertionError(f"{what}: expected {short(expected)}, got "
                                 f"{short(got[:SHOWN].tolist())} ({len(expected)} items "
                                 f"expected, {len(got)} got)")
        if got.dtype.kind not in "iu" and len(got):  # its first item is not an integer
            raise AssertionError(f"{what}: expected integers, got {short(got[0], 60)} (of type "
                                 f"{type(got[0]).__name__}) in {short(list(got[:SHOWN]))}")
        got = got.tolist()
    if not isinstance(got, (list, tuple)):
        raise AssertionError(f"{what}: expected a list of integers, got {describe(got)}")
    values = [_as_int(v) for v in got]
    bad = [v for v, i in zip(got, values, strict=True) if i is None]
    if bad:
        raise AssertionError(f"{what}: expected integers, got {short(bad[0], 60)} "
                             f"(of type {type(bad[0]).__name__}) in {short(list(got))}")
    if values != expected:
        detail = ""
        if len(values) != len(expected):
            detail = f" ({len(expected)} items expected, {len(values)} got)"
        raise AssertionError(f"{what}: expected {short(expected)}, got {short(values)}{detail}")
    return values


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return str(dtype)


def expect_columns(got, expected: pd.DataFrame, *, what: str, check_dtypes: bool = True):
    """``got`` must be a DataFrame with exactly the columns of ``expected`` (any order).

    With ``check_dtypes``, integer columns of ``expected`` must be integers in ``got`` (any
    width) and float columns floats; not checked when ``expected`` has no rows. Returns a
    copy of ``got`` with text column names.
    """
    expect_type(got, pd.DataFrame, what)
    columns = [str(c) for c in got.columns]
    wanted = list(expected.columns)
    if len(set(columns)) != len(columns):
        raise AssertionError(f"{what}: the columns {columns} have duplicate names")
    missing = [c for c in wanted if c not in columns]
    extra = [c for c in columns if c not in wanted]
    if missing or extra:
        message = f"{what}: expected columns {wanted}, got {columns}"
        in_index = [c for c in missing if c in [str(n) for n in got.index.names]]
        if in_index:
            message += f" ({', '.join(in_index)} is in the index: reset_index() brings it back)"
        raise AssertionError(message)
    got = got.copy()
    got.columns = columns
    if check_dtypes and len(expected):
        for column in wanted:
            want, have = _kind(expected[column]), _kind(got[column])
            if want in ("int", "float") and have != want:
                noun = "integers" if want == "int" else "floats"
                raise AssertionError(f"{what}: column {column!r} should hold {noun}, "
                                     f"got dtype {got[column].dtype}")
    return got


def expect_frame(got, expected: pd.DataFrame, *, what: str, keys, value_cols=(),
                 rtol: float = 0.0, atol: float = 0.0, check_dtypes: bool = True):
    """``got`` must hold the rows of ``expected``, in any order and with any index.

    Columns and dtypes are checked by `expect_columns`. Rows are matched on ``keys``
    (exact integers); ``value_cols`` are compared within ``rtol``/``atol``. Returns ``got``
    sorted on ``keys``.
    """
    keys, value_cols = list(keys), list(value_cols)
    got = expect_columns(got, expected, what=what, check_dtypes=check_dtypes)
    if len(got) != len(expected):
        raise AssertionError(f"{what}: expected {len(expected)} rows, got {len(got)}"
                             + _key_difference(got, expected, keys))
    if not len(expected):
        return got.reset_index(drop=True)
    for column in keys:
        if _kind(got[column]) not in ("int", "float") or got[column].isna().any():
            raise AssertionError(f"{what}: column {column!r} should hold integers, "
                                 f"got {short(got[column].head(5).tolist(), 80)}")
    difference = _key_difference(got, expected, keys)
    if difference:
        raise AssertionError(f"{what}: the rows are not the expected ones" + difference)
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    exp = expected.sort_values(keys, kind="stable").reset_index(drop=True)
    for column in value_cols:
        try:
            have = got[column].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError(f"{what}: column {column!r} should hold numbers, got dtype "
                                 f"{got[column].dtype}") from None
        want = exp[column].to_numpy(dtype=np.float64)
        ok = _close(have, want, rtol, atol)
        if not ok.all():
            i = int(np.argmin(ok))
            at = ", ".join(f"{k}={int(exp.at[i, k])}" for k in keys)
            raise AssertionError(f"{what}: {int((~ok).sum())} of {len(ok)} values of "
                                 f"{column!r} differ; for {at} expected {_num(want[i])}, "
                                 f"got {_num(have[i])}")
    return got


def _key_tuples(frame, keys):
    if len(frame) > MAX_DETAIL_ROWS:
        return None
    try:
        columns = [frame[k].to_numpy(dtype=np.float64) for k in keys]
    except (TypeError, ValueError):
        return None
    rows = list(zip(*columns, strict=True))
    return [tuple(int(v) if float(v).is_integer() else v for v in row) for row in rows]


def _key_difference(got, expected, keys) -> str:
    """'' if the key rows match as multisets, else a short description of the mismatch."""
    mine, theirs = _key_tuples(expected, keys), _key_tuples(got, keys)
    if mine is None or theirs is None:
        return ""
    names = "(" + ", ".join(keys) + ")"
    dupes = pd.Series(theirs, dtype=object).duplicated() if theirs else []
    if len(theirs) and dupes.any():
        first = theirs[int(np.argmax(dupes))]
        return f"; {names} = {first} appears more than once"
    lost = sorted(set(mine) - set(theirs), key=repr)
    added = sorted(set(theirs) - set(mine), key=repr)
    parts = []
    if lost:
        parts.append(f"{len(lost)} expected rows are missing, e.g. {names} = "
                     f"{short(lost[:4], 120)}")
    if added:
        parts.append(f"{len(added)} rows are not expected, e.g. {names} = "
                     f"{short(added[:4], 120)}")
    return "; " + "; ".join(parts) if parts else ""


def as_chart(got, what: str) -> View:
    """The normalized Vega-Lite view of a chart the student returned (`VegaLite`)."""
    if not isinstance(got, VegaLite):
        raise AssertionError(f"{what}: expected an altair chart, got {describe(got)}")
    return chart_view(got, what)


def chart_view(chart, what: str = "the chart") -> View:
    """Normalize a student's chart (`VegaLite`) or an expected one (altair chart or dict)."""
    if isinstance(chart, View):
        return chart
    if isinstance(chart, VegaLite):
        try:
            return normalize(chart.spec)
        except ChartSpecError as error:
            raise AssertionError(f"{what}: the chart cannot be read ({error})") from None
    if isinstance(chart, dict):
        return normalize(chart)
    if hasattr(chart, "to_dict") and type(chart).__module__.startswith("altair"):
        import altair as alt

        # No schema validation (a few ms a chart, hundreds of charts a submission): the
        # expected charts are the reference's, validated by its own tests.
        with alt.data_transformers.disable_max_rows():
            return normalize(chart.to_dict(validate=False))
    raise AssertionError(f"{what}: expected an altair chart, got {describe(chart)}")


def only_channels(view: View, channels) -> View:
    """A copy of ``view`` whose (nested) views keep only the encodings of ``channels``."""
    channels = set(channels)
    return dataclasses.replace(
        view,
        encodings={c: e for c, e in view.encodings.items() if c in channels},
        children=[only_channels(child, channels) for child in view.children],
    )


def expect_chart(got, expected, *, what: str, channels=None,
                 check=("mark", "encodings", "data"), limit: int = 5) -> View:
    """``got`` must be an altair chart equal by meaning to ``expected``.

    ``channels`` restricts the comparison to those encoding channels (both charts);
    ``check`` picks among mark, encodings and data (see `course.vegalite.chart_differences`).
    Returns the student's normalized chart.
    """
    have, want = as_chart(got, what), chart_view(expected)
    if channels is not None:
        have, want = only_channels(have, channels), only_channels(want, channels)
    differences = chart_differences(have, want, check=check)
    if differences:
        shown = "\n- ".join(d if len(d) <= LIMIT else d[: LIMIT - 4] + " ..."
                            for d in differences[:limit])
        more = f"\n(and {len(differences) - limit} more)" if len(differences) > limit else ""
        raise AssertionError(f"{what}: the chart differs from the expected one:\n- {shown}{more}")
    return have


def tooltip_fields(view: View) -> set:
    """Fields shown in the tooltip of a single view (empty when there is none)."""
    tip = view.encodings.get("tooltip")
    items = tip if isinstance(tip, tuple) else (tip,) if tip is not None else ()
    return {item.field for item in items if item.field}


def expect_tooltip(got, *, what: str, required, one_of=()):
    """Each view of chart ``got`` shows every field of ``required`` in its tooltip, and all
    fields of at least one of the alternatives in ``one_of`` (a list of field sets)."""
    have = got if isinstance(got, View) else as_chart(got, what)
    views = [have] if have.kind == "view" else have.children
    for i, view in enumerate(views):
        where = what if have.kind == "view" else f"{what}, chart {i}"
        if view.kind != "view":
            raise AssertionError(f"{where}: expected a single chart, got a {view.kind}")
        fields = tooltip_fields(view)
        missing = [f for f in required if f not in fields]
        if one_of and not any(set(group) <= fields for group in one_of):
            options = " or ".join("+".join(sorted(g)) for g in one_of)
            missing.append(options)
        if missing:
            shown = sorted(fields) if fields else "no tooltip"
            raise AssertionError(f"{where}: the tooltip should show {', '.join(missing)}; "
                                 f"got {shown}")
