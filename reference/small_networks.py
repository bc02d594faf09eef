"""Small torch networks for MNIST: logistic regression as a network, and one hidden layer.

``LogisticRegressionNet`` maps the 784 pixels straight to 10 class scores (7,850
parameters); softmax turns the scores into probabilities. ``HiddenLayerNet`` puts a layer
of ReLU units in between (36 units: 28,630 parameters). Each hidden unit has 784 weights
that can be drawn as an image, and each output unit weighs the hidden units' activations:
for one image, ``output.weight[c, j] * h[j]`` says how much hidden unit ``j`` speaks for
(positive) or against (negative) class ``c``.

The forward passes return *logits* (scores before softmax): ``torch.nn.CrossEntropyLoss``
applies log-softmax itself, which is more accurate than taking the log of a softmax.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .torch_data import count_parameters, to_tensors

__all__ = [
    "N_INPUTS",
    "N_CLASSES",
    "LogisticRegressionNet",
    "HiddenLayerNet",
    "count_parameters",
    "to_tensors",
    "train_model",
    "predict_proba",
    "predict",
    "accuracy",
    "hidden_activations",
    "class_evidence",
    "hidden_units_sweep",
]

N_INPUTS = 28 * 28
N_CLASSES = 10


class LogisticRegressionNet(nn.Module):
    """784 inputs -> 10 outputs, no hidden layer: multinomial logistic regression.

    Attributes
    ----------
    output : torch.nn.Linear
        ``in_features=784, out_features=10``; ``output.weight[c]`` are the 784 pixel
        weights of class ``c``.
    """

    def __init__(self):
        super().__init__()
        self.output = nn.Linear(N_INPUTS, N_CLASSES)

    def forward(self, x):
        """Logits of shape (n, 10) for a batch ``x`` of shape (n, 784)."""
        return self.output(x)


class HiddenLayerNet(nn.Module):
    """784 inputs -> ``n_hidden`` ReLU units -> 10 outputs.

    Parameters
    ----------
    n_hidden : int, default 36

    Attributes
    ----------
    hidden : torch.nn.Linear
        784 -> ``n_hidden``; ``hidden.weight[j]`` are the pixel weights of hidden unit ``j``.
    output : torch.nn.Linear
        ``n_hidden`` -> 10; ``output.weight[c, j]`` weighs hidden unit ``j`` for class ``c``.
    """

    def __init__(self, n_hidden=36):
        super().__init__()
        self.hidden = nn.Linear(N_INPUTS, n_hidden)
        self.output = nn.Linear(n_hidden, N_CLASSES)

    def forward(self, x):
        """Logits of shape (n, 10) for a batch ``x`` of shape (n, 784)."""
        return self.output(torch.relu(self.hidden(x)))


def train_model(model, X, y, epochs=10, batch_size=64, lr=1e-3, seed=0):
    """Train with Adam on the cross-entropy loss, in shuffled mini-batches.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (n, 784) float32 to (n, 10) logits; trained in place.
    X : torch.Tensor of float32, shape (n, 784)
    y : torch.Tensor of int64, shape (n,)
    epochs, batch_size, lr : int, int, float
    seed : int
        Seeds the shuffling, so the same model and data give the same result.

    Returns
    -------
    list of float
        The mean training loss of each epoch (its length is ``epochs``).
    """
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        losses.append(total / len(X))
    model.eval()
    return losses


def predict_proba(model, X):
    """Class probabilities (softmax of the logits), shape (n, 10), without gradients."""
    with torch.no_grad():
        return torch.softmax(model(X), dim=1)


def predict(model, X):
    """The most probable class of each row, an int64 tensor of shape (n,)."""
    with torch.no_grad():
        return model(X).argmax(dim=1)


def accuracy(model, X, y):
    """The fraction of rows whose predicted class is ``y`` (a float)."""
    return float((predict(model, X) == y).float().mean())


def hidden_activations(model, image):
    """The hidden units' activations ``relu(hidden(image))`` for one image.

    Parameters
    ----------
    model : HiddenLayerNet
        Any module with a ``hidden`` Linear layer followed by ReLU.
    image : torch.Tensor of shape (784,)

    Returns
    -------
    torch.Tensor of shape (n_hidden,)
        Non-negative, without gradient.
    """
    with torch.no_grad():
        return torch.relu(model.hidden(image.reshape(1, -1)))[0]


def class_evidence(model, image):
    """How much each hidden unit speaks for or against each class, for one image.

    Entry ``[c, j]`` is ``output.weight[c, j] * h[j]`` with ``h`` the
    `hidden_activations`: positive for, negative against class ``c``. Row ``c`` plus the
    output bias ``output.bias[c]`` sums to the logit of class ``c``.

    Returns
    -------
    torch.Tensor of shape (10, n_hidden)
    """
    h = hidden_activations(model, image)
    with torch.no_grad():
        return model.output.weight * h[None, :]


def hidden_units_sweep(sizes, X_train, y_train, X_val, y_val, epochs=3, batch_size=64,
                       lr=3e-3, seed=0):
    """Train one `HiddenLayerNet` per hidden-layer size and measure it.

    Each network is created right after ``torch.manual_seed(seed)`` and trained with
    `train_model`, so the sweep is reproducible.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_hidden``, ``n_parameters`` (int) and ``train_accuracy``,
        ``val_accuracy`` (float), one row per size in the given order.
    """
    rows = []
    for n_hidden in sizes:
        torch.manual_seed(seed)
        model = HiddenLayerNet(int(n_hidden))
        train_model(model, X_train, y_train, epochs=epochs, batch_size=batch_size, lr=lr,
                    seed=seed)
        rows.append({"n_hidden": int(n_hidden), "n_parameters": count_parameters(model),
                     "train_accuracy": accuracy(model, X_train, y_train),
                     "val_accuracy": accuracy(model, X_val, y_val)})
    return pd.DataFrame(rows, columns=["n_hidden", "n_parameters", "train_accuracy",
                                       "val_accuracy"])
