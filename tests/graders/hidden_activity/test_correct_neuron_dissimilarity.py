"""Hidden grader of neuron_dissimilarity(activations).

Activations are multiples of 1/4, so every formula for Pearson's r agrees to rounding. Some
neurons are dead (constant: dissimilarity 1 with every other neuron, 0 with itself), some
are a negative multiple of another (r = -1: dissimilarity 0).
"""

from hypothesis import given

import reference.neurons as ref
from course.graders.compare import expect_array

from .cases import activation_matrices, last_layer

GRADES = ("neuron_dissimilarity",)
SENDS = ()

TOL = {"rtol": 0.0, "atol": 1e-9}


def check(student, A, what="neuron_dissimilarity(activations)"):
    expect_array(student.neuron_dissimilarity(A), ref.neuron_dissimilarity(A), what=what, **TOL)


@given(case=activation_matrices(dead=False, opposite=False))
def test_one_minus_abs_r(student, case):
    """Entry (i, j) is 1 - |r| for the Pearson correlation r of neurons i and j."""
    check(student, case.A)


@given(case=activation_matrices(dead=False, opposite=True))
def test_opposite_neurons_are_similar(student, case):
    """Neurons with r = -1 have dissimilarity 0, like neurons with r = 1 (|r|)."""
    check(student, case.A)


@given(case=activation_matrices(dead=True))
def test_dead_neurons(student, case):
    """A constant neuron has dissimilarity 1 with every other neuron and 0 with itself."""
    check(student, case.A)


def test_trained_mnist(student):
    """The trained MLP's last hidden layer for 300 MNIST digits (some neurons dead)."""
    A, _ = last_layer()
    check(student, A, "neuron_dissimilarity(relu4 activations of 300 test digits)")
