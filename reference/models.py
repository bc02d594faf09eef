"""The two MNIST classifiers of the activation-maximization lab, and how they are trained.

Both networks end in ``nn.LogSoftmax``: they return log-probabilities, so ``exp`` of a row
sums to one and the training loss is ``nn.NLLLoss`` (together: the cross-entropy).

``MLP``
    784 -> 256 -> 128 -> 64 -> 10, ReLU and dropout after every hidden layer
    (242,762 parameters).
``LeNet5``
    LeNet-5 for 28 x 28 inputs ``[N, 1, 28, 28]``: conv 6@5x5, 2x2 max pooling, conv
    16@5x5, 2x2 max pooling, then 16 maps of 4 x 4 = 256 values -> 120 -> 84 -> 10, ReLU
    throughout (44,426 parameters). The original LeNet-5 read 32 x 32 images, where the
    maps after the second convolution are 5 x 5 (400 values); on 28 x 28 they are 4 x 4.

:func:`train_with_validation` trains either one with Adam and records the training and validation
loss of every epoch; :func:`loader_accuracy` scores a model on a DataLoader.
"""

from __future__ import annotations

import torch
from torch import nn, optim

from .torch_data import count_parameters

__all__ = [
    "MLP",
    "LeNet5",
    "count_parameters",
    "evaluate_loss",
    "loader_accuracy",
    "train_with_validation",
]


class MLP(nn.Module):
    """A multi-layer perceptron 784-256-128-64-10 with dropout and a LogSoftmax output.

    Parameters
    ----------
    dropout : float, default 0.2
        Probability of zeroing each hidden unit during training (after every hidden ReLU).
        Dropout is active in ``model.train()`` mode only; ``model.eval()`` turns it off.

    Notes
    -----
    ``forward`` takes ``[N, 784]`` (any ``[N, ...]`` with 784 values per row is flattened)
    and returns log-probabilities of shape ``[N, 10]``.
    """

    def __init__(self, dropout=0.2):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 64)
        self.fc4 = nn.Linear(64, 10)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout)
        self.logsoftmax = nn.LogSoftmax(dim=1)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        for layer in (self.fc1, self.fc2, self.fc3):
            x = self.dropout(self.relu(layer(x)))
        return self.logsoftmax(self.fc4(x))


class LeNet5(nn.Module):
    """LeNet-5 for 28 x 28 MNIST digits, with ReLU, max pooling and a LogSoftmax output.

    ``forward`` takes images ``[N, 1, 28, 28]`` and returns log-probabilities ``[N, 10]``.
    The feature maps shrink 28 -> 24 (conv 5x5) -> 12 (pool) -> 8 (conv 5x5) -> 4 (pool).
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.relu = nn.ReLU()
        self.logsoftmax = nn.LogSoftmax(dim=1)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = x.flatten(start_dim=1)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.logsoftmax(self.fc3(x))


def evaluate_loss(model, loader):
    """Mean negative log-likelihood of ``model`` over the batches of ``loader``.

    The model is put in eval mode (dropout off) and no gradients are recorded. The
    result is the average of the batch losses (each the mean over its batch), as the
    training loss of :func:`train_with_validation` is.

    Returns
    -------
    float
    """
    model.eval()
    criterion = nn.NLLLoss()
    total, batches = 0.0, 0
    with torch.no_grad():
        for X, y in loader:
            total += criterion(model(X), y).item()
            batches += 1
    return total / batches


def loader_accuracy(model, loader):
    """Fraction of the samples of ``loader`` that ``model`` classifies correctly.

    The prediction is the class of the largest log-probability, in eval mode (dropout
    off) and without gradients. The model's train/eval mode is restored afterwards.

    Returns
    -------
    float in [0, 1]
    """
    was_training = model.training
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for X, y in loader:
            correct += (model(X).argmax(dim=1) == y).sum().item()
            total += len(y)
    model.train(was_training)
    return correct / total


def train_with_validation(model, trainloader, validloader, epochs, lr=1e-3):
    """Train ``model`` with Adam on NLLLoss and record both losses after every epoch.

    Parameters
    ----------
    model : nn.Module
        Returns log-probabilities; trained in place.
    trainloader, validloader : DataLoader
        Yield ``(X, y)`` batches.
    epochs : int
        Passes over ``trainloader``.
    lr : float, default 1e-3
        Adam's learning rate (other Adam settings at their defaults).

    Returns
    -------
    train_losses, valid_losses : list of float, one per epoch
        ``train_losses[e]`` is the mean of the batch losses of epoch ``e``, each computed in
        train mode (dropout on) just before its optimizer step. ``valid_losses[e]`` is
        :func:`evaluate_loss` on ``validloader`` at the end of epoch ``e`` (dropout off).
        The model is left in eval mode.
    """
    optimizer = optim.Adam(model.parameters(), lr=lr)
    criterion = nn.NLLLoss()
    train_losses, valid_losses = [], []
    for _ in range(int(epochs)):
        model.train()
        total, batches = 0.0, 0
        for X, y in trainloader:
            optimizer.zero_grad()
            loss = criterion(model(X), y)
            loss.backward()
            optimizer.step()
            total += loss.item()  # a float: keeping the tensor would keep its graph alive
            batches += 1
        train_losses.append(total / batches)
        valid_losses.append(evaluate_loss(model, validloader))
    return train_losses, valid_losses
