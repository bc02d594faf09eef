"""The hidden activity of torch networks as 2-D maps (after Rauber et al., TVCG 2017).

Rauber, Fadel, Falcao and Telea, *Visualizing the Hidden Activity of Artificial Neural
Networks* (IEEE TVCG 23(1), 2017), look at what a network does to its inputs by
projecting the activations of one hidden layer, one row per instance, to 2-D with t-SNE,
and by measuring how well the classes separate there with the *neighborhood hit*.

Everything here works on plain torch modules whose input is a flat float array (images
flattened row by row); the networks of the lab are ``nn.Sequential`` models with named
layers, so a hidden layer is addressed by its name in ``model.named_modules()``::

    model = make_mlp()
    checkpoints = train_with_checkpoints(model, X_train, y_train, epochs=4)
    acts = get_all_activations(model, X, ["relu1", "relu2"])   # {"relu1": (n, 256), ...}
    points = project(acts["relu2"], seed=0)                    # (n, 2)
    neighborhood_hit(points, y, k=6)                           # in [0, 1]
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import OrderedDict

import numpy as np
import torch
from sklearn.manifold import TSNE
from torch import nn

__all__ = [
    "make_mlp",
    "make_cnn",
    "train_with_checkpoints",
    "get_all_activations",
    "standardize",
    "project",
    "project_sequence",
    "neighborhood_hit",
]

def make_mlp(n_inputs=784, hidden=(256, 128, 128, 128), n_classes=10, seed=0):
    """An MLP with ReLU hidden layers named ``fc1, relu1, fc2, relu2, ..., out``.

    The weights are drawn from torch's default initialisation under ``torch.manual_seed(seed)``
    without touching the caller's random state. The hidden activity of layer ``i`` is the
    output of ``relu{i}``.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers, width = [], n_inputs
        for i, units in enumerate(hidden, start=1):
            layers += [(f"fc{i}", nn.Linear(width, units)), (f"relu{i}", nn.ReLU())]
            width = units
        layers.append(("out", nn.Linear(width, n_classes)))
        return nn.Sequential(OrderedDict(layers))


def make_cnn(in_channels=1, size=28, channels=(8, 16), n_hidden=128, n_classes=10, seed=0):
    """A small CNN on flat images: two 3x3 convolution + ReLU + 2x2 max-pooling blocks,
    a ReLU fully connected layer and the output layer.

    Layer names: ``unflatten, conv1, relu1, pool1, conv2, relu2, pool2, flatten, fc1, relu3,
    out``. The input rows hold ``in_channels`` planes of ``size x size`` pixels one after the
    other (MNIST: 784 = 1 x 28 x 28; CIFAR-10: 3072 = 3 x 32 x 32, red, green then blue).
    """
    c1, c2 = channels
    side = size // 4
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(OrderedDict([
            ("unflatten", nn.Unflatten(1, (in_channels, size, size))),
            ("conv1", nn.Conv2d(in_channels, c1, 3, padding=1)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(c1, c2, 3, padding=1)), ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(c2 * side * side, n_hidden)), ("relu3", nn.ReLU()),
            ("out", nn.Linear(n_hidden, n_classes)),
        ]))


def train_with_checkpoints(model, X, y, epochs, lr=1e-3, batch_size=64, seed=0):
    """Train ``model`` in place with Adam and cross-entropy; keep the weights of every epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a float32 batch of rows of ``X`` to one logit per class.
    X : array-like of shape (n, n_features)
    y : array-like of shape (n,)
        Integer class labels.
    epochs : int
        Passes over the data, in shuffled mini-batches of ``batch_size``.
    lr : float, default 1e-3
    batch_size : int, default 64
    seed : int, default 0
        Seeds the shuffling (a ``torch.Generator`` of its own).

    Returns
    -------
    list of dict
        ``epochs + 1`` state dicts: entry 0 holds the weights before training and entry
        ``e`` those after epoch ``e``. Each is a deep copy: ``model.state_dict()`` alone
        returns views of the live parameters, which the next optimizer step would change.
    """
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, y), batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    checkpoints = [copy.deepcopy(model.state_dict())]
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        checkpoints.append(copy.deepcopy(model.state_dict()))
    model.eval()
    return checkpoints


def get_all_activations(model, X, layers):
    """Return the outputs of the named submodules of ``model`` for the instances ``X``.

    Parameters
    ----------
    model : torch.nn.Module
    X : array-like of shape (n, ...)
        The model's input, converted to a float32 tensor.
    layers : list of str
        Names of submodules as in ``dict(model.named_modules())`` (``"relu2"``, or
        ``"block.1"`` for a nested one). Each must run exactly once in a forward pass.

    Returns
    -------
    dict of str to numpy.ndarray
        For each name, in the order of ``layers``, the module's output captured by a forward
        hook and flattened to shape ``(n, features)`` (float32). The pass runs in evaluation
        mode (dropout off) without gradients; the model's training mode is restored and the
        hooks are removed afterwards, also on error.

    Raises
    ------
    ValueError
        If a name is not a submodule of ``model``, or the module did not run.
    """
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"not submodules of the model: {unknown}; "
                         f"choose from {list(modules)[1:]}")
    captured = {}

    def hook_for(name):
        def hook(module, inputs, output):
            captured[name] = output.detach()
        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in layers]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    silent = [name for name in layers if name not in captured]
    if silent:
        raise ValueError(f"these modules did not run in the forward pass: {silent}")
    out = {}
    for name in layers:
        t = captured[name]
        out[name] = t.reshape(t.shape[0], math.prod(t.shape[1:])).cpu().numpy()
    return out


def standardize(activations):
    """Give every feature (column) mean 0 and standard deviation 1 (float64).

    The standard deviation is the population one (``ddof=0``), as in sklearn's
    ``StandardScaler``; a feature whose values are all equal (a dead ReLU neuron, say)
    becomes all zeros.
    """
    A = np.asarray(activations, dtype=np.float64)
    # All-equal columns by comparison: their computed mean may be off by an ulp, and
    # dividing that rounding error by a tiny std would blow it up to +-1.
    varies = (A != A[:1]).any(axis=0) if len(A) else np.zeros(A.shape[1:], bool)
    with np.errstate(all="ignore"):  # columns of subnormal numbers: their std underflows
        std = A.std(axis=0)
        usable = varies & (std > 0)
        Z = (A - A.mean(axis=0)) / np.where(usable, std, 1.0)
    return np.where(usable, Z, 0.0)


def project(activations, perplexity=30.0, seed=0, init="pca", max_iter=300):
    """Project activations to 2-D with t-SNE, after `standardize`.

    Parameters
    ----------
    activations : array-like of shape (n, features)
        At least 2 features, and more than ``perplexity`` rows.
    perplexity : float, default 30
    seed : int, default 0
        ``random_state`` of ``sklearn.manifold.TSNE``: the same seed gives the same map.
    init : "pca" or array of shape (n, 2), default "pca"
        Starting positions: an earlier map (see `project_sequence`) aligns the new one to it.
    max_iter : int, default 300
        Optimisation steps (sklearn needs at least 250).

    Returns
    -------
    numpy.ndarray of shape (n, 2), float64
    """
    Z = standardize(activations)
    tsne = TSNE(n_components=2, perplexity=perplexity, init=init, random_state=seed,
                max_iter=max_iter, learning_rate="auto")
    return np.asarray(tsne.fit_transform(Z), dtype=np.float64)


def project_sequence(activation_list, perplexity=30.0, seed=0, max_iter=300):
    """Aligned projections of a sequence of activations of the same instances.

    The first map is started from PCA, each next one from the previous map, centred and
    scaled to a standard deviation of 1 along x. An instance that a layer (or an epoch)
    leaves among the same neighbours then stays at about the same place on the next map, so
    the maps can be compared side by side and a point can be followed from map to map.
    (A start much smaller than that lets t-SNE's first, exaggerated phase rearrange the
    map freely; the previous map at full size makes the groups collapse in that phase.)

    Returns
    -------
    list of numpy.ndarray of shape (n, 2)
    """
    projections, init = [], "pca"
    for activations in activation_list:
        points = project(activations, perplexity=perplexity, seed=seed, init=init,
                         max_iter=max_iter)
        projections.append(points)
        centred = points - points.mean(axis=0)
        spread = centred[:, 0].std()
        init = centred / (spread if spread > 0 else 1.0)
    return projections


def neighborhood_hit(points, labels, k=6):
    """Mean fraction of each point's ``k`` nearest neighbours that share its label.

    Parameters
    ----------
    points : array-like of shape (n, d)
        Finite coordinates (a 2-D projection, usually).
    labels : array-like of shape (n,)
    k : int, default 6
        Between 1 and n - 1.

    Returns
    -------
    float
        In [0, 1]. The neighbours of point ``i`` are the ``k`` other points (never ``i``
        itself) nearest to it in Euclidean distance; among equally distant points the one
        with the smaller index comes first (a stable sort of the distances). A duplicate of
        ``i`` at another index is a neighbour at distance 0.

    Raises
    ------
    ValueError
        For a ``k`` outside 1..n-1, non-finite points, or ``labels`` of another length.
    """
    P = np.asarray(points, dtype=np.float64)
    P = P.reshape(len(P), -1)
    labels = np.asarray(labels)
    n = len(P)
    if len(labels) != n:
        raise ValueError(f"{n} points but {len(labels)} labels")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= n - 1:
        raise ValueError(f"k must be an integer from 1 to n - 1 = {n - 1}, got {k!r}")
    if not np.isfinite(P).all():
        raise ValueError("points must be finite")
    hits = 0
    for start in range(0, n, 512):  # a block of rows at a time: memory n * 512 * d
        block = P[start:start + 512]
        # Differences, not |a|^2 - 2ab + |b|^2: equal distances must stay exactly equal.
        d2 = ((block[:, None, :] - P[None, :, :]) ** 2).sum(axis=2)
        rows = np.arange(len(block))
        d2[rows, start + rows] = np.inf
        nearest = np.argsort(np.sqrt(d2), axis=1, kind="stable")[:, :k]
        hits += int((labels[nearest] == labels[start:start + len(block), None]).sum())
    return hits / (n * k)
