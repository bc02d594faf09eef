"""Hidden grader of train_with_checkpoints(model, X, y, epochs, lr, batch_size, seed).

Training is checked by its properties, not against the reference's weights: the number and
kind of the checkpoints, that the first is the untrained model, that each is a copy (not the
live parameters), and that training lowers the loss. A driver runs the function in the
kernel and also returns the model's weights after the call.
"""

import copy

import numpy as np
import torch
from hypothesis import given

from course.graders.compare import describe

from .cases import train_cases, trained

GRADES = ("train_with_checkpoints",)
SENDS = ()

WHAT = "train_with_checkpoints(model, X, y, epochs, lr, batch_size, seed)"


def _train(ns, model, X, y, epochs, lr, batch_size, seed):
    """Runs in the student's kernel: train, then report the checkpoints and the model."""
    checkpoints = ns["train_with_checkpoints"](model, X, y, epochs, lr=lr,
                                               batch_size=batch_size, seed=seed)
    if isinstance(checkpoints, (list, tuple)):
        checkpoints = [dict(c) if isinstance(c, dict) else c for c in checkpoints]
    return {"checkpoints": checkpoints, "final": dict(model.state_dict())}


def run(student, case):
    return student._run(_train, case.model, case.X, case.y, case.epochs, case.lr,
                        case.batch_size, case.seed, timeout=60)


def checkpoints_of(result, model, epochs, what=WHAT):
    """The checkpoints, checked to be a list of epochs + 1 state dicts of the model."""
    got = result["checkpoints"]
    if not isinstance(got, (list, tuple)):
        raise AssertionError(f"{what}: expected a list of state dicts, got {describe(got)}")
    if len(got) != epochs + 1:
        raise AssertionError(f"{what} with epochs={epochs}: expected {epochs + 1} checkpoints "
                             f"(before training, then one per epoch), got {len(got)}")
    state = model.state_dict()
    for i, ckpt in enumerate(got):
        if not isinstance(ckpt, dict) or set(ckpt) != set(state):
            keys = sorted(ckpt) if isinstance(ckpt, dict) else describe(ckpt)
            raise AssertionError(f"{what}: checkpoint {i} should be a state dict with the keys "
                                 f"{sorted(state)}, got {keys}")
        for key, tensor in state.items():
            value = ckpt[key]
            if not isinstance(value, torch.Tensor) or value.shape != tensor.shape:
                raise AssertionError(f"{what}: checkpoint {i}[{key!r}] should be a tensor of "
                                     f"shape {tuple(tensor.shape)}, got {describe(value)}")
    return got


def same(a, b):
    return all(torch.equal(a[k].float(), b[k].float()) for k in b)


@given(case=train_cases())
def test_one_checkpoint_per_epoch_and_the_start(student, case):
    """Returns epochs + 1 state dicts with the model's keys and shapes."""
    checkpoints_of(run(student, case), case.model, case.epochs)


@given(case=train_cases())
def test_first_checkpoint_is_the_untrained_model(student, case):
    """Checkpoint 0 holds the weights the model had before training."""
    got = checkpoints_of(run(student, case), case.model, case.epochs)
    if not same(got[0], case.model.state_dict()):
        raise AssertionError(f"{WHAT}: checkpoint 0 differs from the weights before training. "
                             "Did you store model.state_dict() without copying it? Its tensors "
                             "are the live parameters, which training changes afterwards.")


@given(case=train_cases())
def test_every_checkpoint_is_a_separate_copy(student, case):
    """Each epoch's checkpoint differs from the one before; the last equals the trained model."""
    result = run(student, case)
    got = checkpoints_of(result, case.model, case.epochs)
    for e in range(case.epochs):
        if same(got[e], got[e + 1]):
            raise AssertionError(f"{WHAT}: checkpoints {e} and {e + 1} are identical: every "
                                 "epoch should change the weights (store a deep copy each time)")
    if not same(got[-1], result["final"]):
        raise AssertionError(f"{WHAT}: the last checkpoint should equal the model's weights "
                             "after training (train the model passed in, in place)")


def _loss(model, state, X, y):
    model = copy.deepcopy(model)
    model.load_state_dict({k: v.to(model.state_dict()[k].dtype) for k, v in state.items()})
    with torch.no_grad():
        logits = model.eval()(torch.as_tensor(X))
        return torch.nn.functional.cross_entropy(logits, torch.as_tensor(y)).item()


@given(case=train_cases(min_epochs=2))
def test_training_lowers_the_loss(student, case):
    """On well separated blobs the training loss after training is below the starting loss."""
    got = checkpoints_of(run(student, case), case.model, case.epochs)
    before, after = (_loss(case.model, got[i], case.X, case.y) for i in (0, -1))
    if not after < before:
        raise AssertionError(f"{WHAT}: the cross-entropy went from {before:.4f} (checkpoint 0) "
                             f"to {after:.4f} (last checkpoint): training should lower it")


def test_trained_mnist(student):
    """The lab's MLP, two epochs on 2,000 MNIST digits: the digits are learned."""
    from reference.data import embedded_split
    from reference.projections import make_mlp

    X_train, _, y_train, _ = embedded_split()
    case = trained()
    model = make_mlp(seed=3)
    result = student._run(_train, model, X_train[:2000].astype(np.float32), y_train[:2000], 2,
                          1e-3, 64, 0, timeout=60)
    what = "train_with_checkpoints(make_mlp(), 2,000 MNIST digits, epochs=2)"
    got = checkpoints_of(result, model, 2, what)
    assert same(got[0], model.state_dict()), f"{what}: checkpoint 0 is not the untrained model"
    trained_model = copy.deepcopy(model)
    trained_model.load_state_dict(got[-1])
    with torch.no_grad():
        accuracy = float((trained_model.eval()(torch.as_tensor(case.X)).argmax(1).numpy()
                          == case.y).mean())
    assert accuracy > 0.6, (f"{what}: the last checkpoint gets only {accuracy:.2f} of 300 test "
                            "digits right (the reference gets about 0.8)")
