"""Hidden grader of the class LogisticRegressionNet (784 -> 10 logits, 7,850 parameters).

A driver builds ``LogisticRegressionNet()`` inside the kernel, reports its layers, loads
known weights into its ``output`` layer and runs it on images sent from here.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from course.graders.compare import as_floats, expect_array

from .cases import seeded, split_arrays, trained_logistic_net

GRADES = ("LogisticRegressionNet",)
SENDS = ()

# float32 dot products of 784 terms, in whatever order torch picks: about 1e-6 relative.
F32 = {"rtol": 1e-4, "atol": 1e-4}


def build_and_run(ns, W, b, x):
    """Inside the kernel: build the student's network, describe it, run it with W, b."""
    import torch
    from torch import nn

    if "LogisticRegressionNet" not in ns:
        raise NameError("LogisticRegressionNet is not defined")
    model = ns["LogisticRegressionNet"]()
    if not isinstance(model, nn.Module):
        return {"module": False, "type": type(model).__name__}
    output = getattr(model, "output", None)
    info = {
        "module": True,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "linears": [[name, m.in_features, m.out_features, m.bias is not None]
                    for name, m in model.named_modules() if isinstance(m, nn.Linear)],
        "output": None if output is None else type(output).__name__,
    }
    if (isinstance(output, nn.Linear) and tuple(output.weight.shape) == (10, 784)
            and output.bias is not None):
        with torch.no_grad():
            output.weight.copy_(W)
            output.bias.copy_(b)
            info["logits"] = model.eval()(x)
    return info


def describe_layers(info):
    layers = ", ".join(f"{name or 'model'}: Linear({i}, {o}{'' if bias else ', bias=False'})"
                       for name, i, o, bias in info["linears"]) or "none"
    return f"Linear layers found: {layers}"


def run(student, W, b, x):
    info = student._run(build_and_run, W, b, x)
    if not info["module"]:
        raise AssertionError(f"LogisticRegressionNet() must be a torch nn.Module, got "
                             f"{info['type']}")
    if "logits" not in info:
        raise AssertionError("LogisticRegressionNet: the attribute output must be "
                             f"nn.Linear(784, 10) with a bias (got {info['output']}); "
                             + describe_layers(info))
    return info


def expect_logits(info, W, b, x, what):
    got = as_floats(info["logits"], what, scalar=True)
    expected = (x.double() @ W.double().T + b.double()).numpy()
    if got.shape == expected.shape and not np.allclose(got, expected, **F32) and np.allclose(
            torch.softmax(torch.tensor(expected), dim=1).numpy(), got, atol=1e-4):
        raise AssertionError(f"{what}: these are the softmax probabilities; forward must "
                             "return the logits (CrossEntropyLoss applies softmax itself)")
    expect_array(got, expected, what=what, **F32)


def random_case(seed, n):
    with seeded(seed):
        W, b = torch.randn(10, 784) * 0.1, torch.randn(10)
        x = torch.rand(n, 784)
    return W, b, x


def test_architecture(student):
    """One layer, output = nn.Linear(784, 10) with a bias, 7,850 parameters in all."""
    W, b, x = random_case(0, 2)
    info = run(student, W, b, x)
    if info["n_parameters"] != 7850 or len(info["linears"]) != 1:
        raise AssertionError(f"LogisticRegressionNet(): expected 7850 parameters in one "
                             f"Linear(784, 10) layer, got {info['n_parameters']}; "
                             + describe_layers(info))


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 8))
def test_logits(student, seed, n):
    """forward(x) of a batch (n, 784) is the logits x @ W.T + b, shape (n, 10), no softmax."""
    W, b, x = random_case(seed, n)
    info = run(student, W, b, x)
    expect_logits(info, W, b, x, f"LogisticRegressionNet forward on a batch of {n} images "
                                 f"(random weights, seed {seed})")


def test_trained_mnist(student):
    """With trained weights, 300 real test digits get the logits the layers define."""
    net = trained_logistic_net()
    x = torch.tensor(split_arrays()[2][:300], dtype=torch.float32)
    W, b = net.output.weight.detach(), net.output.bias.detach()
    info = run(student, W, b, x)
    expect_logits(info, W, b, x, "LogisticRegressionNet with trained weights on 300 digits")
