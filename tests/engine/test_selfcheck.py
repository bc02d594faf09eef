"""`course check LAB` on every lab: the solution gets full marks, the release 0, and each
wrong-solution fixture loses points on the grade cell it targets and keeps all others.

The activation_matrix lab's check is here; every other lab has its own file
(test_selfcheck_<lab>.py), so that the slow checks run in parallel."""

from pathlib import Path

import pytest
from selfcheck_run import course_check

from course.authoring.selfcheck import load_fixtures
from course.layout import Course


@pytest.mark.slow
def test_graders_tell_right_from_wrong(root):
    course_check("activation_matrix", root)


def test_every_lab_has_a_self_check_and_wrong_fixtures(root):
    for lab in Course().labs():
        if lab != "activation_matrix":
            assert (Path(__file__).parent / f"test_selfcheck_{lab}.py").exists(), lab
        assert len(load_fixtures(lab)) >= 4, f"{lab}: at least 4 wrong-solution fixtures"


def test_activation_matrix_has_the_required_wrong_solutions():
    wrong = load_fixtures("activation_matrix")
    assert len(wrong) >= 8
    targets = {w["target"] for w in wrong.values()}
    assert {"correct_average_activations", "correct_top_neurons", "correct_layer_output",
            "correct_activation_matrix"} <= targets
