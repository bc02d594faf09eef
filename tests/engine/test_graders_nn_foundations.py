"""Self-test of the hidden graders of the nn_foundations lab, without a kernel.

With the harness's fake kernel (a namespace dict, the bridge's pickling and result
encoding), checked here:

- the reference, an independent student-style solution and the source notebook's solution
  cells pass every property;
- each wrong solution (one function or class replaced) fails at least one property of the
  grade cell it belongs to, with a message fit for a student;
- every cell's graders pass with the functions of all *other* cells raising, so a mistake
  in one exercise can never cost points in another.
"""

from __future__ import annotations

import pytest

import reference.linear_models as ref_linear
import reference.single_neuron as ref_neuron
import reference.small_networks as ref_networks
from course.graders.harness import (
    FakeStudent,
    GraderSet,
    expect_failed_cleanly,
    failures,
    isolated,
    namespace,
    notebook_cells,
    solution_sources,
)

LAB = "nn_foundations"
GRADERS = GraderSet(LAB)
# Which grade cell each student function or class belongs to.
CELL_OF = {
    "sigmoid": "correct_activation_functions",
    "relu": "correct_activation_functions",
    "linear": "correct_activation_functions",
    "arctan": "correct_activation_functions",
    "weighted_inputs": "correct_neuron_output",
    "neuron_output": "correct_neuron_output",
    "select_classes": "correct_class_selection",
    "class_mean_images": "correct_mean_images",
    "weight_image": "correct_mean_images",
    "weight_images": "correct_one_vs_rest",
    "digit_vs_rest_means": "correct_one_vs_rest",
    "count_parameters": "correct_count_parameters",
    "LogisticRegressionNet": "correct_logistic_network",
    "HiddenLayerNet": "correct_hidden_network",
    "hidden_activations": "correct_hidden_activations",
    "class_evidence": "correct_hidden_activations",
}
GRADE_IDS = sorted(set(CELL_OF.values()))
PREAMBLE = """
import warnings
import numpy as np
import pandas as pd
import torch
from torch import nn
"""

# An independent solution, written differently from the notebook's and the reference's.
STUDENT_STYLE = '''
from scipy.special import expit


def sigmoid(x):
    return expit(np.asarray(x, dtype=float))


def relu(x):
    x = np.array(x, dtype=float)
    x[x < 0] = 0.0
    return x


def linear(x):
    return np.asarray(x, dtype=float)


def arctan(x):
    return np.arctan(x)


def weighted_inputs(x, w):
    return np.multiply(x, w)


def neuron_output(x, w, b=0.0, activation=sigmoid):
    z = np.dot(x, w) + b
    return activation(z)


def select_classes(X, y, class_1, class_2):
    rows = [i for i, label in enumerate(y) if label == class_1 or label == class_2]
    return X[rows], y[rows]


def class_mean_images(X, y, class_1, class_2):
    X2, y2 = select_classes(X, y, class_1, class_2)  # Exercise 3's function, reused
    m1 = np.mean(X2[y2 == class_1], axis=0).reshape((28, 28))
    m2 = np.mean(X2[y2 == class_2], axis=0).reshape((28, 28))
    return m1, m2, m2 - m1


def weight_image(coef):
    return np.reshape(coef, (28, 28))


def weight_images(coef):
    return np.stack([weight_image(row) for row in coef])


def digit_vs_rest_means(X, y, digit):
    mine = X[y == digit].mean(0).reshape(28, 28)
    rest = X[y != digit].mean(0).reshape(28, 28)
    return mine, rest, mine - rest


def count_parameters(model):
    return int(sum(np.prod(p.shape) for p in model.parameters()))


class LogisticRegressionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.output = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.output(x.view(-1, 784))


class HiddenLayerNet(nn.Module):
    def __init__(self, n_hidden=36):
        super().__init__()
        self.hidden = nn.Linear(784, n_hidden)
        self.act = nn.ReLU()
        self.output = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.output(self.act(self.hidden(x)))


def hidden_activations(model, image):
    return torch.clamp(model.hidden(image), min=0).detach().numpy()


def class_evidence(model, image):
    h = torch.as_tensor(hidden_activations(model, image))
    return (model.output.weight.detach() * h.unsqueeze(0)).numpy()
'''

# (name, function or class it replaces, code). The name says what is wrong.
WRONG = [
    ("sigmoid as 1 / (1 + exp(-x)): overflows", "sigmoid", '''
def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))
'''),
    ("sigmoid with np.where: computes both branches", "sigmoid", '''
def sigmoid(x):
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
'''),
    ("sigmoid mirrored: 1 / (1 + exp(x))", "sigmoid", '''
def sigmoid(x):
    x = np.clip(np.asarray(x, dtype=float), -500, 500)
    return 1 / (1 + np.exp(x))
'''),
    ("relu keeps negative values halved (leaky)", "relu", '''
def relu(x):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, 0.5 * x)
'''),
    ("arctan as tanh", "arctan", '''
def arctan(x):
    return np.tanh(np.asarray(x, dtype=float))
'''),
    ("linear flattens its input", "linear", '''
def linear(x):
    return np.asarray(x, dtype=float).ravel()
'''),
    ("bias ignored", "neuron_output", '''
def neuron_output(x, w, b=0.0, activation=sigmoid):
    return activation(np.asarray(x) @ np.asarray(w))
'''),
    ("bias added after the activation", "neuron_output", '''
def neuron_output(x, w, b=0.0, activation=sigmoid):
    return activation(np.asarray(x) @ np.asarray(w)) + b
'''),
    ("weighted inputs summed", "weighted_inputs", '''
def weighted_inputs(x, w):
    return np.sum(np.asarray(x) * np.asarray(w), axis=-1)
'''),
    ("grouped by class (class_1 rows first)", "select_classes", '''
def select_classes(X, y, class_1, class_2):
    a, b = y == class_1, y == class_2
    return np.concatenate([X[a], X[b]]), np.concatenate([y[a], y[b]])
'''),
    ("only class_1 kept", "select_classes", '''
def select_classes(X, y, class_1, class_2):
    return X[y == class_1], y[y == class_1]
'''),
    ("sorted by label", "select_classes", '''
def select_classes(X, y, class_1, class_2):
    keep = np.isin(y, [class_1, class_2])
    order = np.argsort(y[keep], kind="stable")
    return X[keep][order], y[keep][order]
'''),
    ("difference reversed (mean_1 - mean_2)", "class_mean_images", '''
def class_mean_images(X, y, class_1, class_2):
    m1 = X[y == class_1].mean(axis=0).reshape(28, 28)
    m2 = X[y == class_2].mean(axis=0).reshape(28, 28)
    return m1, m2, m1 - m2
'''),
    ("means not reshaped to 28 x 28", "class_mean_images", '''
def class_mean_images(X, y, class_1, class_2):
    m1, m2 = X[y == class_1].mean(axis=0), X[y == class_2].mean(axis=0)
    return m1, m2, m2 - m1
'''),
    ("weight image transposed (column by column)", "weight_image", '''
def weight_image(coef):
    return np.asarray(coef).reshape(28, 28, order="F")
'''),
    ("rest mean as the mean of the per-digit means", "digit_vs_rest_means", '''
def digit_vs_rest_means(X, y, digit):
    mine = X[y == digit].mean(axis=0).reshape(28, 28)
    others = [X[y == k].mean(axis=0) for k in np.unique(y) if k != digit]
    rest = np.mean(others, axis=0).reshape(28, 28)
    return mine, rest, mine - rest
'''),
    ("difference reversed (rest - digit)", "digit_vs_rest_means", '''
def digit_vs_rest_means(X, y, digit):
    mine = X[y == digit].mean(axis=0).reshape(28, 28)
    rest = X[y != digit].mean(axis=0).reshape(28, 28)
    return mine, rest, rest - mine
'''),
    ("weight images column by column", "weight_images", '''
def weight_images(coef):
    return np.asarray(coef).reshape(-1, 28, 28).transpose(0, 2, 1)
'''),
    ("only trainable parameters counted", "count_parameters", '''
def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
'''),
    ("state_dict counted (buffers included)", "count_parameters", '''
def count_parameters(model):
    return sum(t.numel() for t in model.state_dict().values())
'''),
    ("only weights counted (biases forgotten)", "count_parameters", '''
def count_parameters(model):
    return sum(p.numel() for name, p in model.named_parameters() if "bias" not in name)
'''),
    ("softmax in forward", "LogisticRegressionNet", '''
class LogisticRegressionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.output = nn.Linear(784, 10)

    def forward(self, x):
        return torch.softmax(self.output(x), dim=1)
'''),
    ("no bias", "LogisticRegressionNet", '''
class LogisticRegressionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.output = nn.Linear(784, 10, bias=False)

    def forward(self, x):
        return self.output(x)
'''),
    ("an extra hidden layer", "LogisticRegressionNet", '''
class LogisticRegressionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 10)
        self.output = nn.Linear(10, 10)

    def forward(self, x):
        return self.output(self.hidden(x))
'''),
    ("no activation on the hidden layer", "HiddenLayerNet", '''
class HiddenLayerNet(nn.Module):
    def __init__(self, n_hidden=36):
        super().__init__()
        self.hidden = nn.Linear(784, n_hidden)
        self.output = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.output(self.hidden(x))
'''),
    ("hidden size fixed at 36", "HiddenLayerNet", '''
class HiddenLayerNet(nn.Module):
    def __init__(self, n_hidden=36):
        super().__init__()
        self.hidden = nn.Linear(784, 36)
        self.output = nn.Linear(36, 10)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
'''),
    ("sigmoid hidden units", "HiddenLayerNet", '''
class HiddenLayerNet(nn.Module):
    def __init__(self, n_hidden=36):
        super().__init__()
        self.hidden = nn.Linear(784, n_hidden)
        self.output = nn.Linear(n_hidden, 10)

    def forward(self, x):
        return self.output(torch.sigmoid(self.hidden(x)))
'''),
    ("hidden activations before the ReLU", "hidden_activations", '''
def hidden_activations(model, image):
    with torch.no_grad():
        return model.hidden(image)
'''),
    ("evidence without the activations (the output weights)", "class_evidence", '''
def class_evidence(model, image):
    return model.output.weight.detach().clone()
'''),
    ("evidence transposed", "class_evidence", '''
def class_evidence(model, image):
    h = hidden_activations(model, image)
    with torch.no_grad():
        return (model.output.weight * h).T
'''),
]


def reference_namespace() -> dict:
    ns = namespace(PREAMBLE)
    for module in (ref_neuron, ref_linear, ref_networks):
        ns.update({name: getattr(module, name) for name in module.__all__})
    return ns


def notebook_namespace() -> dict:
    return namespace(PREAMBLE, *solution_sources(LAB).values())


@pytest.fixture(scope="module", autouse=True)
def trained_models():
    """Train (or load) the fixed MNIST models once, outside any timed property."""
    from nn_foundations.cases import (
        split_arrays,
        trained_hidden_net,
        trained_logistic_net,
        trained_one_vs_eight,
    )

    split_arrays()
    trained_logistic_net()
    trained_hidden_net()
    trained_one_vs_eight()


def test_every_grade_cell_has_a_grader():
    cells = [c.get("metadata", {}).get("nbgrader", {}) for c in notebook_cells(LAB)]
    autograded = sorted(m["grade_id"] for m in cells
                        if m.get("grade") and not m.get("solution"))
    assert autograded == GRADE_IDS
    GRADERS.check_files(GRADE_IDS)


@pytest.mark.parametrize("make", [reference_namespace, notebook_namespace,
                                  lambda: namespace(PREAMBLE, STUDENT_STYLE)],
                         ids=["reference", "notebook", "student-style"])
def test_right_solutions_pass_everything(make):
    student = FakeStudent(make())
    for grade_id in GRADE_IDS:
        failed = failures(GRADERS.run_cell(student, grade_id, profile_name="grading-quick"))
        assert not failed, f"{grade_id}: {failed}"


@pytest.mark.parametrize("name, function, code", WRONG, ids=[f"{f}: {n}" for n, f, _ in WRONG])
def test_wrong_solution_fails_its_cell(name, function, code):
    student = FakeStudent(namespace(PREAMBLE, STUDENT_STYLE, code))
    outcome = failures(GRADERS.run_cell(student, CELL_OF[function], first_failure=True))
    expect_failed_cleanly(outcome, name)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_cells_are_isolated(grade_id):
    """Full marks on a cell even with every function of the other cells raising."""
    ns = namespace(PREAMBLE, STUDENT_STYLE)
    failed = failures(GRADERS.run_cell(FakeStudent(isolated(ns, CELL_OF, grade_id)), grade_id))
    assert not failed, failed


def _fixtures():
    from course.authoring.selfcheck import load_fixtures

    return load_fixtures(LAB)


@pytest.mark.parametrize("fixture", sorted(_fixtures()))
def test_fixture_loses_points_only_on_its_target(fixture):
    """What `course check` verifies with a real kernel, here on the fake one (fewer examples)."""
    wrong = _fixtures()[fixture]
    cells = {**solution_sources(LAB), **wrong["cells"]}
    student = FakeStudent(namespace(PREAMBLE, *cells.values()))
    lost = [grade_id for grade_id in GRADE_IDS
            if failures(GRADERS.run_cell(student, grade_id, profile_name="grading-quick"))]
    assert lost == [wrong["target"]]
