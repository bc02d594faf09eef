"""Hidden grader of class_mean_images(X, y, class_1, class_2) and weight_image(coef)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference.linear_models as ref
from course.graders.compare import as_floats, expect_array

from .cases import (
    labelled_cases,
    split_arrays,
    trained_one_vs_eight,
)

GRADES = ("class_mean_images", "weight_image")
SENDS = ("select_classes",)

# A solution may select the rows with Exercise 3's function: the reference's stands in.
PATCH = {"select_classes": ref.select_classes}
# Means of the same numbers summed in another order: a few ulps.
MEAN = {"rtol": 1e-12, "atol": 1e-12}
NAMES = ("mean_1", "mean_2", "difference")


def means(student, X, y, c1, c2):
    what = f"class_mean_images(X, y, {c1}, {c2})"
    got = student.class_mean_images(X, y, c1, c2, _patch=PATCH)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise AssertionError(f"{what}: expected three images (mean_1, mean_2, difference), "
                             f"got {type(got).__name__}")
    return [as_floats(g, f"{what}: {name}", scalar=True)
            for g, name in zip(got, NAMES, strict=True)], what


def check_means(student, X, y, c1, c2, where=""):
    got, what = means(student, X, y, c1, c2)
    for image, expected, name in zip(got, ref.class_mean_images(X, y, c1, c2), NAMES,
                                     strict=True):
        expect_array(image, expected, what=f"{what}{where}: {name} (28 x 28)", **MEAN)


@given(case=labelled_cases(n_features=784))
def test_mean_images(student, case):
    """mean_1 and mean_2 are the pixel-wise means of each class's images, as 28 x 28."""
    got, what = means(student, case.X, case.y, case.class_1, case.class_2)
    expected = ref.class_mean_images(case.X, case.y, case.class_1, case.class_2)
    for i in (0, 1):
        expect_array(got[i], expected[i], what=f"{what}: {NAMES[i]} (28 x 28)", **MEAN)


@given(case=labelled_cases(n_features=784))
def test_difference(student, case):
    """difference = mean_2 - mean_1 (positive where class_2 has more ink), as 28 x 28."""
    got, what = means(student, case.X, case.y, case.class_1, case.class_2)
    expected = ref.class_mean_images(case.X, case.y, case.class_1, case.class_2)[2]
    expect_array(got[2], expected, what=f"{what}: difference = mean_2 - mean_1", **MEAN)


@given(coef=hnp.arrays(np.float64, (784,), elements=st.floats(-5, 5)), row=st.booleans())
def test_weight_image(student, coef, row):
    """weight_image(coef) puts weight k at row k // 28, column k % 28: (784,) or (1, 784)."""
    arg = coef[None, :] if row else coef
    what = f"weight_image(coef) for coef of shape {arg.shape}"
    got = as_floats(student.weight_image(arg), what, scalar=True)
    expect_array(got, ref.weight_image(arg), what=what, rtol=0, atol=0)


def test_trained_mnist(student):
    """Real digits: the 1-vs-8 mean images and difference, the trained model's weight image."""
    X_train, _, _, y_train, _, _ = split_arrays()
    X18, y18 = ref.select_classes(X_train, y_train, 1, 8)
    check_means(student, X18, y18, 1, 8, " on the 1s and 8s")
    check_means(student, X_train, y_train, 3, 5, " on all training digits")
    model = trained_one_vs_eight()[0]
    got = as_floats(student.weight_image(model.coef_), "weight_image(clf_18.coef_)", scalar=True)
    expect_array(got, ref.weight_image(model.coef_), what="weight_image(clf_18.coef_)",
                 rtol=0, atol=0)
