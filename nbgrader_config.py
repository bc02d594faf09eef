"""nbgrader configuration of the course: plain `nbgrader autograde LAB` is sandboxed and
runs the hidden graders, because Execute is replaced by
course.nbgrader_plugin.executor.SandboxedExecute."""

import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the `course` package, also when it is not pip-installed

from course.nbgrader_plugin.executor import SandboxedExecute  # noqa: E402
from course.nbgrader_plugin.sanitize import DropEmptyGraderMetadata  # noqa: E402
from course.nbgrader_plugin.zipcollect import SafeExtractor, TopLevelCollector  # noqa: E402

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "inside-neural-networks"
c.CourseDirectory.root = HERE

# Autograde: nbgrader's own pipeline with Execute replaced by the sandboxed executor.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# A deleted locked cell (test or prose) comes back from the gradebook instead of vanishing;
# DropEmptyGraderMetadata keeps a duplicated grade cell from crashing that step.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    DropEmptyGraderMetadata,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]

# Time budgets.
c.SandboxedExecute.timeout = 120  # seconds per cell
c.SandboxedExecute.startup_timeout = 60
c.SandboxedExecute.call_timeout = 30  # one call of a student function by a grader
c.SandboxedExecute.grading_timeout = 600  # all hidden graders of one notebook
c.SandboxedExecute.max_result_bytes = 64 * 1024**2

# The sandbox (course/sandbox/bubblewrap.py): limits of the student's kernel.
c.Sandbox.memory_limit = 4 * 1024**3  # address space per process
c.Sandbox.max_processes = 256
c.Sandbox.cpu_time = 900  # CPU seconds per process
c.Sandbox.file_size = 512 * 1024**2
c.Sandbox.open_files = 1024
c.Sandbox.tmpfs_size = 1024**3  # private home and /tmp together are capped at this each
# One BLAS/OpenMP thread per kernel: on the activation_matrix notebook a second thread saved
# 1 s of 19 s but cost 5 s more CPU, and parallel workers then fight over the cores.
c.Sandbox.threads = 1

# Feedback: keep long outputs of students' cells from bloating the autograded notebooks.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# zip_collect (also run by `course grade --zip`): the student id and attempt time come from
# each top-level entry's name only (LAB_STUDENT_attempt_YYYY-MM-DD-HH-MM-SS_FILE unless
# FileNameCollectorPlugin.named_regexp says otherwise), the newest attempt is collected, bad
# entries are skipped and reported (downloaded/LAB/collect_report.json), files come out 0644
# and folders 0755, and decompressed sizes are capped while streaming.
c.ZipCollectApp.extractor_plugin = SafeExtractor
c.ZipCollectApp.collector_plugin = TopLevelCollector
c.SafeExtractor.max_member_bytes = 64 * 1024**2
c.SafeExtractor.max_student_bytes = 200 * 1024**2  # as course grade's cap per submission
c.SafeExtractor.max_total_bytes = 4 * 1024**3
