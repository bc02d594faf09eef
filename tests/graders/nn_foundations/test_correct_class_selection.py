"""Hidden grader of select_classes(X, y, class_1, class_2).

Column 0 of the drawn X holds each row's index, so rows that are reordered, dropped or
separated from their labels show up directly in the message.
"""

import numpy as np
from hypothesis import given

import reference.linear_models as ref
from course.graders.compare import as_floats, expect_array, expect_list

from .cases import labelled_cases, split_arrays

GRADES = ("select_classes",)
SENDS = ()


def select(student, X, y, c1, c2):
    what = f"select_classes(X, y, {c1}, {c2})"
    got = student.select_classes(X, y, c1, c2)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise AssertionError(f"{what}: expected the pair (X_selected, y_selected), got "
                             f"{type(got).__name__}")
    return as_floats(got[0], what + "[0]", scalar=True), got[1], what


@given(case=labelled_cases())
def test_labels_in_order(student, case):
    """y_selected: the labels class_1 and class_2 only, all of them, in their original order."""
    _, y_sel, what = select(student, case.X, case.y, case.class_1, case.class_2)
    expected = ref.select_classes(case.X, case.y, case.class_1, case.class_2)[1]
    expect_list(as_floats(y_sel, what + "[1]", scalar=True).astype(np.int64), expected.tolist(),
                what=what + ": the labels kept")


@given(case=labelled_cases())
def test_rows_in_order(student, case):
    """X_selected: the rows of those labels, in their original order (column 0: row index)."""
    X_sel, _, what = select(student, case.X, case.y, case.class_1, case.class_2)
    expected = ref.select_classes(case.X, case.y, case.class_1, case.class_2)[0]
    if X_sel.ndim == 2 and X_sel.shape[1] == case.X.shape[1] and \
            X_sel.shape[0] == expected.shape[0]:
        expect_list(X_sel[:, 0].astype(np.int64), expected[:, 0].astype(np.int64).tolist(),
                    what=what + ": the indices of the rows kept")
    expect_array(X_sel, expected, what=what + ": X_selected", rtol=0, atol=0)


@given(case=labelled_cases(ordered=False))
def test_either_order_of_the_classes(student, case):
    """The classes may be given in either order (class_1 > class_2 too); both are kept."""
    for c1, c2 in ((case.class_1, case.class_2), (case.class_2, case.class_1)):
        X_sel, y_sel, what = select(student, case.X, case.y, c1, c2)
        X_ref, y_ref = ref.select_classes(case.X, case.y, c1, c2)
        expect_list(as_floats(y_sel, what, scalar=True).astype(np.int64), y_ref.tolist(),
                    what=what + ": the labels kept")
        expect_array(X_sel, X_ref, what=what + ": X_selected", rtol=0, atol=0)


@given(case=labelled_cases())
def test_the_same_class_twice(student, case):
    """With class_1 == class_2: the rows of that one class, each once, in their order."""
    for label in (case.class_1, case.class_2):
        X_sel, y_sel, what = select(student, case.X, case.y, label, label)
        X_ref, y_ref = ref.select_classes(case.X, case.y, label, label)
        expect_list(as_floats(y_sel, what, scalar=True).astype(np.int64), y_ref.tolist(),
                    what=what + ": the labels kept")
        expect_array(X_sel, X_ref, what=what + ": X_selected", rtol=0, atol=0)


def test_trained_mnist(student):
    """On the real MNIST digits (1 vs 8, 3 vs 5): exactly the rows of the two classes, in order."""
    X_train, _, X_test, y_train, _, y_test = split_arrays()
    for X, y, c1, c2 in ((X_train, y_train, 1, 8), (X_test, y_test, 1, 8),
                         (X_train, y_train, 3, 5)):
        X_sel, y_sel, what = select(student, X, y, c1, c2)
        X_ref, y_ref = ref.select_classes(X, y, c1, c2)
        expect_list(as_floats(y_sel, what, scalar=True).astype(np.int64), y_ref.tolist(),
                    what=what + " on MNIST: the labels kept")
        expect_array(X_sel, X_ref, what=what + " on MNIST: X_selected", rtol=0, atol=0)
