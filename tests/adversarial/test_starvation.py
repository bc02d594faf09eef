"""Issue 14, class 6: a submission that starves its classmates of CPU or stalls the batch.

Two attacks, each graded in a batch beside honest controls of the tiny lab:

- spinners: the notebook forks many busy-looping processes (each in its own session, well
  within the sandbox's process limit and per-process CPU time) and keeps them running while
  the classmates of the other worker are graded. Without a CPU cap on the whole sandbox the
  honest kernels get a tiny share of the cores and stop answering (0 points).
- sleepers: cells that each sleep a little less than the per-cell timeout. Without a budget
  for the whole notebook they hold the batch for their sum.

After the fix: one cgroup per sandbox (cpu.max, pids.max, memory.max) keeps the spinners on
their CPU share, and a wall-clock budget per notebook stops the sleepers, with feedback.
The spinners must outlive the honest classmates' grading, so the attack waits 75 s in its
cells: the module takes about 5 minutes on a loaded 2-core machine (COURSE_ADV_SPINNERS,
COURSE_ADV_BUSY change the attack's and the honest notebook's sizes). Measured on the old
code: the CPU-busy honest control scored 0/5 ("kernel stopped answering"), the sleepers ran
all 5 sleep cells.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from attacks import WRONG_ADD, with_cell
from tiny_course import LAB, SOURCE, make_course

from course.authoring import notebooks as nbk
from course.authoring.batch import grade_batch

pytestmark = pytest.mark.slow

SPINNERS = int(os.environ.get("COURSE_ADV_SPINNERS", "200"))
# The honest controls' notebook burns BUSY CPU-seconds in a cell (as a real lab's training
# does): a few seconds of wall time on a fair share of a loaded machine, minutes at 1/200.
BUSY = float(os.environ.get("COURSE_ADV_BUSY", "0.5"))
CELL_TIMEOUT = 30
SPIN_CELLS = 3  # the spinners live while the attack waits in cells of CELL_TIMEOUT - 5 s
SLEEP_CELLS, SLEEP_SECONDS = 5, 6.0  # the attack sleeps 30 s in all, under 10 s a cell
BUDGET = 10  # seconds of the notebook budget in the sleepers' batch
HONEST = {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}

SPIN = f'''
import os
if os.fork() == 0:  # a launcher, so that this cell returns at once
    os.setsid()
    for _ in range({SPINNERS}):
        if os.fork() == 0:
            os.setsid()
            while True:
                pass
    os._exit(0)
'''


def _config(cell_timeout: float, notebook_budget: float) -> str:
    return f"""
c.SandboxedExecute.timeout = {cell_timeout:g}
c.SandboxedExecute.call_timeout = 3
c.SandboxedExecute.grading_timeout = 60
c.SandboxedExecute.notebook_timeout = {notebook_budget:g}
c.Sandbox.tmpfs_size = 128 * 1024**2
c.Sandbox.memory_limit = 2 * 1024**3
"""


def _side_by_side(tmp_path_factory, config: str, batches: list[dict]) -> tuple[dict, list]:
    """Grade each batch in its own course copy, all batches at once: (results, seconds)."""
    course = make_course(tmp_path_factory.mktemp("starve-src"), config)

    def one(i, subs):
        start = time.monotonic()
        out = grade_batch(LAB, subs, tmp_path_factory.mktemp(f"starve{i}"), course,
                          tolerate=True)
        return out, time.monotonic() - start

    with ThreadPoolExecutor(len(batches)) as pool:
        done = list(pool.map(one, range(len(batches)), batches))
    results = {}
    for out, _ in done:
        results.update(out)
    return results, [seconds for _, seconds in done]


def spinner_attack():
    # The spinners run on while the notebook waits in cells shorter than the cell timeout.
    nb = with_cell(SPIN, at=2)
    for _ in range(SPIN_CELLS):
        nb = with_cell(f"import time\ntime.sleep({CELL_TIMEOUT - 5})", at=3, nb=nb)
    return nb


def busy_honest():
    """The honest solution, with a cell that needs BUSY seconds of CPU."""
    return with_cell(f"import time\nt = time.process_time()\n"
                     f"while time.process_time() - t < {BUSY}:\n    pass", at=2, nb=SOURCE)


def sleeper_attack():
    nb = nbk.set_source(SOURCE, "add_solution", WRONG_ADD)
    for _ in range(SLEEP_CELLS):
        nb = with_cell(f"import time\ntime.sleep({SLEEP_SECONDS})", at=2, nb=nb)
    return nb


@pytest.fixture(scope="module")
def spinners(tmp_path_factory):
    # The spinners' batch holds the attack only; the honest classmates are graded by the
    # other worker while the spinners run.
    return _side_by_side(tmp_path_factory, _config(CELL_TIMEOUT, 60 + CELL_TIMEOUT * SPIN_CELLS),
                         [{"a_spinner": spinner_attack()},
                          {"honest_a": busy_honest(), "honest_b": busy_honest()}])


@pytest.fixture(scope="module")
def sleepers(tmp_path_factory):
    return _side_by_side(tmp_path_factory, _config(SLEEP_SECONDS + 4, BUDGET),
                         [{"a_sleeper": sleeper_attack()}, {"honest_c": SOURCE}])


def test_spinners_do_not_starve_classmates(spinners):
    graded, _seconds = spinners
    for name in ("honest_a", "honest_b"):
        assert graded[name].scores == HONEST, graded[name].feedback


def test_spinners_gain_nothing(spinners):
    graded, _ = spinners
    assert graded["a_spinner"].scores.get("correct_add", (0.0, 2.0))[0] == 0.0


def _sleeps_run(notebook) -> int:
    """How many of the attack's sleep cells ran to their end (nbclient records timing; a
    cell stopped by a timeout ends with an error output)."""
    return sum(1 for cell in notebook.cells if "time.sleep" in cell.source
               and "shell.execute_reply" in cell.metadata.get("execution", {})
               and not any(out.output_type == "error" for out in cell.outputs))


def test_sleepers_stop_at_the_notebook_budget(sleepers):
    graded, seconds = sleepers
    # All the sleeps take SLEEP_CELLS * SLEEP_SECONDS (30 s); the budget (10 s) lets at most
    # BUDGET // SLEEP_SECONDS of them finish. (Batch wall times on a loaded machine are
    # dominated by nbgrader's own start-up, so they are reported, not asserted.)
    print("batch seconds (attack, honest):", seconds)
    assert _sleeps_run(graded["a_sleeper"].notebook) <= BUDGET // SLEEP_SECONDS
    assert graded["honest_c"].scores == HONEST
    assert graded["a_sleeper"].total == 0.0


def test_sleepers_are_told_why(sleepers):
    graded, _ = sleepers
    text = "\n".join(graded["a_sleeper"].feedback.values())
    assert f"time budget of {BUDGET} s" in text, text
