"""Caps on outputs kept by the grader (course/nbgrader_plugin/output_caps.py) and the memory
cap of the trusted processes (course/runner/limits.py)."""

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell

from course.nbgrader_plugin.output_caps import OutputBudget, content_bytes


def _display(size: int, count: int | None = None) -> dict:
    content = {"data": {"text/plain": "x" * size}, "metadata": {}}
    if count is not None:
        content["execution_count"] = count
    return {"msg_type": "execute_result" if count is not None else "display_data",
            "content": content}


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5000)), max_size=60),
       st.integers(1, 4000), st.integers(1, 9000))
def test_kept_bytes_never_pass_the_caps(messages, per_cell, per_notebook):
    budget = OutputBudget(per_cell, per_notebook)
    cells = [new_code_cell() for _ in range(4)]
    kept: dict[int, int] = {}
    for index, size in messages:
        msg = _display(size)
        if budget.process(msg, cells[index], index):
            kept[index] = kept.get(index, 0) + content_bytes(msg["content"])
    assert all(v <= per_cell for v in kept.values())
    assert sum(kept.values()) <= per_notebook
    for index, cell in enumerate(cells):  # one note per cut cell, none elsewhere
        notes = [o for o in cell.outputs if "[output cut" in o.get("text", "")]
        assert len(notes) == (index in budget.cut)


def test_a_cut_cell_keeps_its_count_and_execution_goes_on():
    budget = OutputBudget(100, 1000)
    cell = new_code_cell()
    assert budget.process(_display(10), cell, 0)
    assert not budget.process(_display(500, count=7), cell, 0)
    assert cell.execution_count == 7
    assert not budget.process(_display(1), cell, 0)  # cut: nothing more from this cell
    for kind in ("status", "execute_input", "comm_msg"):
        assert budget.process({"msg_type": kind, "content": {}}, cell, 0)
    assert budget.process(_display(10), new_code_cell(), 1)  # the next cell starts afresh


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_memory_limit_turns_a_bomb_into_a_memory_error():
    proc = _run("from course.runner.limits import limit_memory\n"
                "limit_memory(1024**3)\n"
                "try:\n    bytearray(3 * 1024**3)\nexcept MemoryError:\n    print('caught')\n")
    assert proc.stdout.strip() == "caught", proc.stderr


def test_memory_limit_is_soft_so_the_sandbox_init_sets_its_own():
    # The sandbox's init program (a child) sets a higher limit for the student's kernel.
    proc = _run("import resource, subprocess, sys\n"
                "from course.runner.limits import limit_memory\n"
                "limit_memory(1024**3)\n"
                "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
                "assert soft == 1024**3 and hard == resource.RLIM_INFINITY, (soft, hard)\n"
                "child = 'import resource; resource.setrlimit(resource.RLIMIT_AS, "
                "(4 * 1024**3, 4 * 1024**3)); print(resource.getrlimit(resource.RLIMIT_AS)[0])'\n"
                "print(subprocess.check_output([sys.executable, '-c', child], text=True))\n")
    assert proc.stdout.strip() == str(4 * 1024**3), proc.stderr
