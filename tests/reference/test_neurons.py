"""Tests of reference.neurons: the dissimilarity 1 - |r|, MDS neuron maps and the
discriminative importances (toy cases known by hand, np.corrcoef and sklearn directly)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.ensemble import ExtraTreesClassifier

from reference.neurons import (
    discriminative_importance,
    discriminative_importances,
    neuron_dissimilarity,
    neuron_projection,
    neuron_roles,
)

FAST = settings(max_examples=30, deadline=None)


def test_dissimilarity_known_by_hand():
    a = np.array([0.0, 1.0, 2.0, 3.0])
    b = np.array([1.0, -1.0, -1.0, 1.0])  # uncorrelated with a
    A = np.column_stack([a, 2 * a + 1, -a, b, np.zeros(4), np.full(4, 0.1)])
    D = neuron_dissimilarity(A)
    assert D.shape == (6, 6) and D.dtype == np.float64
    assert_allclose(D[0, 1], 0, atol=1e-12)  # r = 1
    assert_allclose(D[0, 2], 0, atol=1e-12)  # r = -1: opposite neurons are close too
    assert_allclose(D[0, 3], 1, atol=1e-12)  # r = 0
    # Constant neurons (dead, or stuck at 0.1 whose mean rounds) are at distance 1.
    assert_array_equal(D[4, [0, 1, 2, 3, 5]], 1.0)
    assert_array_equal(D[5, [0, 1, 2, 3, 4]], 1.0)
    assert_array_equal(np.diag(D), 0.0)


@FAST
@given(A=hnp.arrays(np.float64, st.tuples(st.integers(3, 15), st.integers(1, 8)),
                    elements=st.floats(-100, 100).map(lambda v: round(v, 2))))
def test_dissimilarity_equals_corrcoef(A):
    D = neuron_dissimilarity(A)
    assert_array_equal(D, D.T)
    assert (D >= 0).all() and (D <= 1).all()
    assert_array_equal(np.diag(D), 0)
    constant = (A == A[0]).all(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = np.corrcoef(A, rowvar=False).reshape(A.shape[1], A.shape[1])
    expected = 1 - np.abs(np.nan_to_num(r, nan=0.0))
    expected[constant, :] = expected[:, constant] = 1
    np.fill_diagonal(expected, 0)
    # Nearly constant columns (a spread of 0.01 on values up to 100) lose digits in any
    # formula; the rest agree to rounding.
    well = np.ptp(A, axis=0) > 1
    assert_allclose(D[np.ix_(well, well)], expected[np.ix_(well, well)], atol=1e-9)
    assert_array_equal(D[constant][:, ~constant], 1)


@FAST
@given(data=st.data())
def test_dissimilarity_ignores_shift_and_scale_of_a_neuron(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    A = rng.normal(size=(12, 5))
    scale = data.draw(st.sampled_from([-3.0, -0.5, 0.25, 10.0]))
    B = A.copy()
    B[:, 2] = B[:, 2] * scale + 7
    assert_allclose(neuron_dissimilarity(B), neuron_dissimilarity(A), atol=1e-12)


def test_projection_shape_deterministic_and_faithful():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(50, 3))
    # Neurons 0-2 copy base[:, 0] (up to sign and scale); 3-5 copy base[:, 1]; 6-8 base[:, 2].
    A = np.column_stack([base[:, i // 3] * (1 + i) * (-1) ** i for i in range(9)])
    A += rng.normal(scale=0.01, size=A.shape)
    points = neuron_projection(A)
    assert points.shape == (9, 2) and np.isfinite(points).all()
    assert_array_equal(points, neuron_projection(A))
    within = max(np.linalg.norm(points[i] - points[j]) for g in range(3)
                 for i in range(3 * g, 3 * g + 3) for j in range(3 * g, 3 * g + 3))
    between = min(np.linalg.norm(points[i] - points[j]) for i in range(9) for j in range(9)
                  if i // 3 != j // 3)
    assert within < 0.2 * between


def test_importance_is_extra_trees_on_the_one_vs_rest_target():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 80)
    A = rng.normal(size=(80, 6))
    A[:, 4] += 3 * (y == 2)  # neuron 4 fires for class 2
    imp = discriminative_importance(A, y, 2, n_estimators=30, seed=5)
    forest = ExtraTreesClassifier(n_estimators=30, random_state=5).fit(A, (y == 2).astype(int))
    assert_array_equal(imp, forest.feature_importances_)
    assert imp.shape == (6,) and imp.dtype == np.float64
    assert_allclose(imp.sum(), 1.0)
    assert np.argmax(imp) == 4
    assert_array_equal(imp, discriminative_importance(A, y, 2, n_estimators=30, seed=5))
    assert not np.array_equal(imp, discriminative_importance(A, y, 2, n_estimators=30, seed=6))
    assert imp[4] > 2 * discriminative_importance(A, y, 1, n_estimators=30, seed=5)[4]


@pytest.mark.parametrize("label", [7, 0])
def test_importance_needs_both_sides(label):
    with pytest.raises(ValueError, match="must be the class"):
        discriminative_importance(np.ones((3, 2)), [0, 0, 0] if label == 0 else [1, 2, 3],
                                  label)


def test_importances_stack_one_row_per_class_and_roles():
    rng = np.random.default_rng(2)
    y = np.repeat([3, 5, 8], 20)
    A = rng.normal(size=(60, 4))
    A[:, 0] += 4 * (y == 5)
    imps = discriminative_importances(A, y, n_estimators=20)
    assert imps.shape == (3, 4)
    assert_array_equal(imps[1], discriminative_importance(A, y, 5, n_estimators=20))
    roles = neuron_roles(imps, [3, 5, 8])
    assert list(roles.columns) == ["neuron", "label", "importance"]
    assert roles.loc[0, "label"] == 5
    assert_array_equal(roles["importance"], imps.max(axis=0))


def test_roles_ties_go_to_the_first_row():
    roles = neuron_roles([[0.5, 0.0], [0.5, 0.0]], [4, 9])
    assert roles["label"].tolist() == [4, 4]
    with pytest.raises(ValueError, match="do not match"):
        neuron_roles([[0.5, 0.5]], [1, 2])
