"""Issue 14, class 2: the trusted side must never follow a path the sandbox can write.

The attacks race the trusted side in the folder shared with the sandbox:
- ``listener_chmod_race``: a child process watches the shared folder (inotify) and swaps
  every new ``*.sock`` for a symlink to a root-owned 0600 host file, hoping the trusted
  side ``chmod``s it by path; the student's function hangs up the graders' connection on
  every call, so each call makes a new listener and a new race.
- ``ipc_socket_symlinks``: replaces the kernel's ZMQ IPC socket files by symlinks to a
  Unix socket on the host, so that the graders' kernel client connects there.
Graded with honest controls in one batch: 0 points gained, honest scores exact, no host
file changes mode or content, no host socket sees a connection, nothing left in TMPDIR.
"""

from __future__ import annotations

import pytest
from attacks import with_add, with_cell
from host_watch import FIND_SHARED, HONEST, Canaries, Listeners, grade, outputs_text

pytestmark = pytest.mark.slow

# The race: inotify on the shared folder, a symlink made in advance renamed over the new
# socket (one syscall), in a child of its own so the kernel goes on serving.
RACER = FIND_SHARED + """
import ctypes, struct, itertools
CANARY = {canary!r}
if os.fork() == 0:
    try:
        os.setsid()
        libc = ctypes.CDLL(None, use_errno=True)
        ino = libc.inotify_init()
        libc.inotify_add_watch(ino, SHARED.encode(), 0x100 | 0x80)  # CREATE | MOVED_TO
        spare = itertools.count()
        def ready():
            name = os.path.join(SHARED, f".spare{{next(spare)}}")
            os.symlink(CANARY, name)
            return name
        link = ready()
        while True:
            buf = os.read(ino, 65536)
            i = 0
            while i + 16 <= len(buf):
                _wd, _mask, _cookie, n = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + n].rstrip(b"\\0").decode()
                i += 16 + n
                if name.endswith(".sock"):
                    try:
                        os.rename(link, os.path.join(SHARED, name))
                        link = ready()
                    except OSError:
                        pass
    finally:
        os._exit(0)
"""

# The graded function hangs up the graders' connection on each call: a new listener each time.
HANG_UP = """
import sys
def add(a, b):
    f = sys._getframe(1)
    while f is not None and "sock" not in f.f_locals:
        f = f.f_back
    if f is not None:
        try:
            f.f_locals["sock"].shutdown(2)
        except OSError:
            pass
    return a - b
"""

IPC_SYMLINKS = FIND_SHARED + """
info = json.load(open(CONNECTION))
for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
    path = f"{{info['ip']}}-{{info[key]}}"
    os.unlink(path)
    os.symlink({target!r}, path)
"""


def attacks(canaries: Canaries, listeners: Listeners) -> dict:
    race = with_cell(RACER.format(canary=str(canaries.file)), at=2, nb=with_add(HANG_UP))
    return {
        "listener_chmod_race": (race, "graders' connection"),
        "ipc_socket_symlinks": (with_cell(IPC_SYMLINKS.format(target=listeners.unix_path)),
                                "replaced"),
    }


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("host")
    canaries, listeners = Canaries(folder), Listeners(folder)
    yield canaries, listeners
    listeners.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, host):
    return grade(tmp_path_factory, attacks(*host))


def test_honest_controls_keep_exact_scores(graded):
    results, _ = graded
    for name in ("honest_a", "honest_b"):
        assert results[name].scores == HONEST, results[name].feedback


@pytest.mark.parametrize("name", ["listener_chmod_race", "ipc_socket_symlinks"])
def test_attack_gains_nothing_and_is_explained(graded, host, name):
    results, _ = graded
    expected = attacks(*host)[name][1]
    assert set(results[name].scores) == set(HONEST), "the batch did not grade it"
    assert results[name].scores["correct_add"][0] == 0.0, results[name].feedback
    text = "\n".join(results[name].feedback.values()) + outputs_text(results[name])
    assert expected in text, text[:3000]


def test_no_host_file_changed_mode_or_content(graded, host):
    canaries, _ = host
    assert canaries.changed() == []


def test_no_trusted_connection_reached_a_host_socket(graded, host):
    _, listeners = host
    assert listeners.accepted["unix"] == 0


def test_nothing_left_in_the_temp_folder(graded):
    _, watch = graded
    assert watch.left() == [], watch.left()
