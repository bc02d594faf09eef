"""Tests of reference.small_networks: parameter counts, forward passes, training, the sweep."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reference.data import load_mnist, train_val_test_split
from reference.small_networks import (
    HiddenLayerNet,
    LogisticRegressionNet,
    accuracy,
    class_evidence,
    count_parameters,
    hidden_activations,
    hidden_units_sweep,
    predict,
    predict_proba,
    to_tensors,
    train_model,
)

FAST = settings(max_examples=20, deadline=None)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train several times faster on one thread of a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
# float32 sums of a few hundred products: agree to about 1e-6 relative.
F32 = {"rtol": 1e-5, "atol": 1e-5}


def test_the_two_networks_of_the_lab():
    assert count_parameters(LogisticRegressionNet()) == 7850
    assert count_parameters(HiddenLayerNet()) == 28630
    assert count_parameters(HiddenLayerNet(36)) == 28630


@FAST
@given(n_hidden=st.integers(1, 120))
def test_hidden_net_count_by_formula(n_hidden):
    # 784 n + n (hidden) + 10 n + 10 (output)
    assert count_parameters(HiddenLayerNet(n_hidden)) == 795 * n_hidden + 10


@FAST
@given(sizes=st.lists(st.integers(1, 30), min_size=2, max_size=5), bias=st.booleans(),
       frozen=st.booleans())
def test_count_linear_stacks(sizes, bias, frozen):
    layers = [nn.Linear(a, b, bias=bias) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    model = nn.Sequential(*[m for layer in layers for m in (layer, nn.ReLU())])
    if frozen:
        layers[0].requires_grad_(False)
    expected = sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert count_parameters(model) == expected


def test_count_shared_layers_and_buffers():
    shared = nn.Linear(5, 5)
    assert count_parameters(nn.Sequential(shared, nn.ReLU(), shared)) == 30  # once
    bn = nn.BatchNorm1d(7)  # 14 parameters, 3 buffers (not counted)
    assert count_parameters(nn.Sequential(nn.Linear(3, 7), bn)) == 28 + 14


@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(1, 5), n_hidden=st.integers(1, 40))
def test_forward_passes_are_the_formulas(seed, n, n_hidden):
    torch.manual_seed(seed)
    x = torch.rand(n, 784)
    lr = LogisticRegressionNet()
    W, b = lr.output.weight, lr.output.bias
    with torch.no_grad():
        torch.testing.assert_close(lr(x), x @ W.T + b, **F32)
        net = HiddenLayerNet(n_hidden)
        h = torch.relu(x @ net.hidden.weight.T + net.hidden.bias)
        torch.testing.assert_close(net(x), h @ net.output.weight.T + net.output.bias, **F32)
        p = predict_proba(net, x)
        torch.testing.assert_close(p.sum(dim=1), torch.ones(n), **F32)
        assert (predict(net, x) == p.argmax(dim=1)).all()
        for row in range(n):
            torch.testing.assert_close(hidden_activations(net, x[row]), h[row], **F32)
            evidence = class_evidence(net, x[row])
            assert evidence.shape == (10, n_hidden)
            torch.testing.assert_close(evidence.sum(dim=1) + net.output.bias, net(x)[row],
                                       **F32)


def test_evidence_by_hand():
    """Two hidden units: unit 0 sees pixel 0, unit 1 sees pixel 1 minus 1."""
    net = HiddenLayerNet(2)
    with torch.no_grad():
        net.hidden.weight.zero_()
        net.hidden.weight[0, 0] = 1.0
        net.hidden.weight[1, 1] = 1.0
        net.hidden.bias.copy_(torch.tensor([0.0, -1.0]))
        net.output.weight.zero_()
        net.output.weight[3] = torch.tensor([2.0, -1.0])
    image = torch.zeros(784)
    image[0], image[1] = 0.5, 3.0
    assert hidden_activations(net, image).tolist() == [0.5, 2.0]
    evidence = class_evidence(net, image)
    assert evidence[3].tolist() == [1.0, -2.0]  # unit 0 for class 3, unit 1 against
    assert (evidence[[0, 1, 2, 4, 5, 6, 7, 8, 9]] == 0).all()
    image[0] = -4.0  # a silent unit (ReLU 0) gives no evidence either way
    assert class_evidence(net, image)[3, 0] == 0


@pytest.fixture(scope="module")
def tensors():
    X, y = load_mnist()
    X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
        X, y, val_size=400, test_size=1000, seed=0)
    return to_tensors(X_train, y_train), to_tensors(X_val, y_val), to_tensors(X_test, y_test)


@pytest.mark.slow
def test_training_on_mnist_is_reproducible_and_learns(tensors):
    (X, y), (Xv, yv), _ = tensors
    X, y = X[:1200], y[:1200]
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        net = HiddenLayerNet(16)
        runs.append((train_model(net, X, y, epochs=4, lr=3e-3), net))
    (losses, net), (again, _) = runs
    assert losses == again  # same seed, same data: same run
    assert len(losses) == 4 and losses[-1] < losses[0] / 2
    assert not net.training  # left in eval mode
    assert accuracy(net, Xv, yv) > 0.75


@pytest.mark.slow
def test_sweep_table(tensors):
    (X, y), (Xv, yv), _ = tensors
    table = hidden_units_sweep([4, 9], X[:800], y[:800], Xv, yv, epochs=2)
    assert list(table.columns) == ["n_hidden", "n_parameters", "train_accuracy",
                                   "val_accuracy"]
    assert table["n_hidden"].tolist() == [4, 9]
    assert table["n_parameters"].tolist() == [795 * 4 + 10, 795 * 9 + 10]
    assert table["val_accuracy"].between(0, 1).all()
    assert np.isclose(table["train_accuracy"].iloc[0],
                      hidden_units_sweep([4], X[:800], y[:800], Xv, yv, epochs=2)
                      ["train_accuracy"].iloc[0])
