"""Tests of reference.hidden_charts: what each chart encodes, its inline data, and that
Vega-Lite renders it."""

import json

import numpy as np
import pytest
import vl_convert as vlc
from numpy.testing import assert_allclose, assert_array_equal

from course.graders.vegalite import normalize
from reference.hidden_charts import (
    CLASS_COLORS,
    discriminative_neuron_map,
    evolution_chart,
    neuron_projection_chart,
    projection_chart,
    side_by_side,
    trace_chart,
    trace_frame,
)

RNG = np.random.default_rng(0)
LABELS = np.arange(12) % 4
MAPS = [RNG.normal(size=(12, 2)) for _ in range(3)]


def view(chart):
    return normalize(json.loads(chart.to_json()))


def test_projection_chart():
    v = view(projection_chart(MAPS[0], LABELS, title="t"))
    assert v.kind == "view" and v.mark == "circle"
    assert (v.encodings["x"].field, v.encodings["y"].field) == ("x", "y")
    assert v.encodings["color"].field == "label" and v.encodings["color"].type == "nominal"
    assert {e.field for e in v.encodings["tooltip"]} == {"index", "label"}
    assert_allclose(v.data[["x", "y"]].to_numpy(), MAPS[0])
    assert v.data["label"].tolist() == LABELS.tolist()
    assert v.data["index"].tolist() == list(range(12))


def test_class_colours_are_fixed_for_digits():
    spec = projection_chart(MAPS[0], LABELS).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == list(range(10)) and scale["range"][:10] == list(CLASS_COLORS)


def test_evolution_chart_one_thumbnail_per_stage():
    spec = evolution_chart(MAPS, LABELS, stage="epoch", names=[0, 2, 4]).to_dict()
    assert len(spec["hconcat"]) == 3
    assert [c["title"] for c in spec["hconcat"]] == ["epoch 0", "epoch 2", "epoch 4"]
    v = view(evolution_chart(MAPS, LABELS))
    assert_allclose(v.children[2].data[["x", "y"]].to_numpy(), MAPS[2])


def test_trace_frame_steps_and_shades():
    frame = trace_frame(MAPS, LABELS, names=["a", "b", "c"])
    assert len(frame) == 12 * 2
    first, last = frame[frame.step == 1], frame[frame.step == 2]
    assert_allclose(first[["x", "y"]].to_numpy(), MAPS[0])
    assert_allclose(first[["x2", "y2"]].to_numpy(), MAPS[1])
    assert_allclose(last[["x2", "y2"]].to_numpy(), MAPS[2])
    assert first["from_stage"].iloc[0] == "a" and last["to_stage"].iloc[0] == "c"
    # Last step in the class's own colour, the first one paler (closer to white).
    assert_array_equal(last["shade"], [CLASS_COLORS[c] for c in LABELS])

    def brightness(hex_color):
        return sum(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))

    assert all(brightness(a) > brightness(b)
               for a, b in zip(first["shade"], last["shade"], strict=True))


def test_trace_chart_layers_trails_and_end_points():
    v = view(trace_chart(MAPS, LABELS))
    assert v.kind == "layer" and [c.mark for c in v.children] == ["rule", "circle"]
    trails, ends = v.children
    assert {"x", "y", "x2", "y2", "color", "tooltip"} <= set(trails.encodings)
    assert len(trails.data) == 24
    assert_allclose(ends.data[["x", "y"]].to_numpy(), MAPS[-1])
    with pytest.raises(ValueError, match="at least two"):
        trace_chart(MAPS[:1], LABELS)


def test_neuron_projection_chart():
    points, importance = RNG.normal(size=(7, 2)), RNG.random(7)
    v = view(neuron_projection_chart(points, importance, 3))
    assert v.mark == "circle"
    assert v.encodings["color"].field == "importance"
    assert v.encodings["color"].type == "quantitative"
    assert {e.field for e in v.encodings["tooltip"]} == {"neuron", "importance"}
    assert v.data["neuron"].tolist() == list(range(7))
    assert_allclose(v.data["importance"], importance)


def test_discriminative_neuron_map():
    points = RNG.normal(size=(5, 2))
    importances = np.array([[0.1, 0.5, 0.0, 0.2, 0.2], [0.3, 0.1, 0.0, 0.1, 0.5]])
    v = view(discriminative_neuron_map(points, importances, labels=[2, 7]))
    assert v.encodings["color"].field == "label" and v.encodings["opacity"].field == "importance"
    assert v.data["label"].tolist() == [7, 2, 2, 2, 7]
    assert_allclose(v.data["importance"], [0.3, 0.5, 0.0, 0.2, 0.5])


def test_side_by_side():
    a, b = projection_chart(MAPS[0], LABELS), projection_chart(MAPS[1], LABELS)
    spec = side_by_side({"MLP": a, "CNN": b}).to_dict()
    assert [c["title"] for c in spec["hconcat"]] == ["MLP", "CNN"]
    assert "vconcat" in side_by_side({"MLP": a, "CNN": b}, vertical=True).to_dict()


def test_every_chart_renders_to_png():
    charts = [
        side_by_side({"MLP": evolution_chart(MAPS, LABELS), "CNN": evolution_chart(MAPS, LABELS)},
                     vertical=True),
        trace_chart(MAPS, LABELS),
        neuron_projection_chart(MAPS[0], RNG.random(12), 1),
        discriminative_neuron_map(MAPS[0], RNG.random((4, 12))),
    ]
    for chart in charts:
        png = vlc.vegalite_to_png(chart.to_json())
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
