"""The adversarial corpus: every attack graded in one batch with honest controls.

For each attack: (a) it gains no points over the same submission without the cheat (the
base has a wrong `add`, so `correct_add` must stay 0), (b) the honest submissions graded in
the same batch keep their exact scores and the batch completes, (c) the feedback says what
happened. Nothing from the sandbox may run on the trusted side (the pickle marker)."""

import os
import socket

import pytest
from attacks import MARKER, attacks, broken_files
from tiny_course import LAB, SOURCE, make_course

from course.authoring import notebooks as nbk
from course.authoring.batch import grade_parallel
from course.runner.nbgrader_cmd import nbgrader

pytestmark = pytest.mark.slow

CONFIG = """
c.SandboxedExecute.timeout = 10
c.SandboxedExecute.call_timeout = 3
c.Sandbox.tmpfs_size = 128 * 1024**2
c.Sandbox.memory_limit = 2 * 1024**3
"""


@pytest.fixture(scope="module")
def listener():
    # A service on the host's loopback: the sandbox has its own, so it must not reach it.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="module")
def corpus(listener):
    return attacks(listener)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, corpus):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    course = make_course(tmp_path_factory.mktemp("adv-src"), CONFIG)
    nbgrader(course, "generate_assignment", LAB, "--force")
    release = nbk.read(course / "release" / LAB / f"{LAB}.ipynb")
    subs = {"honest_a": SOURCE, "honest_b": SOURCE, "blank": release}
    subs.update({name: nb for name, (nb, _) in corpus.items()})
    folders = tmp_path_factory.mktemp("broken")
    for name, (filename, text) in broken_files().items():
        folder = folders / name
        folder.mkdir()
        if filename:
            (folder / filename).write_text(text)
        subs[name] = folder
    return grade_parallel(LAB, subs, workers=2, root=course, tolerate=True)


def test_honest_submissions_are_unaffected(graded):
    for name in ("honest_a", "honest_b"):
        assert graded[name].scores == {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}
    assert graded["blank"].total == 0


@pytest.mark.parametrize("name", sorted(attacks(1)))
def test_attack_gains_no_points(graded, name):
    assert graded[name].scores.get("correct_add", (0.0, 2.0))[0] == 0.0, graded[name].feedback


@pytest.mark.parametrize("name", sorted(attacks(1)))
def test_feedback_says_what_happened(graded, corpus, name):
    expected = corpus[name][1]
    text = "\n".join(graded[name].feedback.values())
    assert expected in text, text[:2000]


@pytest.mark.parametrize("name", sorted(broken_files()))
def test_broken_submission_scores_zero_and_batch_goes_on(graded, name):
    assert graded[name].total == 0


def test_no_payload_ran_on_the_trusted_side(graded):
    assert not os.path.exists(MARKER)


def test_every_attack_was_graded(graded, corpus):
    # the batch completed: every attack has its grade cells in the gradebook
    for name in corpus:
        assert set(graded[name].scores) == {"correct_add", "correct_scale"}, name
