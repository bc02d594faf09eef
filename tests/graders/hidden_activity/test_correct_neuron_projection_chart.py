"""Hidden grader of neuron_projection_chart(neuron_points, importance, label).

The chart is compared by meaning (mark, encodings and their types, the data rows), never as
text; sizes, colour schemes and axes are free, and the title only has to contain the class.
"""

import re

import numpy as np
from hypothesis import given

import reference.hidden_charts as charts
import reference.neurons as neurons
from course.graders.compare import as_chart, expect_chart, expect_tooltip

from .cases import last_layer, neuron_maps

GRADES = ("neuron_projection_chart",)
SENDS = ()

SCATTER = ("x", "y", "color")


def chart(student, case):
    return student.neuron_projection_chart(case.points, case.importance, case.label)


def what(case):
    return f"neuron_projection_chart(neuron_points, importance, {case.label})"


def _null_colour_scales(spec):
    """Colour encodings with ``scale: null`` anywhere in a Vega-Lite spec: the data values
    would be taken as colour names, so the importance would not show."""
    if isinstance(spec, dict):
        colour = spec.get("encoding", {}).get("color") if isinstance(
            spec.get("encoding"), dict) else None
        found = int(isinstance(colour, dict) and "scale" in colour and colour["scale"] is None)
        return found + sum(_null_colour_scales(v) for v in spec.values())
    if isinstance(spec, list):
        return sum(_null_colour_scales(v) for v in spec)
    return 0


@given(case=neuron_maps())
def test_circles_coloured_by_importance(student, case):
    """Circles with x and y quantitative and the colour showing the importance."""
    got = chart(student, case)
    expect_chart(got, charts.neuron_projection_chart(case.points, case.importance, case.label),
                 what=what(case), channels=SCATTER, check=("mark", "encodings"))
    if _null_colour_scales(got.spec):
        raise AssertionError(f"{what(case)}: the colour has no scale (scale=None), so the "
                             "importance values do not become colours; keep a colour scale")


@given(case=neuron_maps())
def test_one_row_per_neuron(student, case):
    """The data: one row per neuron with its number, position and importance."""
    expect_chart(chart(student, case),
                 charts.neuron_projection_chart(case.points, case.importance, case.label),
                 what=what(case), channels=(*SCATTER, "tooltip"), check=("data",))


@given(case=neuron_maps(max_neurons=4))
def test_tooltips(student, case):
    """Tooltips show the neuron and its importance."""
    expect_tooltip(chart(student, case), what=what(case), required=("neuron", "importance"))


def _title_text(title):
    """The text of a Vega-Lite title: a string, a list of lines or {"text": ...}."""
    if isinstance(title, dict):
        return _title_text(title.get("text", ""))
    if isinstance(title, (list, tuple)):
        return " ".join(_title_text(t) for t in title)
    return title if isinstance(title, str) else ""


@given(case=neuron_maps(max_neurons=3))
def test_title_names_the_class(student, case):
    """The title contains the class number label."""
    got = chart(student, case)
    as_chart(got, what(case))
    text = _title_text(got.spec.get("title", ""))
    if not re.search(rf"(?<!\d){case.label}(?!\d)", text):
        raise AssertionError(f"{what(case)}: the chart's title should contain the class "
                             f"{case.label}; got the title {text!r}")


class _Case:
    def __init__(self, points, importance, label):
        self.points, self.importance, self.label = points, importance, label


def test_trained_mnist(student):
    """The neuron map of a trained MLP's last layer, coloured by the importance for 5."""
    A, y = last_layer()
    alive = A[:, np.ptp(A, axis=0) > 0]
    case = _Case(neurons.neuron_projection(alive),
                 neurons.discriminative_importance(alive, y, 5, 20), 5)
    expect_chart(chart(student, case),
                 charts.neuron_projection_chart(case.points, case.importance, 5),
                 what="trained model: " + what(case), channels=(*SCATTER, "tooltip"))
