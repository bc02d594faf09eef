"""Neuron projections and discriminative neuron maps (Rauber et al., TVCG 2017, Sec. 4).

Where `reference.projections` draws one point per *instance*, a neuron projection draws
one point per *neuron* of a layer: two neurons are close when their activations over the
same instances are strongly correlated, whether positively or negatively. Colouring the
neurons by how well they tell one class from the others (the feature importances of
extremely randomized trees) shows which groups of neurons specialise in which classes.

``activations`` is always a matrix with one row per instance and one column per neuron,
as returned by `reference.projections.get_all_activations`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.manifold import MDS

__all__ = [
    "neuron_dissimilarity",
    "neuron_projection",
    "discriminative_importance",
    "discriminative_importances",
    "neuron_roles",
]


def _matrix(activations):
    A = np.asarray(activations, dtype=np.float64)
    if A.ndim != 2:
        raise ValueError(f"activations must be a 2-D (instances x neurons) array, got {A.shape}")
    return A


def neuron_dissimilarity(activations):
    """Dissimilarity ``1 - |r|`` between every pair of neurons.

    Parameters
    ----------
    activations : array-like of shape (n_instances, n_neurons)

    Returns
    -------
    numpy.ndarray of shape (n_neurons, n_neurons), float64
        ``r`` is the Pearson correlation of the two neurons' activation columns, so neurons
        that rise and fall together (r near 1) or in opposition (r near -1) are both close.
        The matrix is symmetric with values in [0, 1] and zeros on the diagonal. A neuron
        whose activations are all equal (a dead ReLU neuron) has no correlation: it is
        taken as ``r = 0``, dissimilarity 1, with every other neuron.
    """
    A = _matrix(activations)
    constant = np.ptp(A, axis=0) == 0 if len(A) else np.ones(A.shape[1], bool)
    centered = A - A.mean(axis=0)
    norms = np.sqrt((centered**2).sum(axis=0))
    scale = np.where(constant | (norms == 0), 0.0, 1.0 / np.where(norms > 0, norms, 1.0))
    Z = centered * scale
    r = Z.T @ Z
    D = np.clip(1.0 - np.abs(r), 0.0, 1.0)
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0.0)
    return D


def neuron_projection(activations, seed=0):
    """Place every neuron in 2-D with metric MDS of `neuron_dissimilarity`.

    Returns
    -------
    numpy.ndarray of shape (n_neurons, 2), float64
        SMACOF started from classical MDS (``sklearn.manifold.MDS(metric="precomputed",
        init="classical_mds", random_state=seed)``): deterministic for a given input.
    """
    D = neuron_dissimilarity(activations)
    mds = MDS(n_components=2, metric="precomputed", init="classical_mds", random_state=seed)
    return np.asarray(mds.fit_transform(D), dtype=np.float64)


def discriminative_importance(activations, y, label, n_estimators=100, seed=0):
    """How much each neuron helps to tell class ``label`` from all the other classes.

    Parameters
    ----------
    activations : array-like of shape (n_instances, n_neurons)
    y : array-like of shape (n_instances,)
        The instances' classes.
    label : int
        The class against the rest.
    n_estimators : int, default 100
    seed : int, default 0

    Returns
    -------
    numpy.ndarray of shape (n_neurons,), float64
        ``feature_importances_`` of ``ExtraTreesClassifier(n_estimators=n_estimators,
        random_state=seed)`` fitted on the activations with the target ``y == label``
        (non-negative, summing to 1). The same seed gives the same numbers.

    Raises
    ------
    ValueError
        If ``label`` is not in ``y``, or every instance has it (nothing to tell apart).
    """
    A = _matrix(activations)
    target = np.asarray(y) == label
    if len(target) != len(A):
        raise ValueError(f"{len(A)} rows of activations but {len(target)} labels")
    if not target.any() or target.all():
        raise ValueError(f"label {label!r} must be the class of some instances, not of all")
    forest = ExtraTreesClassifier(n_estimators=n_estimators, random_state=seed)
    forest.fit(A, target)
    return np.asarray(forest.feature_importances_, dtype=np.float64)


def discriminative_importances(activations, y, labels=None, n_estimators=100, seed=0):
    """`discriminative_importance` for several classes, one row per class.

    ``labels`` defaults to the sorted classes of ``y``. Returns an array of shape
    (n_labels, n_neurons).
    """
    labels = np.unique(y) if labels is None else labels
    return np.vstack([discriminative_importance(activations, y, label, n_estimators, seed)
                      for label in labels])


def neuron_roles(importances, labels):
    """The class each neuron discriminates best, for the discriminative neuron map.

    Parameters
    ----------
    importances : array-like of shape (n_labels, n_neurons)
        From `discriminative_importances`.
    labels : sequence of int
        The class of each row.

    Returns
    -------
    pandas.DataFrame
        One row per neuron: ``neuron`` (int64), ``label`` (the class of the largest
        importance in the neuron's column; the first such row on ties) and ``importance``
        (that largest importance, float64).
    """
    imp = np.asarray(importances, dtype=np.float64)
    labels = np.asarray(labels)
    if imp.ndim != 2 or len(labels) != imp.shape[0]:
        raise ValueError(f"importances of shape {imp.shape} do not match {len(labels)} labels")
    best = np.argmax(imp, axis=0)
    return pd.DataFrame({
        "neuron": np.arange(imp.shape[1], dtype=np.int64),
        "label": labels[best].astype(np.int64),
        "importance": imp[best, np.arange(imp.shape[1])],
    })
