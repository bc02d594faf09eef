"""Issue 14, class 3: the kernel's connection file is the sandbox's to rewrite.

The notebook rewrites the connection file in the shared folder so that the graders' kernel
client connects elsewhere on the host: a TCP service on the host's loopback
(``connection_file_tcp``), a Unix socket under another folder (``connection_file_ipc``).
The trusted side must take the connection from its own copy and connect only to the IPC
sockets it expects: no host service sees a connection, and grading goes on as if nothing
happened (``scale``, which is correct in these submissions, keeps its 3 points).
"""

from __future__ import annotations

import pytest
from attacks import with_cell
from host_watch import FIND_SHARED, HONEST, Listeners, grade

pytestmark = pytest.mark.slow

REWRITE = FIND_SHARED + """
info = json.load(open(CONNECTION))
info.update({changes})
for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
    info[key] = {port}
os.unlink(CONNECTION)  # the trusted side owns it: replace it, the folder is ours
with open(CONNECTION, "w") as f:
    json.dump(info, f)
"""

NAMES = ["connection_file_tcp", "connection_file_ipc"]


def attacks(listeners: Listeners) -> dict:
    tcp = REWRITE.format(changes={"transport": "tcp", "ip": "127.0.0.1"},
                         port=listeners.tcp_port)
    ipc = REWRITE.format(changes={"transport": "ipc", "ip": listeners.ipc_prefix},
                         port=listeners.ipc_port)
    return {"connection_file_tcp": (with_cell(tcp), "expected"),
            "connection_file_ipc": (with_cell(ipc), "expected")}


@pytest.fixture(scope="module")
def listeners(tmp_path_factory):
    listeners = Listeners(tmp_path_factory.mktemp("host"))
    yield listeners
    listeners.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listeners):
    return grade(tmp_path_factory, attacks(listeners))


def test_honest_controls_keep_exact_scores(graded):
    results, _ = graded
    for name in ("honest_a", "honest_b"):
        assert results[name].scores == HONEST, results[name].feedback


@pytest.mark.parametrize("name", NAMES)
def test_tampering_changes_nothing(graded, listeners, name):
    results, _ = graded
    scores = results[name].scores
    assert scores.get("correct_add", (0.0, 2.0))[0] == 0.0, results[name].feedback
    # grading went on with the trusted connection: the correct scale keeps its points
    assert scores.get("correct_scale") == (3.0, 3.0), results[name].feedback
    assert attacks(listeners)[name][1] in results[name].feedback["correct_add"]


def test_no_host_service_was_contacted(graded, listeners):
    assert listeners.accepted["tcp"] == 0
    assert listeners.accepted["ipc"] == 0


def test_nothing_left_in_the_temp_folder(graded):
    _, watch = graded
    assert watch.left() == [], watch.left()
