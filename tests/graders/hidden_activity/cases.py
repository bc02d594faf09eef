"""Hypothesis strategies and fixed real-MNIST cases for the hidden_activity graders.

Every drawn case has a short ``repr``: hypothesis shows it to the student as the
counterexample. Numbers are drawn from small dyadic sets (multiples of 1/4) wherever the
answer must be exact, so that every correct formula gives the same sums, distances and ties.
The trained networks of the real-MNIST cases are trained once, deterministically, and kept
in ``<repo>/.cache/graders`` (written only by this trusted process).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from course.graders.cases import seeded
from course.graders.model_cache import cached_model

DYADIC = tuple(np.arange(-8, 9) / 4.0)


def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


# -- torch models -------------------------------------------------------------------------
class TorchCase:
    """A small torch network, an input X for it and the names of the layers asked for."""

    def __init__(self, model, X, layers, description):
        self.model, self.X, self.layers, self.description = model, X, layers, description

    def __repr__(self) -> str:
        mode = "training" if self.model.training else "eval"
        return (f"{self.description} (in {mode} mode) on X of shape {self.X.shape} "
                f"({self.X.dtype}), layers={self.layers}")


ACTIVATIONS = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid,
               "LeakyReLU": nn.LeakyReLU}


@st.composite
def torch_cases(draw, kind=None, dropout=None):
    """`TorchCase`: an MLP, a nested MLP or a tiny CNN (``kind``: "mlp", "nested", "cnn"),
    built from torch.nn modules only, with 1-12 input rows and a random non-empty subset of
    its named submodules in a random order. ``dropout=True`` adds a Dropout(0.5) layer and
    leaves the model in training mode."""
    kind = draw(st.sampled_from(("mlp", "nested", "cnn"))) if kind is None else kind
    dropout = draw(st.booleans()) if dropout is None else dropout
    act = draw(st.sampled_from(sorted(ACTIVATIONS)))
    seed = draw(st.integers(0, 2**31 - 1))
    n_in = 36 if kind == "cnn" else draw(st.integers(1, 8))
    widths = draw(st.lists(st.integers(1, 10), min_size=2, max_size=3))

    def build():
        if kind == "cnn":
            channels = widths[0]
            layers = [("unflatten", nn.Unflatten(1, (1, 6, 6))),
                      ("conv", nn.Conv2d(1, channels, 3, padding=1)),
                      ("act", ACTIVATIONS[act]()), ("pool", nn.MaxPool2d(2)),
                      ("flatten", nn.Flatten())]
            if dropout:
                layers.append(("drop", nn.Dropout(0.5)))
            layers.append(("out", nn.Linear(channels * 9, widths[1])))
            return nn.Sequential(OrderedDict(layers)), f"CNN Conv2d(1, {channels}, 3) + {act}"
        if kind == "nested":
            block = nn.Sequential(nn.Linear(n_in, widths[0]), ACTIVATIONS[act]())
            head = [nn.Linear(widths[0], widths[1]), nn.Tanh()]
            if dropout:
                head.append(nn.Dropout(0.5))
            head.append(nn.Linear(widths[1], 3))
            model = nn.Sequential(OrderedDict(block=block, head=nn.Sequential(*head)))
            return model, f"nested MLP {n_in} -> {widths[0]} ({act}) -> {widths[1]} -> 3"
        layers, width = [], n_in
        for i, units in enumerate(widths, start=1):
            layers += [(f"fc{i}", nn.Linear(width, units)), (f"{act.lower()}{i}",
                                                               ACTIVATIONS[act]())]
            if dropout and i == 1:
                layers.append(("dropout", nn.Dropout(0.5)))
            width = units
        shape = " -> ".join(str(w) for w in [n_in, *widths])
        return nn.Sequential(OrderedDict(layers)), f"MLP {shape} ({act})"

    with seeded(seed):
        model, description = build()
    model.train(bool(dropout))
    names = [name for name, _ in model.named_modules() if name]
    layers = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    n = draw(st.integers(1, 12))
    # float64 too, like the notebook's pixels: the function turns X into float32 itself.
    X = (_rng(draw).normal(size=(n, n_in)) * 2).astype(draw(st.sampled_from(("float32",
                                                                              "float64"))))
    return TorchCase(model, X, layers, description)


# -- training -----------------------------------------------------------------------------
class TrainCase:
    """A small classifier and a toy data set of well separated blobs."""

    def __init__(self, model, X, y, epochs, lr, batch_size, seed):
        self.model, self.X, self.y = model, X, y
        self.epochs, self.lr, self.batch_size, self.seed = epochs, lr, batch_size, seed

    def __repr__(self) -> str:
        return (f"{self.model.__class__.__name__} {self.describe_model()} on {len(self.y)} "
                f"points of {int(self.y.max()) + 1} classes (X {self.X.dtype}, y "
                f"{self.y.dtype}), epochs={self.epochs}, lr={self.lr}, "
                f"batch_size={self.batch_size}, seed={self.seed}")

    def describe_model(self):
        return "[" + ", ".join(type(m).__name__ for m in self.model) + "]"


@st.composite
def train_cases(draw, min_epochs=1, max_epochs=3):
    """`TrainCase`: 2-4 Gaussian blobs in 2-6 dimensions, 40-120 points (X float32, float64
    or whole numbers in int64; y int64 or int32), a 1-hidden-layer network, 1-3 epochs,
    lr 0.01-0.05 and batches of 8-32 (always more than one batch)."""
    n_classes = draw(st.integers(2, 4))
    dims = draw(st.integers(2, 6))
    n = draw(st.integers(40, 120))
    hidden = draw(st.integers(4, 16))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = _rng(draw)
    y = np.arange(n) % n_classes
    centres = rng.normal(size=(n_classes, dims)) * 3
    X = centres[y] + rng.normal(scale=0.5, size=(n, dims))
    x_type = draw(st.sampled_from(("float32", "float64", "int64")))
    X = np.round(X * 2).astype(np.int64) if x_type == "int64" else X.astype(x_type)
    with seeded(seed):
        model = nn.Sequential(nn.Linear(dims, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
    y = y.astype(draw(st.sampled_from((np.int64, np.int32))))
    return TrainCase(model, X, y, draw(st.integers(min_epochs, max_epochs)),
                     draw(st.sampled_from((0.01, 0.02, 0.05))),
                     draw(st.sampled_from((8, 16, 32))), draw(st.integers(0, 1000)))


# -- point clouds -------------------------------------------------------------------------
class Cloud:
    def __init__(self, points, labels, k):
        self.points, self.labels, self.k = points, labels, k

    def __repr__(self) -> str:
        return (f"points={self.points.tolist()}, labels={self.labels.tolist()}, k={self.k}")


@st.composite
def clouds(draw, grid=True, duplicates=False, min_n=2, max_n=30, k=None):
    """`Cloud`: 2-30 points in 1-3 dimensions on an integer grid of side 7 (``grid``, many
    ties; float64 or int64) or at multiples of 1/4; labels 0-3; k from 1 to n - 1, or
    ``k="largest"`` (n - 1), or a fixed number. ``duplicates`` repeats some points exactly."""
    n = draw(st.integers(min_n, max_n))
    dims = draw(st.integers(1, 3))
    values = st.integers(-3, 3).map(float) if grid else st.sampled_from(DYADIC)
    points = np.array(draw(st.lists(st.lists(values, min_size=dims, max_size=dims),
                                    min_size=n, max_size=n)), dtype=np.float64)
    if duplicates:
        copies = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                               min_size=1, max_size=n))
        for src, dst in copies:
            points[dst] = points[src]
    labels = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), np.int64)
    if grid and draw(st.booleans()):
        points = points.astype(np.int64)  # whole coordinates may come as integers
    if k is None:
        k = draw(st.integers(1, n - 1))
    elif k == "largest":
        k = n - 1
    return Cloud(points, labels, k)


# -- activation matrices ------------------------------------------------------------------
class Activations:
    def __init__(self, A, note=""):
        self.A, self.note = A, note

    def __repr__(self) -> str:
        return f"activations={self.A.tolist()}{self.note}"


@st.composite
def activation_matrices(draw, dead=None, opposite=None, min_rows=3, max_rows=20,
                        integers=False):
    """`Activations`: 3-20 rows x 1-8 neurons of multiples of 1/4; ``dead`` makes some
    neurons constant (0 or 0.5), ``opposite`` makes some neurons a negative multiple of
    another (r = -1). ``integers``: whole numbers from -3 to 3 in an int64 array (a dead
    neuron is then constant 0 or 1, an opposite one -1 or -2 times another, plus 1)."""
    n = draw(st.integers(min_rows, max_rows))
    m = draw(st.integers(2, 8))
    values = st.integers(-3, 3).map(float) if integers else st.sampled_from(DYADIC)
    A = np.array(draw(st.lists(values, min_size=n * m, max_size=n * m)),
                 dtype=np.float64).reshape(n, m)
    if dead if dead is not None else draw(st.booleans()):
        for j in draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m // 2 + 1)):
            A[:, j] = draw(st.sampled_from((0.0, 1.0) if integers else (0.0, 0.5)))
    if opposite if opposite is not None else draw(st.booleans()):
        src, dst = draw(st.integers(0, m - 1)), draw(st.integers(0, m - 1))
        factors = (-1.0, -2.0) if integers else (-1.0, -2.0, -0.5)
        A[:, dst] = A[:, src] * draw(st.sampled_from(factors)) + (1.0 if integers else 0.25)
    if integers:
        return Activations(A.astype(np.int64), " (an int64 array)")
    return Activations(A)


class Labelled:
    def __init__(self, A, y, label, n_estimators, seed):
        self.A, self.y, self.label, self.n_estimators, self.seed = A, y, label, n_estimators, seed

    def __repr__(self) -> str:
        return (f"activations of shape {self.A.shape} (rows {self.A[:2].tolist()}...), "
                f"y={self.y.tolist()}, label={self.label}, n_estimators={self.n_estimators}, "
                f"seed={self.seed}")


@st.composite
def labelled_activations(draw):
    """`Labelled`: 20-60 instances x 2-8 neurons, classes 0-3 (each present), a class asked
    for, 3-20 trees and a seed; one neuron responds to one class."""
    rng = _rng(draw)
    n_classes = draw(st.integers(2, 4))
    n = draw(st.integers(20, 60))
    m = draw(st.integers(2, 8))
    y = rng.permutation(np.arange(n) % n_classes).astype(np.int64)
    A = np.round(rng.normal(size=(n, m)) * 4) / 4
    A[:, rng.integers(m)] += 2.0 * (y == rng.integers(n_classes))
    return Labelled(A, y, draw(st.integers(0, n_classes - 1)), draw(st.integers(3, 20)),
                    draw(st.integers(0, 1000)))


class Clustered:
    def __init__(self, A, y, perplexity, note):
        self.A, self.y, self.perplexity, self.note = A, y, perplexity, note

    def __repr__(self) -> str:
        return (f"{len(self.y)} instances of {int(self.y.max()) + 1} classes x "
                f"{self.A.shape[1]} features{self.note}, perplexity={self.perplexity}")


@st.composite
def clustered_activations(draw, huge_noise=False, dead=None, integers=False, float32=False):
    """`Clustered`: 3-5 classes of 15-25 instances with 4-10 informative features;
    ``huge_noise`` adds a feature of pure noise with a scale of 10,000, ``dead`` a constant
    feature (a dead neuron); ``integers`` rounds the features to whole numbers (int64),
    ``float32`` stores them as float32 (as torch activations come)."""
    rng = _rng(draw)
    n_classes, n_per = draw(st.integers(3, 5)), draw(st.integers(15, 25))
    n_feat = draw(st.integers(4, 10))
    y = np.repeat(np.arange(n_classes), n_per)
    A = rng.normal(size=(n_classes, n_feat))[y] * 3 + rng.normal(size=(len(y), n_feat))
    notes = []
    if huge_noise:
        A = np.hstack([A, rng.normal(scale=1e4, size=(len(y), 1))])
        notes.append("one more feature of noise with a standard deviation of 10,000")
    if dead if dead is not None else draw(st.booleans()):
        A = np.hstack([A, np.zeros((len(y), 1))])
        notes.append("a constant feature (all 0)")
    if integers:
        A = np.round(A).astype(np.int64)
        notes.append("whole numbers in an int64 array")
    elif float32:
        A = A.astype(np.float32)
        notes.append("a float32 array")
    note = " (" + "; ".join(notes) + ")" if notes else ""
    return Clustered(A, y.astype(np.int64), draw(st.sampled_from((5.0, 10.0, 15.0))), note)


class NeuronMap:
    def __init__(self, points, importance, label):
        self.points, self.importance, self.label = points, importance, label

    def __repr__(self) -> str:
        return (f"neuron_points={self.points.tolist()}, importance={self.importance.tolist()}, "
                f"label={self.label}")


@st.composite
def neuron_maps(draw, max_neurons=12):
    m = draw(st.integers(1, max_neurons))
    points = np.array(draw(st.lists(st.sampled_from(DYADIC), min_size=2 * m, max_size=2 * m)),
                      dtype=np.float64).reshape(m, 2)
    importance = np.array(draw(st.lists(st.sampled_from(tuple(np.arange(9) / 8)), min_size=m,
                                        max_size=m)), dtype=np.float64)
    return NeuronMap(points, importance, draw(st.integers(0, 9)))


# -- the fixed real-MNIST case ------------------------------------------------------------
class Trained(NamedTuple):
    mlp: nn.Module
    cnn: nn.Module
    X: np.ndarray  # float32, the first 300 test digits
    y: np.ndarray


def _trained(name, make, X_train, y_train):
    from reference.projections import train_with_checkpoints

    def train(model):
        with torch.random.fork_rng(devices=[]):
            train_with_checkpoints(model, X_train, y_train, epochs=1, seed=0)

    return cached_model(f"hidden-activity-{name}-e1-s0", make, train)


@functools.lru_cache(maxsize=1)
def trained() -> Trained:
    """The lab's MLP and CNN (reference.projections.make_mlp / make_cnn) trained for one
    epoch on the embedded MNIST split, and the first 300 test digits."""
    from reference.data import embedded_split
    from reference.projections import make_cnn, make_mlp

    X_train, X_test, y_train, y_test = embedded_split()
    mlp = _trained("mlp", make_mlp, X_train, y_train)
    cnn = _trained("cnn", make_cnn, X_train, y_train)
    return Trained(mlp, cnn, X_test[:300].astype(np.float32), y_test[:300])


@functools.lru_cache(maxsize=1)
def last_layer() -> tuple[np.ndarray, np.ndarray]:
    """(activations of the trained MLP's relu4 for the 300 digits, their labels)."""
    from reference.projections import get_all_activations

    case = trained()
    return get_all_activations(case.mlp, case.X, ["relu4"])["relu4"], case.y


@functools.lru_cache(maxsize=1)
def last_layer_map() -> np.ndarray:
    """The reference t-SNE map of `last_layer` (300 x 2)."""
    from reference.projections import project

    return project(last_layer()[0], seed=0, max_iter=250)
