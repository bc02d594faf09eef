"""Hidden grader of neuron_activation_matrix_errors(activations, num_neurons).

The chart is compared by meaning (mark, encodings, field types, the order of neurons and
subsets, the data rows). get_top_neurons and filter_activations are replaced by the
reference ones during each call.
"""

from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
import reference.charts as charts
from course.graders.compare import expect_chart, expect_tooltip

from .cases import error_frames, trained_subset
from .drivers import changes_to_frame

GRADES = ("neuron_activation_matrix_errors",)
SENDS = ("filter_activations", "get_top_neurons")

PATCH = {"get_top_neurons": ref.get_top_neurons, "filter_activations": ref.filter_activations}
HEATMAP = ("x", "y", "color")


def chart(student, frame, n):
    return student.neuron_activation_matrix_errors(frame, n, _patch=PATCH)


def _what(frame, n):
    subsets = list(dict.fromkeys(zip(frame["true_label"].tolist(),
                                     frame["predicted_label"].tolist(), strict=True)))
    return f"neuron_activation_matrix_errors(activations for subsets {subsets}, {n})"


@given(frame=error_frames(min_neurons=2), data=st.data())
def test_heatmap_encodings(student, frame, data):
    """A rect heatmap: x = neuron (top-neuron order), y = subset (in order), color = activation."""
    n = data.draw(st.integers(1, int(frame["neuron"].nunique()) + 2), label="num_neurons")
    expect_chart(chart(student, frame, n), charts.neuron_activation_matrix_errors(frame, n),
                 what=_what(frame, n), channels=HEATMAP, check=("mark", "encodings"))


@given(frame=error_frames(), data=st.data())
def test_data_rows(student, frame, data):
    """The data are the rows of the top neurons, subsets named like 'true 4, predicted 9'."""
    n = data.draw(st.integers(1, int(frame["neuron"].nunique()) + 2), label="num_neurons")
    expect_chart(chart(student, frame, n), charts.neuron_activation_matrix_errors(frame, n),
                 what=_what(frame, n), channels=HEATMAP, check=("data",))


@given(frame=error_frames(max_neurons=4))
def test_tooltips(student, frame):
    """Tooltips show the neuron, the activation and the subset (or its two labels)."""
    expect_tooltip(chart(student, frame, 3), what=_what(frame, 3),
                   required=("neuron", "activation"),
                   one_of=[{"subset"}, {"true_label", "predicted_label"}])


@given(frame=error_frames(max_neurons=4))
def test_activations_left_unchanged(student, frame):
    """The activations frame passed in is left unchanged (the subset column goes on a copy)."""
    what = _what(frame, 3)
    change = student._run(changes_to_frame, "neuron_activation_matrix_errors", frame, (3,),
                          PATCH)
    assert not change, f"{what} changed the caller's activations frame: {change}"


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the top 12 neurons over its error subsets."""
    nn, X, y_true, y_pred = trained_subset(300)
    pairs = {(int(t), int(p)) for t, p in zip(y_true, y_pred, strict=True) if t != p}
    subsets = [(9, 9), *sorted(pairs)[:5], (4, 4)]
    frame = ref.calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets)
    expect_chart(chart(student, frame, 12), charts.neuron_activation_matrix_errors(frame, 12),
                 what=f"trained model: neuron_activation_matrix_errors(activations for "
                      f"{subsets}, 12)", channels=HEATMAP)
