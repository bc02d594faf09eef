"""Tests of reference.single_neuron: activation functions and a single neuron's output."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from reference.single_neuron import (
    ACTIVATIONS,
    arctan,
    linear,
    neuron_output,
    relu,
    sigmoid,
    weighted_inputs,
)

FAST = settings(max_examples=40, deadline=None)
HUGE = [-1e300, -1e5, -1000.0, -745.0, -710.0, 0.0, 710.0, 1000.0, 1e5, 1e300]
floats = st.one_of(st.floats(-1e300, 1e300), st.sampled_from(HUGE), st.floats(-40, 40))
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                    elements=floats)


def no_warnings(f, x):
    """f(x) with every floating-point problem but underflow turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            return f(x)


@FAST
@given(x=arrays)
def test_activations_keep_the_shape_and_never_warn(x):
    for name, f in ACTIVATIONS.items():
        out = no_warnings(f, x)
        assert out.shape == x.shape and out.dtype == np.float64, name
        assert np.isfinite(out).all(), name


@FAST
@given(x=arrays)
def test_sigmoid_matches_its_formula_where_the_formula_is_safe(x):
    safe = np.clip(x, -700, 700)
    # 1 / (1 + exp(-x)) is accurate to a few ulps where exp does not overflow; below
    # about -37 the result is tiny, so compare relatively.
    assert_allclose(sigmoid(safe), 1 / (1 + np.exp(-safe)), rtol=1e-13, atol=0)


@FAST
@given(x=arrays)
def test_sigmoid_is_in_unit_interval_symmetric_and_monotone(x):
    s = sigmoid(x)
    assert ((s >= 0) & (s <= 1)).all()
    # sigma(-x) = 1 - sigma(x): exact up to the rounding of 1 - s (absolute 1 ulp of 1).
    assert_allclose(sigmoid(-x), 1 - s, rtol=0, atol=2.3e-16)
    order = np.argsort(x.ravel(), kind="stable")
    assert (np.diff(s.ravel()[order]) >= 0).all()


def test_sigmoid_known_values():
    assert_array_equal(sigmoid([-1e300, -1000.0, 0.0, 1000.0, 1e300]), [0, 0, 0.5, 1, 1])
    assert_allclose(sigmoid([-2.0, 3.0]), [0.11920292202211755, 0.9525741268224334],
                    rtol=1e-15)
    assert sigmoid(np.inf) == 1.0 and sigmoid(-np.inf) == 0.0


@FAST
@given(x=arrays)
def test_relu_linear_arctan(x):
    assert_array_equal(relu(x), np.where(x > 0, x, 0.0))
    assert_array_equal(linear(x), x)
    assert_array_equal(arctan(x), np.arctan(x))
    assert (np.abs(arctan(x)) <= math.pi / 2).all()


def test_linear_returns_a_new_array():
    x = np.array([1.0, -2.0])
    out = linear(x)
    out[0] = 99
    assert x[0] == 1.0


def test_the_example_neuron_by_hand():
    """Weights 2, 4, -2, 0, -4 (the notebook's neuron)."""
    w = np.array([2.0, 4.0, -2.0, 0.0, -4.0])
    x = np.array([1.0, 0.5, 0.0, 1.0, 0.25])
    assert_array_equal(weighted_inputs(x, w), [2.0, 2.0, 0.0, 0.0, -1.0])
    assert neuron_output(x, w, activation=linear) == 3.0
    assert neuron_output(x, w, b=-3.0) == 0.5
    assert neuron_output([1, 1, 0, 0, 0], w, activation=linear) == 6.0  # the highest z
    assert neuron_output([0, 0, 1, 1, 1], w, activation=linear) == -6.0  # the lowest z
    assert isinstance(neuron_output(x, w), float)


@FAST
@given(data=st.data(), n=st.integers(1, 8), m=st.integers(1, 6))
def test_a_batch_is_one_output_per_row(data, n, m):
    elements = st.floats(-10, 10)
    X = data.draw(hnp.arrays(np.float64, (m, n), elements=elements))
    w = data.draw(hnp.arrays(np.float64, (n,), elements=elements))
    b = data.draw(elements)
    f = data.draw(st.sampled_from(list(ACTIVATIONS.values())))
    batch = neuron_output(X, w, b, f)
    assert batch.shape == (m,)
    # A row alone and the same row in a batch: the same dot product up to rounding.
    assert_allclose(batch, [neuron_output(row, w, b, f) for row in X], rtol=1e-12, atol=1e-12)
    assert_array_equal(weighted_inputs(X, w), X * w)


def test_shape_errors():
    with pytest.raises(ValueError):
        neuron_output(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        weighted_inputs(np.ones(3), np.ones((3, 1)))
