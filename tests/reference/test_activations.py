"""Tests of reference.activations on random small MLPs and on toy models known by hand."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import confusion_matrix
from sklearn.neural_network import MLPClassifier

from reference.activations import (
    calculate_activation_matrix,
    calculate_activation_matrix_errors,
    calculate_activation_matrix_loop,
    confusion_matrix_frame,
    filter_activations,
    get_average_activations,
    get_layer_output,
    get_top_neurons,
)

FAST = settings(max_examples=25, deadline=None)
# Means of the same numbers summed in a different order (one batch vs one batch per
# label) agree to a few ulps, not bitwise.
CLOSE = {"rtol": 1e-12, "atol": 1e-12}


def make_mlp(hidden, activation, n_classes, n_features, seed):
    """An MLPClassifier with the wanted structure and random weights."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(max(n_classes, 4), n_features))
    y = np.arange(len(X)) % n_classes
    model = MLPClassifier(hidden_layer_sizes=hidden, activation=activation, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    model.coefs_ = [rng.normal(scale=1.5, size=w.shape) for w in model.coefs_]
    model.intercepts_ = [rng.normal(size=b.shape) for b in model.intercepts_]
    return model


@st.composite
def mlps(draw):
    hidden = tuple(draw(st.lists(st.integers(1, 20), min_size=1, max_size=3)))
    activation = draw(st.sampled_from(["relu", "logistic", "tanh", "identity"]))
    n_classes = draw(st.sampled_from([2, 3, 5]))
    n_features = draw(st.integers(1, 8))
    model = make_mlp(hidden, activation, n_classes, n_features, draw(st.integers(0, 2**16)))
    n_samples = draw(st.integers(1, 30))
    X = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=(n_samples, n_features))
    return model, X


def toy_model(activation="relu"):
    """2 inputs -> 2 hidden units (identity weights, biases 0 and -1) -> 3 classes."""
    model = make_mlp((2,), activation, 3, 2, seed=0)
    model.coefs_ = [np.eye(2), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])]
    model.intercepts_ = [np.array([0.0, -1.0]), np.zeros(3)]
    return model


@FAST
@given(mlps())
def test_output_layer_is_predict_proba_exactly(case):
    model, X = case
    out = get_layer_output(model, X, model.n_layers_)
    assert out.shape == (len(X), len(model.classes_))
    assert np.array_equal(out, model.predict_proba(X))


def test_output_layer_exact_for_integer_pixels():
    model = make_mlp((5, 3), "relu", 10, 6, seed=1)
    X = np.random.default_rng(2).integers(0, 256, size=(7, 6), dtype=np.uint8)
    assert np.array_equal(get_layer_output(model, X, model.n_layers_), model.predict_proba(X))


def test_input_layer_is_x_as_floats():
    model = toy_model()
    X = np.array([[1, 2], [-3, 4]])
    out = get_layer_output(model, X, 1)
    assert out.dtype == np.float64
    assert_array_equal(out, X)


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", [[1.0, 1.0], [0.0, 3.0]]),
        ("identity", [[1.0, 1.0], [-3.0, 3.0]]),
        ("tanh", np.tanh([[1.0, 1.0], [-3.0, 3.0]])),
        ("logistic", 1 / (1 + np.exp(-np.array([[1.0, 1.0], [-3.0, 3.0]])))),
    ],
)
def test_hidden_layer_of_toy_model(activation, expected):
    out = get_layer_output(toy_model(activation), np.array([[1.0, 2.0], [-3.0, 4.0]]), 2)
    assert_allclose(out, expected, rtol=1e-15)


def test_output_of_toy_model_is_softmax_of_hidden():
    # relu hidden [1, 1] gives logits [1, 1, 0].
    out = get_layer_output(toy_model(), np.array([[1.0, 2.0]]), 3)
    e = np.e
    assert_allclose(out, [[e / (2 * e + 1), e / (2 * e + 1), 1 / (2 * e + 1)]], rtol=1e-14)


@pytest.mark.parametrize("layer", [0, 4, -1, 1.5, True, "2"])
def test_layer_out_of_range_is_rejected(layer):
    with pytest.raises(ValueError, match="layer must be"):
        get_layer_output(toy_model(), np.ones((1, 2)), layer)


@FAST
@given(mlps())
def test_average_activations_are_the_hidden_layers_in_order(case):
    model, X = case
    averages = get_average_activations(X, model)
    assert averages.shape == (sum(model.hidden_layer_sizes),)
    assert averages.dtype == np.float64
    by_layer = [get_layer_output(model, X, k).mean(axis=0) for k in range(2, model.n_layers_)]
    assert_allclose(averages, np.concatenate(by_layer), **CLOSE)


def test_average_activations_of_toy_model():
    averages = get_average_activations(np.array([[1.0, 2.0], [-3.0, 4.0]]), toy_model())
    assert_allclose(averages, [0.5, 2.0])


def test_average_activations_of_no_instance_is_an_error():
    with pytest.raises(ValueError, match="no instances"):
        get_average_activations(np.empty((0, 2)), toy_model())


@FAST
@given(mlps(), st.integers(0, 2**16))
def test_activation_matrix_layout_and_values(case, seed):
    model, X = case
    y = np.random.default_rng(seed).choice(model.classes_, size=len(X))
    frame = calculate_activation_matrix(X, y, model)
    n_hidden = sum(model.hidden_layer_sizes)
    labels = np.unique(y)
    assert list(frame.columns) == ["neuron", "label", "activation"]
    assert list(frame.dtypes) == [np.int64, np.int64, np.float64]
    assert isinstance(frame.index, pd.RangeIndex)
    assert_array_equal(frame["label"], np.repeat(labels, n_hidden))
    assert_array_equal(frame["neuron"], np.tile(np.arange(n_hidden), len(labels)))
    for label in labels:
        got = frame.loc[frame["label"] == label, "activation"]
        assert_allclose(got, get_average_activations(X[y == label], model), **CLOSE)
    loop = calculate_activation_matrix_loop(X, y, model)
    pd.testing.assert_frame_equal(frame, loop, check_exact=False, **CLOSE)


def test_labels_missing_from_y_are_absent():
    model = make_mlp((4,), "relu", 5, 3, seed=3)
    X = np.random.default_rng(4).normal(size=(6, 3))
    frame = calculate_activation_matrix(X, [4, 0, 4, 0, 0, 4], model)
    assert sorted(frame["label"].unique()) == [0, 4]
    assert len(frame) == 2 * 4


def test_activation_matrix_needs_one_label_per_row():
    with pytest.raises(ValueError, match="rows"):
        calculate_activation_matrix(np.ones((3, 2)), [0, 1], toy_model())


def frame(values, labels=(0,)):
    """Activation frame with values[i][j] for label labels[i] and neuron j."""
    values = np.asarray(values, dtype=float)
    return pd.DataFrame(
        {
            "neuron": np.tile(np.arange(values.shape[1]), len(labels)),
            "label": np.repeat(labels, values.shape[1]),
            "activation": values.ravel(),
        }
    )


def test_top_neurons_ties_go_to_the_lower_id():
    activations = frame([[0.5, 0.9, 0.5, 0.9, 0.1]])
    assert get_top_neurons(activations, 5, 0) == [1, 3, 0, 2, 4]


@pytest.mark.parametrize(("count", "expected"), [(0, []), (1, [2]), (3, [2, 0, 1]), (9, [2, 0, 1])])
def test_top_neurons_counts(count, expected):
    activations = frame([[0.5, 0.1, 0.9], [0.0, 0.0, 0.0]], labels=(7, 8))
    top = get_top_neurons(activations, count, 7)
    assert top == expected
    assert all(type(n) is int for n in top)


def test_top_neurons_without_subset_rank_by_the_mean_over_labels():
    # Neuron 0 wins label 0, neuron 1 wins label 1, neuron 2 has the best mean.
    activations = frame([[1.0, 0.0, 0.6], [0.0, 1.0, 0.6]], labels=(0, 1))
    assert get_top_neurons(activations, 3, 0) == [0, 2, 1]
    assert get_top_neurons(activations, 3, 1) == [1, 2, 0]
    assert get_top_neurons(activations, 3) == [2, 0, 1]


def test_top_neurons_of_an_unknown_label_is_an_error():
    with pytest.raises(ValueError, match="label 3"):
        get_top_neurons(frame([[1.0, 2.0]]), 1, 3)


@FAST
@given(
    st.lists(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=4, max_size=4),
             min_size=1, max_size=4),
    st.integers(0, 6),
)
def test_top_neurons_match_a_plain_sort(rows, count):
    activations = frame(rows, labels=tuple(range(len(rows))))
    means = np.mean(rows, axis=0)
    expected = sorted(range(4), key=lambda n: (-means[n], n))[:count]
    assert get_top_neurons(activations, count) == expected
    assert get_top_neurons(activations, count, 0) == sorted(
        range(4), key=lambda n: (-rows[0][n], n)
    )[:count]


def test_filter_keeps_row_order_and_resets_the_index():
    activations = frame([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], labels=(0, 1))
    kept = filter_activations(activations, [2, 0])
    assert kept["neuron"].tolist() == [0, 2, 0, 2]
    assert kept["activation"].tolist() == [0.1, 0.3, 0.4, 0.6]
    assert isinstance(kept.index, pd.RangeIndex)


@pytest.mark.filterwarnings("ignore:A single label was found")
@FAST
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(2, 6)), min_size=1, max_size=40))
def test_confusion_frame_matches_sklearn(pairs):
    y_true, y_pred = (np.array(v) for v in zip(*pairs, strict=True))
    cm = confusion_matrix_frame(y_true, y_pred)
    labels = np.union1d(y_true, y_pred)
    assert list(cm.columns) == ["true_label", "predicted_label", "count"]
    assert cm["count"].dtype == np.int64
    assert_array_equal(cm["true_label"], np.repeat(labels, len(labels)))
    assert_array_equal(cm["predicted_label"], np.tile(labels, len(labels)))
    expected = confusion_matrix(y_true, y_pred, labels=labels)
    assert_array_equal(cm["count"].to_numpy().reshape(expected.shape), expected)


def test_errors_frame_keeps_the_subset_order_and_drops_empty_subsets():
    model = make_mlp((3, 2), "tanh", 3, 4, seed=5)
    X = np.random.default_rng(6).normal(size=(8, 4))
    y_true = np.array([0, 1, 1, 2, 0, 1, 2, 2])
    y_pred = np.array([0, 2, 1, 2, 1, 2, 2, 0])
    errors = calculate_activation_matrix_errors(
        X, y_true, y_pred, model, [(1, 2), (0, 2), (2, 2), (2, 1)]
    )
    assert list(errors.columns) == ["neuron", "true_label", "predicted_label", "activation"]
    assert list(errors.dtypes) == [np.int64, np.int64, np.int64, np.float64]
    assert errors["true_label"].tolist() == [1] * 5 + [2] * 5
    assert errors["predicted_label"].tolist() == [2] * 10
    assert errors["neuron"].tolist() == list(range(5)) * 2
    for (t, p), block in zip([(1, 2), (2, 2)], np.split(errors["activation"].to_numpy(), 2),
                             strict=True):
        rows = (y_true == t) & (y_pred == p)
        assert_allclose(block, get_average_activations(X[rows], model), **CLOSE)


def test_errors_frame_of_empty_subsets_is_empty():
    model = make_mlp((3,), "relu", 3, 2, seed=7)
    errors = calculate_activation_matrix_errors(
        np.ones((2, 2)), [0, 1], [0, 1], model, [(0, 1), (1, 0)]
    )
    assert errors.empty
    assert list(errors.columns) == ["neuron", "true_label", "predicted_label", "activation"]
    assert list(errors.dtypes) == [np.int64, np.int64, np.int64, np.float64]


def test_top_neurons_work_on_the_errors_frame():
    errors = pd.DataFrame(
        {
            "neuron": [0, 1, 2, 0, 1, 2],
            "true_label": [4] * 6,
            "predicted_label": [9, 9, 9, 4, 4, 4],
            "activation": [0.1, 0.8, 0.3, 0.5, 0.0, 0.3],
        }
    )
    # Means over the subsets: 0.3, 0.4, 0.3; the tie between 0 and 2 goes to 0.
    assert get_top_neurons(errors, 2) == [1, 0]


def test_float_labels_that_are_whole_numbers_are_accepted():
    model = make_mlp((3,), "relu", 3, 2, seed=8)
    X = np.random.default_rng(9).normal(size=(4, 2))
    as_floats = calculate_activation_matrix(X, [0.0, 2.0, 2.0, 0.0], model)
    pd.testing.assert_frame_equal(as_floats, calculate_activation_matrix(X, [0, 2, 2, 0], model))


@pytest.mark.parametrize("labels", [[0.5, 1.0], ["a", "b"], [np.nan, 1.0], [[0], [1]]])
def test_labels_must_be_integers(labels):
    with pytest.raises(ValueError, match="labels|one-dimensional"):
        confusion_matrix_frame(labels, [0, 1])


def test_wrong_number_of_features_is_an_error():
    with pytest.raises(ValueError, match="features"):
        get_layer_output(toy_model(), np.ones((2, 3)), 2)
