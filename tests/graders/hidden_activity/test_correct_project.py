"""Hidden grader of project(activations, perplexity, seed, init, max_iter).

The text fixes every choice (float64, population standard deviation, the TSNE arguments), and
scikit-learn's t-SNE is deterministic for a given input: measured, maps of standardized
activations perturbed by 1e-12, computed with 1 or 3 threads, or standardized by hand instead
of with StandardScaler are identical to the last bit, while every deviation (perplexity or
max_iter not passed, another scaling, ddof=1, float32, init ignored) moves points by 8 or
more and keeps under a third of each point's 5 nearest neighbours. So drawn float64 cases are
compared point by point with the reference's map; the other properties give the clearer
messages (shape, NaN, standardization, init). The trained-MNIST case gets float32
activations, so it compares neighborhood hits only. The maps have at most 300 points and 250
iterations, so each takes well under a second.
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
    return checked_map(student.project(A, max_iter=ITER, **kwargs), A, what)


def checked_map(got, A, what):
    got = as_array(got, what)
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
    """The classes separate on the map as well as on the course solution's map."""
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


# Maps are equal to the last bit (see above); a tolerance of a thousandth of the map's spread
# only absorbs rounding, every measured deviation is thousands of times larger.
MAP_TOL = 1e-3


def expect_same_map(got, expected, what):
    spread = float(np.abs(expected).max())
    differ = np.abs(got - expected).max(axis=1) > MAP_TOL * spread
    if differ.any():
        i = int(np.argmax(differ))
        raise AssertionError(
            f"{what}: {int(differ.sum())} of {len(expected)} points are not where t-SNE puts "
            f"them with these arguments, e.g. point {i}: expected {np.round(expected[i], 3)}, "
            f"got {np.round(got[i], 3)}. Standardize in float64 with the population standard "
            "deviation, then pass perplexity, init, random_state=seed and max_iter to TSNE")


@FEW
@given(case=clustered_activations())
def test_same_map_as_tsne_of_the_standardized_activations(student, case):
    """The map is TSNE(perplexity, init, random_state=seed, max_iter) of the standardized data."""
    what = f"project(activations of shape {case.A.shape}, perplexity={case.perplexity})"
    got = student_map(student, case.A, what, perplexity=case.perplexity)
    expect_same_map(got, ref.project(case.A, perplexity=case.perplexity, max_iter=ITER), what)


@settings(max_examples=2)
@given(case=clustered_activations(integers=True))
def test_integer_activations(student, case):
    """Integer activations work too (standardized as floats)."""
    what = f"project(int64 activations of shape {case.A.shape}, perplexity={case.perplexity})"
    got = student_map(student, case.A, what, perplexity=case.perplexity)
    expect_same_map(got, ref.project(case.A, perplexity=case.perplexity, max_iter=ITER), what)


@settings(max_examples=2)
@given(case=clustered_activations(float32=True))
def test_float32_activations_standardized_in_float64(student, case):
    """float32 activations (as torch gives them) are standardized in float64."""
    what = f"project(float32 activations of shape {case.A.shape}, perplexity={case.perplexity})"
    got = student_map(student, case.A, what, perplexity=case.perplexity)
    expect_same_map(got, ref.project(case.A, perplexity=case.perplexity, max_iter=ITER), what)


def _keeps_input(ns, A, perplexity, max_iter):
    """Runs in the student's kernel: call project and tell whether A changed."""
    import numpy as np

    before = A.copy()
    result = ns["project"](A, perplexity=perplexity, max_iter=max_iter)
    return {"result": result, "unchanged": bool(np.array_equal(A, before))}


@settings(max_examples=2)
@given(case=clustered_activations())
def test_input_left_unchanged(student, case):
    """The caller's activations array is not changed (standardize a new array)."""
    what = f"project(activations, perplexity={case.perplexity})"
    got = student._run(_keeps_input, case.A, case.perplexity, ITER, timeout=60)
    if not got["unchanged"]:
        raise AssertionError(f"{what} changed the activations array it was given: standardize "
                             "into a new array (A = (A - mean) / std), not in place (A -= ...)")
    expect_same_map(checked_map(got["result"], case.A, what),
                    ref.project(case.A, perplexity=case.perplexity, max_iter=ITER), what)


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
    """Trained MLP's last hidden layer, 300 MNIST digits: as separated as the course solution."""
    A, y = last_layer()
    what = "project(relu4 activations of 300 test digits)"
    got = student_map(student, A, what)
    want, have = ref.neighborhood_hit(last_layer_map(), y), ref.neighborhood_hit(got, y)
    assert have >= want - 0.06, (f"{what}: neighborhood hit {have:.3f}, the reference's map "
                                 f"of the same activations has {want:.3f}")
