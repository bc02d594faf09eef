"""Tests of course.graders.vegalite: reading chart dicts and comparing them by meaning."""

import copy

import altair as alt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.graders.vegalite import ChartSpecError, View, axis_order, chart_differences, normalize
from reference.activations import confusion_matrix_frame, filter_activations, get_top_neurons
from reference.charts import (
    all_neuron_activation_matrices,
    confusion_matrix_chart,
    neuron_activation_matrix,
)

FAST = settings(max_examples=30, deadline=None)


@pytest.fixture(scope="module")
def activations():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "neuron": np.tile(np.arange(20), 3),
            "label": np.repeat([0, 1, 2], 20),
            "activation": rng.random(60),
        }
    )


@pytest.fixture(scope="module")
def expected(activations):
    return neuron_activation_matrix(activations, 5, 1).to_dict()


def student_chart(activations, label=1, n=5, x="neuron:O", y="label:O", mark="rect"):
    """A chart built the way a student might: from a DataFrame, with shorthand."""
    top = get_top_neurons(activations, n, label)
    data = filter_activations(activations, top)
    return (
        alt.Chart(data)
        .encode(
            x=alt.X(x, sort=top),
            y=y,
            color="activation:Q",
            tooltip=["neuron", "label", "activation"],
        )
        .mark_rect()
        if mark == "rect"
        else alt.Chart(data).mark_bar().encode(x=alt.X(x, sort=top), y=y, color="activation")
    ).to_dict()


def rows(spec):
    return spec["datasets"][spec["data"]["name"]]


def test_normalize_reads_a_reference_chart(expected, activations):
    view = normalize(expected)
    assert (view.kind, view.mark) == ("view", "rect")
    assert (view.encodings["x"].field, view.encodings["x"].type) == ("neuron", "ordinal")
    assert view.encodings["x"].sort == tuple(get_top_neurons(activations, 5, 1))
    assert view.encodings["color"].type == "quantitative"
    assert [t.field for t in view.encodings["tooltip"]] == ["neuron", "label", "activation"]
    data = filter_activations(activations, get_top_neurons(activations, 5, 1))
    pd.testing.assert_frame_equal(view.data, data, check_dtype=False)
    assert axis_order(view, "y") == [0, 1, 2]


def test_normalize_reads_vconcat_children(activations):
    view = normalize(all_neuron_activation_matrices(activations, 3, [2, 0]).to_dict())
    assert view.kind == "vconcat"
    assert [child.encodings["x"].sort for child in view.children] == [
        tuple(get_top_neurons(activations, 3, label)) for label in (2, 0)
    ]


def test_same_chart_built_differently_has_no_difference(expected, activations):
    got = student_chart(activations)
    rows(got).reverse()  # row order does not matter
    assert chart_differences(got, expected) == []


def test_tiny_float_noise_is_tolerated(expected):
    got = copy.deepcopy(expected)
    for row in rows(got):
        row["activation"] *= 1 + 1e-12
    assert chart_differences(got, expected) == []


def test_changed_mark_is_reported(expected, activations):
    got = copy.deepcopy(expected)
    got["mark"] = "bar"
    assert chart_differences(got, expected) == ["mark: expected rect, got bar"]
    assert chart_differences(got, expected, check=("encodings", "data")) == []


def test_swapped_axes_are_reported(expected, activations):
    got = student_chart(activations, x="label:O", y="neuron:O")
    assert any("swapped" in d for d in chart_differences(got, expected))


def test_wrong_neuron_order_is_reported(expected, activations):
    got = copy.deepcopy(expected)
    got["encoding"]["x"]["sort"] = sorted(got["encoding"]["x"]["sort"])
    top = get_top_neurons(activations, 5, 1)
    assert chart_differences(got, expected) == [f"x order: expected {top}, got {sorted(top)}"]


def test_wrong_data_is_reported(expected):
    short = copy.deepcopy(expected)
    rows(short).pop()
    assert chart_differences(short, expected) == ["data: 15 rows expected, 14 got"]
    changed = copy.deepcopy(expected)
    rows(changed)[0]["activation"] += 0.01
    (difference,) = chart_differences(changed, expected)
    assert difference.startswith("data: 1 of 15 rows differ")


def test_wrong_type_and_field_are_reported(expected, activations):
    got = student_chart(activations, x="neuron:Q")
    assert "x: expected type ordinal, got quantitative" in chart_differences(got, expected)
    got = student_chart(activations, y="activation:O")
    assert "y: expected field label, got activation" in chart_differences(got, expected)


def test_inferred_types_count_only_when_they_match(expected):
    got = copy.deepcopy(expected)
    del got["encoding"]["x"]["type"]  # Vega-Lite infers ordinal: the field has a sort list
    assert normalize(got).encodings["x"].type_inferred
    assert chart_differences(got, expected) == []
    del got["encoding"]["y"]["type"]  # inferred nominal, not ordinal
    assert chart_differences(got, expected) == ["y: expected type ordinal, got nominal"]


def test_shorthand_fields_are_resolved():
    spec = {"mark": "rect", "data": {"values": [{"a": 1}]},
            "encoding": {"x": {"field": "a:O"}, "color": {"field": "mean(a):Q"}}}
    view = normalize(spec)
    assert (view.encodings["x"].field, view.encodings["x"].type) == ("a", "ordinal")
    color = view.encodings["color"]
    assert (color.field, color.type, color.aggregate) == ("a", "quantitative", "mean")


def test_vconcat_differences_name_the_child(activations):
    expected = all_neuron_activation_matrices(activations, 3, [0, 1, 2]).to_dict()
    fewer = all_neuron_activation_matrices(activations, 3, [0, 1]).to_dict()
    assert chart_differences(fewer, expected) == [
        "chart: expected a vconcat of 3 charts, got a vconcat of 2 charts"
    ]
    swapped = all_neuron_activation_matrices(activations, 3, [0, 2, 1]).to_dict()
    differences = chart_differences(swapped, expected)
    assert differences and all(d.startswith(("vconcat[1] ", "vconcat[2] ")) for d in differences)


def test_data_by_url_cannot_be_compared():
    cm = confusion_matrix_frame([0, 1], [1, 1])
    expected = confusion_matrix_chart(cm).to_dict()
    got = copy.deepcopy(expected)
    got["data"] = {"url": "data/altair-data-1.json", "format": {"type": "json"}}
    assert chart_differences(got, expected) == [
        "data: expected inline data, got url data/altair-data-1.json"
    ]


def test_unknown_check_is_an_error(expected):
    with pytest.raises(ValueError, match="unknown checks"):
        chart_differences(expected, expected, check=("colour",))


@pytest.mark.parametrize(
    "spec",
    [
        None, [], "chart", {}, {"mark": 3}, {"mark": "rect", "encoding": []},
        {"mark": "rect", "data": {"name": "nope"}},
        {"mark": "rect", "data": {"values": [{"a": [1]}]}},
        {"mark": "rect", "encoding": {"x": {"field": "a", "type": "ordinary"}}},
        {"vconcat": {"mark": "rect"}},
    ],
)
def test_malformed_specs_raise_chart_spec_error(spec):
    with pytest.raises(ChartSpecError):
        normalize(spec)


def test_deep_nesting_is_refused():
    spec = {"mark": "rect"}
    for _ in range(5000):
        spec = {"layer": [spec]}
    with pytest.raises(ChartSpecError, match="nested too deeply"):
        normalize(spec)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["mark", "encoding", "data", "datasets", "layer", "vconcat", "x",
                        "field", "type", "sort", "values", "name", "facet", "spec", "transform"])


@FAST
@given(json_values)
def test_any_json_value_gives_a_view_or_chart_spec_error(value):
    try:
        assert isinstance(normalize(value), View)
    except ChartSpecError:
        pass


def mutate(spec, path, value):
    """Replace the value at a random place in the spec (path picks keys and list items)."""
    node = spec
    for step in path[:-1]:
        children = list(node.values()) if isinstance(node, dict) else node
        if not isinstance(children, list) or not children or not isinstance(
            children[step % len(children)], (dict, list)
        ):
            break
        node = children[step % len(children)]
    if isinstance(node, dict) and node:
        node[sorted(node)[path[-1] % len(node)]] = value
    elif isinstance(node, list) and node:
        node[path[-1] % len(node)] = value
    return spec


@FAST
@given(st.lists(st.integers(0, 50), min_size=1, max_size=6), json_values,
       st.dictionaries(keys, json_values, max_size=3))
def test_damaged_reference_charts_never_crash(expected, path, value, extra):
    got = mutate(copy.deepcopy(expected), path, value)
    got.update(extra)
    differences = chart_differences(got, expected)
    assert isinstance(differences, list) and all(isinstance(d, str) for d in differences)
