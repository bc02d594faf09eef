"""Hidden grader of calculate_activation_matrix(X, y, nn).

get_average_activations and get_layer_output are replaced by the reference ones during
each call, so a mistake there costs only their own exercises. Rows may come in any order
and with any index.
"""

from hypothesis import given

import reference.activations as ref
from course.graders.compare import expect_columns, expect_frame

from .cases import labelled_cases, trained_subset

GRADES = ("calculate_activation_matrix",)
SENDS = ("get_average_activations", "get_hidden_activations", "get_layer_output")

PATCH = {"get_average_activations": ref.get_average_activations,
         "get_layer_output": ref.get_layer_output}
KEYS = ["label", "neuron"]
# Means of the same numbers summed in another order agree to a few ulps.
TOL = {"rtol": 1e-9, "atol": 1e-12}
WHAT = "calculate_activation_matrix(X, y, nn)"


def matrix(student, X, y, nn):
    return student.calculate_activation_matrix(X, y, nn, _patch=PATCH)


@given(case=labelled_cases())
def test_columns_and_types(student, case):
    """Has the columns neuron and label (integers) and activation (floats)."""
    got = matrix(student, case.X, case.y, case.model)
    expect_columns(got, ref.calculate_activation_matrix(case.X, case.y, case.model), what=WHAT)


@given(case=labelled_cases())
def test_one_row_per_label_and_neuron(student, case):
    """Has one row per (label present in y, hidden neuron)."""
    got = matrix(student, case.X, case.y, case.model)
    expected = ref.calculate_activation_matrix(case.X, case.y, case.model)
    expect_frame(got, expected, what=WHAT, keys=KEYS, check_dtypes=False)


@given(case=labelled_cases())
def test_mean_activation_per_label(student, case):
    """activation is the neuron's mean activation over the instances with that label."""
    got = matrix(student, case.X, case.y, case.model)
    expected = ref.calculate_activation_matrix(case.X, case.y, case.model)
    expect_frame(got, expected, what=WHAT, keys=KEYS, value_cols=["activation"],
                 check_dtypes=False, **TOL)


@given(case=labelled_cases(force_missing=True, force_single=True))
def test_only_labels_present_in_y(student, case):
    """Labels absent from y get no rows; a label with a single instance gets its rows."""
    got = matrix(student, case.X, case.y, case.model)
    expected = ref.calculate_activation_matrix(case.X, case.y, case.model)
    expect_frame(got, expected, what=WHAT, keys=KEYS, value_cols=["activation"],
                 check_dtypes=False, **TOL)


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the matrix of 300 test digits (10 x 96 rows)."""
    nn, X, y, _ = trained_subset(300)
    expect_frame(matrix(student, X, y, nn), ref.calculate_activation_matrix(X, y, nn),
                 what=f"trained model: {WHAT}", keys=KEYS, value_cols=["activation"], **TOL)
