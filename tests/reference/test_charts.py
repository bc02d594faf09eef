"""Tests of reference.charts through the Vega-Lite dicts the charts serialize to."""

import numpy as np
import pandas as pd
import pytest
import vl_convert

from reference.activations import confusion_matrix_frame, filter_activations, get_top_neurons
from reference.charts import (
    all_neuron_activation_matrices,
    confusion_matrix_chart,
    neuron_activation_matrix,
    neuron_activation_matrix_errors,
)


@pytest.fixture(scope="module")
def activations():
    rng = np.random.default_rng(0)
    labels, n_hidden = np.arange(4), 30
    return pd.DataFrame(
        {
            "neuron": np.tile(np.arange(n_hidden), len(labels)),
            "label": np.repeat(labels, n_hidden),
            "activation": rng.random(len(labels) * n_hidden),
        }
    )


@pytest.fixture(scope="module")
def errors():
    rng = np.random.default_rng(1)
    subsets = [(9, 9), (4, 9), (4, 4), (9, 4)]
    return pd.DataFrame(
        {
            "neuron": np.tile(np.arange(12), len(subsets)),
            "true_label": np.repeat([t for t, _ in subsets], 12),
            "predicted_label": np.repeat([p for _, p in subsets], 12),
            "activation": rng.random(12 * len(subsets)),
        }
    )


def rows(spec):
    """The data rows of a single-view spec, wherever altair put them."""
    data = spec["data"]
    return spec["datasets"][data["name"]] if "name" in data else data["values"]


def channel(spec, name):
    return spec["encoding"][name]


def test_matrix_encodings_and_neuron_order(activations):
    spec = neuron_activation_matrix(activations, 7, 2).to_dict()
    top = get_top_neurons(activations, 7, 2)
    assert spec["mark"]["type"] == "rect"
    assert channel(spec, "x") | {"title": None} == {
        "field": "neuron", "type": "ordinal", "sort": top, "title": None,
    }
    assert (channel(spec, "y")["field"], channel(spec, "y")["type"]) == ("label", "ordinal")
    assert (channel(spec, "color")["field"], channel(spec, "color")["type"]) == (
        "activation", "quantitative",
    )
    assert [t["field"] for t in channel(spec, "tooltip")] == ["neuron", "label", "activation"]


def test_matrix_data_is_the_filtered_frame(activations):
    spec = neuron_activation_matrix(activations, 5, 0).to_dict()
    expected = filter_activations(activations, get_top_neurons(activations, 5, 0))
    pd.testing.assert_frame_equal(pd.DataFrame(rows(spec)), expected)
    assert sorted({r["label"] for r in rows(spec)}) == [0, 1, 2, 3]


def test_matrices_stack_one_per_label_in_order(activations):
    spec = all_neuron_activation_matrices(activations, 4, [3, 0, 1]).to_dict()
    assert len(spec["vconcat"]) == 3
    for child, label in zip(spec["vconcat"], [3, 0, 1], strict=True):
        assert channel(child, "x")["sort"] == get_top_neurons(activations, 4, label)


def test_confusion_chart_encodings():
    cm = confusion_matrix_frame([0, 1, 2, 2], [0, 2, 2, 1])
    spec = confusion_matrix_chart(cm).to_dict()
    assert spec["mark"]["type"] == "rect"
    assert (channel(spec, "x")["field"], channel(spec, "x")["type"]) == (
        "predicted_label", "ordinal",
    )
    assert (channel(spec, "y")["field"], channel(spec, "y")["type"]) == ("true_label", "ordinal")
    assert channel(spec, "color")["field"] == "count"
    assert len(rows(spec)) == 9


def test_errors_matrix_names_subsets_in_order_of_appearance(errors):
    spec = neuron_activation_matrix_errors(errors, 6).to_dict()
    assert channel(spec, "x")["sort"] == get_top_neurons(errors, 6)
    y = channel(spec, "y")
    assert (y["field"], y["type"]) == ("subset", "nominal")
    assert y["sort"] == [
        "true 9, predicted 9", "true 4, predicted 9", "true 4, predicted 4", "true 9, predicted 4",
    ]
    first = rows(spec)[0]
    assert first["subset"] == f"true {first['true_label']}, predicted {first['predicted_label']}"
    assert len(rows(spec)) == 6 * 4


def test_big_frames_serialize_inline():
    n_hidden, labels = 768, 7  # 5376 rows: more than altair's default limit of 5000
    big = pd.DataFrame(
        {
            "neuron": np.tile(np.arange(n_hidden), labels),
            "label": np.repeat(np.arange(labels), n_hidden),
            "activation": np.linspace(0, 1, n_hidden * labels),
        }
    )
    assert len(rows(neuron_activation_matrix(big, n_hidden, 0).to_dict())) == n_hidden * labels


def test_matrix_renders_to_png(activations, tmp_path):
    png = vl_convert.vegalite_to_png(neuron_activation_matrix(activations, 10, 1).to_dict())
    path = tmp_path / "matrix.png"
    path.write_bytes(png)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
