"""Hidden grader of all_neuron_activation_matrices(activations, num_neurons, labels).

neuron_activation_matrix and its helpers are replaced by the reference ones during each
call, so only the stacking is graded here. Charts are compared by meaning.
"""

from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
import reference.charts as charts
from course.graders.compare import as_chart, expect_chart

from .cases import activation_frames, trained_subset

GRADES = ("all_neuron_activation_matrices",)
SENDS = ("filter_activations", "get_top_neurons", "neuron_activation_matrix", "tooltips")

PATCH = {"neuron_activation_matrix": charts.neuron_activation_matrix,
         "get_top_neurons": ref.get_top_neurons, "filter_activations": ref.filter_activations}
HEATMAP = ("x", "y", "color")


def _draw_args(frame, data):
    present = sorted(set(frame["label"].tolist()))
    labels = data.draw(st.lists(st.sampled_from(present), min_size=1, max_size=len(present),
                                unique=True), label="labels")
    n = data.draw(st.integers(1, int(frame["neuron"].nunique())), label="num_neurons")
    return n, [int(label) for label in labels]


def stack(student, frame, n, labels):
    return student.all_neuron_activation_matrices(frame, n, labels, _patch=PATCH)


@given(frame=activation_frames(), data=st.data())
def test_one_matrix_per_label(student, frame, data):
    """A vertical stack (vconcat) with one matrix per label."""
    n, labels = _draw_args(frame, data)
    what = f"all_neuron_activation_matrices(activations, {n}, {labels})"
    view = as_chart(stack(student, frame, n, labels), what)
    assert view.kind == "vconcat" and len(view.children) == len(labels), (
        f"{what}: expected a vconcat of {len(labels)} charts, got "
        + (f"a single {view.mark} chart" if view.kind == "view"
           else f"a {view.kind} of {len(view.children)} charts"))


@given(frame=activation_frames(max_labels=5), data=st.data())
def test_matrices_in_label_order(student, frame, data):
    """Matrix i is neuron_activation_matrix(activations, num_neurons, labels[i])."""
    n, labels = _draw_args(frame, data)
    expect_chart(stack(student, frame, n, labels),
                 charts.all_neuron_activation_matrices(frame, n, labels),
                 what=f"all_neuron_activation_matrices(activations, {n}, {labels})",
                 channels=HEATMAP)


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: matrices of 8 neurons for the digits 7, 1 and 4."""
    nn, X, y, _ = trained_subset(300)
    frame = ref.calculate_activation_matrix(X, y, nn)
    expect_chart(stack(student, frame, 8, [7, 1, 4]),
                 charts.all_neuron_activation_matrices(frame, 8, [7, 1, 4]),
                 what="trained model: all_neuron_activation_matrices(activations, 8, [7, 1, 4])",
                 channels=HEATMAP)
