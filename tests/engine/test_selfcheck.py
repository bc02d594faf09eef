"""`course check LAB` on every lab: the solution gets full marks, the release 0, and each
wrong-solution fixture loses points on the grade cell it targets and keeps all others."""

import subprocess
import sys

import pytest

from course import release
from course.selfcheck import load_fixtures

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lab", release.labs())
def test_graders_tell_right_from_wrong(lab, root):
    proc = subprocess.run([sys.executable, "-m", "course", "check", lab, "--workers", "2"],
                          cwd=root, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_activation_matrix_has_the_required_wrong_solutions():
    wrong = load_fixtures("activation_matrix")
    assert len(wrong) >= 8
    targets = {w["target"] for w in wrong.values()}
    assert {"correct_average_activations", "correct_top_neurons", "correct_layer_output",
            "correct_activation_matrix"} <= targets
