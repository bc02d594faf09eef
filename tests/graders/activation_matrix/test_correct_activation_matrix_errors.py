"""Hidden grader of calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets).

get_average_activations and get_layer_output are replaced by the reference ones during
each call. Rows may come in any order and with any index.
"""

from hypothesis import given

import reference.activations as ref
from course.graders.compare import expect_columns, expect_frame

from .cases import error_cases, trained_subset

GRADES = ("calculate_activation_matrix_errors",)
SENDS = ("get_average_activations", "get_hidden_activations", "get_layer_output")

PATCH = {"get_average_activations": ref.get_average_activations,
         "get_layer_output": ref.get_layer_output}
KEYS = ["true_label", "predicted_label", "neuron"]
# Means of the same numbers summed in another order agree to a few ulps.
TOL = {"rtol": 1e-9, "atol": 1e-12}


def errors(student, X, y_true, y_pred, nn, subsets):
    return student.calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets,
                                                      _patch=PATCH)


def check(student, case, *, values=True, dtypes=False, what=None):
    got = errors(student, case.X, case.y_true, case.y_pred, case.model, case.subsets)
    expected = ref.calculate_activation_matrix_errors(case.X, case.y_true, case.y_pred,
                                                      case.model, case.subsets)
    what = what or f"calculate_activation_matrix_errors(X, y_true, y_pred, nn, {case.subsets})"
    if dtypes:
        expect_columns(got, expected, what=what)
    else:
        expect_frame(got, expected, what=what, keys=KEYS,
                     value_cols=["activation"] if values else [], check_dtypes=False, **TOL)


@given(case=error_cases())
def test_columns_and_types(student, case):
    """Has the columns neuron, true_label, predicted_label (integers) and activation (floats)."""
    check(student, case, dtypes=True)


@given(case=error_cases())
def test_one_row_per_subset_and_neuron(student, case):
    """Has one row per (subset, hidden neuron)."""
    check(student, case, values=False)


@given(case=error_cases())
def test_mean_activation_per_subset(student, case):
    """activation is the neuron's mean over the instances with that true and predicted label."""
    check(student, case)


@given(case=error_cases(n_present=(1, 3), n_absent=(1, 2)))
def test_empty_subsets_left_out(student, case):
    """Subsets without any instance are left out; the others keep their rows."""
    check(student, case)


@given(case=error_cases(n_present=(0, 0), n_absent=(0, 3)))
def test_all_subsets_empty(student, case):
    """When no subset has an instance, the result is an empty frame with the four columns."""
    check(student, case)


def _subset_order(frame, what):
    """The (true label, predicted label) pairs in order of first appearance in ``frame``."""
    try:
        pairs = zip(frame["true_label"].tolist(), frame["predicted_label"].tolist(), strict=True)
        return list(dict.fromkeys((int(t), int(p)) for t, p in pairs))
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: true_label and predicted_label should hold integers"
                             ) from None


@given(case=error_cases(n_present=(2, 3), n_absent=(0, 2)))
def test_subsets_in_given_order(student, case):
    """The subsets come in the order of the subsets list, not sorted."""
    occurring = set(zip(case.y_true.tolist(), case.y_pred.tolist(), strict=True))
    present = [s for s in case.subsets if s in occurring]
    if present == sorted(present):  # a sorted order would not tell the two apart
        case.subsets = case.subsets[::-1]
    what = f"calculate_activation_matrix_errors(X, y_true, y_pred, nn, {case.subsets})"
    expected = ref.calculate_activation_matrix_errors(case.X, case.y_true, case.y_pred,
                                                      case.model, case.subsets)
    got = expect_columns(errors(student, case.X, case.y_true, case.y_pred, case.model,
                                case.subsets), expected, what=what, check_dtypes=False)
    want, have = _subset_order(expected, what), _subset_order(got, what)
    assert have == want, (f"{what}: the subsets with instances should come in the given "
                          f"order {want}, got the order {have}")


def test_trained_mnist(student):
    """On an MLP (64, 32) trained on MNIST: subsets of 300 test digits, some of them empty."""
    nn, X, y_true, y_pred = trained_subset(300)
    pairs = {(int(t), int(p)) for t, p in zip(y_true, y_pred, strict=True)}
    errors_seen = sorted(pair for pair in pairs if pair[0] != pair[1])[:4]
    never = [(t, p) for t in range(10) for p in range(10) if (t, p) not in pairs][:2]
    subsets = [(4, 4), *errors_seen, *never]
    got = errors(student, X, y_true, y_pred, nn, subsets)
    expected = ref.calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets)
    expect_frame(got, expected, keys=KEYS, value_cols=["activation"], **TOL,
                 what=f"trained model: calculate_activation_matrix_errors(X, y_test, y_pred, "
                      f"nn, {subsets})")
