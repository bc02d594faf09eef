"""Hidden grader of the CNN exercise: Optimize_NN_Input on LeNet-5 with an image input.

The student's class is run on the reference LeNet-5 (random or trained) from a start
image [1, 1, 28, 28]. Only what is new with a CNN is checked here: forward() on an image,
the input keeping its image shape, and the probability of the category rising; everything
else about the class is graded in its own exercise.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from .cases import (
    as_floats,
    expect_close,
    seeded_lenet,
    trained_lenet,
)

GRADES = ()
SENDS = ("LeNet5",)

SHAPE = (1, 1, 28, 28)


def _optimize(ns, net, lr, img0, category, true_prob, sgd_iter):
    """In the kernel: the student's object on LeNet-5, before and after one trainloop."""
    import torch

    torch.manual_seed(0)
    opt = ns["Optimize_NN_Input"](net, lr, img0)
    with torch.no_grad():
        before = opt.forward()
    opt.trainloop(category, true_prob, sgd_iter)
    with torch.no_grad():
        after = opt.forward()
    return {"before": before, "after": after, "input": opt.input}


def run(student, net, category, sgd_iter, seed=0, lr=1e-2, true_prob=0.99):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        img0 = torch.randn(*SHAPE) * 0.01
    return student._run(_optimize, net, lr, img0, category, true_prob, sgd_iter)


def log_probs(out, what):
    out = as_floats(out, what)
    assert out.shape == (1, 10), (
        f"{what}: expected log-probabilities of shape (1, 10) for one image "
        f"[1, 1, 28, 28], got shape {out.shape}")
    return out


@given(seed=st.integers(0, 2**16))
def test_forward_on_an_image(student, seed):
    """forward() gives LeNet-5's [1, 10] log-probabilities for the image input."""
    net = seeded_lenet(seed)
    got = run(student, net, 0, 1, seed)
    out = log_probs(got["before"], "forward() with LeNet-5")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        img0 = torch.randn(*SHAPE) * 0.01
    # The same network on the same image: equal up to float rounding.
    expect_close(out, net(img0), rtol=1e-5, atol=1e-6,
                 what="forward() with LeNet-5: the network's output for self.input as it is")


@given(seed=st.integers(0, 2**16), category=st.integers(0, 9))
def test_input_keeps_its_image_shape(student, seed, category):
    """self.input stays an image [1, 1, 28, 28] through trainloop."""
    got = run(student, seeded_lenet(seed), category, 3, seed)
    image = as_floats(got["input"], "self.input with LeNet-5")
    assert image.shape == SHAPE, (
        f"self.input with LeNet-5: expected the shape of img0 {SHAPE}, got {image.shape}")


@given(seed=st.integers(0, 2**16), category=st.integers(0, 9))
def test_probability_rises(student, seed, category):
    """20 steps toward P(category) = 0.99 on a random LeNet-5 raise P(category)."""
    got = run(student, seeded_lenet(seed), category, 20, seed)
    before = log_probs(got["before"], "forward() with LeNet-5")[0, category]
    after = log_probs(got["after"], "forward() after trainloop with LeNet-5")[0, category]
    assert after > before, (
        f"LeNet-5, trainloop({category}, 0.99, 20): P({category}) went from "
        f"{np.exp(before):.4f} to {np.exp(after):.4f}; it should rise")


def test_trained_mnist(student):
    """Trained LeNet-5, 300 steps toward P(4) = 0.99: P(4) ends above 0.9."""
    got = run(student, trained_lenet(), 4, 300)
    p = float(np.exp(log_probs(got["after"], "forward() after trainloop")[0, 4]))
    assert p > 0.9, (
        f"trained LeNet-5, trainloop(4, 0.99, 300) with lr 0.01 from N(0, 0.01^2): "
        f"P(4) = {p:.3f}; expected above 0.9 (the reference reaches about 0.97)")
