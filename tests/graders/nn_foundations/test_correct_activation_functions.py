"""Hidden grader of sigmoid, relu, linear and arctan (element-wise, safe for huge inputs).

Each function runs inside the kernel under ``warnings.catch_warnings(record=True)`` with
numpy reporting overflow, division by zero and invalid operations as warnings (underflow
is harmless: a tiny result rounded to 0 is the right answer), so a RuntimeWarning such as
"overflow encountered in exp" is seen even if the notebook filters warnings.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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


# Arrays as a student meets them besides float64: uint8 images, small and default integers,
# float32 (torch's default).
OTHER_DTYPES = (np.uint8, np.int8, np.int16, np.int32, np.int64, np.float32)


@st.composite
def other_dtype_arrays(draw):
    """One array per dtype of ``OTHER_DTYPES`` (1-2 dimensions, finite values of it)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=6))
    return [draw(hnp.arrays(np.dtype(dtype), shape,
                            elements={"allow_nan": False, "allow_infinity": False}
                            if np.dtype(dtype).kind == "f" else None))
            for dtype in OTHER_DTYPES]


def check(student, name, x, tol, *, warn=True):
    result = student._run(run_quietly, name, x)
    what = f"{name}(x) for x of shape {x.shape}"
    if x.dtype.kind != "f":
        what += f" and dtype {x.dtype}"
    if warn and result["warnings"]:
        raise AssertionError(f"{what} warned: {result['warnings'][0]} (compute it so that no "
                             f"intermediate value overflows, even for x = -1e300)")
    out = result["out"]
    dtype = out.dtype if isinstance(out, np.ndarray | np.generic) else None
    if dtype is not None and dtype != np.float64:
        raise AssertionError(f"{what}: expected a float64 array, got an array of dtype "
                             f"{dtype} (convert x with np.asarray(x, dtype=float) first)")
    got = as_floats(out, what, scalar=True)
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


@given(arrays=other_dtype_arrays())
def test_integer_inputs(student, arrays):
    """Integer and float32 arrays give float64 arrays: relu and arctan of a uint8 image too."""
    tols = {"sigmoid": SIGMOID, "relu": EXACT, "linear": EXACT, "arctan": ARCTAN}
    for x in arrays:
        for name, tol in tols.items():
            check(student, name, x, tol)


def changes_its_input(ns, name, x):
    """Inside the kernel: whether ``name(x)`` changed the array x it was given."""
    import numpy

    before = x.copy()
    ns[name](x)
    return not numpy.array_equal(x, before, equal_nan=True)


@given(x=float_arrays())
def test_input_left_unchanged(student, x):
    """Each function leaves the array x it is given unchanged (no x[x < 0] = 0 on x itself)."""
    x = x.copy()
    x.flat[0] = -1.5  # something for relu to clip
    for name in sorted(ref.ACTIVATIONS):
        if student._run(changes_its_input, name, x):
            raise AssertionError(f"{name}(x) changed the caller's array x for x of shape "
                                 f"{x.shape}: work on a copy (np.array(x, dtype=float))")


def test_trained_mnist(student):
    """All four on weighted sums of 200 real digits (z from about -1000 to 700)."""
    X = split_arrays()[2][:200]
    w = np.random.default_rng(0).normal(size=784)
    z = (X - 0.3) @ w * 40.0
    z = z.reshape(20, 10)
    for name, tol in (("sigmoid", SIGMOID), ("relu", EXACT), ("linear", EXACT),
                      ("arctan", ARCTAN)):
        check(student, name, z, tol)
