"""Hidden grader of maximize_each_digit(NN_trained, img0, lr, true_prob, sgd_iter).

Optimize_NN_Input is replaced by the reference class during each call, so only the loop
over the ten digits is graded here. The expected images come from the reference's batched
maximization (all ten digits in one optimization: the same images up to float rounding).
"""

import copy

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import reference.maximization as ref

from .cases import (
    as_floats,
    expect_close,
    maximization_cases,
    trained_mlp,
)

GRADES = ("maximize_each_digit",)
SENDS = ("MLP", "Optimize_NN_Input", "freeze")

PATCH = {"Optimize_NN_Input": ref.Optimize_NN_Input}
# One image at a time against a batch of ten: float32 rounding of the batched products.
TOL = {"rtol": 1e-4, "atol": 1e-5}


def each_digit(student, net, img0, lr, true_prob, sgd_iter):
    what = f"maximize_each_digit(NN_trained, img0 of shape {list(img0.shape)}, ...)"
    got = student.maximize_each_digit(net, img0, lr, true_prob, sgd_iter, _patch=PATCH)
    if isinstance(got, (list, tuple)):
        raise AssertionError(f"{what}: expected one tensor, got a {type(got).__name__} of "
                             f"{len(got)} items (torch.stack makes one tensor of them)")
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what}: expected one tensor, got {type(got).__name__}")
    images = as_floats(got, what)
    shape = (10, *img0.shape[1:])
    assert images.shape == shape, (
        f"{what}: expected the ten optimized inputs stacked, shape {shape}, got {images.shape}")
    return images


def expected(net, img0, lr, true_prob, sgd_iter):
    images, _ = ref.maximize_batched(copy.deepcopy(net), img0, lr, true_prob, sgd_iter)
    return images.double().numpy()


@given(case=maximization_cases(min_iter=1, max_iter=3), image=st.booleans())
def test_one_input_per_digit(student, case, image):
    """Returns a tensor [10, *img0.shape[1:]]: one optimized input per digit 0-9."""
    net, img0 = case.net, case.img0
    if image:  # an image-shaped start [1, 1, 1, n] for a network that flattens it
        net, img0 = torch.nn.Sequential(torch.nn.Flatten(), *copy.deepcopy(net)), \
            img0.reshape(1, 1, 1, -1)
    each_digit(student, net, img0, case.lr, case.true_prob, case.sgd_iter)


@given(case=maximization_cases(min_iter=1, max_iter=3))
def test_detached_from_the_graph(student, case):
    """The stacked images are detached from the graph: the result does not require gradients."""
    got = student.maximize_each_digit(case.net, case.img0, case.lr, case.true_prob,
                                      case.sgd_iter, _patch=PATCH)
    assert isinstance(got, torch.Tensor) and not got.requires_grad, (
        "maximize_each_digit: the result still requires gradients (it hangs on the graph of "
        "the ten optimizations); stack opt.input.detach()[0] of each digit")


@given(case=maximization_cases(max_iter=10))
def test_row_k_is_optimized_for_digit_k(student, case):
    """Row k is img0 optimized by trainloop(k, true_prob, sgd_iter), every digit from img0."""
    got = each_digit(student, case.net, case.img0, case.lr, case.true_prob, case.sgd_iter)
    want = expected(case.net, case.img0, case.lr, case.true_prob, case.sgd_iter)
    for k in range(10):
        if not np.allclose(got[k], want[k], **TOL):
            hint = ""
            if k > 0:  # the rows before it are right
                hint = (" (the rows before it are right: does every digit start from a fresh "
                        "Optimize_NN_Input on img0?)")
            raise AssertionError(
                f"maximize_each_digit: row {k} is not the input optimized for digit {k}{hint}; "
                f"largest difference {np.abs(got[k] - want[k]).max():.3g}")


def test_trained_mnist(student):
    """Trained MLP, 30 steps toward 0.9 from N(0, 0.01^2): row k optimized for digit k, k on top."""
    torch.manual_seed(0)
    img0 = torch.randn(1, 784) * 0.01
    got = each_digit(student, trained_mlp(), img0, 1e-2, 0.9, 30)
    expect_close(got, expected(trained_mlp(), img0, 1e-2, 0.9, 30), **TOL,
                 what="maximize_each_digit on the trained MLP (row k optimized for digit k)")
    with torch.no_grad():
        winners = trained_mlp()(torch.tensor(got, dtype=torch.float32)).argmax(dim=1)
    assert winners.tolist() == list(range(10)), winners.tolist()
