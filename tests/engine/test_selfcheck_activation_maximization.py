"""`course check activation_maximization`: solution full marks, release 0, each wrong fixture loses
only its own cell."""

import pytest
from selfcheck_run import course_check


@pytest.mark.slow
def test_graders_tell_right_from_wrong(root):
    course_check("activation_maximization", root)
