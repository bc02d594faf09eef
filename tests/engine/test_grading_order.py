"""Grader files run in an order where no reference code reaches the kernel before the
checks it could answer, and the bridge sends only the reference code a file declares."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference.activations as ref_activations
import reference.models as ref_models
from course.bridge import ReferenceNotDeclared, declared, dumps_for_kernel
from course.bridge.sending import dumps_with_names, reference_name
from course.graders.order import DeclarationError, grading_order, read_declaration


def grader(folder, name, grades=(), sends=(), body=""):
    path = folder / f"test_{name}.py"
    path.write_text(f'"""{name}"""\n\nGRADES = {tuple(grades)!r}\nSENDS = {tuple(sends)!r}\n'
                    + body)
    return path


def test_a_file_that_sends_a_name_runs_after_every_file_that_grades_it(tmp_path):
    a = grader(tmp_path, "a_uses_b", grades=["f"], sends=["g", "h"])
    b = grader(tmp_path, "b_grades_g", grades=["g"])
    c = grader(tmp_path, "c_grades_h", grades=["h"], sends=["g"])
    assert grading_order([a, b, c]) == [b, c, a]


def test_files_with_no_dependency_keep_their_name_order(tmp_path):
    files = [grader(tmp_path, n, grades=[n]) for n in ("zeta", "alpha", "mid")]
    assert [p.stem for p in grading_order(files)] == ["test_alpha", "test_mid", "test_zeta"]


@given(st.permutations(range(6)), st.data())
def test_the_order_respects_every_declaration(tmp_path_factory, perm, data):
    """Random acyclic declarations (file i may send names graded by files j < i in a hidden
    order): every grader of a sent name comes first."""
    folder = tmp_path_factory.mktemp("g")
    files = []
    for position, i in enumerate(perm):
        earlier = [f"n{perm[j]}" for j in range(position)]
        sends = data.draw(st.lists(st.sampled_from(earlier), unique=True) if earlier
                          else st.just([]))
        files.append(grader(folder, f"f{i}", grades=[f"n{i}"], sends=sends))
    order = grading_order(files)
    seen: set[str] = set()
    for path in order:
        declaration = read_declaration(path)
        assert set(declaration.sends) <= seen, path.name
        seen |= set(declaration.grades)


def test_a_cycle_is_refused(tmp_path):
    a = grader(tmp_path, "a", grades=["f"], sends=["g"])
    b = grader(tmp_path, "b", grades=["g"], sends=["f"])
    with pytest.raises(DeclarationError, match="each other"):
        grading_order([a, b])


def test_a_file_may_not_send_what_it_grades(tmp_path):
    with pytest.raises(DeclarationError, match="what it grades"):
        read_declaration(grader(tmp_path, "self", grades=["f"], sends=["f"]))


@pytest.mark.parametrize("text", ['GRADES = ("f",)\n', 'GRADES = names()\nSENDS = ()\n',
                                  'GRADES = ("f", 3)\nSENDS = ()\n'])
def test_missing_or_computed_declarations_are_refused(tmp_path, text):
    path = tmp_path / "test_x.py"
    path.write_text(text)
    with pytest.raises(DeclarationError):
        read_declaration(path)


def test_files_without_declarations_grade_and_send_nothing_when_not_required(tmp_path):
    path = tmp_path / "test_plain.py"
    path.write_text("def test_x(student):\n    pass\n")
    assert read_declaration(path, required=False).sends == ()


def test_reference_functions_classes_and_instances_are_recorded_by_name():
    net = ref_models.MLP()
    _, sent = dumps_with_names(([1, 2], {"net": net}, {"g": ref_activations.get_layer_output}))
    assert {"MLP", "get_layer_output"} <= sent
    assert reference_name(ref_models.MLP.forward) == "MLP"
    assert reference_name(len) is None and reference_name(pickle.dumps) is None


def test_the_bridge_refuses_reference_code_a_grader_did_not_declare():
    with declared(["get_layer_output"]):
        dumps_for_kernel({"get_layer_output": ref_activations.get_layer_output})
        with pytest.raises(ReferenceNotDeclared, match="MLP"):
            dumps_for_kernel((ref_models.MLP(),))
    with declared([]), pytest.raises(ReferenceNotDeclared):
        dumps_for_kernel({"f": ref_activations.get_layer_output})


def test_plain_data_goes_through_whatever_is_declared():
    import numpy as np

    with declared([]):
        payload = dumps_for_kernel(([np.arange(3)], {"k": 2}, {}, None))
    assert pickle.loads(payload)[1] == {"k": 2}
