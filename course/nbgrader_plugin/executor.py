"""``SandboxedExecute``: nbgrader's Execute, with the kernel in the sandbox and hidden graders.

Wired into ``nbgrader autograde`` by ``nbgrader_config.py``. For each notebook it
1. copies the submission folder to a private workspace and starts the kernel inside the
   sandbox (IPC sockets in the workspace's shared folder);
2. runs every cell with a per-cell timeout, as nbgrader would;
3. runs the lab's hidden graders (``tests/graders/<lab>/test_<grade_id>.py``) in a trusted
   subprocess that calls the student's functions in the live kernel through the bridge;
4. writes every grade cell's outputs itself: the feedback on stdout and the score as the
   cell's result. nbgrader's SaveAutoGrades then reads the score from there.

Score of a grade cell = points x (passed hidden properties / all of them); a cell with no
hidden grader scores by its own visible asserts (all or nothing). Nothing the student's
code prints can become a score: all outputs of grade cells are replaced.
"""

from __future__ import annotations

import errno
import math
import os
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode

from ..graders import runner as graders_runner
from ..layout import Course
from ..runner.limits import limit_memory
from ..sandbox import Sandbox, SandboxedKernelManager, SandboxUnavailable, Workspace
from ..sandbox.cgroups import SandboxCgroup
from ..sandbox.kernel import KernelNotStarted
from ..sandbox.workspace import WorkspaceError, disk_message
from . import feedback
from .output_caps import OutputBudget, capped_client


def _grade_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and c.cell_type == "code" and not c.metadata["nbgrader"].get("solution")]


def _explain(records: list[dict], why: str) -> list[dict]:
    """Add why the kernel was stopped to the checks that failed because of it."""
    return [dict(r, message=f"{why}\n{r.get('message') or ''}".strip())
            if not r["passed"] else r for r in records]


def _unsafe_requested() -> bool:
    return os.environ.get("COURSE_UNSAFE_NO_SANDBOX", "") not in ("", "0")


class SandboxedExecute(Execute):
    call_timeout = Float(
        30.0, help="Seconds a grader waits for one call of a student function"
    ).tag(config=True)
    grading_timeout = Float(600.0, help="Seconds all hidden graders of a notebook may take").tag(
        config=True
    )
    max_result_bytes = Integer(
        64 * 1024**2, help="Largest result a student function may return"
    ).tag(config=True)
    notebook_timeout = Float(
        300.0, help="Seconds the whole notebook may run (kernel start included); the cells "
        "after that are not run (0: no budget)").tag(config=True)
    max_cell_output_bytes = Integer(
        16 * 1024**2, help="Output a cell may show; the rest is dropped with a note"
    ).tag(config=True)
    max_notebook_output_bytes = Integer(
        48 * 1024**2, help="Output all cells of a notebook may show together"
    ).tag(config=True)
    max_message_bytes = Integer(
        32 * 1024**2, help="Largest message the grader accepts from the kernel (ZMQ)"
    ).tag(config=True)
    trusted_memory_limit = Integer(
        4 * 1024**3, help="Address space of this process and the graders' process, bytes "
        "(0: no limit): a submission that makes them grow fails alone").tag(config=True)
    max_submission_bytes = Integer(
        1024**3, help="Memory all results of one notebook's graders may decode to, together"
    ).tag(config=True)
    unsafe_no_sandbox = Bool(
        False, help="Run student code without the sandbox (UNSAFE; for machines without bwrap)"
    ).tag(config=True)
    lab = Unicode("", help="Lab id; by default the notebook's folder name").tag(config=True)
    course_root = Unicode("", help="Folder holding tests/graders (default: nbgrader's course root)"
                          ).tag(config=True)

    def _course_root(self) -> Path:
        root = self.course_root or self.config.get("CourseDirectory", {}).get("root") or os.getcwd()
        return Path(root).resolve()

    def preprocess(self, nb, resources, km=None):
        path = resources.get("metadata", {}).get("path") or os.getcwd()
        lab = self.lab or resources.get("nbgrader", {}).get("assignment") or os.path.basename(path)
        sandbox: Sandbox | None = Sandbox(parent=self)
        if self.unsafe_no_sandbox or _unsafe_requested():
            self.log.warning("!" * 78 + "\nGRADING WITHOUT A SANDBOX: student code runs with your "
                             "rights and can read the graders and the gradebook.\n" + "!" * 78)
            sandbox = None
        else:
            try:
                sandbox.check()
            except SandboxUnavailable as error:
                self.log.error(str(error))
                raise
        limit_memory(self.trusted_memory_limit)
        try:
            workspace = Workspace(path, shared_size=sandbox.shared_size if sandbox else 0,
                                  shared_entries=sandbox.shared_files if sandbox else 0)
        except WorkspaceError as error:  # the host's temp disk is full, say: tell the student
            self.log.error("%s", error)
            cells = _grade_cells(nb)
            for cell in cells:
                feedback.write_grade_cell(cell, feedback.all_failed(cells, str(error)))
            return nb, resources
        group = SandboxCgroup(parent=self).create() if sandbox is not None else None
        context = None
        try:
            km = SandboxedKernelManager(sandbox=sandbox, workspace=workspace, lab=lab)
            if group is not None:
                km.launch_prefix = group.prefix()
            context = capped_client(km, self.max_message_bytes)
            try:
                self._run(nb, resources, km, lab, workspace)
            finally:
                km.release()
        finally:
            if group is not None:
                group.close()  # whatever the sandbox left running, in any session
            if context is not None:
                if getattr(self, "kc", None) is not None:
                    self.kc.stop_channels()
                context.destroy(linger=0)
            workspace.close()
        return nb, resources

    # Per-notebook caps, used by nbclient's hooks below while the cells run.
    _deadline: float | None = None
    _outputs: OutputBudget | None = None

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def process_message(self, msg, cell, cell_index):
        if self._outputs is not None and not self._outputs.process(msg, cell, cell_index):
            return None
        return super().process_message(msg, cell, cell_index)

    def _out_of_time(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline - 0.5

    def _run(self, nb, resources, km, lab, workspace):
        from nbclient.client import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        grade_cells = _grade_cells(nb)
        records: list[dict] = []
        root = self._course_root()
        started = time.monotonic()
        self._deadline = started + self.notebook_timeout if self.notebook_timeout > 0 else None
        self._outputs = OutputBudget(self.max_cell_output_bytes, self.max_notebook_output_bytes)
        notes: list[str] = []
        try:
            with self.setup_kernel():
                info = self.wait_for_reply(self.kc.kernel_info())
                nb.metadata["language_info"] = info["content"]["language_info"]
                for index, cell in enumerate(nb.cells):
                    try:
                        if cell.cell_type == "code" and self._out_of_time():
                            raise CellTimeoutError("notebook budget")
                        self.preprocess_cell(cell, resources, index)
                    except MemoryError:
                        records = feedback.all_failed(grade_cells, feedback.out_of_memory_message(
                            self.trusted_memory_limit))
                        return
                    except (DeadKernelError, CellTimeoutError) as error:
                        # Dead, or alive but silent (e.g. the student broke builtins the
                        # kernel itself needs), or out of time: no later cell or check
                        # can run.
                        dead = isinstance(error, DeadKernelError)
                        if not dead and self._out_of_time():
                            why = feedback.out_of_time_message(index, nb.cells,
                                                               self.notebook_timeout)
                        else:
                            why = feedback.kernel_died_message(index, nb.cells, dead)
                        if km.stopped_why:  # the watchdog stopped it: say why
                            why = f"{km.stopped_why} {why}"
                        if not dead and "IOPub" in str(error):
                            # The reply came, the outputs did not: a broken kernel, or ZMQ
                            # refused a message past max_message_bytes (it cannot tell us).
                            why += " " + feedback.output_refused_hint(self.max_message_bytes)
                        self.log.warning("%s", why)
                        records = feedback.all_failed(grade_cells, why)
                        return
                executed = time.monotonic()
                self.log.info("notebook executed in the sandbox in %.1f s (kernel start "
                              "included)", executed - started)
                ids = [c.metadata["nbgrader"]["grade_id"] for c in grade_cells]
                with_graders = sorted(set(ids) & Course(root).grade_ids_with_graders(lab))
                if with_graders:
                    # The graders connect with the manager's own copy of the connection, in
                    # a folder the sandbox cannot reach: the file in shared/ is the kernel's.
                    connection = workspace.write_trusted("kernel.json", km.trusted_connection())
                    records = graders_runner.run(
                        lab, connection, workspace.shared, km.sandbox_uid,
                        grade_ids=with_graders, call_timeout=self.call_timeout,
                        total_timeout=self.grading_timeout, max_bytes=self.max_result_bytes,
                        max_submission_bytes=self.max_submission_bytes, root=root,
                        memory_limit=self.trusted_memory_limit)
                    self.log.info("hidden graders: %d properties in %.1f s", len(records),
                                  time.monotonic() - executed)
                    if km.stopped_why:
                        records = _explain(records, km.stopped_why)
        except KernelNotStarted as error:
            self.log.warning("%s", error)
            records = feedback.all_failed(grade_cells, str(error))
        except OSError as error:  # the host's temp disk filled up while grading
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self.log.error("grading failed: %s", error)
            records = feedback.all_failed(grade_cells, disk_message(
                error, "Your submission could not be graded to the end"))
        finally:
            self._shutdown(km)
            if self._outputs.cut:
                notes.append(feedback.outputs_cut_message(len(self._outputs.cut),
                                                          self.max_cell_output_bytes,
                                                          self.max_notebook_output_bytes))
            self._deadline = self._outputs = None
            for cell in grade_cells:
                feedback.write_grade_cell(cell, records, notes)

    def _shutdown(self, km):
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception as error:  # noqa: BLE001 - a dead sandbox is cleaned up with the workspace
            self.log.warning("kernel shutdown: %s", error)
