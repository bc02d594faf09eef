"""Hidden grader of output_probabilities(opt_input).

The object passed in is the reference Optimize_NN_Input (on a tiny network, on LeNet-5, or
on the trained MLP after a few steps), so a mistake in the student's class costs nothing
here.
"""

import copy

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference.maximization import Optimize_NN_Input, output_probabilities

from .cases import (
    as_floats,
    expect_close,
    maximization_cases,
    seeded_lenet,
    trained_mlp,
)

GRADES = ("output_probabilities",)
SENDS = ("LeNet5", "MLP", "Optimize_NN_Input", "freeze")

# exp of float32 log-probabilities: the same up to a few ulps however it is computed.
TOL = {"rtol": 1e-5, "atol": 1e-7}


def probabilities(student, opt, what):
    got = student.output_probabilities(opt)
    if not isinstance(got, np.ndarray):
        hint = (" (convert with .numpy() under torch.no_grad())"
                if isinstance(got, torch.Tensor) else "")
        raise AssertionError(f"{what}: expected a numpy array, got {type(got).__name__}{hint}")
    got = as_floats(got, what)
    if got.shape != (10,):
        hint = ": take row 0 of the [1, 10] output" if got.shape == (1, 10) else ""
        raise AssertionError(f"{what}: expected a flat array of 10 probabilities (shape (10,)), "
                             f"got shape {got.shape}{hint}")
    return got


def started(case):
    opt = Optimize_NN_Input(copy.deepcopy(case.net), case.lr, case.img0)
    opt.trainloop(case.category, case.true_prob, 3)
    return opt


@given(case=maximization_cases())
def test_flat_array_summing_to_one(student, case):
    """Returns 10 probabilities (shape (10,)) that sum to 1."""
    got = probabilities(student, started(case), "output_probabilities(opt_input)")
    assert np.isclose(got.sum(), 1.0, rtol=0, atol=1e-5) and (got >= 0).all(), (
        f"output_probabilities(opt_input): the values {np.round(got, 4).tolist()} are not "
        "probabilities summing to 1; the network returns log-probabilities: take their exp")


@given(case=maximization_cases())
def test_exp_of_the_log_probabilities(student, case):
    """Each value is exp of the network's log-probability for the current input."""
    opt = started(case)
    got = probabilities(student, opt, "output_probabilities(opt_input)")
    expect_close(got, output_probabilities(opt), **TOL,
                 what="output_probabilities(opt_input), compared with exp(opt_input.forward())")


@given(seed=st.integers(0, 2**16), category=st.integers(0, 9))
def test_image_shaped_input(student, seed, category):
    """Works for a CNN whose input is an image [1, 1, 28, 28]."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        img0 = torch.rand(1, 1, 28, 28)
    opt = Optimize_NN_Input(seeded_lenet(seed), 1e-2, img0)
    opt.trainloop(category, 0.9, 2)
    got = probabilities(student, opt, "output_probabilities(opt_input) for LeNet-5")
    expect_close(got, output_probabilities(opt), **TOL,
                 what="output_probabilities(opt_input) for LeNet-5")


def test_trained_mnist(student):
    """Trained MLP steered 30 steps toward P(3) = 0.9: the expected probabilities, 3 on top."""
    torch.manual_seed(0)
    opt = Optimize_NN_Input(trained_mlp(), 1e-2, torch.randn(1, 784) * 0.01)
    before = probabilities(student, opt, "output_probabilities before optimizing")
    expect_close(before, output_probabilities(opt), **TOL,
                 what="output_probabilities before optimizing")
    opt.trainloop(3, 0.9, 30)
    after = probabilities(student, opt, "output_probabilities after 30 steps toward digit 3")
    expect_close(after, output_probabilities(opt), **TOL,
                 what="output_probabilities after 30 steps toward digit 3")
    assert int(np.argmax(after)) == 3
