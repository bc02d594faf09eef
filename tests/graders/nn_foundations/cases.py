"""Hypothesis strategies, fixed MNIST cases and helpers for the nn_foundations graders.

Every drawn case has a short ``repr``: it is the counterexample a student reads. The fixed
real-MNIST cases use the embedded split of the notebook (3,600 / 400 / 1,000) and two
small reference networks trained for 3 epochs, trained once (deterministically, one
thread) and kept as state dicts in ``<repo>/.cache/graders``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from course.graders.cases import one_thread, seeded
from course.graders.model_cache import cached_model

__all__ = [
    "HUGE",
    "float_arrays",
    "huge_arrays",
    "LabelledCase",
    "labelled_cases",
    "StackCase",
    "linear_stacks",
    "NetCase",
    "hidden_net_cases",
    "seeded",
    "split_arrays",
    "trained_logistic_net",
    "trained_hidden_net",
    "trained_one_vs_eight",
]

one_thread()

# Magnitudes where a naive sigmoid overflows (exp(710) is inf) and far beyond.
HUGE = (-1e300, -1e200, -1e5, -1000.0, -745.0, -710.0, 710.0, 1000.0, 1e5, 1e200, 1e300)


def float_arrays(elements=None, max_dims=2, max_side=6):
    """float64 arrays of 1-``max_dims`` dimensions, sides 1-``max_side``."""
    elements = st.floats(-50, 50) if elements is None else elements
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=max_dims,
                                                   max_side=max_side), elements=elements)


@st.composite
def huge_arrays(draw, max_dims=2):
    """Arrays mixing ordinary values, values up to +-1e300 and the overflow points; at least
    one element of magnitude 1000 or more."""
    elements = st.one_of(st.floats(-1e300, 1e300), st.sampled_from(HUGE), st.floats(-30, 30))
    x = draw(float_arrays(elements, max_dims=max_dims))
    x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from(HUGE[:4] + HUGE[-4:]))
    return x


class LabelledCase:
    """Rows X (one per image or sample), integer labels y, and two chosen classes."""

    def __init__(self, X, y, class_1, class_2):
        self.X, self.y, self.class_1, self.class_2 = X, y, class_1, class_2

    def __repr__(self) -> str:
        labels, counts = np.unique(self.y, return_counts=True)
        per = ", ".join(f"{int(k)}: {int(c)}" for k, c in zip(labels, counts, strict=True))
        head = self.y[:12].tolist()
        more = " ..." if len(self.y) > 12 else ""
        return (f"X of shape {self.X.shape}, y = {head}{more} (count per label {{{per}}}), "
                f"class_1={self.class_1}, class_2={self.class_2}")


@st.composite
def labelled_cases(draw, *, n_features=None, ordered=True):
    """`LabelledCase`: 2-40 rows of 0-9 labels with both chosen classes present
    (each 1-8 times) and 0-3 other labels; classes of unequal size are common.

    ``n_features`` None draws 1-5 features and writes each row's index into column 0, so
    a row separated from its label is seen; 784 draws pixel-like images (values in [0, 1],
    many exact zeros). ``ordered`` makes ``class_1 < class_2``; else any order.
    """
    labels = draw(st.lists(st.integers(0, 9), min_size=2, max_size=5, unique=True))
    class_1, class_2 = labels[:2]
    if ordered and class_1 > class_2:
        class_1, class_2 = class_2, class_1
    counts = {k: draw(st.integers(1, 8)) for k in labels}
    y = np.repeat(np.array(labels, dtype=np.int64), [counts[k] for k in labels])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = rng.permutation(y)
    if n_features is None:
        X = rng.normal(size=(len(y), draw(st.integers(1, 5))))
        X[:, 0] = np.arange(len(y))
    else:
        X = rng.random((len(y), n_features))
        X[X < 0.5] = 0.0
    return LabelledCase(X, y, int(class_1), int(class_2))


class StackCase:
    """A torch model and the words that describe it."""

    def __init__(self, model, text):
        self.model, self.text = model, text

    def __repr__(self) -> str:
        return self.text


@st.composite
def linear_stacks(draw, *, frozen=False, no_bias=False, extras=False):
    """`StackCase`: ``nn.Sequential`` of 1-4 Linear layers of 1-40 units with ReLU/Tanh
    between. ``frozen`` freezes (requires_grad False) at least one layer, ``no_bias``
    drops the bias of at least one, ``extras`` adds a BatchNorm1d (2 parameters per unit
    and 3 buffers that are not parameters) and a layer used twice (counted once)."""
    sizes = draw(st.lists(st.integers(1, 40), min_size=2, max_size=5))
    biases = [draw(st.booleans()) for _ in sizes[1:]]
    if no_bias:
        biases[draw(st.integers(0, len(biases) - 1))] = False
    with seeded(0):
        layers = [nn.Linear(a, b, bias=bias)
                  for a, b, bias in zip(sizes[:-1], sizes[1:], biases, strict=True)]
    words = [f"Linear({a}, {b}{'' if bias else ', bias=False'})"
             for a, b, bias in zip(sizes[:-1], sizes[1:], biases, strict=True)]
    if frozen:
        chosen = draw(st.lists(st.integers(0, len(layers) - 1), min_size=1, unique=True))
        for i in chosen:
            layers[i].requires_grad_(False)
            words[i] += " (frozen)"
    modules, text = [], []
    for i, (layer, word) in enumerate(zip(layers, words, strict=True)):
        modules.append(layer)
        text.append(word)
        if i < len(layers) - 1:
            act = draw(st.sampled_from((nn.ReLU, nn.Tanh)))
            modules.append(act())
            text.append(act.__name__ + "()")
    if extras:
        width = sizes[-1]
        modules.append(nn.BatchNorm1d(width))
        text.append(f"BatchNorm1d({width})")
        square = nn.Linear(width, width)
        modules += [square, nn.ReLU(), square]
        text += [f"Linear({width}, {width}) as layer L", "ReLU()", "the same layer L again"]
    return StackCase(nn.Sequential(*modules), "nn.Sequential(" + ", ".join(text) + ")")


class NetCase:
    """A reference HiddenLayerNet and a batch of images for it."""

    def __init__(self, net, images, seed):
        self.net, self.images, self.seed = net, images, seed

    def __repr__(self) -> str:
        return (f"HiddenLayerNet({self.net.hidden.out_features}) with random weights "
                f"(seed {self.seed}), {len(self.images)} image(s) of 784 pixels in [0, 1]")


@st.composite
def hidden_net_cases(draw, *, max_hidden=40, max_images=4):
    """`NetCase`: a reference ``HiddenLayerNet`` of 1-``max_hidden`` units, weights drawn
    at 3x torch's default scale (about half the hidden units active for an image), and
    1-``max_images`` pixel-like images."""
    from reference.small_networks import HiddenLayerNet

    seed = draw(st.integers(0, 2**31 - 1))
    n_hidden = draw(st.integers(1, max_hidden))
    with seeded(seed):
        net = HiddenLayerNet(n_hidden)
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(3.0)
        images = torch.rand(draw(st.integers(1, max_images)), 784)
        images[images < 0.6] = 0.0
    return NetCase(net.eval(), images, seed)


@functools.lru_cache(maxsize=1)
def split_arrays():
    """The notebook's split as float64 arrays: X_train, X_val, X_test, y_train, y_val,
    y_test (3,600 / 400 / 1,000 digits)."""
    from reference.data import load_mnist, train_val_test_split

    X, y = load_mnist()
    return train_val_test_split(X, y, val_size=400, test_size=1000, seed=0)


def _trained(name, make):
    """A reference network trained for 3 epochs on the split (cached on disk)."""
    from reference.small_networks import to_tensors, train_model

    def build():
        with seeded(0):
            return make()

    def train(net):
        X_train, _, _, y_train, _, _ = split_arrays()
        train_model(net, *to_tensors(X_train, y_train), epochs=3, lr=3e-3, seed=0)

    return cached_model(f"nn-foundations-{name}", build, train)


@functools.lru_cache(maxsize=1)
def trained_logistic_net():
    """The reference LogisticRegressionNet after 3 epochs on the embedded training set."""
    from reference.small_networks import LogisticRegressionNet

    return _trained("logistic", LogisticRegressionNet)


@functools.lru_cache(maxsize=1)
def trained_hidden_net():
    """The reference HiddenLayerNet(36) after 3 epochs on the embedded training set."""
    from reference.small_networks import HiddenLayerNet

    return _trained("hidden36", HiddenLayerNet)


@functools.lru_cache(maxsize=1)
def trained_one_vs_eight():
    """(model, X_test_18, y_test_18): the notebook's 1-vs-8 logistic regression (fast)."""
    from reference.linear_models import fit_binary, select_classes

    X_train, _, X_test, y_train, _, y_test = split_arrays()
    model = fit_binary(*select_classes(X_train, y_train, 1, 8))
    return (model, *select_classes(X_test, y_test, 1, 8))
