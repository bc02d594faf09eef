"""MNIST as torch tensors and DataLoaders, without torchvision.

torchvision's ``datasets.MNIST`` downloads the data; this course uses its own offline loader
(:mod:`reference.data`) and wraps the arrays in a ``TensorDataset``::

    splits = mnist_tensors()                     # 3,600 / 400 / 1,000 digits
    X_train, y_train = splits["train"]           # float32 (3600, 784) in [0, 1], int64
    trainloader = make_loader(X_train, y_train, batch_size=64, shuffle=True, seed=0)

Images for a convolutional network are ``X.view(-1, 1, 28, 28)`` (see :func:`as_images`):
one grey channel of 28 x 28 pixels.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .data import load_mnist, train_val_test_split

__all__ = [
    "IMAGE_SHAPE",
    "to_tensors",
    "count_parameters",
    "as_images",
    "mnist_tensors",
    "make_loader",
    "mnist_loaders",
]

IMAGE_SHAPE = (1, 28, 28)


def to_tensors(X, y=None):
    """Convert samples (and labels, if given) to the tensors a torch classifier expects.

    Parameters
    ----------
    X : array_like of shape (n, ...)
        Samples (for MNIST: pixels already scaled to [0, 1]).
    y : array_like of shape (n,), optional
        Integer class labels.

    Returns
    -------
    X : torch.Tensor of float32, the same shape as ``X``
        Alone when ``y`` is not given.
    y : torch.Tensor of int64, shape (n,)
        ``nn.NLLLoss`` and ``nn.CrossEntropyLoss`` want int64 ("long") targets.

    Raises
    ------
    ValueError
        If ``X`` and ``y`` have different numbers of rows, or ``y`` is not 1-D.
    """
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    if y is None:
        return X
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    if y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X has shape {tuple(X.shape)} but y has shape {tuple(y.shape)}: "
                         "expected one label per row")
    return X, y


def count_parameters(model):
    """The number of parameters (weights and biases) of a torch model.

    Every parameter counts, trainable or frozen (``requires_grad=False``), each tensor
    once even if a layer is used twice; buffers (such as batch-norm running means) are not
    parameters and do not count. A ``Linear(n_in, n_out)`` has ``n_in * n_out + n_out``.

    Returns
    -------
    int
    """
    return int(sum(p.numel() for p in model.parameters()))


def as_images(X):
    """Reshape flat 784-pixel rows to images ``[n, 1, 28, 28]`` (a view, no copy).

    Raises
    ------
    ValueError
        If a row does not have 784 values.
    """
    X = torch.as_tensor(X)
    if X.ndim < 2 or math.prod(X.shape[1:]) != 784:
        raise ValueError(f"expected rows of 784 pixels, got shape {tuple(X.shape)}")
    return X.reshape(-1, *IMAGE_SHAPE)


def mnist_tensors(val_size=400, test_size=1000, seed=0, images=False, cache_dir=None):
    """The embedded 5,000 MNIST digits split into train / validation / test tensors.

    The split is :func:`reference.data.train_val_test_split` (stratified, seeded): with the
    defaults 3,600 / 400 / 1,000 digits, the same as two calls of sklearn's
    ``train_test_split(..., stratify=..., random_state=seed)``, test set first.

    Parameters
    ----------
    val_size, test_size : int or float, default 400 and 1000
        Numbers (or fractions) of all 5,000 digits.
    seed : int, default 0
    images : bool, default False
        Return images ``[n, 1, 28, 28]`` instead of flat rows ``[n, 784]``.
    cache_dir : path, optional
        Passed to :func:`reference.data.load_mnist`.

    Returns
    -------
    dict
        ``{"train": (X, y), "val": (X, y), "test": (X, y)}``; X float32 in [0, 1], y int64.
    """
    X, y = load_mnist(cache_dir=cache_dir)
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, val_size, test_size, seed)
    out = {}
    for name, (Xs, ys) in {"train": (X_tr, y_tr), "val": (X_va, y_va),
                           "test": (X_te, y_te)}.items():
        Xt, yt = to_tensors(Xs, ys)
        out[name] = (as_images(Xt) if images else Xt, yt)
    return out


def make_loader(X, y, batch_size=64, shuffle=False, seed=0):
    """A DataLoader over ``TensorDataset(X, y)``.

    Parameters
    ----------
    X, y : torch.Tensor
        Samples and labels (see :func:`to_tensors`).
    batch_size : int, default 64
    shuffle : bool, default False
        Reshuffle at every pass (epoch). The order comes from a generator seeded with
        ``seed``, so it is the same in every run and does not touch torch's global RNG.
    seed : int, default 0

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``(X_batch, y_batch)``; the last batch may be smaller.
    """
    generator = torch.Generator().manual_seed(int(seed))
    return DataLoader(TensorDataset(X, y), batch_size=int(batch_size), shuffle=bool(shuffle),
                      generator=generator)


def mnist_loaders(batch_size=64, seed=0, images=False, cache_dir=None):
    """Train (shuffled), validation and test loaders over :func:`mnist_tensors`.

    Returns
    -------
    trainloader, validloader, testloader : DataLoader
    """
    splits = mnist_tensors(seed=seed, images=images, cache_dir=cache_dir)
    return (make_loader(*splits["train"], batch_size, shuffle=True, seed=seed),
            make_loader(*splits["val"], batch_size),
            make_loader(*splits["test"], batch_size))
