"""Self-test of the hidden graders of the activation_matrix lab, without a kernel.

A fake ``student`` stands for the notebook's kernel: its functions live in a namespace
dict (as a notebook's globals do), ``_patch`` swaps names in that dict during a call, the
arguments go through cloudpickle and the results through the bridge's own encoder and
decoder (Parquet, .npy, Vega-Lite JSON). Checked here:

- the reference, an independent student-style solution and the source notebook's
  solution cells pass every property;
- each wrong solution (one function replaced) fails at least one property of the grade
  cell that function belongs to, and no property of any other cell.
"""

from __future__ import annotations

import pytest

import reference.activations as ref_activations
import reference.charts as ref_charts
from course.graders.harness import (
    FakeStudent,
    GraderSet,
    expect_failed_cleanly,
    failures,
    isolated,
    solution_sources,
)
from course.graders.harness import namespace as notebook

LAB = "activation_matrix"
GRADERS = GraderSet(LAB)
GRADE_IDS = [
    "correct_layer_output",
    "correct_average_activations",
    "correct_activation_matrix",
    "correct_top_neurons",
    "correct_filter_activations",
    "correct_neuron_activation_matrix",
    "correct_all_matrices",
    "correct_confusion_matrix",
    "correct_activation_matrix_errors",
    "correct_error_matrix_chart",
]
# Which grade cell each student function belongs to.
CELL_OF = {
    "get_layer_output": "correct_layer_output",
    "get_average_activations": "correct_average_activations",
    "calculate_activation_matrix": "correct_activation_matrix",
    "get_top_neurons": "correct_top_neurons",
    "filter_activations": "correct_filter_activations",
    "neuron_activation_matrix": "correct_neuron_activation_matrix",
    "all_neuron_activation_matrices": "correct_all_matrices",
    "confusion_matrix_frame": "correct_confusion_matrix",
    "confusion_matrix_chart": "correct_confusion_matrix",
    "calculate_activation_matrix_errors": "correct_activation_matrix_errors",
    "neuron_activation_matrix_errors": "correct_error_matrix_chart",
}
PREAMBLE = """
import warnings
from itertools import product
import altair as alt
import numpy as np
import pandas as pd
alt.data_transformers.disable_max_rows()
"""


def reference_namespace() -> dict:
    ns = notebook(PREAMBLE)
    for module in (ref_activations, ref_charts):
        ns.update({name: getattr(module, name) for name in module.__all__})
    return ns


def run_cell(student, grade_id, **options):
    return GRADERS.run_cell(student, grade_id, **options)


# -- solutions ---------------------------------------------------------------------------
STUDENT_STYLE = '''
def get_layer_output(model, X, layer):
    a = np.asarray(X, dtype=float)
    if layer == 1:
        return a
    if layer == model.n_layers_:
        return model.predict_proba(X)
    functions = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
                 "logistic": lambda z: 1 / (1 + np.exp(-z)), "identity": lambda z: z}
    with np.errstate(over="ignore"):
        for i in range(layer - 1):
            a = functions[model.activation](a @ model.coefs_[i] + model.intercepts_[i])
    return a


def get_average_activations(X, nn):
    return [float(v) for layer in range(2, nn.n_layers_)
            for v in get_layer_output(nn, X, layer).mean(axis=0)]


def calculate_activation_matrix(X, y, nn):
    hidden = np.hstack([get_layer_output(nn, X, k) for k in range(2, nn.n_layers_)])
    frame = pd.DataFrame(hidden)
    frame["label"] = y
    means = frame.groupby("label").mean().reset_index()
    long = means.melt(id_vars="label", var_name="neuron", value_name="activation")
    long["neuron"] = long["neuron"].astype("int32")
    return long.sort_values(["neuron", "label"]).set_index("neuron", drop=False)[
        ["activation", "label", "neuron"]].rename_axis(None)


def get_top_neurons(activations, num_neurons, subset=None):
    rows = activations if subset is None else activations[activations.label == subset]
    means = rows.pivot_table(index="neuron", values="activation", aggfunc="mean")["activation"]
    order = np.lexsort((means.index.to_numpy(), -means.to_numpy()))
    return means.index.to_numpy()[order][:num_neurons]


def filter_activations(activations, neurons):
    neurons = list(neurons)
    return activations.query("neuron in @neurons")


def neuron_activation_matrix(activations, num_neurons, label):
    top = list(get_top_neurons(activations, num_neurons, label))
    return alt.Chart(filter_activations(activations, top)).mark_rect().encode(
        x=alt.X("neuron", type="ordinal", sort=[int(n) for n in top]),
        y=alt.Y("label", type="ordinal"),
        color="activation:Q",
        tooltip=[alt.Tooltip("neuron:O"), alt.Tooltip("label:O"), alt.Tooltip("activation:Q")],
    ).properties(width=400)


def all_neuron_activation_matrices(activations, num_neurons, labels):
    charts = [neuron_activation_matrix(activations, num_neurons, k) for k in labels]
    result = charts[0]
    for chart in charts[1:]:
        result = result & chart
    return result if len(charts) > 1 else alt.vconcat(result)


def confusion_matrix_frame(y_true, y_pred):
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
    matrix = pd.DataFrame(confusion_matrix(y_true, y_pred, labels=labels), index=labels,
                          columns=labels)
    long = matrix.stack().reset_index()
    long.columns = ["true_label", "predicted_label", "count"]
    return long.sample(frac=1, random_state=0)


def confusion_matrix_chart(cm):
    return alt.Chart(cm).mark_rect().encode(
        y="true_label:O", x="predicted_label:O", color="count:Q",
        tooltip=["predicted_label", "true_label", "count"])


def calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets):
    frames = []
    for t, p in subsets:
        mask = (y_true == t) & (y_pred == p)
        if mask.sum() == 0:
            continue
        avg = get_average_activations(X[mask], nn)
        frames.append(pd.DataFrame({"neuron": range(len(avg)), "true_label": t,
                                    "predicted_label": p, "activation": avg}))
    if not frames:
        return pd.DataFrame(columns=["neuron", "true_label", "predicted_label", "activation"])
    return pd.concat(frames)


def neuron_activation_matrix_errors(activations, num_neurons):
    top = get_top_neurons(activations, num_neurons)
    data = filter_activations(activations, top).copy()
    data["subset"] = data.apply(
        lambda r: f"true {int(r.true_label)}, predicted {int(r.predicted_label)}", axis=1)
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("neuron:O", sort=list(top)),
        y=alt.Y("subset:N", sort=list(pd.unique(data["subset"]))),
        color="activation:Q",
        tooltip=["neuron:O", "true_label:O", "predicted_label:O", "activation:Q"],
    )
'''

# (name, function it replaces, code). The name says what is wrong.
WRONG = [
    ("layer 1 is the first hidden layer (off by one)", "get_layer_output", '''
def get_layer_output(model, X, layer):
    from sklearn.neural_network._base import ACTIVATIONS
    a = np.asarray(X, dtype=float)
    for i in range(min(layer, model.n_layers_ - 1)):
        a = a @ model.coefs_[i] + model.intercepts_[i]
        ACTIVATIONS[model.out_activation_ if i == model.n_layers_ - 2 else model.activation](a)
    return a
'''),
    ("hidden layers always use relu", "get_layer_output", '''
def get_layer_output(model, X, layer):
    if layer == model.n_layers_:
        return model.predict_proba(X)
    a = np.asarray(X, dtype=float)
    for i in range(layer - 1):
        a = np.maximum(a @ model.coefs_[i] + model.intercepts_[i], 0)
    return a
'''),
    ("binary output returns the single logistic unit", "get_layer_output", '''
def get_layer_output(model, X, layer):
    from sklearn.neural_network._base import ACTIVATIONS
    a = np.asarray(X, dtype=float)
    for i in range(layer - 1):
        a = a @ model.coefs_[i] + model.intercepts_[i]
        ACTIVATIONS[model.out_activation_ if i == model.n_layers_ - 2 else model.activation](a)
    return a
'''),
    ("average over the wrong axis (per instance)", "get_average_activations", '''
def get_average_activations(X, nn):
    return np.concatenate([get_layer_output(nn, X, k).mean(axis=1)
                           for k in range(2, nn.n_layers_)])
'''),
    ("absolute values of the activations", "get_average_activations", '''
def get_average_activations(X, nn):
    return np.concatenate([np.abs(get_layer_output(nn, X, k)).mean(axis=0)
                           for k in range(2, nn.n_layers_)])
'''),
    ("output layer taken as hidden", "get_average_activations", '''
def get_average_activations(X, nn):
    return np.concatenate([get_layer_output(nn, X, k).mean(axis=0)
                           for k in range(2, nn.n_layers_ + 1)])
'''),
    ("hidden layers shifted by one (input in, last hidden out)", "get_average_activations", '''
def get_average_activations(X, nn):
    return np.concatenate([get_layer_output(nn, X, k).mean(axis=0)
                           for k in range(1, nn.n_layers_ - 1)])
'''),
    ("last hidden layer first", "get_average_activations", '''
def get_average_activations(X, nn):
    return np.concatenate([get_layer_output(nn, X, k).mean(axis=0)
                           for k in reversed(range(2, nn.n_layers_))])
'''),
    ("hard-coded answer of the visible test", "get_average_activations", '''
def get_average_activations(X, nn):
    return np.full(768, 0.05)
'''),
    ("labels range(10) instead of the labels in y", "calculate_activation_matrix", '''
def calculate_activation_matrix(X, y, nn):
    frames = [pd.DataFrame({"neuron": np.arange(len(a)), "label": k, "activation": a})
              for k in range(10) for a in [np.asarray(get_average_activations(X[y == k], nn))]]
    return pd.concat(frames, ignore_index=True)
'''),
    ("labels with one instance dropped", "calculate_activation_matrix", '''
def calculate_activation_matrix(X, y, nn):
    labels, counts = np.unique(y, return_counts=True)
    frames = [pd.DataFrame({"neuron": np.arange(len(a)), "label": k, "activation": a})
              for k in labels[counts > 1]
              for a in [np.asarray(get_average_activations(X[y == k], nn))]]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"neuron": [], "label": [], "activation": []})
'''),
    ("largest label dropped (range(max(y)))", "calculate_activation_matrix", '''
def calculate_activation_matrix(X, y, nn):
    frames = [pd.DataFrame({"neuron": np.arange(len(a)), "label": k, "activation": a})
              for k in range(int(max(y))) if (y == k).any()
              for a in [np.asarray(get_average_activations(X[y == k], nn))]]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"neuron": [], "label": [], "activation": []})
'''),
    ("labels stored as floats", "calculate_activation_matrix", '''
def calculate_activation_matrix(X, y, nn):
    frames = [pd.DataFrame({"neuron": np.arange(len(a)), "label": float(k), "activation": a})
              for k in np.unique(y)
              for a in [np.asarray(get_average_activations(X[y == k], nn))]]
    return pd.concat(frames, ignore_index=True)
'''),
    ("hard-coded shape of the visible test", "calculate_activation_matrix", '''
def calculate_activation_matrix(X, y, nn):
    return pd.DataFrame({"neuron": np.tile(np.arange(768), 10),
                         "label": np.repeat(np.arange(10), 768), "activation": 0.0})
'''),
    ("ascending order", "get_top_neurons", '''
def get_top_neurons(activations, num_neurons, subset=None):
    rows = activations if subset is None else activations[activations["label"] == subset]
    means = rows.groupby("neuron", as_index=False)["activation"].mean()
    means = means.sort_values(["activation", "neuron"], ascending=[True, True])
    return [int(n) for n in means["neuron"].head(num_neurons)]
'''),
    ("ties broken toward the higher id", "get_top_neurons", '''
def get_top_neurons(activations, num_neurons, subset=None):
    rows = activations if subset is None else activations[activations["label"] == subset]
    means = rows.groupby("neuron")["activation"].mean()
    order = np.argsort(means.to_numpy(), kind="stable")[::-1]
    return [int(n) for n in means.index.to_numpy()[order][:num_neurons]]
'''),
    ("subset ignored", "get_top_neurons", '''
def get_top_neurons(activations, num_neurons, subset=None):
    means = activations.groupby("neuron", as_index=False)["activation"].mean()
    means = means.sort_values(["activation", "neuron"], ascending=[False, True])
    return [int(n) for n in means["neuron"].head(num_neurons)]
'''),
    ("hard-coded answer of the visible test", "get_top_neurons", '''
def get_top_neurons(activations, num_neurons, subset=None):
    return [5, 1, 7, 0, 3, 2, 9, 4, 8, 6][:num_neurons]
'''),
    ("filters on the index instead of the neuron column", "filter_activations", '''
def filter_activations(activations, neurons):
    return activations[activations.index.isin(list(neurons))]
'''),
    ("hard-coded size of the visible test", "filter_activations", '''
def filter_activations(activations, neurons):
    return activations.head(400)
'''),
    ("neurons on x not in top order", "neuron_activation_matrix", '''
def neuron_activation_matrix(activations, num_neurons, label):
    top = get_top_neurons(activations, num_neurons, label)
    return alt.Chart(filter_activations(activations, top)).mark_rect().encode(
        x="neuron:O", y="label:O", color="activation:Q",
        tooltip=["neuron:O", "label:O", "activation:Q"])
'''),
    ("only the row of the label", "neuron_activation_matrix", '''
def neuron_activation_matrix(activations, num_neurons, label):
    top = get_top_neurons(activations, num_neurons, label)
    data = filter_activations(activations, top)
    return alt.Chart(data[data.label == label]).mark_rect().encode(
        x=alt.X("neuron:O", sort=top), y="label:O", color="activation:Q",
        tooltip=["neuron:O", "label:O", "activation:Q"])
'''),
    ("labels sorted instead of in the given order", "all_neuron_activation_matrices", '''
def all_neuron_activation_matrices(activations, num_neurons, labels):
    return alt.vconcat(*[neuron_activation_matrix(activations, num_neurons, k)
                         for k in sorted(labels)])
'''),
    ("side by side (hconcat)", "all_neuron_activation_matrices", '''
def all_neuron_activation_matrices(activations, num_neurons, labels):
    return alt.hconcat(*[neuron_activation_matrix(activations, num_neurons, k)
                         for k in labels])
'''),
    ("hard-coded ten labels of the visible test", "all_neuron_activation_matrices", '''
def all_neuron_activation_matrices(activations, num_neurons, labels):
    return alt.vconcat(*[neuron_activation_matrix(activations, num_neurons, k)
                         for k in range(10)])
'''),
    ("zero counts missing", "confusion_matrix_frame", '''
def confusion_matrix_frame(y_true, y_pred):
    frame = pd.DataFrame({"true_label": y_true, "predicted_label": y_pred})
    return frame.value_counts().rename("count").reset_index()
'''),
    ("crosstab: labels seen on one side only lost", "confusion_matrix_frame", '''
def confusion_matrix_frame(y_true, y_pred):
    table = pd.crosstab(pd.Series(y_true, name="true_label"),
                        pd.Series(y_pred, name="predicted_label"))
    return table.stack().rename("count").reset_index()
'''),
    ("x and y swapped", "confusion_matrix_chart", '''
def confusion_matrix_chart(cm):
    return alt.Chart(cm).mark_rect().encode(
        x="true_label:O", y="predicted_label:O", color="count:Q",
        tooltip=["true_label:O", "predicted_label:O", "count:Q"])
'''),
    ("pd.concat of no frames when every subset is empty", "calculate_activation_matrix_errors",
     '''
def calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets):
    frames = []
    for t, p in subsets:
        mask = (y_true == t) & (y_pred == p)
        if mask.any():
            a = np.asarray(get_average_activations(X[mask], nn))
            frames.append(pd.DataFrame({"neuron": np.arange(len(a)), "true_label": t,
                                        "predicted_label": p, "activation": a}))
    return pd.concat(frames, ignore_index=True)
'''),
    ("empty subsets kept as NaN rows", "calculate_activation_matrix_errors", '''
def calculate_activation_matrix_errors(X, y_true, y_pred, nn, subsets):
    n = sum(w.shape[1] for w in nn.coefs_[:-1])
    frames = []
    for t, p in subsets:
        mask = (y_true == t) & (y_pred == p)
        a = (np.asarray(get_average_activations(X[mask], nn)) if mask.any()
             else np.full(n, np.nan))
        frames.append(pd.DataFrame({"neuron": np.arange(n), "true_label": t,
                                    "predicted_label": p, "activation": a}))
    return pd.concat(frames, ignore_index=True)
'''),
    ("subsets sorted alphabetically on y", "neuron_activation_matrix_errors", '''
def neuron_activation_matrix_errors(activations, num_neurons):
    top = get_top_neurons(activations, num_neurons)
    data = filter_activations(activations, top)
    data["subset"] = [f"true {t}, predicted {p}"
                      for t, p in zip(data["true_label"], data["predicted_label"])]
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("neuron:O", sort=top), y="subset:N", color="activation:Q",
        tooltip=["neuron:O", "subset:N", "activation:Q"])
'''),
    ("every neuron shown, not the top ones", "neuron_activation_matrix_errors", '''
def neuron_activation_matrix_errors(activations, num_neurons):
    top = get_top_neurons(activations, num_neurons)
    data = activations.copy()
    data["subset"] = [f"true {t}, predicted {p}"
                      for t, p in zip(data["true_label"], data["predicted_label"])]
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("neuron:O", sort=top), y=alt.Y("subset:N", sort=list(pd.unique(data.subset))),
        color="activation:Q", tooltip=["neuron:O", "subset:N", "activation:Q"])
'''),
]


# -- tests -------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def trained_model():
    """Train (or load) the fixed MNIST model once, outside any timed property."""
    from activation_matrix.cases import trained_case

    trained_case()


def test_every_grade_id_has_a_grader():
    GRADERS.check_files(GRADE_IDS)


def test_reference_passes_everything():
    student = FakeStudent(reference_namespace())
    for grade_id in GRADE_IDS:
        failed = failures(run_cell(student, grade_id, profile_name="grading-quick"))
        assert not failed, f"{grade_id}: {failed}"


def test_source_notebook_solutions_pass_everything():
    student = FakeStudent(notebook(PREAMBLE, *solution_sources(LAB).values()))
    for grade_id in GRADE_IDS:
        failed = failures(run_cell(student, grade_id, profile_name="grading-quick"))
        assert not failed, f"{grade_id}: {failed}"


@pytest.mark.parametrize("name, function, code", WRONG, ids=[f"{f}: {n}" for n, f, _ in WRONG])
def test_wrong_solution_fails_its_cell(name, function, code):
    student = FakeStudent(notebook(PREAMBLE, STUDENT_STYLE, code))
    target = CELL_OF[function]
    outcome = failures(run_cell(student, target, first_failure=True))
    expect_failed_cleanly(outcome, name)


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_cells_are_isolated(grade_id):
    """An independent student-style solution gets full marks on every cell, even with every
    function of the other cells raising: so a wrong function anywhere else can never cost
    a cell points (its graders patch the reference ones in)."""
    namespace = isolated(notebook(PREAMBLE, STUDENT_STYLE), CELL_OF, grade_id)
    failed = failures(run_cell(FakeStudent(namespace), grade_id))
    assert not failed, failed
