"""Hidden grader of maximize_batched(NN_trained, img0, lr, true_prob, sgd_iter): the ten
digits optimized together as one batch, image k toward digit k; returns (images, losses).

The student's own function is graded here (not Optimize_NN_Input, graded in its exercise):
on tiny networks (flat inputs, sometimes with dropout and in train mode), on LeNet-5 with
image inputs [1, 1, 28, 28], and on a trained LeNet-5. A driver calls it in the kernel with
the other exercises' functions replaced by the reference's (so a student who builds on them
loses nothing for their mistakes here) and sends back the result, the network and whether
img0 changed. Everything is compared with the reference's batched maximization on copies.
"""

import copy

import torch
from hypothesis import given
from hypothesis import strategies as st

import reference.maximization as ref

from .cases import (
    as_floats,
    expect_close,
    maximization_cases,
    seeded_lenet,
    trained_lenet,
)

GRADES = ("maximize_batched",)
SENDS = ("LeNet5", "Optimize_NN_Input", "maximize_each_digit", "freeze")

SHAPE = (1, 1, 28, 28)
# In case the student's function builds on the earlier exercises' functions.
PATCH = {"Optimize_NN_Input": ref.Optimize_NN_Input, "maximize_each_digit": ref.maximize_each_digit}
# The same batched float32 arithmetic written another way (diagonal or indexing, MSELoss
# with reduction="sum" or a sum of squares) changes the last bits; over the few Adam steps
# drawn here the paths stay within these bounds.
TOL = {"rtol": 1e-4, "atol": 1e-5}
LOSS_TOL = {"rtol": 1e-4, "atol": 1e-6}


def _batched(ns, patch, net, img0, lr, true_prob, sgd_iter):
    """In the kernel: maximize_batched with the other exercises' names patched; what it left."""
    import torch

    missing = object()
    saved = {name: ns.get(name, missing) for name in patch}
    ns.update(patch)
    try:
        torch.manual_seed(0)
        start = img0.clone()
        result = ns["maximize_batched"](net, img0, lr, true_prob, sgd_iter)
        if isinstance(result, tuple):
            result = list(result)
        return {"result": result, "img0_kept": torch.equal(img0, start), "net": net}
    finally:
        for name, value in saved.items():
            if value is missing:
                ns.pop(name, None)
            else:
                ns[name] = value


def run(student, net, img0, lr, true_prob, sgd_iter):
    return student._run(_batched, PATCH, net, img0, lr, true_prob, sgd_iter)


def unpack(got, img0, sgd_iter):
    """(images, losses) as float arrays, checked to be two tensors of the right shapes."""
    what = f"maximize_batched(NN_trained, img0 of shape {list(img0.shape)}, ...)"
    result = got["result"]
    if not isinstance(result, list) or len(result) != 2:
        raise AssertionError(f"{what}: expected (images, losses), two tensors, got "
                             f"{type(result).__name__}")
    images, losses = result
    for name, value in (("images", images), ("losses", losses)):
        if not isinstance(value, torch.Tensor):
            raise AssertionError(f"{what}: {name} should be a tensor, got {type(value).__name__}")
    shape = (10, *img0.shape[1:])
    assert tuple(images.shape) == shape, (
        f"{what}: images should be the ten inputs stacked, shape {shape}, got "
        f"{tuple(images.shape)}")
    assert tuple(losses.shape) == (sgd_iter, 10), (
        f"{what}: losses should have shape ({sgd_iter}, 10), one row per iteration and one "
        f"column per digit; got {tuple(losses.shape)}")
    return as_floats(images, what), as_floats(losses, what), images, losses


def expected(net, img0, lr, true_prob, sgd_iter):
    images, losses = ref.maximize_batched(copy.deepcopy(net), img0, lr, true_prob, sgd_iter)
    return images.double().numpy(), losses.double().numpy()


def flattening(net, img0):
    """The same network reading an image-shaped start [1, 1, 1, n]."""
    return torch.nn.Sequential(torch.nn.Flatten(), *copy.deepcopy(net)), img0.reshape(1, 1, 1, -1)


@given(case=maximization_cases(min_iter=1, max_iter=4), image=st.booleans())
def test_images_and_losses_shapes(student, case, image):
    """Returns (images, losses): tensors [10, *img0.shape[1:]] and [sgd_iter, 10]."""
    net, img0 = flattening(case.net, case.img0) if image else (case.net, case.img0)
    unpack(run(student, net, img0, case.lr, case.true_prob, case.sgd_iter), img0, case.sgd_iter)


@given(case=maximization_cases(min_iter=1, max_iter=4))
def test_detached_from_the_graph(student, case):
    """Both returned tensors are detached from the graph: neither requires gradients."""
    got = run(student, case.net, case.img0, case.lr, case.true_prob, case.sgd_iter)
    *_, images, losses = unpack(got, case.img0, case.sgd_iter)
    attached = [name for name, t in (("images", images), ("losses", losses)) if t.requires_grad]
    assert not attached, (
        f"maximize_batched: {' and '.join(attached)} still require gradients (they hang on "
        "the graph of the optimization); return images.detach() and store errors.detach()")


@given(case=maximization_cases(min_iter=1, max_iter=5))
def test_network_frozen_and_img0_unchanged(student, case):
    """The network is frozen, in eval mode and unchanged; the caller's img0 is not changed."""
    got = run(student, case.net, case.img0, case.lr, case.true_prob, case.sgd_iter)
    net = got["net"]
    for name, before in case.net.named_parameters():
        after = net.parameters.get(name)
        assert after is not None and torch.equal(after, before.detach()), (
            f"maximize_batched changed the network's parameter {name!r}: only the images may "
            "change (Adam on the images only)")
    thawed = [name for name, t in net.parameters.items() if t.requires_grad]
    assert not thawed, (
        f"maximize_batched: the network's parameters {thawed[:4]} still have requires_grad "
        "True: freeze them, as Optimize_NN_Input does")
    on = [name for name, _, training in net.modules if training]
    assert not on, ("maximize_batched: the network (or some of its layers) is still in train "
                    "mode: call NN_trained.eval()")
    assert got["img0_kept"], (
        "maximize_batched: the img0 passed in has changed; stack copies of it (for example "
        "img0.repeat(...) or img0.clone()), so that Adam's steps do not overwrite it")


@given(case=maximization_cases(max_iter=10))
def test_same_path_as_the_reference(student, case):
    """Image k is steered toward digit k: sum of (log p_k - log true_prob)^2, Adam, eval mode."""
    got = run(student, case.net, case.img0, case.lr, case.true_prob, case.sgd_iter)
    images, losses, *_ = unpack(got, case.img0, case.sgd_iter)
    want_images, want_losses = expected(case.net, case.img0, case.lr, case.true_prob,
                                        case.sgd_iter)
    expect_close(losses, want_losses, **LOSS_TOL,
                 what="maximize_batched: losses[i, k], the error (logprobs[k, k] - "
                      "log(true_prob))^2 of image k before step i")
    expect_close(images, want_images, **TOL,
                 what="maximize_batched: the images after sgd_iter Adam steps on the sum of "
                      "the ten errors")


@given(seed=st.integers(0, 2**16), sgd_iter=st.integers(1, 4),
       true_prob=st.sampled_from((0.9, 0.99)))
def test_lenet_image_input(student, seed, sgd_iter, true_prob):
    """On LeNet-5 from img0 [1, 1, 28, 28]: the expected images and losses, step by step."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        img0 = torch.randn(*SHAPE) * 0.01
    net = seeded_lenet(seed)
    got = run(student, net, img0, 1e-2, true_prob, sgd_iter)
    images, losses, *_ = unpack(got, img0, sgd_iter)
    want_images, want_losses = expected(net, img0, 1e-2, true_prob, sgd_iter)
    expect_close(losses, want_losses, **LOSS_TOL, what="maximize_batched on LeNet-5: losses")
    expect_close(images, want_images, **TOL, what="maximize_batched on LeNet-5: images")


def test_trained_mnist(student):
    """Trained LeNet-5, 100 steps toward 0.99 from N(0, 0.01^2): expected images, k classified k."""
    torch.manual_seed(0)
    img0 = torch.randn(*SHAPE) * 0.01
    got = run(student, trained_lenet(), img0, 1e-2, 0.99, 100)
    images, losses, *_ = unpack(got, img0, 100)
    want_images, want_losses = expected(trained_lenet(), img0, 1e-2, 0.99, 100)
    # 100 steps through ReLUs and max pooling: rounding differences grow a little.
    expect_close(losses, want_losses, rtol=1e-3, atol=1e-5,
                 what="maximize_batched on a trained LeNet-5: losses")
    expect_close(images, want_images, rtol=1e-3, atol=1e-4,
                 what="maximize_batched on a trained LeNet-5: images")
    with torch.no_grad():
        winners = trained_lenet()(torch.tensor(images, dtype=torch.float32)).argmax(dim=1)
    assert winners.tolist() == list(range(10)), (
        f"maximize_batched on a trained LeNet-5: image k should be classified as k, got "
        f"{winners.tolist()}")
