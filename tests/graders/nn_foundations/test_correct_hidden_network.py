"""Hidden grader of the class HiddenLayerNet(n_hidden=36): 784 -> n_hidden ReLU -> 10.

A driver builds ``HiddenLayerNet(...)`` inside the kernel, reports its layers, loads known
weights into ``hidden`` and ``output`` and runs it on images sent from here.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from course.graders.compare import as_floats, expect_array

from .cases import seeded, split_arrays, trained_hidden_net

GRADES = ("HiddenLayerNet",)
SENDS = ()

# float32 sums of 784 and n_hidden products in whatever order torch picks.
F32 = {"rtol": 1e-4, "atol": 1e-4}


def build_and_run(ns, n_hidden, params, x):
    """Inside the kernel: build the student's network, describe it, run it with params."""
    import torch
    from torch import nn

    if "HiddenLayerNet" not in ns:
        raise NameError("HiddenLayerNet is not defined")
    model = ns["HiddenLayerNet"]() if n_hidden is None else ns["HiddenLayerNet"](n_hidden)
    if not isinstance(model, nn.Module):
        return {"module": False, "type": type(model).__name__}

    def shape(layer):
        if not isinstance(layer, nn.Linear):
            return None if layer is None else type(layer).__name__
        return [layer.in_features, layer.out_features, layer.bias is not None]

    hidden, output = getattr(model, "hidden", None), getattr(model, "output", None)
    info = {"module": True, "n_parameters": sum(p.numel() for p in model.parameters()),
            "hidden": shape(hidden), "output": shape(output)}
    W1, b1, W2, b2 = params
    if (isinstance(hidden, nn.Linear) and isinstance(output, nn.Linear)
            and tuple(hidden.weight.shape) == tuple(W1.shape) and hidden.bias is not None
            and tuple(output.weight.shape) == tuple(W2.shape) and output.bias is not None):
        with torch.no_grad():
            layers = (hidden.weight, hidden.bias, output.weight, output.bias)
            for p, value in zip(layers, params, strict=True):
                p.copy_(value)
            info["logits"] = model.eval()(x)
    return info


def random_params(n_hidden, seed, n):
    """Weights with about half the hidden units below 0 for an image (ReLU matters)."""
    with seeded(seed):
        W1 = torch.randn(n_hidden, 784) * 0.1
        b1 = torch.randn(n_hidden)
        W2, b2 = torch.randn(10, n_hidden), torch.randn(10)
        x = torch.rand(n, 784)
    return (W1, b1, W2, b2), x


def expected_logits(params, x, activation=torch.relu):
    W1, b1, W2, b2 = (p.double() for p in params)
    return (activation(x.double() @ W1.T + b1) @ W2.T + b2).numpy()


def run(student, n_hidden, params, x):
    info = student._run(build_and_run, n_hidden, params, x)
    call = "HiddenLayerNet()" if n_hidden is None else f"HiddenLayerNet({n_hidden})"
    units = 36 if n_hidden is None else n_hidden
    if not info["module"]:
        raise AssertionError(f"{call} must be a torch nn.Module, got {info['type']}")
    for name, want in (("hidden", [784, units, True]), ("output", [units, 10, True])):
        if info[name] != want:
            raise AssertionError(f"{call}: the attribute {name} must be nn.Linear({want[0]}, "
                                 f"{want[1]}) with a bias, got {info[name]}")
    return info, call


def check_count(info, call, units):
    expected = 795 * units + 10
    if info["n_parameters"] != expected:
        raise AssertionError(f"{call}: expected {expected} parameters (784 x {units} + {units}"
                             f" + {units} x 10 + 10), got {info['n_parameters']}")


def expect_forward(info, params, x, what):
    got = as_floats(info["logits"], what, scalar=True)
    expected = expected_logits(params, x)
    if got.shape == expected.shape and not np.allclose(got, expected, **F32):
        for activation, name in ((lambda z: z, "no activation"), (torch.sigmoid, "sigmoid")):
            if np.allclose(got, expected_logits(params, x, activation), **F32):
                raise AssertionError(f"{what}: these logits use {name} on the hidden layer; "
                                     "it must be ReLU (torch.relu)")
    expect_array(got, expected, what=what, **F32)


def test_default_is_36_units(student):
    """HiddenLayerNet() has 36 hidden units: Linear(784, 36), Linear(36, 10), 28,630 params."""
    params, x = random_params(36, 0, 2)
    info, call = run(student, None, params, x)
    check_count(info, call, 36)


@given(n_hidden=st.integers(1, 100))
def test_layer_sizes(student, n_hidden):
    """HiddenLayerNet(n): hidden Linear(784, n), output Linear(n, 10), 795 n + 10 params."""
    params, x = random_params(n_hidden, 0, 1)
    info, call = run(student, n_hidden, params, x)
    check_count(info, call, n_hidden)


@given(n_hidden=st.integers(1, 40), seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6))
def test_forward(student, n_hidden, seed, n):
    """forward(x) = output(relu(hidden(x))): the logits, shape (n, 10)."""
    params, x = random_params(n_hidden, seed, n)
    info, call = run(student, n_hidden, params, x)
    expect_forward(info, params, x, f"{call} forward on {n} images (random weights, "
                                    f"seed {seed})")


def test_trained_mnist(student):
    """With trained weights, 300 real test digits get the logits the layers define."""
    net = trained_hidden_net()
    params = tuple(p.detach() for p in (net.hidden.weight, net.hidden.bias,
                                        net.output.weight, net.output.bias))
    x = torch.tensor(split_arrays()[2][:300], dtype=torch.float32)
    info, call = run(student, 36, params, x)
    expect_forward(info, params, x, f"{call} with trained weights on 300 digits")
