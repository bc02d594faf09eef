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

import os
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode

from ..graders import runner as graders_runner
from ..layout import Course
from ..sandbox import Sandbox, SandboxedKernelManager, SandboxUnavailable, Workspace
from . import feedback


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
        workspace = Workspace(path)
        try:
            km = SandboxedKernelManager(sandbox=sandbox, workspace=workspace, lab=lab)
            self._run(nb, resources, km, lab, workspace)
        finally:
            workspace.close()
        return nb, resources

    def _run(self, nb, resources, km, lab, workspace):
        from nbclient.client import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        grade_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                       and c.cell_type == "code" and not c.metadata["nbgrader"].get("solution")]
        records: list[dict] = []
        root = self._course_root()
        started = time.monotonic()
        try:
            with self.setup_kernel():
                info = self.wait_for_reply(self.kc.kernel_info())
                nb.metadata["language_info"] = info["content"]["language_info"]
                for index, cell in enumerate(nb.cells):
                    try:
                        self.preprocess_cell(cell, resources, index)
                    except (DeadKernelError, CellTimeoutError) as error:
                        # Dead, or alive but silent (e.g. the student broke builtins the
                        # kernel itself needs): no later cell or check can run.
                        dead = isinstance(error, DeadKernelError)
                        why = feedback.kernel_died_message(index, nb.cells, dead)
                        self.log.warning("%s", why)
                        records = feedback.all_failed(grade_cells, why)
                        return
                executed = time.monotonic()
                self.log.info("notebook executed in the sandbox in %.1f s (kernel start "
                              "included)", executed - started)
                ids = [c.metadata["nbgrader"]["grade_id"] for c in grade_cells]
                with_graders = sorted(set(ids) & Course(root).grade_ids_with_graders(lab))
                if with_graders:
                    records = graders_runner.run(
                        lab, km.connection_file, workspace.shared, km.sandbox_uid,
                        grade_ids=with_graders, call_timeout=self.call_timeout,
                        total_timeout=self.grading_timeout, max_bytes=self.max_result_bytes,
                        max_submission_bytes=self.max_submission_bytes, root=root)
                    self.log.info("hidden graders: %d properties in %.1f s", len(records),
                                  time.monotonic() - executed)
        finally:
            self._shutdown(km)
            for cell in grade_cells:
                feedback.write_grade_cell(cell, records)

    def _shutdown(self, km):
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception as error:  # noqa: BLE001 - a dead sandbox is cleaned up with the workspace
            self.log.warning("kernel shutdown: %s", error)
