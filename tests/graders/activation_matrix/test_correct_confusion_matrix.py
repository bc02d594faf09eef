"""Hidden grader of confusion_matrix_frame(y_true, y_pred) and confusion_matrix_chart(cm).

Frame rows may come in any order and with any index; the chart is compared by meaning.
"""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref
import reference.charts as charts
from course.graders.compare import expect_chart, expect_columns, expect_frame, expect_tooltip

from .cases import trained_case

GRADES = ("confusion_matrix_chart", "confusion_matrix_frame")
SENDS = ()

KEYS = ["true_label", "predicted_label"]
HEATMAP = ("x", "y", "color")


@st.composite
def label_arrays(draw, max_size=25):
    """y_true and y_pred over a few of the digits 0-9."""
    pool = draw(st.lists(st.integers(0, 9), min_size=1, max_size=5, unique=True))
    n = draw(st.integers(1, max_size))
    y_true = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    return np.array(y_true, dtype=np.int64), np.array(y_pred, dtype=np.int64)


@st.composite
def one_sided_labels(draw):
    """Arrays where some label occurs only in y_true and another only in y_pred."""
    y_true, y_pred = draw(label_arrays(max_size=12))
    only_true, only_pred = draw(st.lists(st.integers(10, 14), min_size=2, max_size=2,
                                         unique=True))
    return np.append(y_true, only_true), np.append(y_pred, only_pred)


def _what(y_true, y_pred):
    return f"confusion_matrix_frame(y_true={y_true.tolist()}, y_pred={y_pred.tolist()})"


def frame(student, y_true, y_pred):
    return student.confusion_matrix_frame(y_true, y_pred)


@given(labels=label_arrays())
def test_columns_and_types(student, labels):
    """The frame has the integer columns true_label, predicted_label and count."""
    y_true, y_pred = labels
    expect_columns(frame(student, y_true, y_pred), ref.confusion_matrix_frame(y_true, y_pred),
                   what=_what(y_true, y_pred))


@given(labels=label_arrays())
def test_counts_of_pairs_that_occur(student, labels):
    """Each (true, predicted) pair that occurs has its number of instances as count."""
    y_true, y_pred = labels
    got = frame(student, y_true, y_pred)
    expected = ref.confusion_matrix_frame(y_true, y_pred)
    got = expect_columns(got, expected, what=_what(y_true, y_pred), check_dtypes=False)
    nonzero = got[pd.to_numeric(got["count"], errors="coerce").fillna(1) != 0]
    expect_frame(nonzero, expected[expected["count"] != 0], what=_what(y_true, y_pred)
                 + " (rows with a nonzero count)", keys=KEYS, value_cols=["count"],
                 check_dtypes=False)


@given(labels=label_arrays())
def test_zero_counts_included(student, labels):
    """Every pair of labels seen in y_true or y_pred has a row, with count 0 if it never occurs."""
    _expect_reference_frame(student, *labels)


@given(labels=one_sided_labels())
def test_labels_seen_on_one_side_only(student, labels):
    """A label that is only true (or only predicted) still gets its row and column of pairs."""
    _expect_reference_frame(student, *labels)


def _expect_reference_frame(student, y_true, y_pred):
    expect_frame(frame(student, y_true, y_pred), ref.confusion_matrix_frame(y_true, y_pred),
                 what=_what(y_true, y_pred), keys=KEYS, value_cols=["count"],
                 check_dtypes=False)


@given(labels=label_arrays())
def test_chart(student, labels):
    """The chart is a rect heatmap: x = predicted_label, y = true_label, color = count."""
    cm = ref.confusion_matrix_frame(*labels)
    expect_chart(student.confusion_matrix_chart(cm), charts.confusion_matrix_chart(cm),
                 what="confusion_matrix_chart(cm)", channels=HEATMAP)


def test_chart_tooltips(student):
    """The chart's tooltips show the true label, the predicted label and the count."""
    cm = ref.confusion_matrix_frame(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]))
    expect_tooltip(student.confusion_matrix_chart(cm), what="confusion_matrix_chart(cm)",
                   required=("true_label", "predicted_label", "count"))


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: the frame and chart of its 1,000 test predictions."""
    _, _, y_test, y_pred = trained_case()
    expected = ref.confusion_matrix_frame(y_test, y_pred)
    expect_frame(frame(student, y_test, y_pred), expected,
                 what="trained model: confusion_matrix_frame(y_test, y_pred)", keys=KEYS,
                 value_cols=["count"])
    expect_chart(student.confusion_matrix_chart(expected), charts.confusion_matrix_chart(expected),
                 what="trained model: confusion_matrix_chart(cm)", channels=HEATMAP)
