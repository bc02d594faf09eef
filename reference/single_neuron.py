"""A single artificial neuron: activation functions, weighted inputs and the output.

An artificial neuron with inputs ``x_1 .. x_n``, weights ``w_1 .. w_n`` and a bias ``b``
computes the weighted sum ``z = w_1 x_1 + ... + w_n x_n + b`` and passes it through an
activation function ``a = f(z)``. A positive weight makes its input *excite* the neuron
(more input, larger ``z``), a negative weight makes it *inhibit* the neuron, and a weight
of 0 makes the neuron ignore that input.

The activation functions here are element-wise, keep the shape of their argument, and are
numerically safe: no overflow, no RuntimeWarning, for inputs as large as +-1e300 (a
sigmoid written ``1 / (1 + np.exp(-x))`` overflows in ``np.exp`` for ``x = -1000``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = [
    "sigmoid",
    "relu",
    "linear",
    "arctan",
    "ACTIVATIONS",
    "weighted_inputs",
    "neuron_output",
]


def _as_float_array(x) -> np.ndarray:
    """``x`` as a float64 array (a copy is made only when needed)."""
    return np.asarray(x, dtype=np.float64)


def sigmoid(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow.

    Parameters
    ----------
    x : array_like
        Any shape; any finite or infinite float.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``
        Values in [0, 1]: 0.5 at 0, tending to 1 for large positive ``x`` and to 0 for
        large negative ``x``. Evaluated with ``scipy.special.expit``, which never forms
        ``exp(-x)`` for very negative ``x``, so ``sigmoid(-1e300)`` is 0.0 without a
        warning.
    """
    return expit(_as_float_array(x))


def relu(x):
    """The rectified linear unit ``max(x, 0)``.

    Parameters
    ----------
    x : array_like
        Any shape.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``
        ``x`` where ``x > 0``, else 0.0.
    """
    return np.maximum(_as_float_array(x), 0.0)


def linear(x):
    """The identity activation ``f(x) = x`` (a neuron without a non-linearity).

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``
        A new array equal to ``x``.
    """
    return _as_float_array(x).copy()


def arctan(x):
    """The arc tangent, an S-shaped activation with values in (-pi/2, pi/2).

    Returns
    -------
    numpy.ndarray of float64, same shape as ``x``
        ``numpy.arctan(x)``; it saturates at +-pi/2 for large magnitudes without warnings.
    """
    return np.arctan(_as_float_array(x))


ACTIVATIONS = {"sigmoid": sigmoid, "relu": relu, "linear": linear, "arctan": arctan}


def weighted_inputs(x, w):
    """The signal each input sends into the neuron: ``x_i * w_i``.

    Parameters
    ----------
    x : array_like of shape (n_inputs,) or (n_samples, n_inputs)
        One input, or a batch of inputs (one per row).
    w : array_like of shape (n_inputs,)
        The weights.

    Returns
    -------
    numpy.ndarray of float64, the shape of ``x``
        Positive entries excite the neuron, negative ones inhibit it.

    Raises
    ------
    ValueError
        If ``w`` is not one-dimensional or its length is not the number of inputs.
    """
    x, w = _as_float_array(x), _as_float_array(w)
    _check_shapes(x, w)
    return x * w


def neuron_output(x, w, b=0.0, activation=sigmoid):
    """The output ``activation(x @ w + b)`` of one neuron.

    Parameters
    ----------
    x : array_like of shape (n_inputs,) or (n_samples, n_inputs)
        One input, or a batch of inputs (one per row).
    w : array_like of shape (n_inputs,)
        The weights.
    b : float, default 0.0
        The bias, added to the weighted sum.
    activation : callable, default `sigmoid`
        Applied element-wise to the weighted sum ``z``.

    Returns
    -------
    float or numpy.ndarray of shape (n_samples,)
        A number for one input, one output per row for a batch.
    """
    x, w = _as_float_array(x), _as_float_array(w)
    _check_shapes(x, w)
    z = x @ w + float(b)
    out = np.asarray(activation(z), dtype=np.float64)
    return float(out) if x.ndim == 1 else out


def _check_shapes(x: np.ndarray, w: np.ndarray) -> None:
    if w.ndim != 1:
        raise ValueError(f"w must be one-dimensional, got shape {w.shape}")
    if x.ndim not in (1, 2) or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x must have shape ({w.shape[0]},) or (n_samples, {w.shape[0]}), got {x.shape}"
        )
