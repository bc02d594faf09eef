"""Hidden grader of neuron_activation_matrix(activations, num_neurons, label).

The chart is compared by meaning (mark, encodings, field types, the order of the neurons,
the data rows), never as text; titles, sizes and colours are free. get_top_neurons and
filter_activations are replaced by the reference ones during each call.
"""

from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
import reference.charts as charts
from course.graders.compare import expect_chart, expect_tooltip

from .cases import activation_frames, trained_subset

GRADES = ("neuron_activation_matrix",)
SENDS = ("filter_activations", "get_top_neurons")

PATCH = {"get_top_neurons": ref.get_top_neurons, "filter_activations": ref.filter_activations}
HEATMAP = ("x", "y", "color")


def _draw_args(frame, data):
    label = data.draw(st.sampled_from(sorted(set(frame["label"].tolist()))), label="label")
    n = data.draw(st.integers(1, int(frame["neuron"].nunique()) + 2), label="num_neurons")
    return n, label


def chart(student, frame, n, label):
    return student.neuron_activation_matrix(frame, n, label, _patch=PATCH)


@given(frame=activation_frames(min_neurons=2), data=st.data())
def test_heatmap_encodings(student, frame, data):
    """A rect heatmap: x = neuron (ordinal, in top-neuron order), y = label, color = activation."""
    n, label = _draw_args(frame, data)
    expect_chart(chart(student, frame, n, label), charts.neuron_activation_matrix(frame, n, label),
                 what=f"neuron_activation_matrix(activations, {n}, {label})", channels=HEATMAP,
                 check=("mark", "encodings"))


@given(frame=activation_frames(), data=st.data())
def test_data_rows(student, frame, data):
    """The chart's data are the rows of the top neurons, for every label."""
    n, label = _draw_args(frame, data)
    expect_chart(chart(student, frame, n, label), charts.neuron_activation_matrix(frame, n, label),
                 what=f"neuron_activation_matrix(activations, {n}, {label})", check=("data",))


@given(frame=activation_frames(max_neurons=4, max_labels=2))
def test_tooltips(student, frame):
    """Tooltips show the neuron, the label and the activation."""
    label = int(frame["label"].iloc[0])
    expect_tooltip(chart(student, frame, 3, label),
                   what=f"neuron_activation_matrix(activations, 3, {label})",
                   required=("neuron", "label", "activation"))


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the matrix of the top 15 neurons of digit 3."""
    nn, X, y, _ = trained_subset(300)
    frame = ref.calculate_activation_matrix(X, y, nn)
    expect_chart(chart(student, frame, 15, 3), charts.neuron_activation_matrix(frame, 15, 3),
                 what="trained model: neuron_activation_matrix(activations, 15, 3)",
                 channels=HEATMAP)
