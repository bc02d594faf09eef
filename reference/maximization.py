"""Activation maximization: optimize the input of a frozen classifier for one class.

The trained network stays fixed; the input image becomes the only trainable parameter.
Gradient steps (Adam) on the input bring the network's log-probability of a chosen
``category`` to ``log(true_prob)``: the loss is the squared difference between the two
(``nn.MSELoss`` on one number). What the optimized image looks like shows which input
patterns the network relies on for that class.

:class:`Optimize_NN_Input` optimizes one image for one class (the lab's exercise);
:func:`maximize_each_digit` repeats it for the classes 0-9 from the same start;
:func:`maximize_batched` optimizes the ten images together in one batch: same result (each
image only affects its own row of the output, and Adam works element by element), about
ten times fewer calls into torch.
"""

from __future__ import annotations

import torch
from torch import nn, optim

__all__ = [
    "freeze",
    "Optimize_NN_Input",
    "output_probabilities",
    "maximize_each_digit",
    "maximize_batched",
]


def freeze(network):
    """Stop gradients for every parameter of ``network`` and turn dropout off (eval mode).

    Returns
    -------
    nn.Module
        ``network`` itself, changed in place.
    """
    for param in network.parameters():
        param.requires_grad_(False)
    return network.eval()


def _check_target(category, true_prob, n_classes=None):
    if not 0 < true_prob <= 1:
        raise ValueError(f"true_prob must be a probability in (0, 1], got {true_prob!r}")
    if n_classes is not None and not 0 <= category < n_classes:
        raise ValueError(f"category must be in 0..{n_classes - 1}, got {category!r}")


class Optimize_NN_Input(nn.Module):  # noqa: N801 - the name the lab has always used
    """The input image of a frozen network, optimized to give one class a set probability.

    Parameters
    ----------
    NN_trained : nn.Module
        A trained classifier returning log-probabilities ``[1, n_classes]`` for one input.
        It is frozen (see :func:`freeze`): its parameters never change.
    lr : float
        Adam's learning rate.
    img0 : torch.Tensor
        The starting image, with the shape the network takes for ONE input: ``[1, 784]``
        for the MLP, ``[1, 1, 28, 28]`` for LeNet-5. It is copied, not changed.

    Attributes
    ----------
    input : nn.Parameter
        The image being optimized: the only parameter Adam updates.
    loss_during_training : list of float
        One loss per iteration of :meth:`trainloop`, computed before that iteration's step.
    """

    def __init__(self, NN_trained, lr, img0):  # noqa: N803 - the lab's argument names
        super().__init__()
        # A copy: nn.Parameter(img0) would share img0's memory, and the optimizer would
        # then overwrite the caller's starting image as well.
        self.input = nn.Parameter(img0.detach().clone(), requires_grad=True)
        self.NN_trained = freeze(NN_trained)
        self.lr = lr
        self.criterion = nn.MSELoss()
        self.optim = optim.Adam([self.input], lr=lr)
        self.loss_during_training = []

    def forward(self):
        """Log-probabilities of the network for the current input, ``[1, n_classes]``."""
        return self.NN_trained(self.input)

    def trainloop(self, category, true_prob, sgd_iter):
        """Run ``sgd_iter`` Adam steps on the input toward P(category) = ``true_prob``.

        Parameters
        ----------
        category : int
            The class whose log-probability is steered.
        true_prob : float in (0, 1]
            The probability wanted for ``category``; the loss compares log-probabilities, so
            the target is ``log(true_prob)``.
        sgd_iter : int
            Number of optimizer steps. Calling again continues from the current input.

        Notes
        -----
        The squared error has gradient ``2 (log p - log t) d log p / d input``, which
        vanishes as ``p`` approaches the target: the probability gets close to
        ``true_prob`` but, with few iterations, seldom exactly there.
        """
        _check_target(category, true_prob)
        true_log_prob = torch.log(torch.tensor([float(true_prob)]))
        self.NN_trained.eval()  # dropout off: the same input always gives the same output
        for _ in range(int(sgd_iter)):
            self.optim.zero_grad()
            logprobs = self.forward()
            loss = self.criterion(logprobs[0, category].view(true_log_prob.shape),
                                  true_log_prob)
            self.loss_during_training.append(loss.item())
            loss.backward()
            self.optim.step()
        return self


def output_probabilities(opt_input):
    """The class probabilities the network gives the current input of ``opt_input``.

    Parameters
    ----------
    opt_input : Optimize_NN_Input

    Returns
    -------
    numpy.ndarray of shape (n_classes,)
        ``exp`` of the log-probabilities; sums to one.
    """
    with torch.no_grad():
        return torch.exp(opt_input.forward())[0].numpy()


def maximize_each_digit(NN_trained, img0, lr, true_prob, sgd_iter, n_classes=10):  # noqa: N803
    """Optimize one input per class with :class:`Optimize_NN_Input`, all from ``img0``.

    Parameters
    ----------
    NN_trained : nn.Module
        Returns log-probabilities ``[1, n_classes]``; frozen by the first optimization.
    img0 : torch.Tensor
        Starting image ``[1, ...]`` shared by every class (copied each time).
    lr, true_prob, sgd_iter
        As in :meth:`Optimize_NN_Input.trainloop`.
    n_classes : int, default 10

    Returns
    -------
    torch.Tensor of shape ``[n_classes, *img0.shape[1:]]``
        Row ``k`` is the input optimized for class ``k``.
    """
    images = []
    for category in range(n_classes):
        opt = Optimize_NN_Input(NN_trained, lr, img0)
        opt.trainloop(category, true_prob, sgd_iter)
        images.append(opt.input.detach()[0])
    return torch.stack(images)


def maximize_batched(NN_trained, img0, lr, true_prob, sgd_iter, n_classes=10):  # noqa: N803
    """Same result as :func:`maximize_each_digit`, with the images optimized as one batch.

    Image ``k`` of the batch is steered toward class ``k``. The loss is the SUM over the
    images of their squared errors, so the gradient of image ``k`` is exactly the gradient
    of its own one-image loss; Adam's update is element-wise, so each image follows the
    same path as when optimized alone (up to float rounding of the batched products).
    The network must treat the rows of a batch independently (eval mode, no batch norm).

    Returns
    -------
    images : torch.Tensor of shape ``[n_classes, *img0.shape[1:]]``
    losses : torch.Tensor of shape ``[sgd_iter, n_classes]``
        The loss of every image at every iteration, before that iteration's step.
    """
    _check_target(0, true_prob, n_classes)
    network = freeze(NN_trained)
    start = img0.detach().reshape(1, *img0.shape[1:])
    images = nn.Parameter(start.repeat(n_classes, *([1] * (start.ndim - 1))))
    optimizer = optim.Adam([images], lr=lr)
    target = torch.log(torch.tensor(float(true_prob)))
    rows = torch.arange(n_classes)
    losses = torch.empty(int(sgd_iter), n_classes)
    for i in range(int(sgd_iter)):
        optimizer.zero_grad()
        errors = (network(images)[rows, rows] - target) ** 2
        losses[i] = errors.detach()
        errors.sum().backward()
        optimizer.step()
    return images.detach(), losses
