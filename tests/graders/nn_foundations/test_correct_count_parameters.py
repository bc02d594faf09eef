"""Hidden grader of count_parameters(model).

Models are built here (trusted side) and sent to the kernel. Every parameter counts,
trainable or frozen, each tensor once; buffers are not parameters.
"""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import reference.small_networks as ref
from course.graders.compare import describe

from .cases import (
    linear_stacks,
    seeded,
    trained_hidden_net,
    trained_logistic_net,
)

GRADES = ("count_parameters",)
SENDS = ("HiddenLayerNet", "LogisticRegressionNet")


def expect_count(student, model, text):
    got = student.count_parameters(model)
    expected = ref.count_parameters(model)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.item()
    if isinstance(got, (np.integer, np.floating)):
        got = got.item()
    if isinstance(got, float) and got.is_integer():
        got = int(got)
    if isinstance(got, bool) or not isinstance(got, int):
        raise AssertionError(f"count_parameters({text}): expected an int, got {describe(got)}")
    if got != expected:
        raise AssertionError(f"count_parameters({text}): expected {expected}, got {got}")


@given(case=linear_stacks())
def test_linear_stacks(student, case):
    """A stack of Linear layers: the sum of in * out + out over the layers."""
    expect_count(student, case.model, repr(case))


@given(case=linear_stacks(no_bias=True))
def test_layers_without_bias(student, case):
    """A Linear layer with bias=False has in * out parameters only."""
    expect_count(student, case.model, repr(case))


@given(case=linear_stacks(frozen=True))
def test_frozen_layers_count(student, case):
    """Frozen parameters (requires_grad=False) are parameters too and count."""
    expect_count(student, case.model, repr(case))


@given(case=linear_stacks(extras=True))
def test_buffers_and_shared_layers(student, case):
    """Buffers (batch-norm running statistics) do not count; a layer used twice counts once."""
    expect_count(student, case.model, repr(case))


@given(n_hidden=st.integers(1, 100))
def test_the_lab_networks(student, n_hidden):
    """The lab's networks: LogisticRegressionNet() has 7,850, HiddenLayerNet(n) 795 n + 10."""
    with seeded(0):
        expect_count(student, ref.LogisticRegressionNet(), "LogisticRegressionNet()")
        expect_count(student, ref.HiddenLayerNet(n_hidden), f"HiddenLayerNet({n_hidden})")


def test_trained_mnist(student):
    """The trained networks: 7,850 and 28,630 parameters."""
    expect_count(student, trained_logistic_net(), "the trained LogisticRegressionNet")
    expect_count(student, trained_hidden_net(), "the trained HiddenLayerNet(36)")
