"""Hidden grader of get_all_activations(model, X, layers).

Models are built from torch.nn modules only (so they travel to the kernel as they are): MLPs,
MLPs nested in named blocks, and tiny CNNs, some with dropout and left in training mode. The
layers asked for are any of their named submodules, in any order. The result is compared
with the reference's, computed on the same model and input.
"""

import numpy as np
from hypothesis import given

import reference.projections as ref
from course.graders.compare import describe, expect_array, expect_type

from .cases import torch_cases, trained

GRADES = ("get_all_activations",)
SENDS = ()

# One forward pass against another (batched or not): float32 rounding at most.
TOL = {"rtol": 1e-5, "atol": 1e-6}


def compare(got, model, X, layers, what):
    expected = ref.get_all_activations(model, X, layers)
    expect_type(got, dict, what)
    if set(got) != set(layers):
        raise AssertionError(f"{what}: expected one entry for each of the names {layers}, "
                             f"got the keys {list(got)}")
    for name in layers:
        value = got[name]
        if not isinstance(value, np.ndarray):
            raise AssertionError(f"{what}[{name!r}]: expected a numpy array, got "
                                 f"{describe(value)} (use .numpy() on the tensor)")
        expect_array(value, expected[name], what=f"{what}[{name!r}]", **TOL)


def check(student, case):
    got = student.get_all_activations(case.model, case.X, case.layers)
    compare(got, case.model, case.X, case.layers, f"get_all_activations(model, X, {case.layers})")


@given(case=torch_cases(kind="mlp", dropout=False))
def test_mlp_layers(student, case):
    """Outputs of the named layers of an MLP, one (n, units) array per name."""
    check(student, case)


@given(case=torch_cases(kind="cnn", dropout=False))
def test_conv_outputs_flattened(student, case):
    """Convolution and pooling outputs are flattened to (n, channels * height * width)."""
    check(student, case)


@given(case=torch_cases(kind="nested"))
def test_nested_names(student, case):
    """Layers inside named blocks are found by their qualified names, like "block.0"."""
    check(student, case)


@given(case=torch_cases(dropout=True))
def test_dropout_is_off(student, case):
    """The pass runs in evaluation mode: dropout off, even for a model in training mode."""
    check(student, case)


def _hooks_and_mode(ns, model, X, layers):
    """Runs in the student's kernel: call the function, then inspect the model."""
    ns["get_all_activations"](model, X, layers)
    return {"hooks": sum(len(m._forward_hooks) for m in model.modules()),
            "training": [m.training for m in model.modules()]}


@given(case=torch_cases())
def test_hooks_removed_and_mode_restored(student, case):
    """Afterwards the model has no hooks left and is in the training mode it had before."""
    result = student._run(_hooks_and_mode, case.model, case.X, case.layers)
    what = f"get_all_activations(model, X, {case.layers})"
    assert result["hooks"] == 0, (f"{what} left {result['hooks']} forward hooks on the model: "
                                  "remove them with handle.remove()")
    before = [m.training for m in case.model.modules()]
    assert result["training"] == before, (
        f"{what}: the model was in {'training' if before[0] else 'evaluation'} mode before the "
        f"call and in {'training' if result['training'][0] else 'evaluation'} mode after it; "
        "put it back with model.train(was_training)")


def test_trained_mnist(student):
    """The lab's trained MLP and CNN on 300 MNIST digits: every hidden layer."""
    case = trained()
    for model, layers, name in ((case.mlp, ["relu1", "relu2", "relu3", "relu4"], "mlp"),
                                (case.cnn, ["pool1", "pool2", "relu3"], "cnn")):
        got = student.get_all_activations(model, case.X, layers)
        compare(got, model, case.X, layers,
                f"trained {name}: get_all_activations({name}, X_test[:300], {layers})")
