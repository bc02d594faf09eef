"""Hidden grader of discriminative_importance(activations, y, label, n_estimators, seed).

With the same seed, extremely randomized trees give the same importances to the last bit,
so the student's numbers must equal the reference's.
"""

from hypothesis import given, settings

import reference.neurons as ref
from course.graders.compare import expect_array

from .cases import labelled_activations, last_layer

GRADES = ("discriminative_importance",)
SENDS = ()

TOL = {"rtol": 1e-12, "atol": 1e-15}
# Fitting forests takes a moment: fewer examples for the properties that fit many of them.
FEW = settings(max_examples=4)


@given(case=labelled_activations())
def test_equal_to_the_reference(student, case):
    """feature_importances_ of ExtraTreesClassifier(n_estimators, random_state=seed)."""
    got = student.discriminative_importance(case.A, case.y, case.label, case.n_estimators,
                                            case.seed)
    expect_array(got, ref.discriminative_importance(case.A, case.y, case.label,
                                                    case.n_estimators, case.seed),
                 what=f"discriminative_importance(activations, y, {case.label}, "
                      f"{case.n_estimators}, {case.seed})", **TOL)


@FEW
@given(case=labelled_activations())
def test_every_class_against_the_rest(student, case):
    """The target is y == label: each class gets its own importances."""
    for label in sorted(set(case.y.tolist())):
        got = student.discriminative_importance(case.A, case.y, label, case.n_estimators,
                                                case.seed)
        expect_array(got, ref.discriminative_importance(case.A, case.y, label,
                                                        case.n_estimators, case.seed),
                     what=f"discriminative_importance(activations, y, label={label}, ...)",
                     **TOL)


@FEW
@given(case=labelled_activations())
def test_defaults(student, case):
    """Without n_estimators and seed: 100 trees and seed 0."""
    got = student.discriminative_importance(case.A, case.y, case.label)
    expect_array(got, ref.discriminative_importance(case.A, case.y, case.label),
                 what=f"discriminative_importance(activations, y, {case.label})", **TOL)


def test_trained_mnist(student):
    """The trained MLP's last layer for 300 MNIST digits, classes 5 and 3."""
    A, y = last_layer()
    for label in (5, 3):
        got = student.discriminative_importance(A, y, label, 30, 0)
        expect_array(got, ref.discriminative_importance(A, y, label, 30, 0),
                     what=f"discriminative_importance(relu4 activations, y, {label}, 30, 0)",
                     **TOL)
