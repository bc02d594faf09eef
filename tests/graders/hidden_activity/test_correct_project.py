"""Hidden grader of project(activations, perplexity, seed, init, max_iter).

t-SNE maps cannot be compared number by number, so the student's map is checked by its
properties against the reference's map of the same activations: shape, finite values, and a
neighborhood hit close to the reference's. Activations with a feature of huge scale check
the standardization; a mirrored start checks that ``init`` is used. The maps have at most
300 points and 250 iterations, so each takes well under a second.
"""

import numpy as np
from hypothesis import given, settings

import reference.projections as ref
from course.graders.compare import as_array

from .cases import clustered_activations, last_layer, last_layer_map

GRADES = ("project",)
SENDS = ()

FEW = settings(max_examples=3)
ITER = 250
# Two good t-SNE runs of the same data (other rounding, other PCA) differ by a few hits.
NH_TOLERANCE = 0.1


def student_map(student, A, what, **kwargs):
    got = as_array(student.project(A, max_iter=ITER, **kwargs), what)
    if got.shape != (len(A), 2):
        raise AssertionError(f"{what}: expected a map of shape ({len(A)}, 2), got {got.shape}")
    if not np.isfinite(got).all():
        raise AssertionError(f"{what}: the map has NaN or infinite values (a constant feature "
                             "must become 0 when standardized, not NaN)")
    return got


def compare_hits(got, case, what, **kwargs):
    expected = ref.project(case.A, max_iter=ITER, perplexity=case.perplexity, **kwargs)
    want, have = ref.neighborhood_hit(expected, case.y), ref.neighborhood_hit(got, case.y)
    assert have >= want - NH_TOLERANCE, (
        f"{what}: the classes are much less separated on your map (neighborhood hit "
        f"{have:.3f}) than on the reference's map of the same activations ({want:.3f})")


@FEW
@given(case=clustered_activations())
def test_finite_map_of_the_right_shape(student, case):
    """Returns a finite (n, 2) map, also with a constant (dead) feature."""
    student_map(student, case.A, f"project(activations of shape {case.A.shape})",
                perplexity=case.perplexity)


@FEW
@given(case=clustered_activations(dead=False))
def test_separates_like_the_reference(student, case):
    """The classes separate on the map as well as on the reference's map."""
    what = f"project(activations, perplexity={case.perplexity})"
    got = student_map(student, case.A, what, perplexity=case.perplexity)
    compare_hits(got, case, what)


@FEW
@given(case=clustered_activations(huge_noise=True))
def test_features_are_standardized(student, case):
    """A noise feature of huge scale does not drown the others: features are standardized."""
    what = f"project(activations, perplexity={case.perplexity})"
    got = student_map(student, case.A, what, perplexity=case.perplexity)
    compare_hits(got, case, what + " with one feature 10,000 times larger than the others")


@FEW
@given(case=clustered_activations(dead=False))
def test_starts_from_init(student, case):
    """With an array as init, t-SNE starts from it: a mirrored start gives a mirrored map."""
    base = ref.project(case.A, perplexity=case.perplexity, max_iter=ITER)
    init = (base - base.mean(axis=0)) * [-1.0, 1.0]
    init = init / init[:, 0].std()
    what = f"project(activations, perplexity={case.perplexity}, init=<mirrored map>)"
    got = student_map(student, case.A, what, perplexity=case.perplexity, init=init)
    expected = ref.project(case.A, perplexity=case.perplexity, max_iter=ITER, init=init)
    for axis, name in ((0, "x"), (1, "y")):
        r = np.corrcoef(got[:, axis], expected[:, axis])[0, 1]
        assert r > 0.5, (f"{what}: your map's {name} coordinates do not follow the reference's "
                         f"map from the same start (correlation {r:.2f}): pass init to TSNE")


def test_trained_mnist(student):
    """The trained MLP's last hidden layer for 300 MNIST digits: as separated as the reference."""
    A, y = last_layer()
    what = "project(relu4 activations of 300 test digits)"
    got = student_map(student, A, what)
    want, have = ref.neighborhood_hit(last_layer_map(), y), ref.neighborhood_hit(got, y)
    assert have >= want - 0.06, (f"{what}: neighborhood hit {have:.3f}, the reference's map "
                                 f"of the same activations has {want:.3f}")
