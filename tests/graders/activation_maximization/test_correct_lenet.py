"""Hidden grader of the class LeNet5(): LeNet-5 for 28 x 28 inputs [N, 1, 28, 28].

conv 6@5x5 - ReLU - 2x2 max pooling - conv 16@5x5 - ReLU - 2x2 max pooling - 16 maps of
4 x 4 = 256 values - 120 - 84 - 10 - LogSoftmax: 44,426 parameters. The student's network
is built in the kernel with a fixed seed; its parameters come back as data and are copied
(matched by shape) into the reference LeNet5, so both compute with the same weights.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference.models import LeNet5
from reference.torch_data import as_images

from .cases import (
    expect_close,
    expect_log_probabilities,
    load_by_shape,
    split_tensors,
    trained_lenet,
)

GRADES = ("LeNet5",)
SENDS = ()

N_PARAMETERS = 44_426
SHAPES = sorted(tuple(p.shape) for p in LeNet5().parameters())
# float32 convolutions of the same weights summed in another order: a few ulps apart.
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _build(ns, seed, x, weights=None):
    """In the kernel: LeNet5() from a seed (optionally given weights); its output on x."""
    import torch

    torch.manual_seed(seed)
    net = ns["LeNet5"]()
    if weights is not None:
        by_shape = {tuple(w.shape): w for w in weights}
        with torch.no_grad():
            for param in net.parameters():
                if tuple(param.shape) not in by_shape:
                    raise ValueError(f"LeNet5 has a parameter of shape {tuple(param.shape)}; "
                                     f"expected only the shapes {sorted(by_shape)}")
                param.copy_(by_shape[tuple(param.shape)])
    if x is None:
        return {"net": net}
    net.eval()
    with torch.no_grad():
        out = net(x)
    return {"net": net, "out": out}


def _images(seed, n):
    """n images [n, 1, 28, 28] with pixels in [0, 1]."""
    pixels = np.random.default_rng(seed).random((n, 1, 28, 28))
    return torch.tensor(pixels, dtype=torch.float32)


def test_layer_shapes_and_parameter_count(student):
    """conv 6@5x5, conv 16@5x5, Linear 256-120-84-10, with biases: 44,426 parameters."""
    net = student._run(_build, 0, None)["net"]
    shapes = sorted(tuple(t.shape) for t in net.parameters.values())
    total = sum(int(t.numel()) for t in net.parameters.values())
    hint = ""
    if (120, 400) in shapes:
        hint = (" (your first Linear layer takes 16 x 5 x 5 = 400 values: on 28 x 28 inputs "
                "the maps after the second pooling are 4 x 4, so it takes 16 x 4 x 4 = 256)")
    assert shapes == SHAPES, f"LeNet5(): expected the parameter shapes {SHAPES}, got {shapes}{hint}"
    assert total == N_PARAMETERS, f"LeNet5(): expected {N_PARAMETERS:,} parameters, got {total:,}"


@given(n=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_log_probabilities_for_images(student, n, seed):
    """[N, 1, 28, 28] -> [N, 10] log-probabilities (exp of each row sums to 1)."""
    got = student._run(_build, seed, _images(seed, n))
    expect_log_probabilities(got["out"], n, f"LeNet5() on images of shape [{n}, 1, 28, 28]")


@given(n=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_same_function_as_reference(student, n, seed):
    """With the same weights: ReLU, 2x2 max pooling, flatten, ReLU, ReLU, LogSoftmax."""
    x = _images(seed, n)
    got = student._run(_build, seed, x)
    out = expect_log_probabilities(got["out"], n, f"LeNet5() on images of shape [{n}, 1, 28, 28]")
    reference = load_by_shape(LeNet5(), got["net"].parameters, "LeNet5()")
    expect_close(out, reference(x),
                 what=f"LeNet5() on {n} images, compared with the reference with your weights "
                      "(ReLU after every convolution and hidden Linear layer, 2x2 max pooling, "
                      "LogSoftmax)", **TOL)


def test_trained_mnist(student):
    """With the weights of a trained LeNet-5, 200 test digits get the expected outputs."""
    X = as_images(split_tensors()["test"][0][:200])
    reference = trained_lenet()
    weights = [p.detach() for p in reference.parameters()]
    got = student._run(_build, 0, X, weights)
    out = expect_log_probabilities(got["out"], 200, "trained LeNet5 on 200 test digits")
    expect_close(out, reference(X), what="trained LeNet5 on 200 test digits", **TOL)
