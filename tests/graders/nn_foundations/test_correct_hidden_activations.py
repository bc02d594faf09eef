"""Hidden grader of hidden_activations(model, image) and class_evidence(model, image).

The models are the reference HiddenLayerNet (attributes ``hidden`` and ``output``), built
here. Both functions are one exercise: ``class_evidence`` runs with the student's own
``hidden_activations`` (patching in the reference would hand it to the student's code
while this file's checks of it still run).
"""

import torch
from hypothesis import given

import reference.small_networks as ref
from course.graders.compare import as_floats, expect_array

from .cases import (
    hidden_net_cases,
    split_arrays,
    trained_hidden_net,
)

GRADES = ("class_evidence", "hidden_activations")
SENDS = ("HiddenLayerNet",)

# float32 dot products of 784 terms in whatever order torch picks.
F32 = {"rtol": 1e-5, "atol": 1e-5}


def activations(student, net, image, what):
    got = as_floats(student.hidden_activations(net, image), what, scalar=True)
    expect_array(got, ref.hidden_activations(net, image).double().numpy(), what=what, **F32)


def evidence(student, net, image, what):
    got = as_floats(student.class_evidence(net, image), what, scalar=True)
    expected = ref.class_evidence(net, image).double().numpy()
    if got.shape == expected.T.shape and got.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape} (classes x hidden "
                             f"units), got {got.shape}: transposed?")
    expect_array(got, expected, what=what, **F32)


@given(case=hidden_net_cases())
def test_hidden_activations(student, case):
    """hidden_activations(model, image) = relu(model.hidden(image)), shape (n_hidden,)."""
    for i, image in enumerate(case.images):
        activations(student, case.net, image, f"hidden_activations(model, images[{i}])")


@given(case=hidden_net_cases())
def test_class_evidence(student, case):
    """class_evidence(model, image)[c, j] = output.weight[c, j] * h[j], shape (10, n_hidden)."""
    for i, image in enumerate(case.images):
        evidence(student, case.net, image, f"class_evidence(model, images[{i}])")


def test_trained_mnist(student):
    """The trained HiddenLayerNet(36) on 10 real test digits (one of each)."""
    net = trained_hidden_net()
    _, _, X_test, _, _, y_test = split_arrays()
    for digit in range(10):
        index = int((y_test == digit).argmax())
        image = torch.tensor(X_test[index], dtype=torch.float32)
        activations(student, net, image, f"hidden_activations(trained net, a test {digit})")
        evidence(student, net, image, f"class_evidence(trained net, a test {digit})")
