"""`course check`'s own pieces (each lab's end-to-end check is in test_lab_contract.py)."""

from course.authoring.selfcheck import load_fixtures


def test_activation_matrix_has_the_required_wrong_solutions():
    wrong = load_fixtures("activation_matrix")
    assert len(wrong) >= 8
    targets = {w["target"] for w in wrong.values()}
    assert {"correct_average_activations", "correct_top_neurons", "correct_layer_output",
            "correct_activation_matrix"} <= targets
