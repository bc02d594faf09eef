"""Self-test of the hidden graders of the activation_maximization lab, without a kernel.

The kernel-less harness (course/graders/harness.py) stands for the kernel. Checked here:

- the reference, an independent student-style solution and the source notebook's solution
  cells pass every property;
- each wrong solution (the lab's fixtures, and more variants below) fails at least one
  property of the grade cell it belongs to;
- no cell depends on another cell's code: with every other exercise's functions raising,
  a correct solution still gets full marks. The CNN exercise runs the student's
  Optimize_NN_Input on purpose; the class's fixtures must keep its points all the same.
"""

from __future__ import annotations

import importlib.util

import pytest

from course.graders.harness import (
    ROOT,
    FakeStudent,
    GraderSet,
    expect_failed_cleanly,
    failures,
    isolated,
    namespace,
    solution_sources,
)

LAB = "activation_maximization"
GRADERS = GraderSet(LAB)
GRADE_IDS = [
    "correct_mlp",
    "correct_train_with_validation",
    "correct_optimize_input",
    "correct_probabilities",
    "correct_all_digits",
    "correct_lenet",
    "correct_cnn_maximization",
]
# Which grade cell each name of the notebook belongs to.
CELL_OF = {
    "MLP": "correct_mlp",
    "accuracy": "correct_train_with_validation",
    "train_model": "correct_train_with_validation",
    "Optimize_NN_Input": "correct_optimize_input",
    "output_probabilities": "correct_probabilities",
    "maximize_each_digit": "correct_all_digits",
    "LeNet5": "correct_lenet",
}
# Names a cell's graders use on purpose, although another cell owns them.
USES = {"correct_cnn_maximization": {"Optimize_NN_Input"}}
DEFINITIONS = ["mlp_solution", "train_solution", "optimize_input_solution",
               "probabilities_solution", "all_digits_solution", "lenet_solution"]
PREAMBLE = """
import numpy as np
import torch
from torch import nn, optim
"""


def _fixtures():
    path = ROOT / "tests" / "fixtures" / f"{LAB}.py"
    spec = importlib.util.spec_from_file_location(f"_fixtures_{LAB}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = _fixtures()

REFERENCE = """
from reference.maximization import Optimize_NN_Input, maximize_each_digit, output_probabilities
from reference.models import MLP, LeNet5, accuracy, train_model
"""

# Written independently of the reference, in another style.
STUDENT_STYLE = '''
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, dropout=0.2):
        super().__init__()
        sizes = [784, 256, 128, 64]
        hidden = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            hidden += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*hidden, nn.Linear(64, 10), nn.LogSoftmax(dim=1))

    def forward(self, x):
        return self.body(x.flatten(1))


def accuracy(model, loader):
    mode = model.training
    model.eval()
    hits = n = 0
    with torch.no_grad():
        for xb, yb in loader:
            hits += int((model(xb).max(dim=1).indices == yb).sum())
            n += yb.numel()
    model.train(mode)
    return hits / n


def train_model(model, trainloader, validloader, epochs, lr):
    opt = optim.Adam(model.parameters(), lr=lr)
    history = ([], [])
    for epoch in range(epochs):
        model.train()
        batch_losses = []
        for xb, yb in trainloader:
            loss = F.nll_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        history[0].append(float(np.mean(batch_losses)))
        model.eval()
        with torch.no_grad():
            history[1].append(float(np.mean([F.nll_loss(model(xb), yb).item()
                                             for xb, yb in validloader])))
    return history


class Optimize_NN_Input(nn.Module):
    def __init__(self, NN_trained, lr, img0):
        super().__init__()
        NN_trained.requires_grad_(False)
        self.NN_trained = NN_trained.eval()
        self.input = nn.Parameter(img0.detach().clone())
        self.lr = lr
        self.criterion = nn.MSELoss()
        self.optim = optim.Adam(self.parameters(), lr)  # the frozen weights get no gradient
        self.loss_during_training = []

    def forward(self):
        return self.NN_trained(self.input)

    def trainloop(self, category, true_prob, sgd_iter):
        self.eval()
        target = np.log(true_prob)
        for _ in range(sgd_iter):
            self.optim.zero_grad()
            loss = (self.forward()[0, category] - target) ** 2
            self.loss_during_training.append(float(loss.detach()))
            loss.backward()
            self.optim.step()


def output_probabilities(opt_input):
    return np.exp(opt_input().detach().numpy()[0])


def maximize_each_digit(NN_trained, img0, lr, true_prob, sgd_iter):
    out = torch.empty(10, *img0.shape[1:])
    for k in range(10):
        o = Optimize_NN_Input(NN_trained, lr, img0)
        o.trainloop(k, true_prob, sgd_iter)
        out[k] = o.input.detach().squeeze(0)
    return out


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10), nn.LogSoftmax(dim=1))

    def forward(self, x):
        return self.classifier(self.features(x))
'''

# (name, grade cell, replacement definitions run after the student-style solution).
VARIANTS = [
    ("softmax instead of log-softmax", "correct_mlp", '''
class MLP(nn.Module):
    def __init__(self, dropout=0.2):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(128, 64), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(64, 10), nn.Softmax(dim=1))
    def forward(self, x):
        return self.net(x)
'''),
    ("no ReLU after the third hidden layer", "correct_mlp", '''
class MLP(nn.Module):
    def __init__(self, dropout=0.2):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(128, 64), nn.Dropout(dropout),
                                 nn.Linear(64, 10), nn.LogSoftmax(dim=1))
    def forward(self, x):
        return self.net(x)
'''),
    ("dropout applied in eval mode too (F.dropout, training=True)", "correct_mlp", '''
class MLP(nn.Module):
    def __init__(self, dropout=0.2):
        super().__init__()
        self.p = dropout
        self.fc = nn.ModuleList([nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 64)])
        self.out = nn.Linear(64, 10)
    def forward(self, x):
        for layer in self.fc:
            x = F.dropout(F.relu(layer(x)), self.p, training=True)
        return F.log_softmax(self.out(x), dim=1)
'''),
    ("LogSoftmax over dim 0", "correct_mlp", '''
class MLP(nn.Module):
    def __init__(self, dropout=0.2):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(256, 128), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(128, 64), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(64, 10), nn.LogSoftmax(dim=0))
    def forward(self, x):
        return self.net(x)
'''),
    ("SGD instead of Adam", "correct_train_with_validation", '''
def train_model(model, trainloader, validloader, epochs, lr):
    opt = optim.SGD(model.parameters(), lr=lr)
    tr, va = [], []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in trainloader:
            opt.zero_grad()
            loss = F.nll_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        tr.append(total / len(trainloader))
        model.eval()
        with torch.no_grad():
            va.append(sum(F.nll_loss(model(xb), yb).item() for xb, yb in validloader)
                      / len(validloader))
    return tr, va
'''),
    ("validation with dropout on", "correct_train_with_validation", '''
def train_model(model, trainloader, validloader, epochs, lr):
    opt = optim.Adam(model.parameters(), lr=lr)
    tr, va = [], []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for xb, yb in trainloader:
            opt.zero_grad()
            loss = F.nll_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        tr.append(total / len(trainloader))
        with torch.no_grad():
            va.append(sum(F.nll_loss(model(xb), yb).item() for xb, yb in validloader)
                      / len(validloader))
    return tr, va
'''),
    ("a copy of the model is trained", "correct_train_with_validation", '''
import copy as _copy
_right_train_model = train_model
def train_model(model, trainloader, validloader, epochs, lr):
    return _right_train_model(_copy.deepcopy(model), trainloader, validloader, epochs, lr)
'''),
    ("losses kept as tensors", "correct_train_with_validation", '''
def train_model(model, trainloader, validloader, epochs, lr):
    opt = optim.Adam(model.parameters(), lr=lr)
    tr, va = [], []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in trainloader:
            opt.zero_grad()
            loss = F.nll_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss
        tr.append(total / len(trainloader))
        model.eval()
        with torch.no_grad():
            va.append(sum(F.nll_loss(model(xb), yb) for xb, yb in validloader)
                      / len(validloader))
    return tr, va
'''),
    ("accuracy as the mean of batch accuracies", "correct_train_with_validation", '''
def accuracy(model, loader):
    model.eval()
    with torch.no_grad():
        return float(np.mean([(model(xb).argmax(1) == yb).float().mean().item()
                              for xb, yb in loader]))
'''),
    ("accuracy with dropout on", "correct_train_with_validation", '''
def accuracy(model, loader):
    hits = n = 0
    with torch.no_grad():
        for xb, yb in loader:
            hits += int((model(xb).argmax(1) == yb).sum())
            n += len(yb)
    return hits / n
'''),
    ("Adam's default learning rate instead of lr", "correct_optimize_input", '''
_Right = Optimize_NN_Input
class Optimize_NN_Input(_Right):
    def __init__(self, NN_trained, lr, img0):
        super().__init__(NN_trained, lr, img0)
        self.optim = optim.Adam([self.input])
'''),
    ("the loss recorded after the step", "correct_optimize_input", '''
_Right = Optimize_NN_Input
class Optimize_NN_Input(_Right):
    def trainloop(self, category, true_prob, sgd_iter):
        self.NN_trained.eval()
        for _ in range(sgd_iter):
            self.optim.zero_grad()
            loss = (self.forward()[0, category] - np.log(true_prob)) ** 2
            loss.backward()
            self.optim.step()
            with torch.no_grad():
                after = (self.forward()[0, category] - np.log(true_prob)) ** 2
            self.loss_during_training.append(after.item())
'''),
    ("log-probabilities returned", "correct_probabilities", '''
def output_probabilities(opt_input):
    return opt_input.forward().detach().numpy()[0]
'''),
    ("the [1, 10] row returned", "correct_probabilities", '''
def output_probabilities(opt_input):
    return opt_input.forward().detach().exp().numpy()
'''),
    ("each digit continues from the previous one", "correct_all_digits", '''
def maximize_each_digit(NN_trained, img0, lr, true_prob, sgd_iter):
    images, start = [], img0
    for k in range(10):
        o = Optimize_NN_Input(NN_trained, lr, start)
        o.trainloop(k, true_prob, sgd_iter)
        start = o.input.detach()
        images.append(start[0])
    return torch.stack(images)
'''),
    ("one object for all digits", "correct_all_digits", '''
def maximize_each_digit(NN_trained, img0, lr, true_prob, sgd_iter):
    o = Optimize_NN_Input(NN_trained, lr, img0)
    images = []
    for k in range(10):
        o.trainloop(k, true_prob, sgd_iter)
        images.append(o.input.detach()[0].clone())
    return torch.stack(images)
'''),
    ("a list instead of a tensor", "correct_all_digits", '''
_right_each = maximize_each_digit
def maximize_each_digit(NN_trained, img0, lr, true_prob, sgd_iter):
    return list(_right_each(NN_trained, img0, lr, true_prob, sgd_iter))
'''),
    ("average pooling", "correct_lenet", '''
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)
    def forward(self, x):
        x = F.avg_pool2d(F.relu(self.c1(x)), 2)
        x = F.avg_pool2d(F.relu(self.c2(x)), 2).flatten(1)
        return F.log_softmax(self.f3(F.relu(self.f2(F.relu(self.f1(x))))), dim=1)
'''),
    ("tanh instead of ReLU", "correct_lenet", '''
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)
    def forward(self, x):
        x = F.max_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.max_pool2d(torch.tanh(self.c2(x)), 2).flatten(1)
        return F.log_softmax(self.f3(torch.tanh(self.f2(torch.tanh(self.f1(x))))), dim=1)
'''),
]

_PROFILE = "grading-quick"


def run(ns, grade_id, **kwargs):
    kwargs.setdefault("profile_name", _PROFILE)
    return failures(GRADERS.run_cell(FakeStudent(ns), grade_id, **kwargs))


def test_every_grade_id_has_a_grader():
    GRADERS.check_files(GRADE_IDS)


def test_notebook_cells_are_the_ones_graded():
    sources = solution_sources(LAB)
    assert set(DEFINITIONS) <= set(sources)
    for fixture in FIXTURES.WRONG.values():
        assert fixture["target"] in GRADE_IDS
        assert set(fixture["cells"]) <= set(sources)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_reference_passes(grade_id):
    assert not run(namespace(PREAMBLE, REFERENCE), grade_id)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_student_style_passes(grade_id):
    assert not run(namespace(PREAMBLE, STUDENT_STYLE), grade_id)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_source_notebook_solutions_pass(grade_id):
    sources = solution_sources(LAB)
    assert not run(namespace(PREAMBLE, *(sources[c] for c in DEFINITIONS)), grade_id)


def _fixture_namespace(cells):
    sources = dict(solution_sources(LAB))
    sources.update(cells)
    return namespace(PREAMBLE, *(sources[c] for c in DEFINITIONS))


@pytest.mark.parametrize("name", sorted(FIXTURES.WRONG))
def test_fixture_loses_points_on_its_cell(name):
    fixture = FIXTURES.WRONG[name]
    outcome = run(_fixture_namespace(fixture["cells"]), fixture["target"],
                  profile_name="grading-noshrink", first_failure=True)
    expect_failed_cleanly(outcome, name)


CLASS_FIXTURES = sorted(name for name, fixture in FIXTURES.WRONG.items()
                        if "optimize_input_solution" in fixture["cells"])


@pytest.mark.parametrize("name", CLASS_FIXTURES)
def test_fixture_keeps_the_other_cell_of_the_class(name):
    """A broken Optimize_NN_Input costs one of the two cells that run it, not both."""
    fixture = FIXTURES.WRONG[name]
    other = ({"correct_optimize_input", "correct_cnn_maximization"} - {fixture["target"]}).pop()
    assert not run(_fixture_namespace(fixture["cells"]), other, profile_name="grading-noshrink")


@pytest.mark.parametrize("name, grade_id, code", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_wrong_variant_fails_its_cell(name, grade_id, code):
    outcome = run(namespace(PREAMBLE, STUDENT_STYLE, code), grade_id,
                  profile_name="grading-noshrink", first_failure=True)
    expect_failed_cleanly(outcome, name)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_cells_are_isolated(grade_id):
    """With every other exercise's names raising, a correct solution keeps full marks."""
    ns = namespace(PREAMBLE, STUDENT_STYLE)
    assert not run(isolated(ns, CELL_OF, grade_id, keep=USES.get(grade_id, ())), grade_id)
