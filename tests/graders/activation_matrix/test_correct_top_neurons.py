"""Hidden grader of get_top_neurons(activations, num_neurons, subset=None).

Activation frames are drawn from a few values whose sums are exact, so equal means are
equal for every correct implementation and the tie rule (lower neuron id first) decides.
"""

import pandas as pd
from hypothesis import assume, given
from hypothesis import strategies as st

import reference.activations as ref
from course.graders.compare import expect_list

from .cases import activation_frames, trained_subset
from .drivers import changes_to_frame

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


@given(frame=activation_frames(min_neurons=3, min_labels=2, max_labels=3))
def test_label_zero_is_a_subset(student, frame):
    """subset=0 ranks by the rows of label 0: 0 is a label, not "no subset"."""
    frame.loc[frame["label"] == frame["label"].min(), "label"] = 0  # labels stay sorted
    n = _n_neurons(frame)
    expected = ref.get_top_neurons(frame, n, 0)
    assume(expected != ref.get_top_neurons(frame, n))  # else label 0 and None agree
    expect_list(student.get_top_neurons(frame, n, 0), expected,
                what=f"get_top_neurons(activations, {n}, 0) for labels "
                     f"{sorted(set(frame['label'].tolist()))}")


def _ranking_by_sum(frame):
    sums = frame.groupby("neuron")["activation"].sum().reset_index()
    return [int(n) for n in sums.sort_values(["activation", "neuron"],
                                             ascending=[False, True])["neuron"]]


@given(frame=activation_frames(min_neurons=2, min_labels=2), data=st.data())
def test_mean_of_rows_when_counts_differ(student, frame, data):
    """With subset=None, neurons rank by the mean of their rows (not the sum; counts may differ)."""
    # Leave out some rows, at least one row of every neuron kept.
    drop = data.draw(st.lists(st.booleans(), min_size=len(frame), max_size=len(frame)),
                     label="rows left out")
    first = ~frame.duplicated("neuron")
    frame = frame[first | ~pd.Series(drop, index=frame.index)].reset_index(drop=True)
    n = _n_neurons(frame)
    expected = ref.get_top_neurons(frame, n)
    assume(expected != _ranking_by_sum(frame))  # else mean and sum agree
    counts = frame.groupby("neuron").size().tolist()
    expect_list(student.get_top_neurons(frame, n), expected,
                what=f"get_top_neurons(activations, {n}) with {counts} rows per neuron")


@given(frame=activation_frames(min_neurons=2), data=st.data())
def test_activations_left_unchanged(student, frame, data):
    """The activations frame passed in is left unchanged (no inplace sorting, no new column)."""
    label = data.draw(st.sampled_from([None, *sorted(set(frame["label"].tolist()))]),
                      label="subset")
    n = _n_neurons(frame)
    args = (n,) if label is None else (n, label)
    change = student._run(changes_to_frame, "get_top_neurons", frame, args, {})
    assert not change, (f"get_top_neurons(activations, {n}, {label}) changed the caller's "
                        f"activations frame: {change}")


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the top neurons of digits 3 and 8 and overall."""
    nn, X, y, _ = trained_subset(300)
    frame = ref.calculate_activation_matrix(X, y, nn)
    for count, label in ((10, 3), (25, 8), (15, None)):
        args = (frame, count) if label is None else (frame, count, label)
        expect_list(student.get_top_neurons(*args), ref.get_top_neurons(*args),
                    what=f"trained model: get_top_neurons(activations, {count}, {label})")
