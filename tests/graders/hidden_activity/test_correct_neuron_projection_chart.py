"""Hidden grader of neuron_projection_chart(neuron_points, importance, label).

The chart is compared by meaning (mark, encodings and their types, the data rows), never as
text; titles, sizes, colour schemes and axes are free.
"""

import numpy as np
from hypothesis import given

import reference.hidden_charts as charts
import reference.neurons as neurons
from course.graders.compare import expect_chart, expect_tooltip

from .cases import last_layer, neuron_maps

GRADES = ("neuron_projection_chart",)
SENDS = ()

SCATTER = ("x", "y", "color")


def chart(student, case):
    return student.neuron_projection_chart(case.points, case.importance, case.label)


def what(case):
    return f"neuron_projection_chart(neuron_points, importance, {case.label})"


@given(case=neuron_maps())
def test_circles_coloured_by_importance(student, case):
    """Circles with x and y quantitative and the colour showing the importance."""
    expect_chart(chart(student, case),
                 charts.neuron_projection_chart(case.points, case.importance, case.label),
                 what=what(case), channels=SCATTER, check=("mark", "encodings"))


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
