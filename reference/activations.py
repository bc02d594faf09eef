"""Looking inside an sklearn MLP: layer outputs, average activations and activation matrices.

A neuron activation matrix (as in the ActiVis paper) has one row per subset of instances
and one column per hidden neuron; each cell is the neuron's mean activation over the
subset. Hidden neurons are numbered 0, 1, 2, ... across all hidden layers, first hidden
layer first, so a model with ``hidden_layer_sizes=(512, 256)`` has neurons 0..767.

Everything here runs ONE forward pass over all instances and then groups rows with
pandas; ``calculate_activation_matrix_loop`` keeps the slower one-subset-at-a-time
version for comparison.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.neural_network._base import ACTIVATIONS
from sklearn.utils import check_array

__all__ = [
    "get_layer_output",
    "get_hidden_activations",
    "get_average_activations",
    "calculate_activation_matrix",
    "calculate_activation_matrix_loop",
    "get_top_neurons",
    "filter_activations",
    "confusion_matrix_frame",
    "calculate_activation_matrix_errors",
]


def _check_input(model, X):
    # Same validation (and so the same dtype) as MLPClassifier.predict_proba: anything
    # else could change the rounding of the matrix products and break exact equality.
    X = check_array(X, dtype="numeric")
    n_inputs = model.coefs_[0].shape[0]
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} features, but the model expects {n_inputs}")
    return X


def _forward(model, X, layer):
    """Outputs of layers 2..layer, computed exactly as sklearn does."""
    outputs = []
    a = X
    for i in range(layer - 1):
        a = a @ model.coefs_[i] + model.intercepts_[i]
        is_output = i == model.n_layers_ - 2
        # sklearn's own functions work in place on the fresh array `a`, never on X.
        ACTIVATIONS[model.out_activation_ if is_output else model.activation](a)
        outputs.append(a)
    return outputs


def get_layer_output(model, X, layer):
    """Return the output of one layer of a fitted ``MLPClassifier``.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier
        A fitted model.
    X : array-like of shape (n_samples, n_features)
        The instances.
    layer : int
        1 is the input layer, ``2 .. model.n_layers_ - 1`` are the hidden layers and
        ``model.n_layers_`` is the output layer.

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_units)
        The layer's activations as floats. Layer 1 is ``X`` itself; hidden layers apply
        ``model.activation`` (relu, logistic, tanh or identity) to ``a @ W + b``; the
        output layer is identical to ``model.predict_proba(X)``, including the binary case
        where the single logistic unit ``p`` becomes the two columns ``[1 - p, p]``.

    Raises
    ------
    ValueError
        If ``layer`` is not an integer between 1 and ``model.n_layers_``, or ``X`` does not
        have the model's number of features.
    """
    n_layers = model.n_layers_
    if (
        isinstance(layer, bool)
        or not isinstance(layer, numbers.Integral)
        or not 1 <= layer <= n_layers
    ):
        raise ValueError(
            f"layer must be an integer from 1 (input) to {n_layers} (output), got {layer!r}"
        )
    X = _check_input(model, X)
    if layer == 1:
        return X.copy() if X.dtype.kind == "f" else X.astype(np.float64)
    out = _forward(model, X, layer)[-1]
    if layer == n_layers and model.n_outputs_ == 1:
        p = out.ravel()
        out = np.vstack([1 - p, p]).T
    return out


def get_hidden_activations(model, X):
    """Return every hidden neuron's activation for every instance, from one forward pass.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier
        A fitted model.
    X : array-like of shape (n_samples, n_features)
        The instances.

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_hidden), float64
        Column ``j`` is hidden neuron ``j``: the first hidden layer's units come first.
    """
    X = _check_input(model, X)
    hidden = _forward(model, X, model.n_layers_ - 1)
    if not hidden:
        return np.empty((X.shape[0], 0))
    return np.hstack(hidden).astype(np.float64, copy=False)


def get_average_activations(X, nn):
    """Return the mean activation of every hidden neuron over the instances ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The instances, at least one.
    nn : sklearn.neural_network.MLPClassifier
        A fitted model.

    Returns
    -------
    numpy.ndarray of shape (n_hidden,), float64
        Flat array, first hidden layer first (768 numbers for ``hidden_layer_sizes=(512, 256)``).

    Raises
    ------
    ValueError
        If ``X`` has no rows.
    """
    if len(X) == 0:
        raise ValueError("X has no instances: the average activation is undefined")
    return get_hidden_activations(nn, X).mean(axis=0)


def _as_labels(y, name):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {y.shape}")
    # Float labels such as 3.0 are accepted; anything else that is not an integer is not.
    is_whole = y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.trunc(y))
    if y.dtype.kind not in "iub" and not is_whole:
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64)


def _long_frame(keys, means):
    """Turn a (n_groups, n_hidden) matrix into rows ordered by group, then neuron."""
    n_groups, n_hidden = means.shape
    frame = {"neuron": np.tile(np.arange(n_hidden, dtype=np.int64), n_groups)}
    for column, values in keys.items():
        frame[column] = np.repeat(np.asarray(values, dtype=np.int64), n_hidden)
    frame["activation"] = means.ravel().astype(np.float64)
    return pd.DataFrame(frame)


def _group_means(H, keys):
    # skipna=False keeps np.mean's meaning (a NaN activation makes the mean NaN).
    return pd.DataFrame(H).groupby(keys, sort=True).mean(skipna=False)


def calculate_activation_matrix(X, y, nn):
    """Return the neuron activation matrix with one row per (label, hidden neuron).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The instances.
    y : array-like of shape (n_samples,)
        Integer ground-truth labels; the subsets are the labels present in ``y``.
    nn : sklearn.neural_network.MLPClassifier
        A fitted model.

    Returns
    -------
    pandas.DataFrame
        Columns ``neuron`` (int64), ``label`` (int64), ``activation`` (float64, the mean
        activation of the neuron over the instances with that label), ordered by label
        then neuron, with a RangeIndex.
    """
    y = _as_labels(y, "y")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    if len(y) == 0:
        return _long_frame({"label": []}, np.empty((0, 0)))
    means = _group_means(get_hidden_activations(nn, X), y)
    return _long_frame({"label": means.index.to_numpy()}, means.to_numpy())


def calculate_activation_matrix_loop(X, y, nn):
    """Same result as `calculate_activation_matrix`, one forward pass per label.

    Kept for the benchmark: this is the straightforward way, and it pays the Python and
    BLAS call overheads once per class instead of once.
    """
    y, X = _as_labels(y, "y"), np.asarray(X)
    frames = [
        _long_frame({"label": [label]}, get_average_activations(X[y == label], nn)[np.newaxis])
        for label in np.unique(y)
    ]
    if not frames:
        return _long_frame({"label": []}, np.empty((0, 0)))
    return pd.concat(frames, ignore_index=True)


def get_top_neurons(activations, num_neurons, subset=None):
    """Return the ids of the neurons with the highest mean activation.

    Parameters
    ----------
    activations : pandas.DataFrame
        Has columns ``neuron`` and ``activation`` (and ``label`` when ``subset`` is given).
    num_neurons : int
        How many neurons to return; more than there are returns all of them.
    subset : int, optional
        Rank by the rows where ``label == subset``. If None, rank by each neuron's mean
        ``activation`` over all its rows.

    Returns
    -------
    list of int
        Neuron ids by descending activation; equal activations go to the lower id first.

    Raises
    ------
    ValueError
        If ``num_neurons`` is negative, or ``subset`` is not a label of the frame.
    """
    if isinstance(num_neurons, bool) or not isinstance(num_neurons, numbers.Integral):
        raise ValueError(f"num_neurons must be an integer, got {num_neurons!r}")
    if num_neurons < 0:
        raise ValueError(f"num_neurons must be at least 0, got {num_neurons}")
    rows = activations
    if subset is not None:
        if "label" not in activations.columns:
            raise ValueError("subset was given but the frame has no 'label' column")
        rows = activations[activations["label"] == subset]
        if rows.empty:
            raise ValueError(f"label {subset!r} is not in the activations frame")
    means = rows.groupby("neuron")["activation"].mean().reset_index()
    ranked = means.sort_values(
        ["activation", "neuron"], ascending=[False, True], na_position="last", kind="stable"
    )
    return [int(n) for n in ranked["neuron"].iloc[: int(num_neurons)]]


def filter_activations(activations, neurons):
    """Keep only the rows of the given neurons.

    Parameters
    ----------
    activations : pandas.DataFrame
        Has a ``neuron`` column.
    neurons : iterable of int
        Neuron ids to keep.

    Returns
    -------
    pandas.DataFrame
        The matching rows in their original relative order, with a fresh RangeIndex.
    """
    keep = activations["neuron"].isin(list(neurons))
    return activations[keep].reset_index(drop=True)


def confusion_matrix_frame(y_true, y_pred):
    """Return a confusion matrix in long form.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Integer ground-truth and predicted labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``true_label``, ``predicted_label``, ``count`` (all int64): one row for
        every pair of labels from the sorted union of both arrays, zero counts included,
        ordered by true label then predicted label.
    """
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    labels = np.union1d(y_true, y_pred)
    k = len(labels)
    cell = np.searchsorted(labels, y_true) * k + np.searchsorted(labels, y_pred)
    return pd.DataFrame(
        {
            "true_label": np.repeat(labels, k),
            "predicted_label": np.tile(labels, k),
            "count": np.bincount(cell, minlength=k * k).astype(np.int64),
        }
    )


def calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets):
    """Return the activation matrix for subsets given by (true label, predicted label).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The instances.
    y_true, y_pred : array-like of shape (n_samples,)
        Integer ground-truth and predicted labels.
    nn : sklearn.neural_network.MLPClassifier
        A fitted model.
    subsets : list of (int, int)
        ``(true label, predicted label)`` pairs, e.g. ``[(4, 9), (9, 4)]``.

    Returns
    -------
    pandas.DataFrame
        Columns ``neuron``, ``true_label``, ``predicted_label`` (int64) and ``activation``
        (float64): one row per (subset, neuron), subsets in the given order and neurons
        ascending. Subsets without any instance are left out.
    """
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if not len(X) == len(y_true) == len(y_pred):
        raise ValueError("X, y_true and y_pred must have the same number of rows")
    pairs = [(int(t), int(p)) for t, p in subsets]
    # Only the instances of some requested subset need a forward pass.
    wanted = pd.MultiIndex.from_arrays([y_true, y_pred]).isin(pairs) if pairs else []
    rows = np.flatnonzero(wanted)
    if rows.size == 0:
        return _long_frame({"true_label": [], "predicted_label": []}, np.empty((0, 0)))
    hidden = get_hidden_activations(nn, np.asarray(X)[rows])
    means = _group_means(hidden, [y_true[rows], y_pred[rows]])
    present = [pair for pair in pairs if pair in means.index]
    return _long_frame(
        {
            "true_label": [t for t, _ in present],
            "predicted_label": [p for _, p in present],
        },
        means.loc[present].to_numpy(),
    )
