"""Hidden grader of neighborhood_hit(points, labels, k=6).

Points lie on an integer grid or at multiples of 1/4, so distances are exact and ties are
frequent: the tie rule (the k nearest other points, equal distances by increasing index)
decides, and every correct implementation gives exactly the reference's number.
"""

import numpy as np
from hypothesis import given

import reference.projections as ref
from course.graders.compare import expect_array

from .cases import clouds, last_layer, last_layer_map

GRADES = ("neighborhood_hit",)
SENDS = ()

# The same fraction summed in another order: a few ulps at most.
TOL = {"rtol": 0.0, "atol": 1e-12}


def check(student, points, labels, k, what=None):
    what = what or f"neighborhood_hit(points, labels, k={k})"
    got = student.neighborhood_hit(points, labels, k)
    expect_array(np.asarray(got) if isinstance(got, float) else got,
                 np.float64(ref.neighborhood_hit(points, labels, k)), what=what, **TOL)


@given(cloud=clouds(grid=True))
def test_integer_grid_with_ties(student, cloud):
    """On an integer grid, equally distant neighbours are taken by increasing index."""
    check(student, cloud.points, cloud.labels, cloud.k)


@given(cloud=clouds(grid=False))
def test_points_off_the_grid(student, cloud):
    """Points at multiples of 1/4 in 1-3 dimensions."""
    check(student, cloud.points, cloud.labels, cloud.k)


@given(cloud=clouds(grid=True, duplicates=True))
def test_the_point_itself_never_counts(student, cloud):
    """A point is not its own neighbour; another point at the same place is (distance 0)."""
    check(student, cloud.points, cloud.labels, cloud.k)


@given(cloud=clouds(grid=True, min_n=2, max_n=12, k="largest"))
def test_largest_k(student, cloud):
    """k = n - 1: every other point is a neighbour."""
    check(student, cloud.points, cloud.labels, cloud.k)


@given(cloud=clouds(grid=True, min_n=7, k=6))
def test_default_k_is_6(student, cloud):
    """Without k, the six nearest neighbours count."""
    got = student.neighborhood_hit(cloud.points, cloud.labels)
    expect_array(np.asarray(got) if isinstance(got, float) else got,
                 np.float64(ref.neighborhood_hit(cloud.points, cloud.labels)),
                 what="neighborhood_hit(points, labels) (k left at its default)", **TOL)


def test_trained_mnist(student):
    """The t-SNE map of a trained MLP's last layer for 300 digits, k = 1, 6 and 20."""
    points, (_, y) = last_layer_map(), last_layer()
    for k in (1, 6, 20):
        check(student, points, y, k, f"neighborhood_hit(map of 300 MNIST digits, y, k={k})")
