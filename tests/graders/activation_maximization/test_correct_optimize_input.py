"""Hidden grader of the class Optimize_NN_Input(NN_trained, lr, img0), its forward() and
trainloop(category, true_prob, sgd_iter).

A driver builds the student's object in the kernel on a network sent from here (its
parameters NOT frozen, sometimes with dropout and in train mode, as a network is right
after training), runs trainloop and sends back the network, the input, the loss history
and two forward passes. Everything is compared with the reference class on a copy of the
same network from the same start.
"""

import copy

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference.maximization import Optimize_NN_Input

from .cases import (
    MaximizationCase,
    as_floats,
    expect_close,
    maximization_cases,
    seeded_lenet,
    trained_mlp,
)

GRADES = ("Optimize_NN_Input",)
SENDS = ("LeNet5", "MLP")

# Float32 arithmetic: an equivalent loss expression (for example (a - b) ** 2 instead of
# MSELoss) changes the last bits; over 30 Adam steps the paths stay within these bounds.
LOSS_TOL = {"rtol": 1e-4, "atol": 1e-6}
INPUT_TOL = {"rtol": 1e-4, "atol": 1e-5}
# The MSE gradient vanishes near the target: after the fixed number of steps the reference
# itself is about 0.03 away from it; a target not in log space ends near 1.
PROB_TOL = 0.05


def _optimize(ns, net, lr, img0, category, true_prob, sgd_iter):
    """In the kernel: the student's object, one trainloop, and what it left behind."""
    import torch

    torch.manual_seed(0)
    start = img0.clone()
    opt = ns["Optimize_NN_Input"](net, lr, img0)
    trainable = [name for name, p in opt.named_parameters() if p.requires_grad]
    opt.trainloop(category, true_prob, sgd_iter)
    img0_kept = torch.equal(img0, start)
    with torch.no_grad():
        out1, out2 = opt.forward(), opt.forward()
    history = list(opt.loss_during_training)
    kinds = sorted({f"{type(v).__module__}.{type(v).__name__}" for v in history})
    return {"trainable": trainable, "net": net, "input": opt.input, "out1": out1,
            "img0_kept": img0_kept,
            "out2": out2, "kinds": kinds,
            "losses": [float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
                       for v in history]}


def run(student, case):
    return student._run(_optimize, case.net, case.lr, case.img0, case.category,
                        case.true_prob, case.sgd_iter)


def reference(case):
    opt = Optimize_NN_Input(copy.deepcopy(case.net), case.lr, case.img0)
    opt.trainloop(case.category, case.true_prob, case.sgd_iter)
    return opt


@given(case=maximization_cases())
def test_network_unchanged(student, case):
    """After trainloop, every parameter of the network is bit-for-bit what it was."""
    got = run(student, case)["net"]
    for name, before in case.net.named_parameters():
        after = got.parameters.get(name)
        assert after is not None and torch.equal(after, before.detach()), (
            f"Optimize_NN_Input: trainloop changed the network's parameter {name!r}. Only the "
            "input may change: freeze the network (requires_grad False on each of its "
            "parameters) and give Adam the input only")


@given(case=maximization_cases(min_iter=1, max_iter=5))
def test_network_frozen_input_only_parameter(student, case):
    """The network is frozen (requires_grad False); the input is the only trainable parameter."""
    got = run(student, case)
    thawed = [name for name, t in got["net"].parameters.items() if t.requires_grad]
    assert not thawed, (
        f"Optimize_NN_Input: the network's parameters {thawed[:4]} still have requires_grad "
        "True: __init__ must freeze them")
    assert got["trainable"] == ["input"], (
        "Optimize_NN_Input: the only parameter with requires_grad True should be self.input, "
        f"got {got['trainable'][:6]}")


@given(case=maximization_cases(max_iter=10))
def test_input_keeps_its_shape_and_moves(student, case):
    """self.input has img0's shape, and trainloop changes it."""
    got = run(student, case)
    image = as_floats(got["input"], "self.input")
    assert image.shape == tuple(case.img0.shape), (
        f"Optimize_NN_Input: self.input has shape {image.shape}, expected img0's shape "
        f"{tuple(case.img0.shape)}")
    assert not np.array_equal(image, case.img0.double().numpy()), (
        "Optimize_NN_Input: self.input did not change during trainloop: it must be the "
        "parameter the optimizer updates")


@given(case=maximization_cases(min_iter=1, max_iter=5))
def test_img0_left_alone(student, case):
    """The caller's img0 is not changed: self.input is a copy of it (img0.clone())."""
    assert run(student, case)["img0_kept"], (
        "Optimize_NN_Input: after trainloop, the img0 passed in has changed: "
        "nn.Parameter(img0) shares img0's memory, so each Adam step overwrote it too; "
        "make self.input = nn.Parameter(img0.clone())")


@given(case=maximization_cases(dropout=(0.5,), train_mode=(True,), max_iter=10))
def test_dropout_off(student, case):
    """The network is used in eval mode: dropout off, the same input gives the same output."""
    got = run(student, case)
    on = [name for name, _, training in got["net"].modules if training]
    assert not on, (
        "Optimize_NN_Input: after trainloop, the network (or some of its layers) is still in "
        "train mode, so dropout is on: call NN_trained.eval()")
    assert torch.equal(got["out1"], got["out2"]), (
        "Optimize_NN_Input: forward() gave two different outputs for the same input "
        "(dropout is on)")


@given(case=maximization_cases(max_iter=10))
def test_loss_history_holds_floats(student, case):
    """loss_during_training gets one plain number (loss.item()) per iteration."""
    got = run(student, case)
    assert len(got["losses"]) == case.sgd_iter, (
        f"Optimize_NN_Input: loss_during_training has {len(got['losses'])} values after "
        f"trainloop(..., sgd_iter={case.sgd_iter}); expected one per iteration")
    bad = [k for k in got["kinds"] if k not in ("builtins.float", "numpy.float32",
                                                "numpy.float64")]
    assert not bad, (
        f"Optimize_NN_Input: loss_during_training holds {bad[0]} values; append loss.item(), "
        "a float: a tensor keeps the whole computation graph of its iteration in memory")


@given(case=maximization_cases())
def test_trajectory_matches_reference(student, case):
    """From the same start: the same losses (MSE of log-probabilities, Adam) and final input."""
    got = run(student, case)
    expected = reference(case)
    expect_close(got["losses"], expected.loss_during_training, **LOSS_TOL,
                 what="Optimize_NN_Input: loss_during_training, (log p(category) - "
                      "log(true_prob))^2 before each Adam step on the input, in eval mode")
    expect_close(got["input"], expected.input, **INPUT_TOL,
                 what="Optimize_NN_Input: self.input after trainloop")


@given(seed=st.integers(0, 2**16), category=st.integers(0, 9), sgd_iter=st.integers(1, 4))
def test_image_shaped_input(student, seed, category, sgd_iter):
    """With a CNN (LeNet-5) and img0 [1, 1, 28, 28]: the input keeps its shape, same path."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        img0 = torch.randn(1, 1, 28, 28) * 0.01
    case = MaximizationCase(seeded_lenet(seed), img0, 1e-2, category, 0.99, sgd_iter)
    got = run(student, case)
    image = as_floats(got["input"], "self.input with LeNet-5")
    assert image.shape == (1, 1, 28, 28), (
        "Optimize_NN_Input with LeNet-5: self.input should keep img0's shape (1, 1, 28, 28), "
        f"got {image.shape}; do not reshape the input")
    expected = reference(case)
    expect_close(got["losses"], expected.loss_during_training, **LOSS_TOL,
                 what="Optimize_NN_Input with LeNet-5: loss_during_training")
    expect_close(image, expected.input, **INPUT_TOL,
                 what="Optimize_NN_Input with LeNet-5: self.input after trainloop")


def _mnist_case(category, true_prob, sgd_iter):
    torch.manual_seed(0)
    img0 = torch.randn(1, 784) * 0.01
    return MaximizationCase(trained_mlp().train(), img0, 1e-2, category, true_prob, sgd_iter)


def test_loss_goes_down(student):
    """Trained MLP, digit 3 toward 0.9 in 50 steps: the loss falls at least 100-fold."""
    case = _mnist_case(3, 0.9, 50)
    losses = run(student, case)["losses"]
    assert losses and losses[-1] < losses[0] / 100, (
        f"trained MLP, trainloop(3, 0.9, 50): the loss went from {losses[0]:.4g} to "
        f"{losses[-1]:.4g}; expected it to fall at least 100-fold")


def test_trained_mnist(student):
    """Trained MLP: P(category) ends within 0.05 of true_prob (3 -> 0.9, 7 -> 0.5)."""
    for category, true_prob, sgd_iter in ((3, 0.9, 50), (7, 0.5, 100)):
        case = _mnist_case(category, true_prob, sgd_iter)
        out = as_floats(run(student, case)["out1"], "forward()")
        p = float(np.exp(out[0, category]))
        expected = reference(case).forward().detach()[0, category].exp().item()
        assert abs(p - true_prob) <= PROB_TOL, (
            f"trained MLP, trainloop({category}, {true_prob}, {sgd_iter}) with lr 0.01: "
            f"P({category}) = {p:.3f}, expected within {PROB_TOL} of {true_prob} (the "
            f"reference reaches {expected:.3f}); is the target log(true_prob)?")
