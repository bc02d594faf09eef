"""Hidden grader of sigmoid, relu, linear and arctan (element-wise, safe for huge inputs).

Each function runs inside the kernel under ``warnings.catch_warnings(record=True)`` with
numpy reporting overflow, division by zero and invalid operations as warnings (underflow
is harmless: a tiny result rounded to 0 is the right answer), so a RuntimeWarning such as
"overflow encountered in exp" is seen even if the notebook filters warnings.
"""

import numpy as np
from hypothesis import given

import reference.single_neuron as ref
from course.graders.compare import as_floats, expect_array

from .cases import float_arrays, huge_arrays, split_arrays

GRADES = ("arctan", "linear", "relu", "sigmoid")
SENDS = ()

# A sigmoid written with exp(x) / (1 + exp(x)), tanh or expit agrees with the reference to a
# few ulps; below about -35 (values under 1e-15, where e.g. clipping x to [-500, 500] or a
# tanh form differ) only absolutely: no probability is wrong by 1e-15.
SIGMOID = {"rtol": 1e-12, "atol": 1e-15}
EXACT = {"rtol": 0, "atol": 0}
ARCTAN = {"rtol": 1e-14, "atol": 0}


def run_quietly(ns, name, x):
    """Inside the kernel: ``name(x)`` with every warning recorded, none shown."""
    import warnings

    import numpy

    if name not in ns:
        raise NameError(f"{name} is not defined")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with numpy.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            out = ns[name](x.copy())
    return {"out": out, "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}


def check(student, name, x, tol, *, warn=True):
    result = student._run(run_quietly, name, x)
    what = f"{name}(x) for x of shape {x.shape}"
    if warn and result["warnings"]:
        raise AssertionError(f"{what} warned: {result['warnings'][0]} (compute it so that no "
                             f"intermediate value overflows, even for x = -1e300)")
    got = as_floats(result["out"], what, scalar=True)
    expect_array(got, ref.ACTIVATIONS[name](x), what=what, **tol)


@given(x=float_arrays())
def test_sigmoid(student, x):
    """sigmoid(x) = 1 / (1 + exp(-x)) element-wise, the shape of x kept."""
    check(student, "sigmoid", x, SIGMOID, warn=False)


@given(x=huge_arrays())
def test_sigmoid_huge_inputs(student, x):
    """sigmoid is right for inputs up to +-1e300 (0 or 1), without any RuntimeWarning."""
    check(student, "sigmoid", x, SIGMOID)


@given(x=huge_arrays())
def test_relu(student, x):
    """relu(x) = max(x, 0) element-wise, also for huge inputs, without warnings."""
    check(student, "relu", x, EXACT)


@given(x=huge_arrays())
def test_linear(student, x):
    """linear(x) = x, the same values and shape, also for huge inputs."""
    check(student, "linear", x, EXACT)


@given(x=huge_arrays())
def test_arctan(student, x):
    """arctan(x) element-wise, also for huge inputs (it saturates at +-pi/2), no warnings."""
    check(student, "arctan", x, ARCTAN)


def test_trained_mnist(student):
    """All four on weighted sums of 200 real digits (z from about -1000 to 700)."""
    X = split_arrays()[2][:200]
    w = np.random.default_rng(0).normal(size=784)
    z = (X - 0.3) @ w * 40.0
    z = z.reshape(20, 10)
    for name, tol in (("sigmoid", SIGMOID), ("relu", EXACT), ("linear", EXACT),
                      ("arctan", ARCTAN)):
        check(student, name, z, tol)
