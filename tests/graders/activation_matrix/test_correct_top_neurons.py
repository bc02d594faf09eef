"""Hidden grader of get_top_neurons(activations, num_neurons, subset=None).

Activation frames are drawn from a few values whose sums are exact, so equal means are
equal for every correct implementation and the tie rule (lower neuron id first) decides.
"""

from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
from course.graders.compare import expect_list

from .cases import activation_frames, trained_subset

GRADES = ("get_top_neurons",)
SENDS = ()


def _n_neurons(frame):
    return int(frame["neuron"].nunique())


@given(frame=activation_frames(), data=st.data())
def test_ranking_for_a_label(student, frame, data):
    """Neurons come by descending mean activation for the label given as subset."""
    label = data.draw(st.sampled_from(sorted(set(frame["label"].tolist()))), label="subset")
    n = data.draw(st.integers(1, _n_neurons(frame)), label="num_neurons")
    expect_list(student.get_top_neurons(frame, n, label), ref.get_top_neurons(frame, n, label),
                what=f"get_top_neurons(activations, {n}, {label})")


@given(frame=activation_frames(), data=st.data())
def test_ranking_over_all_labels(student, frame, data):
    """With subset=None, neurons are ranked by their mean activation over all labels."""
    n = data.draw(st.integers(1, _n_neurons(frame)), label="num_neurons")
    expect_list(student.get_top_neurons(frame, n), ref.get_top_neurons(frame, n),
                what=f"get_top_neurons(activations, {n})")


@given(frame=activation_frames(min_neurons=2, ties=True), data=st.data())
def test_ties_go_to_lower_id(student, frame, data):
    """Neurons with equal activations come in increasing id order."""
    label = data.draw(st.sampled_from([None, *sorted(set(frame["label"].tolist()))]),
                      label="subset")
    n = _n_neurons(frame)
    args = (frame, n) if label is None else (frame, n, label)
    expect_list(student.get_top_neurons(*args), ref.get_top_neurons(*args),
                what=f"get_top_neurons(activations, {n}, {label}) (all activations 0 or 1)")


@given(frame=activation_frames())
def test_num_neurons_zero_one_all_and_more(student, frame):
    """num_neurons = 0 gives [], 1 gives the top neuron, all or more than all give every neuron."""
    label = int(frame["label"].iloc[-1])
    n = _n_neurons(frame)
    for count in (0, 1, n, n + 3):
        expect_list(student.get_top_neurons(frame, count, label),
                    ref.get_top_neurons(frame, count, label),
                    what=f"get_top_neurons(activations, {count}, {label}) with {n} neurons")


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the top neurons of digits 3 and 8 and overall."""
    nn, X, y, _ = trained_subset(300)
    frame = ref.calculate_activation_matrix(X, y, nn)
    for count, label in ((10, 3), (25, 8), (15, None)):
        args = (frame, count) if label is None else (frame, count, label)
        expect_list(student.get_top_neurons(*args), ref.get_top_neurons(*args),
                    what=f"trained model: get_top_neurons(activations, {count}, {label})")
