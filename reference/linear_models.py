"""Logistic regression on MNIST as one neuron per class: data selection, means, weight images.

A logistic regression on 28 x 28 digits is a single neuron with 784 weights, one per pixel.
Drawn as a 28 x 28 image in a diverging colour map (red positive, blue negative, white 0)
the weights show which pixels speak for a class and which against it; they resemble the
difference between the classes' mean images. One-vs-rest trains one such neuron per digit
(that digit against all the others) and predicts the digit whose neuron is most confident.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

__all__ = [
    "IMAGE_SHAPE",
    "select_classes",
    "class_mean_images",
    "digit_vs_rest_means",
    "weight_image",
    "weight_images",
    "fit_binary",
    "fit_one_vs_rest",
    "one_vs_rest_coefficients",
]

IMAGE_SHAPE = (28, 28)
_N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


def _rows_and_labels(X, y):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X must be 2-D and y 1-D of the same length, got {X.shape}, {y.shape}")
    return X, y


def select_classes(X, y, class_1, class_2):
    """Keep the rows whose label is ``class_1`` or ``class_2``, in their original order.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
    y : array_like of shape (n_samples,)
    class_1, class_2 : int
        The two labels to keep.

    Returns
    -------
    X_selected : numpy.ndarray of shape (n_selected, n_features)
    y_selected : numpy.ndarray of shape (n_selected,)
        The selected rows and their labels; rows keep their relative order (they are not
        grouped by class).
    """
    X, y = _rows_and_labels(X, y)
    keep = (y == class_1) | (y == class_2)
    return X[keep], y[keep]


def _mean_image(X, mask, what):
    if not mask.any():
        raise ValueError(f"no image of {what}: its mean is undefined")
    return X[mask].mean(axis=0).reshape(IMAGE_SHAPE)


def _check_pixels(X):
    if X.shape[1] != _N_PIXELS:
        raise ValueError(f"images must have {_N_PIXELS} pixels per row, got {X.shape[1]}")


def class_mean_images(X, y, class_1, class_2):
    """The mean image of each of two classes, and their difference.

    Parameters
    ----------
    X : array_like of shape (n_samples, 784)
        Flattened 28 x 28 images.
    y : array_like of shape (n_samples,)
    class_1, class_2 : int
        Labels that occur in ``y``.

    Returns
    -------
    mean_1, mean_2, difference : numpy.ndarray of shape (28, 28)
        The pixel-wise means of the images of ``class_1`` and of ``class_2``, and
        ``mean_2 - mean_1`` (positive where ``class_2`` has more ink).

    Raises
    ------
    ValueError
        If a class has no image.
    """
    X, y = _rows_and_labels(X, y)
    _check_pixels(X)
    mean_1 = _mean_image(X, y == class_1, f"class {class_1}")
    mean_2 = _mean_image(X, y == class_2, f"class {class_2}")
    return mean_1, mean_2, mean_2 - mean_1


def digit_vs_rest_means(X, y, digit):
    """The mean image of one digit, the mean image of all other digits, and the difference.

    Parameters
    ----------
    X : array_like of shape (n_samples, 784)
    y : array_like of shape (n_samples,)
    digit : int
        A label that occurs in ``y``, with at least one other label present.

    Returns
    -------
    digit_mean, rest_mean, difference : numpy.ndarray of shape (28, 28)
        ``rest_mean`` averages every image whose label is not ``digit`` (so digits with more
        images weigh more); ``difference = digit_mean - rest_mean``.
    """
    X, y = _rows_and_labels(X, y)
    _check_pixels(X)
    digit_mean = _mean_image(X, y == digit, f"digit {digit}")
    rest_mean = _mean_image(X, y != digit, f"a digit other than {digit}")
    return digit_mean, rest_mean, digit_mean - rest_mean


def weight_image(coef):
    """The 784 weights of one neuron as a 28 x 28 image (row by row, as the pixels are).

    Parameters
    ----------
    coef : array_like of shape (784,) or (1, 784)
        For example ``LogisticRegression().fit(...).coef_`` of a two-class problem.

    Returns
    -------
    numpy.ndarray of float64, shape (28, 28)
        Weight ``k`` lands where pixel ``k`` is: row ``k // 28``, column ``k % 28``.
    """
    coef = np.asarray(coef, dtype=np.float64)
    if coef.size != _N_PIXELS or coef.ndim > 2 or (coef.ndim == 2 and coef.shape[0] != 1):
        raise ValueError(f"expected 784 weights, shape (784,) or (1, 784), got {coef.shape}")
    return coef.reshape(IMAGE_SHAPE)


def weight_images(coef):
    """The weights of several neurons (one per row) as a stack of 28 x 28 images.

    Parameters
    ----------
    coef : array_like of shape (n_neurons, 784)
        For example the ten rows of a one-vs-rest model's coefficients.

    Returns
    -------
    numpy.ndarray of float64, shape (n_neurons, 28, 28)
        Image ``i`` is `weight_image` of row ``i``.
    """
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim != 2 or coef.shape[1] != _N_PIXELS:
        raise ValueError(f"expected shape (n_neurons, 784), got {coef.shape}")
    return coef.reshape(-1, *IMAGE_SHAPE)


def _logistic(C):
    # liblinear fits each binary problem in a fraction of a second on 3,600 digits.
    return LogisticRegression(C=C, solver="liblinear")


def fit_binary(X, y, C=0.01):
    """A two-class logistic regression (the notebook's 1-vs-8 model)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _logistic(C).fit(X, y)


def fit_one_vs_rest(X, y, C=0.01):
    """Ten binary logistic regressions, each one digit against all the others."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return OneVsRestClassifier(_logistic(C)).fit(X, y)


def one_vs_rest_coefficients(model):
    """The (n_classes, 784) weight matrix of a fitted ``OneVsRestClassifier``: row ``i``
    is the neuron of ``model.classes_[i]`` against the rest."""
    return np.vstack([estimator.coef_ for estimator in model.estimators_])
