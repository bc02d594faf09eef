"""A Jupyter kernel manager whose kernel runs inside the sandbox.

The kernel talks over IPC sockets in the workspace's shared folder: TCP loopback does not
cross the sandbox's network namespace, Unix sockets in a mounted folder do. The manager and
its clients connect to those sockets only once pinned by inode (``ipc.Pins``): the sandbox
can rewrite the connection file and swap the socket files, and reach nothing by it.
Interrupts go as messages (the kernel is in its own PID namespace and session, out of reach
of signals to a process group), so a cell timeout interrupts the student's code, not the
sandbox. Without a size-capped shared folder (grading without root), a watchdog stops the
kernel when the folder grows past its cap (``disk.Watchdog``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Instance, List, Unicode

from .bubblewrap import Sandbox
from .disk import Watchdog
from .ipc import CHANNELS, KernelSocketsRefused, PinnedIPC, Pins
from .workspace import Workspace

STARTUP_TIMEOUT = 60  # seconds the kernel may take to bind its sockets


class KernelNotStarted(RuntimeError):
    """The kernel did not come up with the sockets the trusted side expects."""


class SandboxedKernelManager(PinnedIPC, AsyncKernelManager):
    """Starts ``ipykernel`` from this environment inside the bubblewrap sandbox."""

    sandbox = Instance(Sandbox, allow_none=True)  # None: unsafe, no sandbox
    workspace = Instance(Workspace)
    lab = Unicode("lab")
    sandbox_uid = Any(0)
    # Run before bwrap, e.g. joining the sandbox's cgroups (course/sandbox/cgroups.py).
    launch_prefix = List(Unicode())
    stopped_why = Unicode("")  # set when the watchdog stopped the kernel

    def __init__(self, **kwargs):
        super().__init__(transport="ipc", client_class="course.sandbox.ipc.PinnedAsyncClient",
                         **kwargs)
        # Written here before the sandbox starts; only the kernel reads it afterwards.
        self.connection_file = os.path.join(self.workspace.shared, "kernel.json")
        self.watchdog: Watchdog | None = None
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
            fd = os.open("kernel.json", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=self.workspace.shared_fd)
            try:
                os.fchmod(fd, 0o644)
            finally:
                os.close(fd)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        await self._pin_sockets()
        if self.workspace.needs_watchdog and self.sandbox is not None:
            self.watchdog = Watchdog(self.workspace, self._stop_for_disk)
            self.watchdog.start()

    async def _pin_sockets(self) -> None:
        """Wait for the kernel to bind its sockets, and pin them before any client connects."""
        self.pins = Pins(self.workspace.shared, os.path.basename(self.ip),
                         (int(self.sandbox_uid) or os.geteuid(), os.geteuid()))
        process = getattr(self.provisioner, "process", None)
        ports = [getattr(self, f"{channel}_port") for channel in CHANNELS]
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                self.pins.check(self.transport, self.ip)
                for port in ports:
                    self.pins.url(port)
                return
            except KernelSocketsRefused as error:
                exited = process is not None and process.poll() is not None
                if exited or time.monotonic() > deadline:
                    raise KernelNotStarted(
                        f"The kernel did not start: {error}. No cell could run.") from None
            await asyncio.sleep(0.02)

    def client(self, **kwargs):
        client = super().client(**kwargs)
        client.pins = self.pins  # same process: the manager's pinned descriptors
        return client

    def trusted_connection(self) -> bytes:
        """The connection info from memory, for the graders' process (never the file)."""
        info = dict(self.get_connection_info())
        info["key"] = info["key"].decode() if isinstance(info["key"], bytes) else info["key"]
        return json.dumps(info).encode()

    def _stop_for_disk(self, why: str) -> None:
        self.stopped_why = why
        process = getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()

    def release(self) -> None:
        """After the shutdown: stop the watchdog, close the pinned sockets' descriptors."""
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.pins is not None:
            self.pins.close()
            self.pins = None
