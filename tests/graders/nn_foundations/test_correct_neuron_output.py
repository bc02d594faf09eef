"""Hidden grader of weighted_inputs(x, w) and neuron_output(x, w, b, activation).

The activation is always passed explicitly (the reference's functions), so a mistake in
Exercise 1 costs nothing here.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference.single_neuron as ref
from course.graders.compare import as_floats, expect_array

from .cases import trained_one_vs_eight

GRADES = ("neuron_output", "weighted_inputs")
SENDS = ("arctan", "linear", "relu", "sigmoid")

# x @ w may sum in another order than the reference: a few ulps of the largest term.
DOT = {"rtol": 1e-9, "atol": 1e-9}
ACTIVATIONS = st.sampled_from(sorted(ref.ACTIVATIONS))
values = st.floats(-10, 10)


@st.composite
def neurons(draw, batch):
    """(x, w, b): n inputs, 1-8 of them, x one input (batch False) or 1-6 rows."""
    n = draw(st.integers(1, 8))
    shape = (draw(st.integers(1, 6)), n) if batch else (n,)
    x = draw(hnp.arrays(np.float64, shape, elements=values))
    w = draw(hnp.arrays(np.float64, (n,), elements=values))
    return x, w, draw(values)


def call_output(student, x, w, b, name):
    what = f"neuron_output(x, w, b={b!r}, activation={name}) with x of shape {x.shape}"
    got = student.neuron_output(x, w, b, ref.ACTIVATIONS[name])
    return as_floats(got, what, scalar=True), what


@given(case=neurons(batch=False), batch=st.booleans())
def test_weighted_inputs(student, case, batch):
    """weighted_inputs(x, w) = x * w for one input (n,) and for a batch (m, n)."""
    x, w, _ = case
    if batch:
        x = np.vstack([x, -x, 2 * x])
    got = as_floats(student.weighted_inputs(x, w), "weighted_inputs(x, w)", scalar=True)
    expect_array(got, x * w, what=f"weighted_inputs(x, w) with x of shape {x.shape}",
                 rtol=1e-15, atol=0)


@given(case=neurons(batch=False), name=ACTIVATIONS)
def test_one_input(student, case, name):
    """One input x of shape (n,): a single number activation(x @ w + b)."""
    x, w, b = case
    got, what = call_output(student, x, w, b, name)
    if got.size != 1:
        raise AssertionError(f"{what}: expected a single number, got shape {got.shape}")
    expect_array(got.reshape(()), ref.neuron_output(x, w, b, ref.ACTIVATIONS[name]),
                 what=what, **DOT)


@given(case=neurons(batch=True), name=ACTIVATIONS)
def test_batch(student, case, name):
    """A batch x of shape (m, n): one output per row, shape (m,)."""
    x, w, b = case
    got, what = call_output(student, x, w, b, name)
    expect_array(got, ref.neuron_output(x, w, b, ref.ACTIVATIONS[name]), what=what, **DOT)


@given(case=neurons(batch=False))
def test_bias_and_activation_are_used(student, case):
    """The bias is added before the activation (linear activation: x @ w + b exactly)."""
    x, w, b = case
    for bias in (b, b + 1.0):
        got, what = call_output(student, x, w, bias, "linear")
        expect_array(got.reshape(-1)[:1], [x @ w + bias], what=what, **DOT)


def test_trained_mnist(student):
    """A neuron with the 1-vs-8 logistic regression's weights outputs its predict_proba."""
    model, X, _ = trained_one_vs_eight()
    X = X[:60]
    got, what = call_output(student, X, model.coef_[0], float(model.intercept_[0]), "sigmoid")
    expect_array(got, model.predict_proba(X)[:, 1],
                 what=what + " (the 1-vs-8 model's weights on real digits)", **DOT)
