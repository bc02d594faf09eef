"""Cheating and breaking submissions of the tiny lab, built from its source by scripted edits.

The base of every attack is the tiny lab with a WRONG `add` (a - b: 0 points of 2) and a
correct `scale` (3 of 3): an attack that gains anything shows up as points on `correct_add`.
Most cheats try a forbidden thing inside `add` and return the right answer only if it works.
"""

from __future__ import annotations

import copy
import json

from tiny_course import ROOT, SOURCE

from course.authoring import notebooks as nbk

MARKER = "/tmp/course-adversarial-pwned"  # created on the host if a payload ever ran there


def _cheat(action: str) -> str:
    body = "\n".join("        " + line for line in action.strip().splitlines())
    return f'''
def add(a, b):
    try:
{body}
    except BaseException:
        return a - b
    return a + b  # only reached when the forbidden action worked
'''


WRONG_ADD = "def add(a, b):\n    return a - b"


def base():
    return nbk.set_source(SOURCE, "add_solution", WRONG_ADD)


def with_add(source: str):
    return nbk.set_source(SOURCE, "add_solution", source)


def with_cell(source: str, at: int | None = None, nb=None):
    nb = copy.deepcopy(nb or base())
    cell = nbk.code(source)
    nb.cells.insert(len(nb.cells) if at is None else at, cell)
    return nb


def _edit(fn):
    nb = copy.deepcopy(base())
    fn(nb)
    return nb


def _grade_cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# Writes a pickled object array into the bridge's call folder and makes the kernel's side
# of the bridge point at it; unpickling it on the trusted side would create MARKER.
PICKLE_PAYLOAD = f'''
import json, os, sys, numpy as np
class Boom:
    def __reduce__(self):
        return (os.system, ("touch {MARKER}",))
_real_dump = json.dump
def _evil_dump(obj, f, **kw):
    call_dir = os.path.dirname(f.name)
    np.save(os.path.join(call_dir, "evil.npy"), np.array([Boom()], dtype=object),
            allow_pickle=True)
    _real_dump({{"ok": True, "result": {{"$type": "ndarray", "file": "evil.npy"}}}}, f)
json.dump = _evil_dump
'''

SYMLINK_RESULT = f'''
import json, os
_real_dump = json.dump
def _evil_dump(obj, f, **kw):
    call_dir = os.path.dirname(f.name)
    os.symlink("{ROOT}/nbgrader_config.py", os.path.join(call_dir, "part1.npy"))
    _real_dump({{"ok": True, "result": {{"$type": "ndarray", "file": "part1.npy"}}}}, f)
json.dump = _evil_dump
'''


def attacks(host_port: int) -> dict[str, tuple[object, str]]:
    """name -> (submission, what the feedback or outcome must show)."""
    a = {
        "import_reference": (with_add(_cheat("import reference")), "[FAIL]"),
        "import_reference_uncaught": (with_add(
            "def add(a, b):\n    from reference.activations import get_top_neurons\n"
            "    return a + b"), "ModuleNotFoundError"),
        "read_grader_by_path": (with_add(_cheat(
            f"open('{ROOT}/tests/graders/activation_matrix/test_correct_top_neurons.py').read()"
        )), "FAIL"),
        "read_gradebook_by_path": (with_add(_cheat(f"open('{ROOT}/gradebook.db', 'rb').read(1)")),
                                   "FAIL"),
        "search_filesystem_for_graders": (with_add(_cheat(
            "import os\n"
            "hits = [f for top in ('/tmp', '/home', '/root', '/work', '/srv', '/')\n"
            "        for d, _, fs in os.walk(top) if not d.startswith(('/proc', '/usr', '/sys'))\n"
            "        for f in fs if f == 'test_correct_add.py'\n"
            "        or (f == 'gradebook.db' and 'site-packages' not in d)]\n"
            "assert hits")), "FAIL"),
        "read_other_students": (with_add(_cheat(
            "import glob\n"
            "assert glob.glob('/**/submitted/*/*/*.ipynb', recursive=True)")), "FAIL"),
        "network_internet": (with_add(_cheat(
            "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)")), "FAIL"),
        "network_host_loopback": (with_add(_cheat(
            f"import socket\nsocket.create_connection(('127.0.0.1', {host_port}), timeout=2)")),
            "FAIL"),
        "hard_coded_visible_answer": (with_add("def add(a, b):\n    return 3"), "expected"),
        "always_equal_object": (with_add(
            "class Equal:\n    def __eq__(self, other):\n        return True\n\n"
            "def add(a, b):\n    return Equal()"), "object of type"),
        "monkeypatch_numpy_and_asserts": (with_cell(
            "import numpy, numpy.testing, pandas.testing\n"
            "numpy.testing.assert_allclose = lambda *a, **k: None\n"
            "pandas.testing.assert_frame_equal = lambda *a, **k: None\n"
            "numpy.allclose = lambda *a, **k: True\nnumpy.array_equal = lambda *a, **k: True"),
            "FAIL"),
        "break_builtins_in_kernel": (with_cell(
            "import builtins\nbuiltins.isinstance = lambda *a: True"), "stopped answering"),
        "monkeypatch_bridge_status": (with_cell(
            "import json\n_d = json.dump\n"
            "json.dump = lambda obj, f, **k: _d({'ok': True, 'result': 3}, f)"), "FAIL"),
        "pickle_payload_result": (with_cell(PICKLE_PAYLOAD), "could not be read"),
        "symlink_result_to_course_file": (with_cell(SYMLINK_RESULT), "could not be read"),
        "huge_array_result": (with_add(
            "import numpy as np\ndef add(a, b):\n    return np.zeros(20_000_000)"), "too large"),
        "infinite_loop_in_function": (with_add("def add(a, b):\n    while True:\n        pass"),
                                      "interrupted"),
        "infinite_loop_in_cell": (with_cell("while True:\n    pass"), "FAIL"),
        "memory_bomb": (with_cell(
            "hog = []\nwhile True:\n    hog.append(bytearray(256 * 1024**2))"),
                        "FAIL"),
        "fork_bomb": (with_cell(
            "import os, time\nfor _ in range(5000):\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)"), "FAIL"),
        "fill_the_disk": (with_cell(
            "import os\nchunk = b'x' * 16 * 1024**2\n"
            "for name in ('big1', '/tmp/big2'):\n"
            "    try:\n        with open(name, 'wb') as f:\n"
            "            for _ in range(200):\n                f.write(chunk)\n"
            "    except OSError:\n        pass"), "FAIL"),
        "sys_exit_in_function": (with_add("import sys\ndef add(a, b):\n    sys.exit(0)"),
                                 "SystemExit"),
        "os_exit_in_cell": (with_cell("import os\nos._exit(0)"), "kernel died"),
        "kill_own_kernel": (with_cell("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
                            "kernel died"),
        "kill_parent_and_init": (with_cell(
            "import os, signal\nfor pid in (os.getppid(), 1):\n    try:\n"
            "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass"), "FAIL"),
        "fake_scores_printed": (with_add(
            "def add(a, b):\n    print(2.0)\n    from IPython.display import display\n"
            "    display(2.0)\n    return a - b"), "FAIL"),
        "stderr_flood": (with_cell("import sys\nfor _ in range(20000):\n"
                                   "    sys.stderr.write('x' * 500 + '\\n')"), "FAIL"),
        "edit_locked_test_cell": (_edit(lambda nb: setattr(
            nb.cells[_grade_cell_index(nb, "correct_add")], "source", "pass")), "FAIL"),
        "delete_locked_test_cell": (_edit(lambda nb: nb.cells.pop(
            _grade_cell_index(nb, "correct_add"))), "FAIL"),
        "duplicate_grade_id": (_edit(lambda nb: nb.cells.append(
            copy.deepcopy(nb.cells[_grade_cell_index(nb, "correct_add")]))), "FAIL"),
        "reordered_cells": (_edit(lambda nb: nb.cells.reverse()), ""),
        "kernelspec_other_language": (_edit(lambda nb: nb.metadata.update(kernelspec={
            "name": "ir", "display_name": "R", "language": "R"})), "FAIL"),
    }
    return a


def broken_files() -> dict[str, str | None]:
    """Submissions that are not a valid notebook: file name -> content (None: no file)."""
    return {
        "invalid_json": ("tiny.ipynb", "{ this is not json"),
        "empty_file": ("tiny.ipynb", ""),
        "missing_notebook": (None, None),
        "renamed_notebook": ("tiny-Copy1.ipynb", json.dumps(nbk.notebook([]))),
    }
