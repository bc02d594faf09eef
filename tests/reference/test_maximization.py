"""Tests for reference/maximization.py: optimizing the input of a frozen classifier."""

import copy
import math

import numpy as np
import pytest
import torch
from activation_maximization.cases import (
    maximization_cases,
    seeded_lenet,
    tiny_net,
    trained_lenet,
    trained_mlp,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reference.maximization import (
    Optimize_NN_Input,
    freeze,
    maximize_batched,
    maximize_each_digit,
    output_probabilities,
)


def run(case, net=None):
    opt = Optimize_NN_Input(net if net is not None else copy.deepcopy(case.net), case.lr,
                            case.img0)
    opt.trainloop(case.category, case.true_prob, case.sgd_iter)
    return opt


class TwoClass(nn.Module):
    """log-softmax of the logits [w . x, 0]: P(class 0) = sigmoid(w . x), known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))

    def forward(self, x):
        z = x.reshape(x.shape[0], -1) @ self.w
        return torch.log_softmax(torch.stack([z, torch.zeros_like(z)], dim=1), dim=1)


def test_freeze():
    net = tiny_net(4, 5, 0.5, seed=0, train_mode=True)
    assert freeze(net) is net
    assert not net.training and not any(p.requires_grad for p in net.parameters())


@given(case=maximization_cases())
@settings(max_examples=15, deadline=None)
def test_network_frozen_and_unchanged_input_only_parameter(case):
    net = copy.deepcopy(case.net)
    before = copy.deepcopy(net.state_dict())
    img0 = case.img0.clone()
    opt = run(case, net)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # bit for bit
    assert [n for n, p in opt.named_parameters() if p.requires_grad] == ["input"]
    assert not any(m.training for m in net.modules())
    assert opt.input.shape == case.img0.shape and torch.equal(case.img0, img0)  # img0 copied
    assert len(opt.loss_during_training) == case.sgd_iter
    assert all(type(v) is float for v in opt.loss_during_training)


@given(case=maximization_cases(dropout=(0.5,), train_mode=(True,)))
@settings(max_examples=10, deadline=None)
def test_deterministic_with_dropout(case):
    """Dropout is off during the optimization: two runs from the same start agree exactly."""
    first, second = run(case), run(case)
    assert first.loss_during_training == second.loss_during_training
    assert torch.equal(first.input, second.input)


@given(case=maximization_cases(max_iter=1, min_iter=1))
@settings(max_examples=10, deadline=None)
def test_first_loss_and_first_step_by_hand(case):
    """loss[0] = (log p(category) - log t)^2 at img0; Adam's first step is lr * sign(grad)."""
    net = freeze(copy.deepcopy(case.net))
    x = case.img0.clone().requires_grad_(True)
    logp = net(x)[0, case.category]
    expected = (logp - math.log(case.true_prob)) ** 2
    expected.backward()
    opt = run(case)
    assert opt.loss_during_training[0] == pytest.approx(expected.item(), rel=1e-5, abs=1e-7)
    step = (opt.input.detach() - case.img0)[0]
    grad = x.grad[0]
    big = grad.abs() > 1e-5  # where |grad| >> Adam's eps = 1e-8, the step is lr * sign
    torch.testing.assert_close(step[big], -case.lr * grad[big].sign(), rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("target", [0.2, 0.5, 0.8, 0.95])
def test_two_class_network_reaches_the_target(target):
    """P(class 0) = sigmoid(w . x): its log moves to log(target) and the loss to about 0."""
    net = TwoClass([0.5, -1.0, 2.0])
    opt = Optimize_NN_Input(net, 0.1, torch.tensor([[-1.0, 1.0, -1.0]]))  # P = sigmoid(-3.5)
    opt.trainloop(0, target, 1000)
    p = torch.sigmoid(opt.input.detach()[0] @ net.w).item()
    assert p == pytest.approx(target, abs=5e-3)  # the MSE gradient vanishes near the target
    assert opt.loss_during_training[-1] < 1e-4 < opt.loss_during_training[0]
    np.testing.assert_allclose(output_probabilities(opt), [p, 1 - p], rtol=1e-5)


def test_trainloop_continues_from_the_current_input():
    net = TwoClass([1.0, 1.0])
    once = Optimize_NN_Input(net, 0.05, torch.zeros(1, 2))
    once.trainloop(0, 0.9, 20)
    twice = Optimize_NN_Input(net, 0.05, torch.zeros(1, 2))
    twice.trainloop(0, 0.9, 10)
    twice.trainloop(0, 0.9, 10)
    assert twice.loss_during_training == pytest.approx(once.loss_during_training, rel=1e-6)


def test_invalid_targets():
    with pytest.raises(ValueError, match="true_prob"):
        Optimize_NN_Input(TwoClass([1.0]), 0.1, torch.zeros(1, 1)).trainloop(0, 0.0, 1)
    with pytest.raises(ValueError, match="true_prob"):
        maximize_batched(TwoClass([1.0]), torch.zeros(1, 1), 0.1, 1.5, 1, n_classes=2)


@given(case=maximization_cases())
@settings(max_examples=10, deadline=None)
def test_output_probabilities(case):
    opt = run(case)
    probs = output_probabilities(opt)
    assert probs.shape == (10,) and probs.dtype == np.float32
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(probs, opt.forward().detach().exp()[0].numpy())


@given(case=maximization_cases(max_iter=15), image=st.booleans())
@settings(max_examples=10, deadline=None)
def test_batched_equals_one_digit_at_a_time(case, image):
    net, img0 = case.net, case.img0
    if image:  # a [1, 1, h, w] start for a network that flattens its input
        net = nn.Sequential(nn.Flatten(), *copy.deepcopy(case.net))
        img0 = img0.reshape(1, 1, 1, -1)
    loop = maximize_each_digit(copy.deepcopy(net), img0, case.lr, case.true_prob, case.sgd_iter)
    batched, losses = maximize_batched(copy.deepcopy(net), img0, case.lr, case.true_prob,
                                       case.sgd_iter)
    assert loop.shape == batched.shape == (10, *img0.shape[1:])
    assert losses.shape == (case.sgd_iter, 10)
    # Same arithmetic on a batch: float32 rounding of the batched products only.
    torch.testing.assert_close(batched, loop, rtol=1e-4, atol=1e-5)
    single = run(MaximizationRow(case, 4), copy.deepcopy(case.net))
    np.testing.assert_allclose(losses[:, 4].numpy(), single.loss_during_training,
                               rtol=1e-4, atol=1e-6)


class MaximizationRow:
    """A case re-targeted to one category."""

    def __init__(self, case, category):
        self.__dict__.update(case.__dict__)
        self.category = category


def test_mlp_reaches_ninety_percent_for_three():
    """The notebook's exercise: 50 iterations (lr 0.01) from N(0, 0.01^2) toward P(3) = 0.9."""
    torch.manual_seed(0)
    opt = Optimize_NN_Input(trained_mlp(), 1e-2, torch.randn(1, 784) * 0.01)
    before = output_probabilities(opt)
    opt.trainloop(3, 0.9, 50)
    after = output_probabilities(opt)
    assert before.max() < 0.3  # a near-blank image: no digit stands out
    assert after.argmax() == 3 and after[3] == pytest.approx(0.9, abs=0.05)
    assert opt.loss_during_training[-1] < opt.loss_during_training[0] / 100


def test_lenet_stalls_just_below_a_high_target():
    """500 iterations toward 0.99 on LeNet-5: close, but the vanishing gradient stops short."""
    torch.manual_seed(0)
    img0 = torch.randn(1, 1, 28, 28) * 0.01
    images, losses = maximize_batched(trained_lenet(), img0, 1e-2, 0.99, 500)
    with torch.no_grad():
        p = trained_lenet()(images).exp().diagonal()
    assert images.shape == (10, 1, 28, 28)
    assert (p > 0.9).all() and (p < 0.995).all(), p
    assert (losses[-1] < losses[0]).all()


def test_random_lenet_input_keeps_its_shape():
    opt = Optimize_NN_Input(seeded_lenet(1), 1e-2, torch.zeros(1, 1, 28, 28))
    opt.trainloop(2, 0.99, 5)
    assert opt.input.shape == (1, 1, 28, 28) and opt.forward().shape == (1, 10)
