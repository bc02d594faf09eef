"""Hidden grader of weight_images(coef) and digit_vs_rest_means(X, y, digit)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference.linear_models as ref
from course.graders.compare import as_floats, expect_array

from .cases import (
    labelled_cases,
    split_arrays,
    trained_hidden_net,
)

GRADES = ("digit_vs_rest_means", "weight_images")
SENDS = ("class_mean_images", "select_classes", "weight_image")

# Functions of Exercises 3 and 4 a solution may call: the reference's stand in for them.
PATCH = {"weight_image": ref.weight_image, "class_mean_images": ref.class_mean_images,
         "select_classes": ref.select_classes}
# Means of the same numbers summed in another order: a few ulps.
MEAN = {"rtol": 1e-12, "atol": 1e-12}
NAMES = ("digit_mean", "rest_mean", "difference")


def vs_rest(student, X, y, digit):
    what = f"digit_vs_rest_means(X, y, {digit})"
    got = student.digit_vs_rest_means(X, y, digit, _patch=PATCH)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise AssertionError(f"{what}: expected three images (digit_mean, rest_mean, "
                             f"difference), got {type(got).__name__}")
    return [as_floats(g, f"{what}: {name}", scalar=True)
            for g, name in zip(got, NAMES, strict=True)], what


def check(student, X, y, digit, where="", only=(0, 1, 2)):
    got, what = vs_rest(student, X, y, digit)
    expected = ref.digit_vs_rest_means(X, y, digit)
    for i in only:
        expect_array(got[i], expected[i], what=f"{what}{where}: {NAMES[i]} (28 x 28)", **MEAN)


@given(coef=hnp.arrays(np.float64, st.tuples(st.integers(1, 12), st.just(784)),
                       elements=st.floats(-5, 5)))
def test_weight_images(student, coef):
    """weight_images(coef) of shape (n, 784) is n images (n, 28, 28): row i as image i."""
    what = f"weight_images(coef) for coef of shape {coef.shape}"
    got = as_floats(student.weight_images(coef, _patch=PATCH), what, scalar=True)
    expect_array(got, ref.weight_images(coef), what=what, rtol=0, atol=0)


@given(case=labelled_cases(n_features=784))
def test_digit_mean(student, case):
    """digit_mean is the mean image of the digit's images, 28 x 28."""
    check(student, case.X, case.y, case.class_1, only=(0,))


@given(case=labelled_cases(n_features=784))
def test_rest_mean(student, case):
    """rest_mean averages every image of another label (not the mean of per-label means)."""
    check(student, case.X, case.y, case.class_2, only=(1,))


@given(case=labelled_cases(n_features=784))
def test_difference(student, case):
    """difference = digit_mean - rest_mean."""
    check(student, case.X, case.y, case.class_1, only=(2,))


def test_trained_mnist(student):
    """Real digits: every digit 0-9 against the rest; the 36 hidden weight images of a net."""
    X_train, _, _, y_train, _, _ = split_arrays()
    for digit in range(10):
        check(student, X_train, y_train, digit, " on the training digits")
    coef = trained_hidden_net().hidden.weight.detach().double().numpy()
    what = "weight_images(hidden_net.hidden.weight) of a trained network"
    got = as_floats(student.weight_images(coef, _patch=PATCH), what, scalar=True)
    expect_array(got, ref.weight_images(coef), what=what, rtol=0, atol=0)
