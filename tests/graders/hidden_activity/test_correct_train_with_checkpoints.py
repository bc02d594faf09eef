"""Hidden grader of train_with_checkpoints(model, X, y, epochs, lr, batch_size, seed).

Training is checked by its properties: the number and kind of the checkpoints, that the first
is the untrained model, that each is a copy (not the live parameters), that training lowers
the loss, and that the seed alone decides the shuffling (a driver trains copies of one model
in the kernel with the same and another seed). The text fixes every choice that changes the
numbers (loader, seeded generator, Adam, cross-entropy, mean over the batch), so the weights
after the first epoch are also compared with the reference's, to float32 rounding; later
epochs are not (a loader rebuilt every epoch is a harmless variation there). A driver runs
the function in the kernel and also returns the model's weights after the call.
"""

import copy

import numpy as np
import torch
from hypothesis import given

from course.graders.compare import describe, expect_array

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
        logits = model.eval()(torch.as_tensor(np.asarray(X), dtype=torch.float32))
        return torch.nn.functional.cross_entropy(
            logits, torch.as_tensor(np.asarray(y), dtype=torch.long)).item()


@given(case=train_cases(min_epochs=2))
def test_training_lowers_the_loss(student, case):
    """On well separated blobs the training loss after training is below the starting loss."""
    got = checkpoints_of(run(student, case), case.model, case.epochs)
    before, after = (_loss(case.model, got[i], case.X, case.y) for i in (0, -1))
    if not after < before:
        raise AssertionError(f"{WHAT}: the cross-entropy went from {before:.4f} (checkpoint 0) "
                             f"to {after:.4f} (last checkpoint): training should lower it")


def _twice(ns, model, X, y, epochs, lr, batch_size, seed):
    """Runs in the student's kernel: train three copies of the same model, two with the same
    seed and one with another; tell which checkpoints are equal."""
    import copy

    import torch

    def train(s):
        return ns["train_with_checkpoints"](copy.deepcopy(model), X, y, epochs, lr=lr,
                                            batch_size=batch_size, seed=s)

    def same_state(p, q):
        return (isinstance(p, dict) and isinstance(q, dict) and set(p) == set(q)
                and all(torch.equal(torch.as_tensor(p[k]), torch.as_tensor(q[k])) for k in p))

    def equal(a, b):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
                and len(a) == len(b) and all(map(same_state, a, b)))

    first, again, other = train(seed), train(seed), train(seed + 1)
    return {"same_seed_equal": equal(first, again), "other_seed_equal": equal(first, other)}


@given(case=train_cases(max_epochs=2))
def test_the_seed_decides_the_shuffling(student, case):
    """The same seed gives equal checkpoints; another seed shuffles the batches differently."""
    got = student._run(_twice, case.model, case.X, case.y, case.epochs, case.lr,
                       case.batch_size, case.seed, timeout=90)
    if not got["same_seed_equal"]:
        raise AssertionError(f"{WHAT}: two calls with seed={case.seed} on the same starting "
                             "weights gave different checkpoints: shuffle with "
                             "generator=torch.Generator().manual_seed(seed) only")
    if got["other_seed_equal"]:
        raise AssertionError(f"{WHAT}: seeds {case.seed} and {case.seed + 1} gave the same "
                             "checkpoints: shuffle the data (shuffle=True) with a generator "
                             "seeded with seed")


# Two runs of the same recipe agree to the last bit; a few steps of Adam on float32 may
# amplify a rounding difference (another but equal way to batch the data) to about 1e-6.
FIRST_EPOCH_TOL = {"rtol": 1e-4, "atol": 1e-5}


@given(case=train_cases())
def test_first_epoch_follows_the_recipe(student, case):
    """After epoch 1 the weights are those of Adam(lr) on the seeded shuffled batches."""
    from reference.projections import train_with_checkpoints as reference_train

    got = checkpoints_of(run(student, case), case.model, case.epochs)
    expected = reference_train(copy.deepcopy(case.model), case.X, case.y, 1, lr=case.lr,
                               batch_size=case.batch_size, seed=case.seed)[1]
    for key, want in expected.items():
        expect_array(got[1][key], want, what=f"{WHAT}: checkpoint 1[{key!r}]",
                     **FIRST_EPOCH_TOL)


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
