"""Altair charts of hidden-layer projections and neuron maps (the hidden_activity lab).

Instances are drawn with a fixed colour per class (Vega's ``category10`` over the labels
0-9), so the same digit has the same colour on every chart. Every chart carries its data
inline (see `reference.charts`), has tooltips, and hides the axes of t-SNE and MDS maps:
their coordinates have no unit, only the neighbourhoods mean something.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from reference.charts import tooltips
from reference.neurons import neuron_roles

__all__ = [
    "CLASS_COLORS",
    "projection_frame",
    "projection_chart",
    "evolution_chart",
    "trace_frame",
    "trace_chart",
    "neuron_projection_chart",
    "discriminative_neuron_map",
    "side_by_side",
]

# d3/Vega category10, in label order 0-9.
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
NO_AXIS = alt.Axis(labels=False, ticks=False, title=None, grid=False)


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    return alt.InlineData(values=alt.utils.data.to_values(frame)["values"])


def _class_scale(labels):
    present = sorted({int(v) for v in labels})
    domain = list(range(10)) if set(present) <= set(range(10)) else present
    return alt.Scale(domain=domain, range=list(CLASS_COLORS) * (len(domain) // 10 + 1))


def projection_frame(points, labels):
    """Columns ``index`` (the instance's row), ``x``, ``y`` and ``label``, one row per point."""
    P = np.asarray(points, dtype=np.float64)
    return pd.DataFrame({"index": np.arange(len(P), dtype=np.int64), "x": P[:, 0],
                         "y": P[:, 1], "label": np.asarray(labels).astype(np.int64)})


def projection_chart(points, labels, title="", size=220):
    """Scatter plot of a 2-D projection, one point per instance coloured by its class."""
    frame = projection_frame(points, labels)
    return (
        alt.Chart(_inline(frame))
        .mark_circle(size=14, opacity=0.8)
        .encode(
            x=alt.X("x:Q", axis=NO_AXIS),
            y=alt.Y("y:Q", axis=NO_AXIS),
            color=alt.Color("label:N", scale=_class_scale(frame["label"]), title="class"),
            tooltip=tooltips("index:Q", "label:N"),
        )
        .properties(title=title, width=size, height=size)
    )


def evolution_chart(projections, labels, stage="layer", names=None, size=170):
    """One projection per stage (hidden layer or epoch) side by side, as thumbnails.

    ``names`` label the stages (default 1, 2, ...); each thumbnail is titled
    ``f"{stage} {name}"``.
    """
    names = list(range(1, len(projections) + 1)) if names is None else list(names)
    return alt.hconcat(*[
        projection_chart(points, labels, title=f"{stage} {name}", size=size)
        for points, name in zip(projections, names, strict=True)
    ])


def _shade(hex_color, amount):
    """``hex_color`` mixed with white: amount 1 is the colour, 0 is white."""
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    mixed = 255 - (255 - rgb) * amount
    return "#" + "".join(f"{int(round(c)):02x}" for c in mixed)


def trace_frame(projections, labels, names=None):
    """One row per instance and step between consecutive stages.

    Columns: ``index``, ``label``, ``step`` (1 for stage 1 -> 2, ...), ``from_stage`` and
    ``to_stage`` (names), ``x, y`` (start), ``x2, y2`` (end), and ``shade``: the class
    colour, pale for the first step and full for the last (depth as brightness).
    """
    names = list(range(1, len(projections) + 1)) if names is None else list(names)
    labels = np.asarray(labels).astype(np.int64)
    n_steps = len(projections) - 1
    frames = []
    for step in range(1, n_steps + 1):
        start, end = (np.asarray(p, dtype=np.float64) for p in projections[step - 1:step + 1])
        amount = 0.25 + 0.75 * (step / n_steps)
        frames.append(pd.DataFrame({
            "index": np.arange(len(start), dtype=np.int64), "label": labels, "step": step,
            "from_stage": str(names[step - 1]), "to_stage": str(names[step]),
            "x": start[:, 0], "y": start[:, 1], "x2": end[:, 0], "y2": end[:, 1],
            "shade": [_shade(CLASS_COLORS[c % 10], amount) for c in labels],
        }))
    return pd.concat(frames, ignore_index=True)


def trace_chart(projections, labels, stage="layer", names=None, size=420):
    """Trails of every instance through the aligned projections, in one picture.

    A segment joins an instance's positions on two consecutive maps; its hue is the
    instance's class and its brightness the depth: pale for the first step, full colour
    for the last. Dots mark where the instances end up (the last map).
    """
    if len(projections) < 2:
        raise ValueError("a trace needs at least two projections")
    names = list(range(1, len(projections) + 1)) if names is None else list(names)
    trails = (
        alt.Chart(_inline(trace_frame(projections, labels, names)))
        .mark_rule(strokeWidth=0.7, opacity=0.6)
        .encode(
            x=alt.X("x:Q", axis=NO_AXIS), y=alt.Y("y:Q", axis=NO_AXIS),
            x2=alt.X2("x2:Q"), y2=alt.Y2("y2:Q"),
            color=alt.Color("shade:N", scale=None),
            tooltip=tooltips("index:Q", "label:N", "from_stage:N", "to_stage:N"),
        )
    )
    ends = projection_chart(projections[-1], labels).mark_circle(size=10, opacity=1.0)
    return alt.layer(trails, ends).properties(
        title=f"Trails through {len(projections)} {stage}s (pale: first, bright: last)",
        width=size, height=size)


def neuron_projection_chart(neuron_points, importance, label, size=300):
    """Neuron projection coloured by each neuron's importance for one class.

    Parameters
    ----------
    neuron_points : array-like of shape (n_neurons, 2)
        From `reference.neurons.neuron_projection`.
    importance : array-like of shape (n_neurons,)
        From `reference.neurons.discriminative_importance` for ``label``.
    label : int
        The class, for the title.

    Returns
    -------
    altair.Chart
        ``circle`` marks with data columns ``neuron`` (int), ``x``, ``y``, ``importance``:
        x and y quantitative, colour ``importance`` (quantitative), tooltip neuron and
        importance.
    """
    P = np.asarray(neuron_points, dtype=np.float64)
    frame = pd.DataFrame({"neuron": np.arange(len(P), dtype=np.int64), "x": P[:, 0],
                          "y": P[:, 1], "importance": np.asarray(importance, np.float64)})
    return (
        alt.Chart(_inline(frame))
        .mark_circle(size=60, opacity=0.9)
        .encode(
            x=alt.X("x:Q", axis=NO_AXIS),
            y=alt.Y("y:Q", axis=NO_AXIS),
            color=alt.Color("importance:Q", scale=alt.Scale(scheme="viridis")),
            tooltip=tooltips("neuron:Q", "importance:Q"),
        )
        .properties(title=f"Neurons: importance for class {label}", width=size, height=size)
    )


def discriminative_neuron_map(neuron_points, importances, labels=None, size=300):
    """Neuron projection where each neuron has the colour of the class it discriminates best.

    ``importances`` has one row per class (``labels``, default 0, 1, ...); the opacity of a
    neuron grows with its largest importance, so neurons that tell no class apart fade out.
    """
    imp = np.asarray(importances, dtype=np.float64)
    labels = list(range(len(imp))) if labels is None else list(labels)
    P = np.asarray(neuron_points, dtype=np.float64)
    frame = neuron_roles(imp, labels)
    frame["x"], frame["y"] = P[:, 0], P[:, 1]
    return (
        alt.Chart(_inline(frame))
        .mark_circle(size=70)
        .encode(
            x=alt.X("x:Q", axis=NO_AXIS),
            y=alt.Y("y:Q", axis=NO_AXIS),
            color=alt.Color("label:N", scale=_class_scale(labels), title="best class"),
            opacity=alt.Opacity("importance:Q", scale=alt.Scale(range=[0.4, 1.0]),
                                title="importance"),
            tooltip=tooltips("neuron:Q", "label:N", "importance:Q"),
        )
        .properties(title="Discriminative neuron map", width=size, height=size)
    )


def side_by_side(charts, vertical=False):
    """Charts next to each other (or one above the other), each titled by its key.

    ``charts`` maps a title (e.g. ``"MLP"``) to a chart.
    """
    titled = [chart.properties(title=title) for title, chart in charts.items()]
    return alt.vconcat(*titled) if vertical else alt.hconcat(*titled)
