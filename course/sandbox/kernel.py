"""A Jupyter kernel manager whose kernel runs inside the sandbox.

The kernel talks over IPC sockets in the workspace's shared folder: TCP loopback does not
cross the sandbox's network namespace, Unix sockets in a mounted folder do. Interrupts go
as messages (the kernel is in its own PID namespace and session, out of reach of signals
to a process group), so a cell timeout interrupts the student's code, not the sandbox.
"""

from __future__ import annotations

import os
import sys

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Instance, List, Unicode

from .bubblewrap import Sandbox
from .workspace import Workspace


class SandboxedKernelManager(AsyncKernelManager):
    """Starts ``ipykernel`` from this environment inside the bubblewrap sandbox."""

    sandbox = Instance(Sandbox, allow_none=True)  # None: unsafe, no sandbox
    workspace = Instance(Workspace)
    lab = Unicode("lab")
    sandbox_uid = Any(0)
    # Run before bwrap, e.g. joining the sandbox's cgroups (course/sandbox/cgroups.py).
    launch_prefix = List(Unicode())

    def __init__(self, **kwargs):
        super().__init__(transport="ipc", **kwargs)
        self.connection_file = os.path.join(self.workspace.shared, "kernel.json")
        # One fixed spec whatever the notebook claims: a notebook that names another
        # language or kernel still runs (and fails) in this sandboxed Python kernel.
        self._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                  ],
            display_name="Python 3 (sandboxed)", language="python",
            interrupt_mode="message", env={}, resource_dir="",
        )

    @property
    def kernel_spec(self):  # noqa: D401 - jupyter_client reads this property
        return self._kernel_spec

    def format_kernel_cmd(self, extra_arguments=None):
        argv = super().format_kernel_cmd(extra_arguments)
        if self.sandbox is None:
            return argv
        cmd, uid = self.sandbox.command(
            argv, self.workspace.submission, self.workspace.shared, self.lab
        )
        self.sandbox_uid = uid
        self.workspace.give_to(uid)
        return [*self.launch_prefix, *cmd]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandbox is None:
            kw["cwd"] = self.workspace.submission
        else:
            # The environment of the grader never reaches the sandbox (bwrap --clearenv).
            kw["cwd"] = self.workspace.root
        if self.sandbox_uid:
            # The kernel (running as the sandbox's uid) must read its connection file.
            os.chmod(self.connection_file, 0o644)
        await super()._async_launch_kernel(kernel_cmd, **kw)
