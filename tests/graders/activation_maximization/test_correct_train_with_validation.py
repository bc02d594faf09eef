"""Hidden grader of train_with_validation(model, trainloader, validloader, epochs, lr) and
loader_accuracy(model, loader).

Tiny networks and loaders (the last batch often smaller; the training loader sometimes
shuffled by its own seeded generator) are sent to the kernel; the student's function trains
the model there, and the losses and the trained weights come back. The reference trains a
copy of the same model on a copy of the same loader, so without dropout the two runs must
agree step for step.
"""

import copy
import numbers

import numpy as np
import torch
from hypothesis import given

from reference.models import evaluate_loss, loader_accuracy, train_with_validation
from reference.torch_data import make_loader

from .cases import (
    TrainingCase,
    accuracy_cases,
    expect_close,
    seeded_mlp,
    split_tensors,
    trained_mlp,
    training_cases,
)

GRADES = ("loader_accuracy", "train_with_validation")
SENDS = ("MLP",)

# Same float32 arithmetic in the same order; a different but equivalent loss expression
# (for example cross-entropy of log-probabilities) changes the last bits only.
LOSS_TOL = {"rtol": 1e-4, "atol": 1e-6}
WEIGHT_TOL = {"rtol": 1e-4, "atol": 1e-5}


def _train(ns, model, trainloader, validloader, epochs, lr):
    """In the kernel: train_with_validation on the given model; the result and the model."""
    import torch

    torch.manual_seed(0)
    result = ns["train_with_validation"](model, trainloader, validloader, epochs, lr)
    return {"result": result, "model": model}


def _accuracy(ns, model, loader):
    """In the kernel: loader_accuracy, and the model as it was left (its train/eval mode)."""
    return {"accuracy": ns["loader_accuracy"](model, loader), "model": model}


def run(student, case):
    return student._run(_train, case.model, case.trainloader, case.validloader, case.epochs,
                        case.lr)


def losses(result, epochs, what):
    """The two lists of per-epoch losses, checked to be numbers."""
    if not isinstance(result, (list, tuple)) or len(result) != 2:
        raise AssertionError(f"{what}: expected (train_losses, valid_losses), two lists, "
                             f"got {type(result).__name__}")
    out = []
    for name, values in zip(("train_losses", "valid_losses"), result, strict=True):
        if not isinstance(values, (list, tuple)):
            raise AssertionError(f"{what}: {name} should be a list, got {type(values).__name__}")
        if len(values) != epochs:
            raise AssertionError(f"{what}: {name} should have one loss per epoch ({epochs}), "
                                 f"got {len(values)}")
        for v in values:
            if isinstance(v, torch.Tensor):
                raise AssertionError(
                    f"{what}: {name} holds tensors; store plain numbers (loss.item()): a "
                    "tensor keeps its whole computation graph in memory")
            if not isinstance(v, numbers.Real) or isinstance(v, bool):
                raise AssertionError(f"{what}: {name} should hold numbers, got "
                                     f"{type(v).__name__}")
        out.append(np.asarray(values, dtype=np.float64))
    return out


def reference_run(case):
    # Copies: a shuffling loader's generator advances as it is used.
    model, trainloader = copy.deepcopy(case.model), copy.deepcopy(case.trainloader)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        result = train_with_validation(model, trainloader, case.validloader, case.epochs,
                                       case.lr)
    return result, model


@given(case=training_cases())
def test_one_train_and_one_valid_loss_per_epoch(student, case):
    """Returns (train_losses, valid_losses): two lists of numbers, one per epoch."""
    losses(run(student, case)["result"], case.epochs, "train_with_validation")


@given(case=training_cases())
def test_training_losses(student, case):
    """train_losses[e] is the mean of the batch losses (NLLLoss) of epoch e, with Adam(lr)."""
    got, _ = losses(run(student, case)["result"], case.epochs, "train_with_validation")
    (expected, _), _ = reference_run(case)
    expect_close(got, expected, **LOSS_TOL,
                 what="train_with_validation: training losses per epoch (the mean of the batch "
                      "losses, each computed before its Adam step)")


@given(case=training_cases())
def test_validation_losses(student, case):
    """valid_losses[e] is the mean NLLLoss over the validation batches after epoch e."""
    _, got = losses(run(student, case)["result"], case.epochs, "train_with_validation")
    (_, expected), _ = reference_run(case)
    expect_close(got, expected, **LOSS_TOL,
                 what="train_with_validation: validation losses per epoch (the mean of the "
                      "validation batch losses, in eval mode, without training on them)")


@given(case=training_cases())
def test_model_trained_in_place(student, case):
    """The model passed in is the one trained: afterwards its weights are those Adam gives."""
    got = run(student, case)["model"]
    _, expected = reference_run(case)
    for name, param in expected.named_parameters():
        mine = got.parameters.get(name)
        assert mine is not None and np.allclose(mine.detach().numpy(), param.detach().numpy(),
                                                **WEIGHT_TOL), (
            f"train_with_validation: after training, parameter {name} of the model passed in is "
            "not what Adam on NLLLoss gives (was a copy trained, or another optimizer used?)")


@given(case=training_cases(dropout=(0.5,), min_epochs=2))
def test_every_epoch_trains_in_train_mode(student, case):
    """With dropout, every epoch trains in train mode (model.train() again after validating)."""
    got = run(student, case)
    train_losses, _ = losses(got["result"], case.epochs, "train_with_validation")
    (expected, _), _ = reference_run(case)
    # The same seed gives the same dropout masks, batch after batch, in both runs.
    expect_close(train_losses, expected, **LOSS_TOL,
                 what="train_with_validation with dropout 0.5: training losses per epoch "
                      "(each epoch in train mode, dropout on; validation in eval mode)")


@given(case=training_cases(shuffle=True))
def test_batches_in_the_loaders_order(student, case):
    """The loader's own seeded shuffling decides the batches: the same loader, the same model."""
    got = run(student, case)["model"]
    _, expected = reference_run(case)
    for name, param in expected.named_parameters():
        mine = got.parameters.get(name)
        assert mine is not None and np.allclose(mine.detach().numpy(), param.detach().numpy(),
                                                **WEIGHT_TOL), (
            "train_with_validation with a shuffling trainloader (seeded generator): the trained "
            f"parameter {name} is not what one pass over the loader per epoch gives. Go "
            "through trainloader as given: no shuffling of your own, no next(iter(trainloader))")


@given(case=accuracy_cases())
def test_accuracy_restores_the_mode(student, case):
    """loader_accuracy puts the model back in the mode it was in (train or eval)."""
    was_training = case.model.training
    got = student._run(_accuracy, case.model, case.loader)["model"]
    changed = [name for name, _, training in got.modules if training != was_training]
    mode = "train" if was_training else "eval"
    assert not changed, (
        f"loader_accuracy on a model in {mode} mode: afterwards the model (or its layers "
        f"{changed[:3]}) is no longer in {mode} mode; keep was_training = model.training and "
        "call model.train(was_training) at the end")


@given(case=training_cases(dropout=(0.5,)))
def test_validation_with_dropout_off(student, case):
    """With dropout, the last validation loss is the eval-mode loss of the trained model."""
    got = run(student, case)
    _, valid = losses(got["result"], case.epochs, "train_with_validation")
    model = copy.deepcopy(case.model)
    model.load_state_dict(got["model"].state_dict())
    expected = evaluate_loss(model, case.validloader)
    assert np.isclose(valid[-1], expected, **LOSS_TOL), (
        f"train_with_validation with dropout 0.5: the last validation loss is {valid[-1]:.6f}, "
        f"but the trained model's loss on the validation set with dropout off is {expected:.6f} "
        "(model.eval() and torch.no_grad() while validating, model.train() before training)")


@given(case=accuracy_cases())
def test_accuracy(student, case):
    """loader_accuracy: the fraction of samples whose largest log-probability is at their label."""
    got = student.loader_accuracy(case.model, case.loader)
    expected = loader_accuracy(copy.deepcopy(case.model), case.loader)
    assert isinstance(got, numbers.Real) and not isinstance(got, bool), (
        f"loader_accuracy: expected a number, got {type(got).__name__}")
    assert np.isclose(got, expected, rtol=0, atol=1e-9), (
        f"loader_accuracy: expected {expected!r}, got {float(got)!r} (count the correct samples "
        "over all batches, then divide by the number of samples; dropout off)")


def test_trained_mnist(student):
    """The lab's MLP (no dropout) on 256 real digits, 2 epochs; accuracy of a trained MLP."""
    splits = split_tensors()
    case = TrainingCase(seeded_mlp(1, dropout=0.0),
                        make_loader(*(t[:256] for t in splits["train"]), batch_size=64),
                        make_loader(*(t[:100] for t in splits["val"]), batch_size=64),
                        epochs=2, lr=1e-3)
    got = losses(run(student, case)["result"], 2, "train_with_validation on MNIST")
    expected, _ = reference_run(case)
    expect_close(np.concatenate(got), np.concatenate(expected), **LOSS_TOL,
                 what="train_with_validation on 256 MNIST digits: training then validation losses")
    loader = make_loader(*(t[:300] for t in splits["test"]), batch_size=128)
    net = trained_mlp().train()  # dropout on: accuracy must turn it off
    got_acc = student.loader_accuracy(net, loader)
    want_acc = loader_accuracy(net, loader)
    assert isinstance(got_acc, numbers.Real) and np.isclose(got_acc, want_acc, rtol=0,
                                                            atol=1e-9), (
        f"loader_accuracy of a trained MLP on 300 test digits: expected {want_acc!r}, "
        f"got {got_acc!r}")
