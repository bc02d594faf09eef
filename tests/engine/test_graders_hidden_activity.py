"""Self-test of the hidden graders of the hidden_activity lab, without a kernel.

The kernel-less harness (course/graders/harness.py) stands for the kernel. Checked here:

- the reference, an independent student-style solution and the source notebook's solution
  cells pass every property;
- each wrong solution (the lab's fixtures, and more variants below) fails at least one
  property of the grade cell it belongs to;
- no cell depends on another cell's code: with every other exercise's functions raising,
  a correct solution still gets full marks.
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

LAB = "hidden_activity"
GRADERS = GraderSet(LAB)
GRADE_IDS = [
    "correct_train_with_checkpoints",
    "correct_get_all_activations",
    "correct_project",
    "correct_neighborhood_hit",
    "correct_neuron_dissimilarity",
    "correct_discriminative_importance",
    "correct_neuron_projection_chart",
]
CELL_OF = {
    "train_with_checkpoints": "correct_train_with_checkpoints",
    "get_all_activations": "correct_get_all_activations",
    "project": "correct_project",
    "neighborhood_hit": "correct_neighborhood_hit",
    "neuron_dissimilarity": "correct_neuron_dissimilarity",
    "discriminative_importance": "correct_discriminative_importance",
    "neuron_projection_chart": "correct_neuron_projection_chart",
}
SOLUTIONS = [f"{name}_solution" for name in CELL_OF]
PREAMBLE = """
import copy
import warnings
import altair as alt
import numpy as np
import pandas as pd
import torch
from torch import nn
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler
alt.data_transformers.disable_max_rows()
"""

REFERENCE = """
from reference.hidden_charts import neuron_projection_chart
from reference.neurons import discriminative_importance, neuron_dissimilarity
from reference.projections import (get_all_activations, neighborhood_hit, project,
                                   train_with_checkpoints)
"""

# Written independently of the reference, in another style.
STUDENT_STYLE = '''
def train_with_checkpoints(model, X, y, epochs, lr=1e-3, batch_size=64, seed=0):
    data = torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32),
                                          torch.tensor(y).long())
    g = torch.Generator()
    g.manual_seed(seed)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    saved = [{k: v.clone() for k, v in model.state_dict().items()}]
    for epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        saved.append({k: v.clone() for k, v in model.state_dict().items()})
    return saved


def get_all_activations(model, X, layers):
    found = {}
    named = dict(model.named_modules())
    handles = []
    for name in layers:
        def keep(module, inp, out, name=name):
            found[name] = out.detach().reshape(out.shape[0], -1).numpy().copy()
        handles.append(named[name].register_forward_hook(keep))
    mode = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(X), 5):  # in batches, to check the tolerance
                batch = torch.tensor(np.asarray(X)[start:start + 5], dtype=torch.float32)
                model(batch)
                for name in layers:
                    found.setdefault("_" + name, []).append(found[name])
    finally:
        for h in handles:
            h.remove()
        model.train(mode)
    return {name: np.concatenate(found["_" + name]) if "_" + name in found
            else np.zeros((0, 0)) for name in layers}


def project(activations, perplexity=30.0, seed=0, init="pca", max_iter=300):
    A = np.array(activations, dtype=float)
    sd = A.std(axis=0)
    Z = (A - A.mean(axis=0)) / np.where(sd == 0, 1, sd)
    return TSNE(2, perplexity=perplexity, init=init, random_state=seed,
                max_iter=max_iter).fit_transform(Z)


def neighborhood_hit(points, labels, k=6):
    P = np.asarray(points, dtype=float)
    fractions = []
    for i in range(len(P)):
        d = np.linalg.norm(P - P[i], axis=1)
        order = [j for j in np.argsort(d, kind="mergesort") if j != i][:k]
        fractions.append(np.mean([labels[j] == labels[i] for j in order]))
    return float(np.mean(fractions))


def neuron_dissimilarity(activations):
    A = np.asarray(activations, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = np.corrcoef(A, rowvar=False)
    r = np.nan_to_num(np.atleast_2d(r), nan=0.0)
    d = 1 - np.abs(r)
    np.fill_diagonal(d, 0)
    return d


def discriminative_importance(activations, y, label, n_estimators=100, seed=0):
    target = (np.asarray(y) == label).astype(int)
    trees = ExtraTreesClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    return trees.fit(activations, target).feature_importances_


def neuron_projection_chart(neuron_points, importance, label):
    df = pd.DataFrame(neuron_points, columns=["x", "y"])
    df["neuron"] = range(len(df))
    df["importance"] = importance
    return alt.Chart(df, title=f"class {label}").mark_circle().encode(
        x="x:Q", y="y:Q", color="importance:Q", tooltip=["neuron", "importance"])
'''

# (name, grade cell, replacement definitions run after the student-style solution).
VARIANTS = [
    ("checkpoints are the live state dict", "correct_train_with_checkpoints", '''
_right_train = train_with_checkpoints
def train_with_checkpoints(model, X, y, epochs, lr=1e-3, batch_size=64, seed=0):
    _right_train(model, X, y, epochs, lr, batch_size, seed)
    return [model.state_dict() for _ in range(epochs + 1)]
'''),
    ("no checkpoint before training", "correct_train_with_checkpoints", '''
_right_train = train_with_checkpoints
def train_with_checkpoints(model, X, y, epochs, lr=1e-3, batch_size=64, seed=0):
    return _right_train(model, X, y, epochs, lr, batch_size, seed)[1:]
'''),
    ("does not train", "correct_train_with_checkpoints", '''
def train_with_checkpoints(model, X, y, epochs, lr=1e-3, batch_size=64, seed=0):
    return [copy.deepcopy(model.state_dict()) for _ in range(epochs + 1)]
'''),
    ("trains a copy, not the model", "correct_train_with_checkpoints", '''
_right_train = train_with_checkpoints
def train_with_checkpoints(model, X, y, epochs, lr=1e-3, batch_size=64, seed=0):
    return _right_train(copy.deepcopy(model), X, y, epochs, lr, batch_size, seed)
'''),
    ("dropout left on", "correct_get_all_activations", '''
_right_acts = get_all_activations
def get_all_activations(model, X, layers):
    out = {}
    hooks = [dict(model.named_modules())[n].register_forward_hook(
        lambda m, i, o, n=n: out.__setitem__(n, o.detach().flatten(1).numpy())) for n in layers]
    with torch.no_grad():
        model(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    for h in hooks:
        h.remove()
    return out
'''),
    ("hooks never removed", "correct_get_all_activations", '''
def get_all_activations(model, X, layers):
    out = {}
    for n in layers:
        dict(model.named_modules())[n].register_forward_hook(
            lambda m, i, o, n=n: out.__setitem__(n, o.detach().flatten(1).numpy()))
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    model.train(was)
    return out
'''),
    ("left in evaluation mode", "correct_get_all_activations", '''
_right_acts = get_all_activations
def get_all_activations(model, X, layers):
    result = _right_acts(model, X, layers)
    model.eval()
    return result
'''),
    ("tensors instead of numpy arrays", "correct_get_all_activations", '''
_right_acts = get_all_activations
def get_all_activations(model, X, layers):
    return {k: torch.as_tensor(v) for k, v in _right_acts(model, X, layers).items()}
'''),
    ("not flattened", "correct_get_all_activations", '''
def get_all_activations(model, X, layers):
    out = {}
    hooks = [dict(model.named_modules())[n].register_forward_hook(
        lambda m, i, o, n=n: out.__setitem__(n, o.detach().numpy())) for n in layers]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    model.train(was)
    for h in hooks:
        h.remove()
    return out
'''),
    ("unscaled activations", "correct_project", '''
def project(activations, perplexity=30.0, seed=0, init="pca", max_iter=300):
    return TSNE(2, perplexity=perplexity, init=init, random_state=seed,
                max_iter=max_iter).fit_transform(np.asarray(activations, dtype=float))
'''),
    ("init ignored", "correct_project", '''
_right_project = project
def project(activations, perplexity=30.0, seed=0, init="pca", max_iter=300):
    return _right_project(activations, perplexity, seed, "pca", max_iter)
'''),
    ("NaN for a constant feature", "correct_project", '''
def project(activations, perplexity=30.0, seed=0, init="pca", max_iter=300):
    A = np.asarray(activations, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z = (A - A.mean(axis=0)) / A.std(axis=0)
    return TSNE(2, perplexity=perplexity, init=init, random_state=seed,
                max_iter=max_iter).fit_transform(Z)
'''),
    ("k counts the point itself", "correct_neighborhood_hit", '''
def neighborhood_hit(points, labels, k=6):
    P, labels = np.asarray(points, dtype=float), np.asarray(labels)
    d = np.sqrt(((P[:, None] - P[None]) ** 2).sum(-1))
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())
'''),
    ("ties broken by a KD-tree", "correct_neighborhood_hit", '''
def neighborhood_hit(points, labels, k=6):
    from sklearn.neighbors import NearestNeighbors
    labels = np.asarray(labels)
    _, idx = NearestNeighbors(n_neighbors=k + 1, algorithm="kd_tree").fit(points).kneighbors(
        points)
    return float((labels[idx[:, 1:]] == labels[:, None]).mean())
'''),
    ("ties broken toward the higher index", "correct_neighborhood_hit", '''
def neighborhood_hit(points, labels, k=6):
    P, labels = np.asarray(points, dtype=float), np.asarray(labels)
    n = len(P)
    d = np.sqrt(((P[:, None] - P[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    reversed_order = np.argsort(d[:, ::-1], axis=1, kind="stable")[:, :k]
    nearest = n - 1 - reversed_order
    return float((labels[nearest] == labels[:, None]).mean())
'''),
    ("k fixed at 6", "correct_neighborhood_hit", '''
_right_hit = neighborhood_hit
def neighborhood_hit(points, labels, k=6):
    return _right_hit(points, labels, min(6, len(points) - 1))
'''),
    ("correlation without absolute value", "correct_neuron_dissimilarity", '''
def neuron_dissimilarity(activations):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = np.nan_to_num(np.atleast_2d(np.corrcoef(np.asarray(activations, float),
                                                    rowvar=False)), nan=0.0)
    d = 1 - r
    np.fill_diagonal(d, 0)
    return d
'''),
    ("NaN for dead neurons", "correct_neuron_dissimilarity", '''
def neuron_dissimilarity(activations):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = np.atleast_2d(np.corrcoef(np.asarray(activations, float), rowvar=False))
    return 1 - np.abs(r)
'''),
    ("squared correlation", "correct_neuron_dissimilarity", '''
_right_dissimilarity = neuron_dissimilarity
def neuron_dissimilarity(activations):
    return 1 - (1 - _right_dissimilarity(activations)) ** 2
'''),
    ("importance for the next class", "correct_discriminative_importance", '''
_right_importance = discriminative_importance
def discriminative_importance(activations, y, label, n_estimators=100, seed=0):
    return _right_importance(activations, y, label + 1 if label + 1 in set(y) else 0,
                             n_estimators, seed)
'''),
    ("all classes at once (multi-class target)", "correct_discriminative_importance", '''
def discriminative_importance(activations, y, label, n_estimators=100, seed=0):
    trees = ExtraTreesClassifier(n_estimators=n_estimators, random_state=seed)
    return trees.fit(activations, y).feature_importances_
'''),
    ("seed not passed on", "correct_discriminative_importance", '''
def discriminative_importance(activations, y, label, n_estimators=100, seed=0):
    trees = ExtraTreesClassifier(n_estimators=n_estimators)
    return trees.fit(activations, np.asarray(y) == label).feature_importances_
'''),
    ("colour by neuron", "correct_neuron_projection_chart", '''
def neuron_projection_chart(neuron_points, importance, label):
    df = pd.DataFrame(neuron_points, columns=["x", "y"])
    df["neuron"], df["importance"] = range(len(df)), importance
    return alt.Chart(df).mark_circle().encode(x="x:Q", y="y:Q", color="neuron:Q",
                                              tooltip=["neuron", "importance"])
'''),
    ("importance as a category", "correct_neuron_projection_chart", '''
def neuron_projection_chart(neuron_points, importance, label):
    df = pd.DataFrame(neuron_points, columns=["x", "y"])
    df["neuron"], df["importance"] = range(len(df)), importance
    return alt.Chart(df).mark_circle().encode(x="x:Q", y="y:Q", color="importance:N",
                                              tooltip=["neuron", "importance"])
'''),
    ("no tooltip", "correct_neuron_projection_chart", '''
def neuron_projection_chart(neuron_points, importance, label):
    df = pd.DataFrame(neuron_points, columns=["x", "y"])
    df["neuron"], df["importance"] = range(len(df)), importance
    return alt.Chart(df).mark_circle().encode(x="x:Q", y="y:Q", color="importance:Q")
'''),
]


def _fixtures():
    path = ROOT / "tests" / "fixtures" / f"{LAB}.py"
    spec = importlib.util.spec_from_file_location(f"_fixtures_{LAB}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = _fixtures()
_PROFILE = "grading-quick"


def run(ns, grade_id, **kwargs):
    kwargs.setdefault("profile_name", _PROFILE)
    return failures(GRADERS.run_cell(FakeStudent(ns), grade_id, **kwargs))


@pytest.fixture(scope="module", autouse=True)
def trained_networks():
    """Train (or load) the fixed MNIST networks once, outside any timed property."""
    from hidden_activity.cases import last_layer_map

    last_layer_map()


def test_every_grade_id_has_a_grader():
    GRADERS.check_files(GRADE_IDS)


def test_notebook_cells_are_the_ones_graded():
    sources = solution_sources(LAB)
    assert set(SOLUTIONS) <= set(sources)
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
    assert not run(namespace(PREAMBLE, *(sources[c] for c in SOLUTIONS)), grade_id)


@pytest.mark.parametrize("name", sorted(FIXTURES.WRONG))
def test_fixture_loses_points_on_its_cell(name):
    fixture = FIXTURES.WRONG[name]
    sources = solution_sources(LAB) | fixture["cells"]
    outcome = run(namespace(PREAMBLE, *(sources[c] for c in SOLUTIONS)), fixture["target"],
                  profile_name="grading-noshrink", first_failure=True)
    assert outcome, f"{name}: no property of {fixture['target']} failed"


@pytest.mark.parametrize("name, grade_id, code", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_wrong_variant_fails_its_cell(name, grade_id, code):
    outcome = run(namespace(PREAMBLE, STUDENT_STYLE, code), grade_id,
                  profile_name="grading-noshrink", first_failure=True)
    expect_failed_cleanly(outcome, name)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_cells_are_isolated(grade_id):
    """With every other exercise's names raising, a correct solution keeps full marks."""
    ns = namespace(PREAMBLE, STUDENT_STYLE)
    assert not run(isolated(ns, CELL_OF, grade_id), grade_id)
