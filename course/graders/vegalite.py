"""Compare Vega-Lite chart specs by meaning, for graders that only see a chart's JSON.

A student's altair chart reaches the trusted side as its Vega-Lite dict, so everything
here treats the dict as untrusted data: ``normalize`` either returns a `View` or raises
`ChartSpecError` (a ValueError with a short message), and nothing in it is evaluated.
Titles, sizes, scales and config are ignored; what counts is the mark, the encodings
(field, type, aggregate, the order of discrete axes) and the inline data rows, with
transforms listed but never applied.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ChartSpecError", "Encoding", "View", "normalize", "axis_order", "chart_differences"]

_TYPES = {"Q": "quantitative", "O": "ordinal", "N": "nominal", "T": "temporal", "G": "geojson"}
_COMPOSITES = ("layer", "vconcat", "hconcat", "concat")
_CHECKS = ("mark", "encodings", "data")
_MAX_DEPTH = 30
_RTOL, _ATOL = 1e-9, 1e-12
_MAX_MESSAGE = 400  # untrusted names and values end up in messages: keep them readable
_UNSET = object()


class ChartSpecError(ValueError):
    """The chart dict is not a Vega-Lite spec this module can read."""


@dataclass(frozen=True)
class Encoding:
    """One encoding channel: ``sort`` is a tuple for an explicit order, else a word or None."""

    field: str | None
    type: str | None
    aggregate: str | None = None
    sort: tuple | str | None = None
    type_inferred: bool = False


@dataclass
class View:
    """A normalized chart: a single view (``kind == "view"``) or a composition of children."""

    kind: str
    mark: str | None = None
    encodings: dict = field(default_factory=dict)
    data: pd.DataFrame | None = None
    data_source: str = "none"
    transforms: int = 0
    children: list = field(default_factory=list)


def _fail(path, message):
    raise ChartSpecError(f"{path}: {message}")


def _scalar(value):
    return value is None or isinstance(value, (str, int, float, bool))


def _canon(value):
    # Hashable, comparable stand-in for any JSON value (lists and objects become text).
    return value if _scalar(value) else json.dumps(value, sort_keys=True, default=repr)


def _frame(rows, path):
    if not isinstance(rows, list):
        _fail(path, "data values must be a list of rows")
    if rows and all(_scalar(r) for r in rows):
        rows = [{"data": r} for r in rows]  # Vega-Lite wraps bare values the same way
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            _fail(path, f"row {i} is not an object")
        for key, value in row.items():
            if not isinstance(key, str) or not _scalar(value):
                _fail(path, f"row {i} has a non-scalar or non-text-keyed value")
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


def _data(spec, datasets, path):
    data = spec["data"]
    if data is None:
        return None, "none"
    if not isinstance(data, dict):
        _fail(path, "data must be an object")
    if "values" in data:
        return _frame(data["values"], f"{path}.data.values"), "values"
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or name not in datasets:
            _fail(path, f"dataset {str(name)[:60]!r} is not in datasets")
        return _frame(datasets[name], f"datasets[{name[:60]!r}]"), f"dataset {name}"
    if isinstance(data.get("url"), str):
        return None, f"url {data['url'][:80]}"
    if any(k in data for k in ("sequence", "sphere", "graticule")):
        return None, "generator"
    _fail(path, "data has no values, name or url")


def _default_type(channel, enc):
    # Vega-Lite's documented rules for a field without a type.
    scale = enc.get("scale") if isinstance(enc.get("scale"), dict) else {}
    scale_type = scale.get("type")
    aggregate = enc.get("aggregate")
    if enc.get("bin") or (aggregate is not None and aggregate not in ("argmin", "argmax")):
        return "quantitative"
    if channel in ("latitude", "longitude", "latitude2", "longitude2"):
        return "quantitative"
    if scale_type in ("linear", "log", "pow", "sqrt", "symlog"):
        return "quantitative"
    if enc.get("timeUnit") or scale_type in ("time", "utc"):
        return "temporal"
    sort = enc.get("sort")
    if isinstance(sort, (list, dict)) or scale_type in ("ordinal", "point", "band"):
        return "ordinal"
    return "ordinal" if channel == "order" else "nominal"


def _encoding(channel, enc, path):
    if not isinstance(enc, dict):
        _fail(path, "an encoding must be an object")
    name, kind, aggregate = enc.get("field"), enc.get("type"), enc.get("aggregate")
    if isinstance(name, dict) and set(name) == {"repeat"} and isinstance(name["repeat"], str):
        name = f"repeat:{name['repeat']}"
    if name is not None and not isinstance(name, str):
        _fail(path, "field must be text")
    if kind is None and isinstance(name, str):
        # Shorthand such as "neuron:O" or "mean(activation):Q" (altair expands it itself).
        match = re.fullmatch(r"(?:(\w+)\((.+)\)|(.+?))(?::([QONTG]))?", name, re.DOTALL)
        if match and (match.group(1) or match.group(4)):
            name = match.group(2) or match.group(3)
            aggregate = aggregate if aggregate is not None else match.group(1)
            kind = _TYPES.get(match.group(4) or "")
    if isinstance(aggregate, dict) and len(aggregate) == 1:
        (op, arg), = aggregate.items()
        aggregate = f"{op}({_canon(arg)})"
    if aggregate is not None and not isinstance(aggregate, str):
        _fail(path, "aggregate must be text")
    inferred = kind is None and name is not None
    if inferred:
        kind = _default_type(channel, {**enc, "aggregate": aggregate})
    if kind is not None:
        if not isinstance(kind, str) or _TYPES.get(kind, kind) not in _TYPES.values():
            _fail(path, f"unknown type {str(kind)[:30]!r}")
        kind = _TYPES.get(kind, kind)
    sort = enc.get("sort", _UNSET)
    if isinstance(sort, list):
        sort = tuple(_canon(v) for v in sort)
    elif sort is None or isinstance(sort, dict):
        sort = "none" if sort is None else f"by {_canon(sort)}"
    elif sort is not _UNSET and not isinstance(sort, str):
        _fail(path, "sort must be a list, text, an object or null")
    return Encoding(name, kind, aggregate, None if sort is _UNSET else sort, inferred)


def _encodings(spec, inherited, path):
    encodings = dict(inherited)
    raw = spec.get("encoding", {})
    if not isinstance(raw, dict):
        _fail(path, "encoding must be an object")
    for channel, enc in raw.items():
        where = f"{path}.encoding.{str(channel)[:30]}"
        if enc is None:
            encodings.pop(channel, None)
        elif isinstance(enc, list):
            encodings[channel] = tuple(_encoding(channel, e, where) for e in enc)
        else:
            encodings[channel] = _encoding(channel, enc, where)
    return encodings


def _view(spec, datasets, data, enc, depth, path):
    if not isinstance(spec, dict):
        _fail(path, "a chart must be an object")
    if depth > _MAX_DEPTH:
        _fail(path, "charts are nested too deeply")
    if "data" in spec:
        data = _data(spec, datasets, path)
    transforms = spec.get("transform", [])
    if not isinstance(transforms, list):
        _fail(path, "transform must be a list")
    common = {"data": data[0], "data_source": data[1], "transforms": len(transforms)}
    for kind in _COMPOSITES:
        if kind in spec:
            children = spec[kind]
            if not isinstance(children, list):
                _fail(path, f"{kind} must be a list")
            # Only a layer passes its encoding on to its children.
            shared = _encodings(spec, enc, path) if kind == "layer" else {}
            return View(kind, children=[
                _view(c, datasets, data, shared, depth + 1, f"{path}.{kind}[{i}]")
                for i, c in enumerate(children)
            ], **common)
    if ("facet" in spec or "repeat" in spec) and "spec" in spec:
        kind = "facet" if "facet" in spec else "repeat"
        facet = spec.get("facet", {})
        if not isinstance(facet, dict):
            _fail(path, "facet must be an object")
        channels = facet if {"row", "column"} & set(facet) else {"facet": facet} if facet else {}
        encodings = _encodings({"encoding": channels}, {}, path)
        child = _view(spec["spec"], datasets, data, {}, depth + 1, f"{path}.spec")
        return View(kind, encodings=encodings, children=[child], **common)
    mark = spec.get("mark")
    if isinstance(mark, dict):
        mark = mark.get("type")
    if not isinstance(mark, str):
        _fail(path, "a single view needs a mark type")
    return View("view", mark=mark, encodings=_encodings(spec, enc, path), **common)


def normalize(spec: dict) -> View:
    """Turn a Vega-Lite dict into a `View`, resolving data against top-level ``datasets``.

    Raises `ChartSpecError` for anything malformed, whatever it is.
    """
    if not isinstance(spec, dict):
        raise ChartSpecError("chart: a chart spec must be a JSON object")
    datasets = spec.get("datasets", {})
    if not isinstance(datasets, dict):
        raise ChartSpecError("chart: datasets must be an object")
    try:
        return _view(spec, datasets, (None, "none"), {}, 0, "chart")
    except ChartSpecError:
        raise
    except Exception as exc:  # the dict is untrusted: no other exception type may escape
        raise ChartSpecError(f"chart: malformed spec ({type(exc).__name__})") from exc


def _key(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    return (2, value) if isinstance(value, (int, float)) else (3, str(value))


def axis_order(view: View, channel: str) -> list | None:
    """Order of a discrete channel's values as drawn, or None if it cannot be told."""
    enc = view.encodings.get(channel)
    if not isinstance(enc, Encoding) or enc.type not in ("ordinal", "nominal"):
        return None
    if view.data is None or enc.field not in view.data.columns:
        return list(enc.sort) if isinstance(enc.sort, tuple) else None
    present = [v for v in dict.fromkeys(_canon(v) for v in view.data[enc.field].tolist())
               if _key(v)[0] != 0]
    if isinstance(enc.sort, tuple):
        listed = [v for v in dict.fromkeys(enc.sort) if v in present]
        return listed + [v for v in present if v not in listed]
    if enc.sort in (None, "ascending", "descending"):
        return sorted(present, key=_key, reverse=enc.sort == "descending")
    return present if enc.sort == "none" else None


def _same(got, expected):
    if _key(got)[0] == 0 or _key(expected)[0] == 0:
        return _key(got)[0] == _key(expected)[0]
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, (int, float)) and isinstance(expected, (int, float)):
        try:
            return got == expected or abs(got - expected) <= _ATOL + _RTOL * abs(expected)
        except OverflowError:  # JSON integers have no size limit
            return False
    return got == expected


def _show(values, limit=20):
    text = ", ".join(repr(v) for v in values[:limit])
    return f"[{text}{f', ... ({len(values)} values)' if len(values) > limit else ''}]"


def _order_text(order, enc):
    return _show(order) if order is not None else f"sort {enc.sort or 'ascending'}"


def _describe(view):
    if view.kind == "view":
        return f"a single {view.mark} chart"
    return f"a {view.kind} of {len(view.children)} charts"


def _compare_encodings(got, exp, at, out):
    g, e = got.encodings, exp.encodings
    skip = set()
    gx, gy, ex, ey = (g.get("x"), g.get("y"), e.get("x"), e.get("y"))
    if all(isinstance(c, Encoding) for c in (gx, gy, ex, ey)) and ex.field != ey.field and (
        (gx.field, gy.field) == (ey.field, ex.field)
    ):
        out.append(f"{at}x and y are swapped: expected x {ex.field} and y {ey.field}, "
                   f"got x {gx.field} and y {gy.field}")
        skip = {"x", "y"}
    for channel, want in e.items():
        have = g.get(channel)
        if channel in skip:
            continue
        if isinstance(want, tuple) or isinstance(have, tuple):
            fields = {x.field for x in (have if isinstance(have, tuple) else [have]) if x}
            wanted = [x.field for x in (want if isinstance(want, tuple) else [want])]
            missing = [str(f) for f in wanted if f not in fields]
            if missing:
                out.append(f"{at}{channel}: missing {', '.join(missing)}")
            continue
        if have is None:
            out.append(f"{at}{channel}: missing (expected field {want.field})")
            continue
        for attr in ("field", "type", "aggregate"):
            if getattr(have, attr) != getattr(want, attr):
                out.append(f"{at}{channel}: expected {attr} {getattr(want, attr)}, "
                           f"got {getattr(have, attr)}")
        if have.type == want.type and want.type in ("ordinal", "nominal"):
            want_order, have_order = axis_order(exp, channel), axis_order(got, channel)
            if want_order is None or have_order is None:
                # Without data to order, only the sort settings themselves can be compared.
                differ = have.sort != want.sort
            else:
                differ = len(have_order) != len(want_order) or not all(
                    _same(a, b) for a, b in zip(have_order, want_order, strict=True)
                )
            if differ:
                out.append(f"{at}{channel} order: expected {_order_text(want_order, want)}, "
                           f"got {_order_text(have_order, have)}")
    for channel, have in g.items():
        if channel not in e and channel not in skip and any(
            x.field for x in (have if isinstance(have, tuple) else [have])
        ):
            out.append(f"{at}{channel}: not expected (got a field on it)")


def _compare_data(got, exp, at, out):
    if exp.data is None:
        return
    if got.data is None:
        out.append(f"{at}data: expected inline data, got {got.data_source}")
        return
    pairs = {}  # expected column -> the got column to compare it with
    for channel, want in exp.encodings.items():
        have = got.encodings.get(channel)
        for item in want if isinstance(want, tuple) else [want]:
            if item.field in exp.data.columns and item.field not in pairs:
                # A column under another name counts if it is drawn on the same channel.
                renamed = item.field not in got.data.columns and isinstance(have, Encoding)
                pairs[item.field] = have.field if renamed and have.field else item.field
    pairs = pairs or {c: c for c in exp.data.columns}
    # Float columns last, so that rows line up by their exact keys before values are compared.
    pairs = {c: pairs[c] for c in sorted(pairs, key=lambda c: exp.data[c].dtype.kind == "f")}
    for name, theirs in list(pairs.items()):
        if theirs not in got.data.columns:
            out.append(f"{at}data: no column {theirs}")
            del pairs[name]
    hint = f" ({got.transforms} transforms are not applied)" if got.transforms else ""
    if len(got.data) != len(exp.data):
        out.append(f"{at}data: {len(exp.data)} rows expected, {len(got.data)} got{hint}")
        return
    def rows(frame, columns):
        cells = zip(*(frame[c].tolist() for c in columns), strict=True) if columns else []
        return sorted(cells, key=lambda r: [_key(v) for v in r])
    mine, theirs = rows(exp.data, list(pairs)), rows(got.data, list(pairs.values()))
    bad = [(a, b) for a, b in zip(mine, theirs, strict=True)
           if not all(_same(y, x) for x, y in zip(a, b, strict=True))]
    if bad:
        a, b = bad[0]
        out.append(f"{at}data: {len(bad)} of {len(mine)} rows differ{hint}, e.g. expected "
                   f"{dict(zip(pairs, a, strict=True))}, got {dict(zip(pairs, b, strict=True))}")


def _compare(got, exp, checks, at, out):
    if got.kind != exp.kind or len(got.children) != len(exp.children):
        out.append(f"{at}chart: expected {_describe(exp)}, got {_describe(got)}")
        return
    if exp.kind != "view":
        if "encodings" in checks:
            _compare_encodings(got, exp, at, out)
        for i, (g, e) in enumerate(zip(got.children, exp.children, strict=True)):
            _compare(g, e, checks, f"{at}{exp.kind}[{i}] ", out)
        return
    if "mark" in checks and got.mark != exp.mark:
        out.append(f"{at}mark: expected {exp.mark}, got {got.mark}")
    if "encodings" in checks:
        _compare_encodings(got, exp, at, out)
    if "data" in checks:
        _compare_data(got, exp, at, out)


def chart_differences(got, expected, *, check=_CHECKS) -> list[str]:
    """List how chart ``got`` differs in meaning from ``expected`` (dicts or `View`\\ s).

    An empty list means equal by meaning. A ``got`` that cannot be read gives one
    ``"chart: ..."`` entry; an unreadable ``expected`` raises `ChartSpecError`.
    """
    check = (check,) if isinstance(check, str) else tuple(check)
    unknown = set(check) - set(_CHECKS)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}; choose from {_CHECKS}")
    exp = expected if isinstance(expected, View) else normalize(expected)
    try:
        got = got if isinstance(got, View) else normalize(got)
    except ChartSpecError as exc:
        return [str(exc)]
    out: list[str] = []
    _compare(got, exp, set(check), "", out)
    return [m if len(m) <= _MAX_MESSAGE else m[: _MAX_MESSAGE - 3] + "..." for m in out]
