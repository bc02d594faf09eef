"""Hidden grader of get_average_activations(X, nn).

get_layer_output is replaced by the reference one during each call, so a mistake there
costs only its own exercise.
"""

import numpy as np
from hypothesis import given

import reference.activations as ref
from course.graders.compare import as_array, expect_array

from .cases import model_cases, trained_subset

GRADES = ("get_average_activations",)
SENDS = ("get_layer_output",)

PATCH = {"get_layer_output": ref.get_layer_output}
# Means of the same numbers summed in another order agree to a few ulps.
TOL = {"rtol": 1e-9, "atol": 1e-12}


def averages(student, X, nn):
    return student.get_average_activations(X, nn, _patch=PATCH)


def _instances(n):
    return f"{n} instance" + ("" if n == 1 else "s")


def _sizes(model):
    return [int(w.shape[1]) for w in model.coefs_[:-1]]


@given(case=model_cases())
def test_one_value_per_hidden_neuron(student, case):
    """Returns a flat list with one number per hidden neuron (the sum of the hidden sizes)."""
    got = as_array(averages(student, case.X, case.model), "get_average_activations(X, nn)")
    sizes = _sizes(case.model)
    assert got.shape == (sum(sizes),), (
        f"get_average_activations(X, nn) for hidden layer sizes {tuple(sizes)} and "
        f"{_instances(len(case.X))}: expected {sum(sizes)} numbers (shape ({sum(sizes)},)), "
        f"got shape {got.shape}")


@given(case=model_cases())
def test_mean_over_instances(student, case):
    """Each value is a neuron's mean activation over the instances, first hidden layer first."""
    got = averages(student, case.X, case.model)
    expect_array(got, ref.get_average_activations(case.X, case.model),
                 what=f"get_average_activations(X, nn) with {_instances(len(case.X))}", **TOL)


@given(case=model_cases(min_rows=1, max_rows=1))
def test_single_instance(student, case):
    """With one instance, the averages are that instance's hidden activations."""
    expected = np.concatenate([ref.get_layer_output(case.model, case.X, layer)[0]
                               for layer in range(2, case.model.n_layers_)])
    got = averages(student, case.X, case.model)
    expect_array(got, expected, what="get_average_activations(X, nn) with one instance", **TOL)


@given(case=model_cases(activations=("tanh", "identity"), min_rows=2))
def test_signs_are_kept(student, case):
    """Negative activations (tanh, identity) are averaged as they are, with their sign."""
    got = averages(student, case.X, case.model)
    expect_array(got, ref.get_average_activations(case.X, case.model),
                 what=f"get_average_activations(X, nn) with activation "
                      f"{case.model.activation!r}", **TOL)


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the 96 averages over the digits 0 and 7."""
    nn, X, y, _ = trained_subset(300)
    for label in (0, 7):
        rows = X[y == label]
        expect_array(averages(student, rows, nn), ref.get_average_activations(rows, nn),
                     what=f"trained model: get_average_activations(X[y == {label}], nn)", **TOL)
