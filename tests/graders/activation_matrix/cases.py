"""Hypothesis strategies and fixed real-MNIST cases for the activation_matrix graders.

Random models are real fitted ``MLPClassifier`` objects (so ``predict_proba`` and every
attribute a student may use exist) whose weights are then replaced by random finite ones.
Fitting is the slow part, so one fitted skeleton is cached per architecture and deep-copied
before its weights are overwritten. Everything a strategy draws is small: a few hidden
units, a few features, at most 30 rows, so that a failing case fits in a feedback message.

Each drawn case is an object with a short ``repr`` (the architecture and the shapes): that
is what a student reads as the counterexample, so it must not be a wall of numbers.
"""

from __future__ import annotations

import copy
import functools
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from course.graders.model_cache import cached_object

__all__ = [
    "ACTIVATIONS",
    "make_mlp",
    "ModelCase",
    "model_cases",
    "LabelledCase",
    "labelled_cases",
    "ErrorCase",
    "error_cases",
    "DYADIC",
    "activation_frames",
    "error_frames",
    "label_pairs",
    "TrainedCase",
    "trained_case",
    "trained_subset",
]

ACTIVATIONS = ("relu", "logistic", "tanh", "identity")
# Values with exact binary sums: means over any grouping, in any summation order, are
# bitwise equal, so ties built from them are real ties for every correct implementation.
DYADIC = (-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0)


# -- random small MLPs -------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _skeleton(n_features: int, hidden: tuple, activation: str, n_classes: int):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(max(2 * n_classes, 4), n_features))
    y = np.arange(len(X)) % n_classes
    model = MLPClassifier(hidden_layer_sizes=hidden, activation=activation, max_iter=1,
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model


def make_mlp(n_features, hidden, activation, n_classes, seed, scale=1.0) -> MLPClassifier:
    """A fitted ``MLPClassifier`` of this architecture with random weights from ``seed``.

    Weights are normal with standard deviation ``scale / sqrt(fan_in)`` and biases normal
    with ``scale / 2``: activations stay in a range where every nonlinearity matters.
    """
    model = copy.deepcopy(_skeleton(int(n_features), tuple(hidden), activation, int(n_classes)))
    rng = np.random.default_rng(seed)
    model.coefs_ = [rng.normal(scale=scale / np.sqrt(w.shape[0]), size=w.shape)
                    for w in model.coefs_]
    model.intercepts_ = [rng.normal(scale=scale / 2, size=b.shape) for b in model.intercepts_]
    return model


def _inputs(rng, n_rows, n_features, kind):
    if kind == "pixels":  # like scaled MNIST: in [0, 1], many exact zeros
        X = rng.random((n_rows, n_features))
        X[X < 0.3] = 0.0
        return X
    if kind == "integers":  # like raw MNIST pixels, not scaled: integers 0-255
        return rng.integers(0, 256, size=(n_rows, n_features), dtype=np.int64)
    return rng.normal(scale=2.0, size=(n_rows, n_features))


def _describe_model(model) -> str:
    hidden = tuple(int(w.shape[1]) for w in model.coefs_[:-1])
    return (f"hidden_layer_sizes={hidden}, activation={model.activation!r}, "
            f"{len(model.classes_)} classes, {model.coefs_[0].shape[0]} features")


class ModelCase:
    """A random model and inputs for it."""

    def __init__(self, model: MLPClassifier, X: np.ndarray):
        self.model, self.X = model, X

    def __repr__(self) -> str:
        integers = " (integers)" if self.X.dtype.kind in "iu" else ""
        return (f"MLPClassifier({_describe_model(self.model)}) on X of shape "
                f"{self.X.shape}{integers}")


@st.composite
def _architecture(draw, n_classes=None, activations=ACTIVATIONS, max_layers=3, max_units=20):
    hidden = tuple(draw(st.lists(st.integers(1, max_units), min_size=1, max_size=max_layers)))
    activation = draw(st.sampled_from(activations))
    classes = draw(st.integers(2, 10) if n_classes is None else n_classes)
    n_features = draw(st.integers(1, 12))
    scale = draw(st.sampled_from((1.0, 3.0)))
    seed = draw(st.integers(0, 2**32 - 1))
    return make_mlp(n_features, hidden, activation, classes, seed, scale)


@st.composite
def model_cases(draw, *, min_rows=1, max_rows=30, n_classes=None, activations=ACTIVATIONS,
                kinds=("normal", "pixels")):
    """`ModelCase`: a random MLP (1-3 hidden layers of 1-20 units) and 1-30 input rows.

    ``n_classes`` is a strategy for the number of classes (default 2..10; 2 is binary);
    ``kinds`` the kinds of inputs: normal floats, scaled "pixels" in [0, 1], or raw
    "integers" 0-255.
    """
    model = draw(_architecture(n_classes=n_classes, activations=activations))
    n_rows = draw(st.integers(min_rows, max_rows))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(kinds))
    return ModelCase(model, _inputs(rng, n_rows, model.coefs_[0].shape[0], kind))


class LabelledCase(ModelCase):
    """A random model, inputs, and one integer label per row."""

    def __init__(self, model, X, y):
        super().__init__(model, X)
        self.y = y

    def __repr__(self) -> str:
        labels, counts = np.unique(self.y, return_counts=True)
        present = ", ".join(f"{int(k)}: {int(c)}" for k, c in zip(labels, counts, strict=True))
        return (f"MLPClassifier({_describe_model(self.model)}) on X of shape {self.X.shape}, "
                f"instances per label in y {{{present}}}")


@st.composite
def labelled_cases(draw, *, force_missing=False, force_single=False):
    """`LabelledCase`: y holds 1-4 of the model's classes, each 1-5 times, shuffled.

    ``force_missing`` leaves at least one of the model's classes out of y;
    ``force_single`` gives at least one label exactly one instance.
    """
    model = draw(_architecture())
    classes = list(range(len(model.classes_)))
    most = len(classes) - 1 if force_missing else len(classes)
    present = sorted(draw(st.lists(st.sampled_from(classes), min_size=1,
                                   max_size=min(4, most), unique=True)))
    counts = draw(st.lists(st.integers(1, 5), min_size=len(present), max_size=len(present)))
    if force_single:
        counts[draw(st.integers(0, len(counts) - 1))] = 1
    y = np.repeat(np.array(present, dtype=np.int64), counts)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y = rng.permutation(y)
    kind = draw(st.sampled_from(("normal", "pixels")))
    return LabelledCase(model, _inputs(rng, len(y), model.coefs_[0].shape[0], kind), y)


# -- error subsets -----------------------------------------------------------------------
class ErrorCase(ModelCase):
    """A random model, inputs, true and predicted labels, and the subsets asked for."""

    def __init__(self, model, X, y_true, y_pred, subsets):
        super().__init__(model, X)
        self.y_true, self.y_pred, self.subsets = y_true, y_pred, subsets

    def __repr__(self) -> str:
        return (f"MLPClassifier({_describe_model(self.model)}) on X of shape {self.X.shape}, "
                f"y_true={self.y_true.tolist()}, y_pred={self.y_pred.tolist()}, "
                f"subsets={self.subsets}")


@st.composite
def error_cases(draw, *, n_present=(1, 3), n_absent=(0, 0)):
    """`ErrorCase`: labels from 0-3 on 1-16 rows; subsets mix pairs that occur in
    (y_true, y_pred) with pairs that do not (their numbers drawn from the given ranges)."""
    model = draw(_architecture())
    n_rows = draw(st.integers(1, 16))
    y_true = np.array(draw(st.lists(st.integers(0, 3), min_size=n_rows, max_size=n_rows)))
    y_pred = np.array(draw(st.lists(st.integers(0, 3), min_size=n_rows, max_size=n_rows)))
    occurring = sorted({(int(t), int(p)) for t, p in zip(y_true, y_pred, strict=True)})
    absent = [(t, p) for t in range(5) for p in range(5) if (t, p) not in occurring]
    low, high = n_present
    chosen = draw(st.lists(st.sampled_from(occurring), min_size=min(low, len(occurring)),
                           max_size=min(high, len(occurring)), unique=True))
    low, high = n_absent
    if high:
        chosen += draw(st.lists(st.sampled_from(absent), min_size=low, max_size=high,
                                unique=True))
    subsets = draw(st.permutations(chosen)) if chosen else []
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = _inputs(rng, n_rows, model.coefs_[0].shape[0], draw(st.sampled_from(("normal", "pixels"))))
    return ErrorCase(model, X, y_true.astype(np.int64), y_pred.astype(np.int64), list(subsets))


# -- activation frames -------------------------------------------------------------------
def _values(draw, size, ties):
    pool = (0.0, 1.0) if ties else DYADIC
    return np.array(draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size)),
                    dtype=np.float64)


@st.composite
def activation_frames(draw, *, min_neurons=1, max_neurons=12, min_labels=1, max_labels=4,
                      ties=None):
    """A frame like `calculate_activation_matrix`'s: labels (1-4 of 0-9) x neurons 0..n-1,
    ordered by label then neuron, activations from a few dyadic values (many ties).
    ``ties=True`` draws only 0.0 and 1.0."""
    n_neurons = draw(st.integers(min_neurons, max_neurons))
    labels = sorted(draw(st.lists(st.integers(0, 9), min_size=min_labels, max_size=max_labels,
                                  unique=True)))
    with_ties = draw(st.booleans()) if ties is None else ties
    return pd.DataFrame({
        "neuron": np.tile(np.arange(n_neurons, dtype=np.int64), len(labels)),
        "label": np.repeat(np.array(labels, dtype=np.int64), n_neurons),
        "activation": _values(draw, n_neurons * len(labels), with_ties),
    })


def label_pairs(max_size=4):
    """Distinct (true label, predicted label) pairs from 0-4, in a random order."""
    pair = st.tuples(st.integers(0, 4), st.integers(0, 4))
    return st.lists(pair, min_size=1, max_size=max_size, unique=True)


@st.composite
def error_frames(draw, *, min_neurons=1, max_neurons=10, ties=None):
    """A frame like `calculate_activation_matrix_errors`'s: 1-4 subsets in a random order
    (not sorted) x neurons 0..n-1, activations from a few dyadic values."""
    n_neurons = draw(st.integers(min_neurons, max_neurons))
    subsets = draw(label_pairs())
    with_ties = draw(st.booleans()) if ties is None else ties
    return pd.DataFrame({
        "neuron": np.tile(np.arange(n_neurons, dtype=np.int64), len(subsets)),
        "true_label": np.repeat(np.array([t for t, _ in subsets], dtype=np.int64), n_neurons),
        "predicted_label": np.repeat(np.array([p for _, p in subsets], dtype=np.int64),
                                     n_neurons),
        "activation": _values(draw, n_neurons * len(subsets), with_ties),
    })


# -- the fixed real-MNIST case -----------------------------------------------------------
class TrainedCase(NamedTuple):
    nn: MLPClassifier
    X_test: np.ndarray
    y_test: np.ndarray
    y_pred: np.ndarray


def _train() -> MLPClassifier:
    from reference.data import embedded_split

    X_train, _, y_train, _ = embedded_split()
    model = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    return model


@functools.lru_cache(maxsize=1)
def trained_case() -> TrainedCase:
    """An MLP (64, 32) trained for 30 epochs on the embedded MNIST split, and its test set.

    The model is trained once and kept in the graders' model cache (keyed by the sklearn
    version), so grading processes load it.
    """
    import sklearn

    from reference.data import embedded_split

    _, X_test, _, y_test = embedded_split()
    model = cached_object(f"mnist-mlp-64-32-it30-rs0-sklearn{sklearn.__version__}", _train,
                          MLPClassifier)
    return TrainedCase(model, X_test, y_test, model.predict(X_test))


def trained_subset(n=300) -> TrainedCase:
    """The first ``n`` test instances of `trained_case` (all ten digits appear)."""
    nn, X, y, y_pred = trained_case()
    return TrainedCase(nn, X[:n], y[:n], y_pred[:n])
