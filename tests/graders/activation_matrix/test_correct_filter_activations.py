"""Hidden grader of filter_activations(activations, neurons).

The kept rows may come in any order and with any index.
"""

from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
from course.graders.compare import expect_frame

from .cases import activation_frames, error_frames, trained_subset

GRADES = ("filter_activations",)
SENDS = ()

KEYS = ["label", "neuron"]
ERROR_KEYS = ["true_label", "predicted_label", "neuron"]


def _some_neurons(frame, data, *, min_size=1):
    ids = sorted(set(frame["neuron"].tolist()))
    chosen = data.draw(st.lists(st.sampled_from(ids), min_size=min(min_size, len(ids)),
                                max_size=len(ids), unique=True), label="neurons")
    return [int(n) for n in chosen]


@given(frame=activation_frames(), data=st.data())
def test_rows_of_those_neurons(student, frame, data):
    """Keeps exactly the rows of the given neurons, for every label, values unchanged."""
    neurons = _some_neurons(frame, data)
    expect_frame(student.filter_activations(frame, neurons),
                 ref.filter_activations(frame, neurons), what=f"filter_activations(activations, "
                 f"{neurons})", keys=KEYS, value_cols=["activation"])


@given(frame=activation_frames(), data=st.data())
def test_empty_list_and_unknown_ids(student, frame, data):
    """An empty list keeps no row; ids that are not in the frame are ignored."""
    n = int(frame["neuron"].max()) + 1
    for neurons in ([], [n, n + 5], [*_some_neurons(frame, data, min_size=0), n + 1]):
        expect_frame(student.filter_activations(frame, neurons),
                     ref.filter_activations(frame, neurons),
                     what=f"filter_activations(activations, {neurons}) for neurons 0..{n - 1}",
                     keys=KEYS, value_cols=["activation"])


@given(frame=error_frames(), data=st.data())
def test_other_columns_kept(student, frame, data):
    """Works on any frame with a neuron column, e.g. the error-subset frame."""
    neurons = _some_neurons(frame, data)
    expect_frame(student.filter_activations(frame, neurons),
                 ref.filter_activations(frame, neurons),
                 what=f"filter_activations(activations_errors, {neurons})", keys=ERROR_KEYS,
                 value_cols=["activation"])


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the rows of the top 12 neurons of digit 5."""
    nn, X, y, _ = trained_subset(300)
    frame = ref.calculate_activation_matrix(X, y, nn)
    top = ref.get_top_neurons(frame, 12, 5)
    expect_frame(student.filter_activations(frame, top), ref.filter_activations(frame, top),
                 what=f"trained model: filter_activations(activations, {top})", keys=KEYS,
                 value_cols=["activation"])
