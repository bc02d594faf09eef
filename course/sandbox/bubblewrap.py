"""The bubblewrap sandbox that student code runs in.

What the sandbox sees: the system (``/usr``, ``/etc``, ...) and the Python environment,
read-only; a private, size-capped copy of the submission folder in ``/home/student``; a
size-capped ``/tmp``; and one shared folder for the kernel's IPC sockets and the bridge's
call files. The course folder (reference, graders, source, gradebook, other students) is
never mounted. There is no network (own network namespace: only a private loopback) and
the sandbox has its own PID namespace. Limits (memory, processes, CPU time, file size,
open files) are set by a small init program inside the sandbox before it starts the
kernel; when grading runs as root, the init program also drops to an unprivileged uid, so
that the process limit applies and nothing outside is writable.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from traitlets import Bool, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

HOME = "/home/student"

# Runs inside the sandbox, before the kernel: drop privileges (when started as root), set
# the resource limits, copy the submission into the private tmpfs, then exec the kernel.
# Passed with -c so that no course file needs to be mounted inside.
_INIT = r"""
import os, resource, shutil, sys
uid, nproc, mem, cpu, fsize, nofile, src, dest = sys.argv[1:9]
uid, nproc, mem, cpu, fsize, nofile = map(int, (uid, nproc, mem, cpu, fsize, nofile))
if os.getuid() == 0 and uid > 0:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
for res, value in ((resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_AS, mem),
                   (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, fsize),
                   (resource.RLIMIT_NOFILE, nofile), (resource.RLIMIT_CORE, 0)):
    if value >= 0:
        resource.setrlimit(res, (value, value))
shutil.copytree(src, dest, dirs_exist_ok=True)
os.chdir(dest)
os.execv(sys.argv[9], sys.argv[9:])
"""

_uid_counter = itertools.count()


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox on this machine."""


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


class Sandbox(LoggingConfigurable):
    """Settings of the grading sandbox (set them in ``nbgrader_config.py``)."""

    enabled = Bool(
        True,
        help="Run student kernels inside bubblewrap. Turning this off is UNSAFE: student "
        "code then runs with the grader's rights and can read the graders and the gradebook.",
    ).tag(config=True)
    memory_limit = Integer(4 * 1024**3, help="Address-space limit of each process, bytes").tag(
        config=True
    )
    max_processes = Integer(256, help="Processes and threads the sandbox may run at once").tag(
        config=True
    )
    cpu_time = Integer(900, help="CPU seconds each process may use").tag(config=True)
    file_size = Integer(512 * 1024**2, help="Largest file a process may write, bytes").tag(
        config=True
    )
    open_files = Integer(1024, help="Open file descriptors per process").tag(config=True)
    tmpfs_size = Integer(
        1024**3, help="Size cap of the private writable folders (home and /tmp), bytes"
    ).tag(config=True)
    shared_size = Integer(
        256 * 1024**2, help="Size cap of the folder shared with the graders (a tmpfs when "
        "grading as root, else a watchdog stops the kernel past it), bytes; 0: no cap"
    ).tag(config=True)
    shared_files = Integer(
        100_000, help="Files and folders the shared folder may hold (same enforcement)"
    ).tag(config=True)
    base_uid = Integer(
        61000, help="When grading as root, sandboxes run as base_uid + n (one uid each)"
    ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable").tag(config=True)
    extra_ro_paths = List(
        Unicode(), help="More host paths to mount read-only (for example a data folder)"
    ).tag(config=True)
    threads = Integer(
        0, help="OMP/MKL/torch threads inside the sandbox (0: the libraries decide)"
    ).tag(config=True)

    def check(self) -> str:
        """Return the bwrap path, or raise SandboxUnavailable with what to do."""
        path = shutil.which(self.bwrap)
        if path is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
                "Install it (Debian/Ubuntu: apt-get install bubblewrap; `make` does this), or "
                "grade without a sandbox at your own risk with --unsafe-no-sandbox "
                "(COURSE_UNSAFE_NO_SANDBOX=1 for plain nbgrader)."
            )
        return path

    def ro_paths(self) -> list[str]:
        """Host paths visible read-only inside: the system and the Python environment."""
        paths = ["/usr", "/etc", "/opt"]
        for p in (sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"]):
            paths.append(os.path.realpath(p))
        paths.append(os.path.dirname(os.path.realpath(sys.executable)))
        paths += list(self.extra_ro_paths)
        kept: list[str] = []
        for p in sorted(set(paths), key=len):
            if os.path.exists(p) and not any(p == k or p.startswith(k + "/") for k in kept):
                kept.append(p)
        return kept

    def command(
        self, argv: list[str], submission: str, shared: str, lab: str
    ) -> tuple[list[str], int]:
        """The bwrap command line that runs ``argv`` inside a new sandbox.

        ``submission`` is copied (by the init program) into the sandbox's private home,
        ``shared`` is mounted read-write at the same path (IPC sockets, bridge files).
        """
        bwrap = self.check()
        as_root = os.geteuid() == 0
        uid = self.base_uid + (os.getpid() * 64 + next(_uid_counter)) % 30000 if as_root else 0
        cmd = [bwrap, "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
               "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        if as_root:
            # bwrap drops every capability of root; the init program needs these two to
            # switch to the unprivileged uid, and loses them when it does.
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            cmd += ["--unshare-user"]
        # The private writable folders first: a read-only mount below /tmp (a course checked
        # out in /tmp, say) must be laid over the tmpfs, not hidden by it.
        private = ("/tmp", "/dev/shm", "/home")
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        for folder in private:
            cmd += ["--perms", "01777", "--size", str(self.tmpfs_size), "--tmpfs", folder]
        for link in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
            target = os.path.realpath(f"/{link}")
            if os.path.islink(f"/{link}") and target.startswith("/usr/"):
                cmd += ["--symlink", target.lstrip("/"), f"/{link}"]
        made: set[str] = set(private) | {"/dev"}
        for path in self.ro_paths():
            for parent in _parents(path):
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            cmd += ["--ro-bind", path, path]
        cmd += ["--ro-bind", submission, "/submission"]
        for parent in _parents(shared):
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--bind", shared, shared,
                "--chdir", "/", "--clearenv"]
        env = {"HOME": HOME, "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
               "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg",
               "MPLCONFIGDIR": "/tmp/matplotlib", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
               "IPYTHONDIR": "/tmp/ipython", "PYTHONDONTWRITEBYTECODE": "1",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        if self.threads > 0:
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                env[var] = str(self.threads)
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        init_args = [str(uid), str(self.max_processes if as_root else -1),
                     str(self.memory_limit), str(self.cpu_time), str(self.file_size),
                     str(self.open_files), "/submission", f"{HOME}/{lab}"]
        return cmd + [sys.executable, "-I", "-S", "-c", _INIT, *init_args, *argv], uid
