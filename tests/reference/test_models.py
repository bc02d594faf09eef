"""Tests for reference/models.py: the MLP, LeNet-5, accuracy and the training loop."""

import copy

import pytest
import torch
from activation_maximization.cases import tiny_net, trained_lenet, trained_mlp
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reference.models import (
    MLP,
    LeNet5,
    count_parameters,
    evaluate_loss,
    loader_accuracy,
    train_with_validation,
)
from reference.torch_data import make_loader


def linear_params(n_in, n_out):
    return n_in * n_out + n_out


def conv_params(c_in, c_out, k):
    return c_in * c_out * k * k + c_out


def test_mlp_parameter_count_by_hand():
    expected = (linear_params(784, 256) + linear_params(256, 128) + linear_params(128, 64)
                + linear_params(64, 10))
    assert expected == 242_762
    assert count_parameters(MLP()) == expected


def test_lenet_parameter_count_by_hand():
    expected = (conv_params(1, 6, 5) + conv_params(6, 16, 5) + linear_params(16 * 4 * 4, 120)
                + linear_params(120, 84) + linear_params(84, 10))
    assert expected == 44_426
    assert count_parameters(LeNet5()) == expected


def test_lenet_maps_are_4x4_on_28x28_and_5x5_on_32x32():
    net = LeNet5()
    features = nn.Sequential(net.conv1, net.relu, net.pool, net.conv2, net.relu, net.pool)
    assert features(torch.zeros(1, 1, 28, 28)).shape == (1, 16, 4, 4)
    assert features(torch.zeros(1, 1, 32, 32)).shape == (1, 16, 5, 5)  # the original LeNet-5
    with pytest.raises(RuntimeError):  # fc1 expects 256 values, not 400
        net(torch.zeros(1, 1, 32, 32))


@given(n=st.integers(1, 6), seed=st.integers(0, 100))
@settings(max_examples=10, deadline=None)
def test_outputs_are_log_probabilities(n, seed):
    torch.manual_seed(seed)
    for net, x in ((MLP().eval(), torch.rand(n, 784)), (LeNet5(), torch.rand(n, 1, 28, 28))):
        with torch.no_grad():
            out = net(x)
        assert out.shape == (n, 10) and (out <= 0).all()
        # float32 exp and sum over 10 values: within a few ulps of 1.
        torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(n), rtol=0, atol=1e-5)


def test_mlp_on_hand_set_weights():
    """Weights chosen so every layer's output is known: the answer is log-softmax([0, .., 3])."""
    net = MLP(dropout=0.0)
    with torch.no_grad():
        for layer in (net.fc1, net.fc2, net.fc3, net.fc4):
            layer.weight.zero_()
            layer.bias.zero_()
        net.fc1.weight[0, 0] = 1.0    # h1[0] = relu(x0)
        net.fc1.bias[1] = -5.0        # h1[1] = relu(-5) = 0
        net.fc2.weight[0, 0] = 2.0    # h2[0] = 2 h1[0]
        net.fc3.weight[0, 0] = 1.0    # h3[0] = h2[0]
        net.fc4.weight[9, 0] = 1.0    # logit 9 = h3[0]
    x = torch.zeros(2, 784)
    x[0, 0], x[1, 0] = 1.5, -1.5      # relu cuts the second one
    expected = torch.log_softmax(torch.tensor([[0.0] * 9 + [3.0], [0.0] * 10]), dim=1)
    torch.testing.assert_close(net(x), expected)
    torch.testing.assert_close(net(x.reshape(2, 1, 28, 28)), expected)  # flattened first


def test_dropout_only_in_train_mode():
    torch.manual_seed(0)
    x = torch.rand(4, 784)
    net = MLP(dropout=0.5)
    assert not torch.equal(net.train()(x), net(x))
    assert torch.equal(net.eval()(x), net(x))
    plain = MLP(dropout=0.0)
    assert torch.equal(plain.train()(x), plain.eval()(x))


def fixed_model(outputs):
    """A 'network' that ignores its input and returns given log-probabilities row by row."""
    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = outputs

        def forward(self, index):
            return self.table[index[:, 0].long()]

    return Fixed()


def test_accuracy_known_answer_with_a_small_last_batch():
    preds = torch.tensor([0, 1, 2, 3, 4, 5, 6])
    labels = torch.tensor([0, 1, 2, 0, 0, 5, 0])  # 4 of 7 right
    model = fixed_model(torch.nn.functional.one_hot(preds, 10).float().log())
    loader = make_loader(torch.arange(7.0).reshape(7, 1), labels, batch_size=3)
    assert loader_accuracy(model, loader) == pytest.approx(4 / 7)  # not the mean of 2/3, 1/3, 1


def test_accuracy_uses_eval_mode_and_restores_it():
    torch.manual_seed(0)
    net = tiny_net(5, 8, 0.9, seed=1, train_mode=True)
    X = torch.randn(40, 5)
    y = net.eval()(X).argmax(dim=1)
    net.train()
    assert loader_accuracy(net, make_loader(X, y, 7)) == 1.0  # dropout off: its own predictions
    assert net.training


def test_training_with_zero_learning_rate_records_constant_losses():
    """lr = 0 leaves the weights alone, so every epoch sees the same losses, known upfront."""
    net = tiny_net(4, 6, 0.0, seed=3)
    X, y = torch.randn(10, 4), torch.randint(0, 10, (10,))
    train, valid = make_loader(X[:7], y[:7], 3), make_loader(X[7:], y[7:], 2)
    before = copy.deepcopy(net.state_dict())
    batch_losses = [nn.functional.nll_loss(net(xb), yb).item() for xb, yb in train]
    train_losses, valid_losses = train_with_validation(net, train, valid, epochs=3, lr=0.0)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(type(v) is float for v in train_losses + valid_losses)
    # Mean of the batch losses (batches of 3, 3, 1), not of the samples.
    assert train_losses == pytest.approx([sum(batch_losses) / 3] * 3, rel=1e-6)
    assert valid_losses == pytest.approx([evaluate_loss(net, valid)] * 3, rel=1e-6)
    assert not net.training


def test_validation_loss_is_measured_with_dropout_off():
    torch.manual_seed(0)
    net = tiny_net(6, 10, 0.5, seed=2)
    X, y = torch.randn(30, 6), torch.randint(0, 10, (30,))
    valid = make_loader(X[20:], y[20:], 4)
    _, valid_losses = train_with_validation(net, make_loader(X[:20], y[:20], 5), valid, 2, 1e-2)
    assert valid_losses[-1] == pytest.approx(evaluate_loss(net, valid), rel=1e-6)


def test_training_lowers_the_loss_on_a_learnable_problem():
    torch.manual_seed(0)
    X = torch.randn(64, 5)
    y = (X[:, 0] > 0).long() * 7  # two of the ten classes, split by one feature
    net = tiny_net(5, 8, 0.0, seed=0)
    train_losses, valid_losses = train_with_validation(
        net, make_loader(X, y, 16), make_loader(X, y, 16), epochs=20, lr=5e-2)
    assert train_losses[-1] < train_losses[0] / 4
    assert loader_accuracy(net, make_loader(X, y, 16)) > 0.9


def test_trained_models_of_the_graders():
    """The cached 3-epoch models reach the accuracy the lab promises on its test split."""
    from activation_maximization.cases import split_tensors

    from reference.torch_data import as_images

    X, y = split_tensors()["test"]
    # Embedded MNIST (3,600 training digits, 3 epochs): about 90%, not full MNIST's 98%.
    assert loader_accuracy(trained_mlp(), make_loader(X, y, 500)) > 0.85
    assert loader_accuracy(trained_lenet(), make_loader(as_images(X), y, 500)) > 0.85
