"""The trusted side's connections to the sandboxed kernel: only the IPC sockets it expects.

The kernel binds its five ZMQ sockets (``<shared>/kernel-ipc-<port>``) in the folder shared
with the sandbox, where code in the sandbox can swap them for symlinks to any Unix socket
on the host, and rewrite the connection file to name any TCP address. So the trusted side
- takes the connection from its own memory (the kernel manager) or from its own copy of it
  in a folder the sandbox cannot reach (the graders' process), never from the shared folder;
- accepts transport ``ipc`` with the expected path prefix only (``PinnedIPC.check``);
- connects through ``/proc/self/fd/<n>``, an ``O_PATH`` descriptor of the socket's inode,
  opened once without following links (``fs.pin_socket``): a name swapped later, or a ZMQ
  reconnect, reaches that inode or nothing.
"""

from __future__ import annotations

import os

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.blocking.client import BlockingKernelClient

from . import fs

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


class KernelSocketsRefused(RuntimeError):
    """The kernel's connection is not the expected IPC sockets in the shared folder."""


class Pins:
    """The pinned sockets of one kernel, in one process (descriptors are per process)."""

    def __init__(self, shared: str, prefix: str, owners: tuple[int, ...]):
        self.shared = os.path.normpath(shared)
        self.prefix = prefix  # e.g. "kernel-ipc": the sockets are <shared>/<prefix>-<port>
        self.owners = owners
        self.dir_fd = fs.open_dir(self.shared)
        self.fds: dict[int, int] = {}  # port -> O_PATH descriptor

    @property
    def ip(self) -> str:
        return os.path.join(self.shared, self.prefix)

    def check(self, transport: str, ip: str) -> None:
        if transport != "ipc" or os.path.normpath(ip) != self.ip:
            raise KernelSocketsRefused(
                f"refused to connect to the kernel at {transport}://{ip}: only its IPC "
                "sockets in the folder shared with the sandbox are accepted")

    def url(self, port: int) -> str:
        if port not in self.fds:
            try:
                self.fds[port] = fs.pin_socket(f"{self.prefix}-{port}", self.dir_fd, self.owners)
            except OSError as error:
                raise KernelSocketsRefused(
                    "the kernel's sockets in the folder shared with the notebook were replaced "
                    f"or removed (by the notebook's code?): {error.strerror}") from None
        return f"ipc:///proc/self/fd/{self.fds[port]}"

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        os.close(self.dir_fd)


class PinnedIPC:
    """Mixin for jupyter_client's connection classes: every URL is a pinned socket."""

    pins: Pins | None = None

    def _make_url(self, channel: str) -> str:
        if self.pins is None:
            raise KernelSocketsRefused("no pinned sockets for the kernel")
        self.pins.check(self.transport, self.ip)
        return self.pins.url(getattr(self, f"{channel}_port"))


class PinnedAsyncClient(PinnedIPC, AsyncKernelClient):
    """nbclient's client of the kernel manager (it shares the manager's pins)."""


class PinnedBlockingClient(PinnedIPC, BlockingKernelClient):
    """The graders' client (the bridge), pinned in the graders' own process."""
