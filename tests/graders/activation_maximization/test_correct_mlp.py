"""Hidden grader of the class MLP(dropout=0.2): 784-256-128-64-10, ReLU, dropout, LogSoftmax.

The student's network is built in the kernel with a fixed seed; its parameters come back
as data and are copied (matched by shape) into the reference MLP, so both compute with the
same weights.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference.models import MLP

from .cases import (
    as_floats,
    expect_close,
    expect_log_probabilities,
    load_by_shape,
    seeded_mlp,
    split_tensors,
    trained_mlp,
)

GRADES = ("MLP",)
SENDS = ()

N_PARAMETERS = 242_762
WEIGHTS = [(256, 784), (128, 256), (64, 128), (10, 64)]
# float32 products of the same weights summed in another order: a few ulps apart.
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _build(ns, seed, dropout, x, train_mode, weights=None):
    """In the kernel: MLP() or MLP(dropout=...) from a seed; two passes on x in the given
    mode, then one in eval mode."""
    import torch

    torch.manual_seed(seed)
    net = ns["MLP"]() if dropout is None else ns["MLP"](dropout=dropout)
    if weights is not None:
        by_shape = {tuple(w.shape): w for w in weights}
        with torch.no_grad():
            for param in net.parameters():
                if tuple(param.shape) not in by_shape:
                    raise ValueError(f"MLP has a parameter of shape {tuple(param.shape)}; "
                                     f"expected only the shapes {sorted(by_shape)}")
                param.copy_(by_shape[tuple(param.shape)])
    if x is None:
        return {"net": net}
    net.train(train_mode)
    with torch.no_grad():
        out1, out2 = net(x), net(x)
        out_eval = net.eval()(x)
    return {"net": net, "out1": out1, "out2": out2, "eval": out_eval}


def _dropout_pass(ns, seed, dropout, x, weights):
    """In the kernel: MLP(dropout=...) with the given weights, one train-mode pass on x after
    torch.manual_seed(seed) (the dropout masks come from that seed)."""
    import torch

    net = ns["MLP"](dropout=dropout)
    by_shape = {tuple(w.shape): w for w in weights}
    with torch.no_grad():
        for param in net.parameters():
            if tuple(param.shape) not in by_shape:
                raise ValueError(f"MLP has a parameter of shape {tuple(param.shape)}; "
                                 f"expected only the shapes {sorted(by_shape)}")
            param.copy_(by_shape[tuple(param.shape)])
    net.train()
    torch.manual_seed(seed)
    with torch.no_grad():
        return net(x)


def _inputs(seed, n):
    """n rows like scaled MNIST pixels: in [0, 1]."""
    return torch.tensor(np.random.default_rng(seed).random((n, 784)), dtype=torch.float32)


def build(student, seed=0, dropout=None, x=None, train_mode=False, weights=None):
    return student._run(_build, seed, dropout, x, train_mode, weights)


def test_layer_sizes_and_parameter_count(student):
    """Four Linear layers 784-256-128-64-10 with biases: 242,762 parameters."""
    net = build(student)["net"]
    shapes = [tuple(t.shape) for t in net.parameters.values()]
    total = sum(int(t.numel()) for t in net.parameters.values())
    weights = [s for s in shapes if len(s) == 2]
    assert weights == WEIGHTS, (
        f"MLP(): the weight matrices should have the shapes (out, in) {WEIGHTS} in this "
        f"order, got {weights}")
    assert total == N_PARAMETERS, (
        f"MLP(): expected {N_PARAMETERS:,} parameters (weights and biases), got {total:,}")


@given(n=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_log_probabilities(student, n, seed):
    """In eval mode, [N, 784] -> [N, 10] log-probabilities (exp of each row sums to 1)."""
    got = build(student, seed, None, _inputs(seed, n))
    expect_log_probabilities(got["out1"], n, f"MLP() on {n} inputs")


@given(n=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_same_function_as_reference(student, n, seed):
    """With the same weights, eval-mode outputs equal log_softmax(fc4(relu(fc3(...))))."""
    x = _inputs(seed, n)
    got = build(student, seed, None, x)
    out = expect_log_probabilities(got["out1"], n, f"MLP() on {n} inputs")
    reference = load_by_shape(MLP(), got["net"].parameters, "MLP()")
    expect_close(out, reference(x),
                 what=f"MLP() in eval mode on {n} inputs, compared with the reference with "
                      "your weights (ReLU after each hidden layer, LogSoftmax at the end)",
                 **TOL)


@given(seed=st.integers(0, 2**16))
def test_dropout_only_in_train_mode(student, seed):
    """MLP(dropout=0.5) is random in train mode only; MLP(dropout=0.0) never is."""
    x = _inputs(seed, 4)
    got = build(student, seed, 0.5, x, train_mode=True)
    first, second = (as_floats(got[k], "MLP(dropout=0.5)") for k in ("out1", "out2"))
    assert not np.array_equal(first, second), (
        "MLP(dropout=0.5) in train mode gave the same output twice: is nn.Dropout(p=dropout) "
        "applied to the hidden layers?")
    got = build(student, seed, 0.5, x, train_mode=False)
    first, second = (as_floats(got[k], "MLP(dropout=0.5)") for k in ("out1", "out2"))
    assert np.array_equal(first, second), (
        "MLP(dropout=0.5) in eval mode gave two different outputs for the same input: "
        "dropout must be an nn.Dropout module (it turns off in eval mode)")
    got = build(student, seed, 0.0, x, train_mode=True)
    expect_close(got["out1"], as_floats(got["eval"], "MLP(dropout=0.0)"),
                 what="MLP(dropout=0.0): the output in train mode should be the one in eval "
                      "mode (the dropout probability must come from the argument)", **TOL)


@given(n=st.integers(1, 6), seed=st.integers(0, 2**16), dropout=st.sampled_from((0.2, 0.5)))
def test_dropout_after_each_hidden_layer(student, n, seed, dropout):
    """In train mode: nn.Dropout(p=dropout) after each of the 3 hidden ReLUs, and nowhere else."""
    x = _inputs(seed, n)
    reference = seeded_mlp(seed, dropout)
    weights = [p.detach() for p in reference.parameters()]
    got = student._run(_dropout_pass, seed, dropout, x, weights)
    reference.train()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        expected = reference(x)
    # The same masks from the same seed, the same weights: equal up to float rounding.
    expect_close(got, expected, **TOL,
                 what=f"MLP(dropout={dropout}) in train mode, with torch.manual_seed({seed}) "
                      "before the pass, compared with nn.Dropout after each hidden ReLU (and "
                      "nowhere else)")


def test_trained_mnist(student):
    """With the weights of a trained MLP, 200 test digits get the expected log-probabilities."""
    X = split_tensors()["test"][0][:200]
    reference = trained_mlp()
    weights = [p.detach() for p in reference.parameters()]
    got = build(student, 0, None, X, weights=weights)
    out = expect_log_probabilities(got["out1"], 200, "trained MLP on 200 test digits")
    expect_close(out, reference(X), what="trained MLP on 200 test digits", **TOL)
