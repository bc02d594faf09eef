"""Hypothesis strategies and trained models for the activation_maximization graders.

Random networks are tiny ``nn.Sequential`` classifiers (a few inputs, one tanh hidden layer,
optional dropout, ten log-probabilities out): tanh, not ReLU, so that no drawn network is
flat (dead units would give a zero gradient and nothing to optimize). Every case has a short
``repr``: it is the counterexample a student reads.

The fixed real-MNIST cases use the lab's MLP and LeNet-5 trained for 3 epochs on the
embedded split, trained once (deterministically, one thread) and kept as state dicts in
``<repo>/.cache/graders``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from course.graders.cases import one_thread, seeded
from course.graders.compare import as_floats, expect_array
from course.graders.model_cache import cached_model

__all__ = [
    "tiny_net",
    "describe_net",
    "MaximizationCase",
    "maximization_cases",
    "TrainingCase",
    "training_cases",
    "AccuracyCase",
    "accuracy_cases",
    "seeded_lenet",
    "seeded_mlp",
    "split_tensors",
    "trained_mlp",
    "trained_lenet",
    "expect_close",
    "expect_log_probabilities",
    "load_by_shape",
]

one_thread()

PROBS = (0.5, 0.8, 0.9, 0.99)
LRS = (1e-2, 3e-2)


def tiny_net(n_in, hidden, dropout, seed, train_mode=True):
    """``Linear(n_in, hidden) - Tanh - Dropout - Linear(hidden, 10) - LogSoftmax``."""
    with seeded(seed):
        net = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Dropout(dropout),
                            nn.Linear(hidden, 10), nn.LogSoftmax(dim=1))
        with torch.no_grad():  # larger weights than the default: livelier outputs
            for layer in (net[0], net[3]):
                layer.weight.mul_(2.0)
    return net.train(train_mode)


def describe_net(net) -> str:
    """'a network 12-8-10 (tanh, dropout 0.5, in train mode)' for a `tiny_net`."""
    if not isinstance(net, nn.Sequential):
        return f"a {type(net).__name__} (in {'train' if net.training else 'eval'} mode)"
    sizes = f"{net[0].in_features}-{net[0].out_features}-{net[3].out_features}"
    drop = f", dropout {net[2].p:g}" if net[2].p else ""
    return f"a network {sizes} (tanh{drop}, in {'train' if net.training else 'eval'} mode)"


class MaximizationCase:
    """A network, a starting input, and the arguments of one trainloop call."""

    def __init__(self, net, img0, lr, category, true_prob, sgd_iter):
        self.net, self.img0, self.lr = net, img0, lr
        self.category, self.true_prob, self.sgd_iter = category, true_prob, sgd_iter

    def __repr__(self) -> str:
        return (f"{describe_net(self.net)}, img0 of shape {list(self.img0.shape)}, lr={self.lr}; "
                f"trainloop(category={self.category}, true_prob={self.true_prob}, "
                f"sgd_iter={self.sgd_iter})")


@st.composite
def maximization_cases(draw, *, dropout=(0.0, 0.5), train_mode=(True, False),
                       min_iter=5, max_iter=30):
    """`MaximizationCase` on a `tiny_net` of 4-20 inputs: img0 ~ N(0, 0.01^2 .. 1)."""
    n_in = draw(st.integers(4, 20))
    net = tiny_net(n_in, draw(st.integers(3, 12)), draw(st.sampled_from(dropout)),
                   draw(st.integers(0, 2**31 - 1)), draw(st.sampled_from(train_mode)))
    scale = draw(st.sampled_from((0.01, 1.0)))
    with seeded(draw(st.integers(0, 2**31 - 1))):
        img0 = torch.randn(1, n_in) * scale
    return MaximizationCase(net, img0, draw(st.sampled_from(LRS)), draw(st.integers(0, 9)),
                            draw(st.sampled_from(PROBS)), draw(st.integers(min_iter, max_iter)))


def _loader(X, y, batch_size, shuffle_seed=None):
    """Batches in order, or shuffled at every pass by a generator seeded with shuffle_seed."""
    if shuffle_seed is None:
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y),
                                           batch_size=batch_size, shuffle=False)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y),
                                       batch_size=batch_size, shuffle=True,
                                       generator=torch.Generator().manual_seed(shuffle_seed))


class TrainingCase:
    """A model, a training and a validation loader, epochs and a learning rate."""

    def __init__(self, model, trainloader, validloader, epochs, lr):
        self.model, self.trainloader, self.validloader = model, trainloader, validloader
        self.epochs, self.lr = epochs, lr

    def __repr__(self) -> str:
        tr, va = self.trainloader, self.validloader
        order = ("shuffled by its seeded generator" if tr.generator is not None else "in order")
        return (f"{describe_net(self.model)}; {len(tr.dataset)} training samples in batches of "
                f"{tr.batch_size} ({order}), {len(va.dataset)} validation samples in batches of "
                f"{va.batch_size}; epochs={self.epochs}, lr={self.lr}")


@st.composite
def training_cases(draw, *, dropout=(0.0,), shuffle=False, min_epochs=1):
    """`TrainingCase`: a `tiny_net`, 8-40 training and 4-16 validation samples (last batch
    possibly smaller), ``min_epochs``-3 epochs; the training loader unshuffled, or with ``shuffle``
    shuffled by its own seeded generator (as the notebook's trainloader)."""
    n_in = draw(st.integers(3, 10))
    model = tiny_net(n_in, draw(st.integers(3, 10)), draw(st.sampled_from(dropout)),
                     draw(st.integers(0, 2**31 - 1)))
    n_train, n_val = draw(st.integers(8, 40)), draw(st.integers(4, 16))
    with seeded(draw(st.integers(0, 2**31 - 1))):
        X = torch.randn(n_train + n_val, n_in)
        y = torch.randint(0, 10, (n_train + n_val,))
    batch = draw(st.integers(3, 8))
    order = draw(st.integers(0, 2**31 - 1)) if shuffle else None
    return TrainingCase(model, _loader(X[:n_train], y[:n_train], batch, order),
                        _loader(X[n_train:], y[n_train:], draw(st.integers(2, 8))),
                        draw(st.integers(min_epochs, 3)), draw(st.sampled_from((1e-2, 5e-2))))


class AccuracyCase:
    """A model and a loader of labelled samples."""

    def __init__(self, model, loader):
        self.model, self.loader = model, loader

    def __repr__(self) -> str:
        return (f"{describe_net(self.model)}; {len(self.loader.dataset)} samples in batches "
                f"of {self.loader.batch_size}")


@st.composite
def accuracy_cases(draw, *, dropout=(0.0, 0.5)):
    """`AccuracyCase`: labels mostly the model's own predictions (accuracy well above 0),
    2-30 samples, the last batch often smaller than the others."""
    n_in = draw(st.integers(3, 10))
    model = tiny_net(n_in, draw(st.integers(3, 10)), draw(st.sampled_from(dropout)),
                     draw(st.integers(0, 2**31 - 1)), draw(st.booleans()))
    n = draw(st.integers(2, 30))
    with seeded(draw(st.integers(0, 2**31 - 1))):
        X = torch.randn(n, n_in)
        was = model.training
        with torch.no_grad():
            y = model.eval()(X).argmax(dim=1)
        model.train(was)
        flip = torch.rand(n) < 0.3
        y[flip] = torch.randint(0, 10, (int(flip.sum()),))
    return AccuracyCase(model, _loader(X, y, draw(st.integers(1, 8))))


def seeded_mlp(seed=0, dropout=0.2):
    """The reference MLP with torch's default initialization from ``seed``."""
    from reference.models import MLP

    with seeded(seed):
        return MLP(dropout)


def seeded_lenet(seed=0):
    """The reference LeNet-5 with torch's default initialization from ``seed``."""
    from reference.models import LeNet5

    with seeded(seed):
        return LeNet5()


@functools.lru_cache(maxsize=1)
def split_tensors():
    """The embedded split 3,600 / 400 / 1,000 as tensors (see reference.torch_data)."""
    from reference.torch_data import mnist_tensors

    return mnist_tensors()


def _trained(name, build, images, lr):
    """``build()`` trained 3 epochs on the split (cached on disk after the first time)."""
    from reference.models import train_with_validation
    from reference.torch_data import as_images, make_loader

    def train(model):
        splits = split_tensors()
        shape = as_images if images else (lambda X: X)
        train = make_loader(shape(splits["train"][0]), splits["train"][1], 64, shuffle=True)
        valid = make_loader(shape(splits["val"][0]), splits["val"][1], 64)
        with seeded(0):
            train_with_validation(model, train, valid, 3, lr)

    return cached_model(f"am-{name}", build, train)


def trained_mlp():
    """The lab's MLP (dropout 0.2) trained 3 epochs with Adam (lr 1e-3); in eval mode.

    A fresh copy on every call (callers may freeze or change it)."""
    return _trained("mlp-3ep", lambda: seeded_mlp(0, 0.2), images=False, lr=1e-3)


def trained_lenet():
    """LeNet-5 trained 3 epochs with Adam (lr 3e-3) on images [N, 1, 28, 28]; eval mode."""
    return _trained("lenet-3ep", lambda: seeded_lenet(0), images=True, lr=3e-3)


# -- comparisons (trusted side) ----------------------------------------------------------
def expect_close(got, expected, *, what: str, rtol: float, atol: float) -> np.ndarray:
    """`expect_array` for tensors: ``got`` equals ``expected`` within the tolerances."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().double().numpy()
    return expect_array(as_floats(got, what), np.asarray(expected, dtype=np.float64),
                        what=what, rtol=rtol, atol=atol)


def expect_log_probabilities(out, n_rows: int, what: str) -> np.ndarray:
    """``out`` must be ``[n_rows, 10]`` log-probabilities: exp of each row sums to one."""
    out = as_floats(out, what)
    if out.shape != (n_rows, 10):
        raise AssertionError(f"{what}: expected an output of shape ({n_rows}, 10), "
                             f"got {out.shape}")
    if not np.isfinite(out).all():
        raise AssertionError(f"{what}: the output has NaN or infinite values")
    sums = np.exp(out).sum(axis=1)
    # float32 log-softmax: exp of a row sums to 1 within a few ulps.
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-4):
        raise AssertionError(
            f"{what}: exp of each output row should sum to 1 (log-probabilities, from "
            f"nn.LogSoftmax(dim=1)); the sums are {np.round(sums, 4).tolist()[:5]}")
    return out


def load_by_shape(model, parameters, what: str):
    """Copy the student's parameters (a dict name -> tensor) into ``model`` (a reference
    network with the same layer sizes), matching them by shape: every shape in the two
    networks is different, so no order or naming convention is assumed."""
    got = sorted(tuple(t.shape) for t in parameters.values())
    want = sorted(tuple(p.shape) for p in model.parameters())
    if got != want:
        raise AssertionError(f"{what}: the parameter shapes {got} are not the expected {want}")
    by_shape = {tuple(t.shape): t for t in parameters.values()}
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(by_shape[tuple(param.shape)])
    return model.eval()
