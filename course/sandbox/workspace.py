"""The host folders of one sandboxed run: a private copy of the submission, the shared folder.

The copy keeps the student's files away from the grader's own folder: the sandbox reads
the copy, so nothing it does can change what nbgrader later writes. The shared folder holds
the kernel's IPC sockets and the bridge's call files.
"""

from __future__ import annotations

import os
import shutil
import tempfile


class Workspace:
    """Temporary host folders of one sandboxed run (see the module docstring)."""

    def __init__(self, submission_dir: str):
        self.root = tempfile.mkdtemp(prefix="course-sandbox-")
        os.chmod(self.root, 0o755)
        self.submission = os.path.join(self.root, "submission")
        self.shared = os.path.join(self.root, "shared")
        # symlinks=True: a link to a course file must stay a (dangling) link, never a copy.
        shutil.copytree(submission_dir, self.submission, symlinks=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        os.makedirs(self.shared)

    def give_to(self, uid: int) -> None:
        """Let the sandbox's uid write the shared folder (only when grading as root)."""
        if uid and os.geteuid() == 0:
            os.chown(self.shared, uid, uid)
            for dirpath, _dirs, files in os.walk(self.submission):
                os.chmod(dirpath, 0o755)
                for f in files:
                    os.chmod(os.path.join(dirpath, f), 0o644)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
