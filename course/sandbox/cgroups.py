"""One cgroup per sandbox: a CPU share, a memory cap and a process cap for the whole sandbox.

rlimits are per process: 200 busy processes, each within its own CPU-time and the sandbox's
process count, still take every core from the classmates graded beside them. A cgroup caps
the sandbox as a whole (``cpu.max``, ``memory.max``, ``pids.max``) and lets the grader kill
everything in it at the end of the run (``cgroup.kill``), whatever session or process group
the student's processes moved to.

Where the groups go (found from ``/proc/self/mountinfo`` and ``/proc/self/cgroup``):

- cgroup v2 with the cpu, memory and pids controllers: ``<mount>/course-grading/sbx-PID-N``
  (the controllers are enabled in the parents' ``cgroup.subtree_control`` if they are not);
- hybrid or v1 (the controllers on v1 hierarchies): ``course-grading/sbx-PID-N`` below this
  process's own group in each of the cpu, memory and pids hierarchies (so the limits of a
  container we run in still hold), plus a group in the v2 hierarchy, if one is mounted, for
  ``cgroup.kill``; without one, the processes are killed one by one;
- otherwise (not root and not delegated, no controllers, nothing mounted): no cgroup. One
  warning is logged per process and the sandbox keeps its rlimits only.

A sandbox process joins its groups before it execs bwrap (``prefix``), so nothing it forks
can start outside them. Groups whose grading process died (``sbx-PID-*`` of a dead PID) are
removed when the next group is made.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Bool, Float, Integer, Unicode
from traitlets.config import LoggingConfigurable

CONTROLLERS = ("cpu", "memory", "pids")
PERIOD_US = 100_000

# Runs as the sandbox's first process, before bwrap: join the groups, then exec the rest.
_JOIN = (
    "import os, sys\n"
    "i = sys.argv.index('--')\n"
    "for path in sys.argv[1:i]:\n"
    "    with open(path, 'w') as f:\n"
    "        f.write(str(os.getpid()))\n"
    "os.execv(sys.argv[i + 1], sys.argv[i + 1:])\n"
)

_counter = itertools.count()
_warned: set[str] = set()


class CgroupError(OSError):
    """The groups of a sandbox could not be made or set."""


@dataclass
class Layout:
    """Where this process can make sandbox groups (see the module docstring)."""

    kind: str  # "v2", "v1" or "none"
    reason: str = ""  # why "none"
    v2: Path | None = None  # the v2 folder that holds course groups (limits, or kill only)
    v1: dict[str, Path] = field(default_factory=dict)  # controller -> folder of its groups


def _mounts(mountinfo: str) -> list[tuple[str, str, str, str]]:
    """(mount point, fs type, super options, root in the hierarchy) of each cgroup mount."""
    found = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rest = left.split(), right.split()
        if len(fields) >= 5 and len(rest) >= 3 and rest[0] in ("cgroup", "cgroup2"):
            point = fields[4].replace("\\040", " ")
            found.append((point, rest[0], rest[2], fields[3]))
    return found


def _below(point: str, root: str, path: str) -> Path:
    """The folder of the group ``path`` in a hierarchy mounted at ``point`` from ``root``."""
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root):]
    return Path(point) / path.lstrip("/")


def detect(mountinfo: str, own: str, writable=lambda p: os.access(p, os.W_OK)) -> Layout:
    """Where sandbox groups can be made, from the text of ``/proc/self/mountinfo`` and
    ``/proc/self/cgroup``; ``writable`` is asked about each candidate folder."""
    mounts = _mounts(mountinfo)
    paths: dict[str, str] = {}
    for line in own.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                paths[name] = parts[2]
    unified = next(((p, r) for p, kind, _o, r in mounts if kind == "cgroup2"), None)
    v2_base = None
    if unified is not None and writable(unified[0]):
        v2_base = Path(unified[0])
        try:
            available = (v2_base / "cgroup.controllers").read_text().split()
        except OSError:
            available = []
        if all(c in available for c in CONTROLLERS):
            return Layout("v2", v2=v2_base / "course-grading")
    v1: dict[str, Path] = {}
    for point, kind, options, root in mounts:
        if kind != "cgroup":
            continue
        for name in set(options.split(",")) & set(CONTROLLERS):
            if name in paths and name not in v1:
                v1[name] = _below(point, root, paths[name]) / "course-grading"
    if len(v1) == len(CONTROLLERS):
        if all(writable(folder.parent) for folder in v1.values()):
            kill = v2_base / "course-grading" if v2_base else None
            return Layout("v1", v2=kill, v1=v1)
        return Layout("none", "the cgroup v1 hierarchies are not writable (not root and "
                              "not delegated)")
    if unified is None and not mounts:
        return Layout("none", "no cgroup filesystem is mounted")
    if unified is not None and v2_base is None:
        return Layout("none", "the cgroup v2 hierarchy is not writable (not root and not "
                              "delegated)")
    missing = [c for c in CONTROLLERS if c not in v1]
    return Layout("none", f"no cgroup hierarchy offers the {', '.join(missing)} "
                          "controller(s)")


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as error:
        raise CgroupError(f"cannot write {value!r} to {path}: {error}") from error


def _enable(folder: Path) -> None:
    """Enable the controllers for the children of ``folder`` (v2), those not yet enabled."""
    try:
        on = (folder / "cgroup.subtree_control").read_text().split()
    except FileNotFoundError:  # only in a tree that is not a cgroup filesystem (tests)
        on = []
    except OSError as error:
        raise CgroupError(f"cannot read {folder}/cgroup.subtree_control: {error}") from error
    missing = [c for c in CONTROLLERS if c not in on]
    if missing:
        _write(folder / "cgroup.subtree_control", " ".join("+" + c for c in missing))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _procs(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill_and_remove(folders: list[Path], kill: Path | None, wait: float = 5.0) -> None:
    """Kill every process of the groups, then remove them; never raises."""
    deadline = time.monotonic() + wait
    if kill is not None and (kill / "cgroup.kill").exists():
        try:
            (kill / "cgroup.kill").write_text("1")
        except OSError:
            pass
    for folder in [f for f in (*folders, kill) if f is not None]:
        while folder.is_dir():
            for pid in _procs(folder):  # no cgroup.kill (v1): one by one, until none is left
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                folder.rmdir()
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)


def _sweep(parent: Path) -> None:
    """Remove the groups of grading processes that died without removing theirs."""
    try:
        children = list(parent.iterdir())
    except OSError:
        return
    for child in children:
        parts = child.name.split("-")
        if child.is_dir() and parts[0] == "sbx" and len(parts) == 3 and parts[1].isdigit():
            if not _alive(int(parts[1])):
                _kill_and_remove([child], child, wait=0.5)


class SandboxGroup:
    """The cgroups of one sandbox: ``prefix`` makes a command join them, ``close`` ends
    every process in them and removes them."""

    def __init__(self, folders: list[Path], kill: Path | None):
        self.folders = folders
        self.kill = kill

    def prefix(self) -> list[str]:
        joined = [str(f / "cgroup.procs") for f in self.folders]
        if self.kill is not None and self.kill not in self.folders:
            joined.append(str(self.kill / "cgroup.procs"))
        return [sys.executable, "-I", "-S", "-c", _JOIN, *joined, "--"]

    def close(self) -> None:
        _kill_and_remove([f for f in self.folders if f != self.kill], self.kill)


class SandboxCgroup(LoggingConfigurable):
    """Settings of the per-sandbox cgroup (set them in ``nbgrader_config.py``)."""

    enabled = Bool(True, help="Put each sandbox in its own cgroup when the machine allows it"
                   ).tag(config=True)
    cpus = Float(1.0, help="CPUs the whole sandbox may use at once (cpu.max)").tag(config=True)
    memory = Integer(4 * 1024**3, help="Memory of the whole sandbox, bytes (memory.max)"
                     ).tag(config=True)
    pids = Integer(256, help="Processes and threads of the whole sandbox (pids.max)"
                   ).tag(config=True)
    mountinfo = Unicode("/proc/self/mountinfo", help="Read to find the cgroup mounts"
                        ).tag(config=True)
    own_cgroup = Unicode("/proc/self/cgroup", help="Read to find this process's groups"
                         ).tag(config=True)

    def layout(self) -> Layout:
        try:
            return detect(Path(self.mountinfo).read_text(), Path(self.own_cgroup).read_text())
        except OSError as error:
            return Layout("none", f"cannot read the cgroup mounts: {error}")

    def _degrade(self, why: str) -> None:
        if why not in _warned:
            _warned.add(why)
            self.log.warning("no cgroup per sandbox (%s): each sandbox keeps its per-process "
                             "limits (rlimits) only, so one submission can slow down the "
                             "others graded at the same time", why)

    def create(self) -> SandboxGroup | None:
        """The groups of a new sandbox, limits set; None (and one warning) where the machine
        does not allow them."""
        if not self.enabled:
            return None
        layout = self.layout()
        if layout.kind == "none":
            self._degrade(layout.reason)
            return None
        name = f"sbx-{os.getpid()}-{next(_counter)}"
        made: list[Path] = []
        try:
            if layout.kind == "v2":
                _enable(layout.v2.parent)
                layout.v2.mkdir(exist_ok=True)
                _enable(layout.v2)
                _sweep(layout.v2)
                group = layout.v2 / name
                group.mkdir()
                made.append(group)
                self._limit_v2(group)
                return SandboxGroup(made, group)
            for controller, parent in layout.v1.items():
                parent.mkdir(exist_ok=True)
                _sweep(parent)
                group = parent / name
                group.mkdir()
                made.append(group)
                self._limit_v1(controller, group)
            kill = None
            if layout.v2 is not None:  # hybrid: the v2 hierarchy can still kill them all
                layout.v2.mkdir(exist_ok=True)
                _sweep(layout.v2)
                kill = layout.v2 / name
                kill.mkdir()
                made.append(kill)
            return SandboxGroup([f for f in made if f != kill], kill)
        except OSError as error:
            _kill_and_remove(made, None, wait=0.5)
            self._degrade(f"{layout.kind}: {error}")
            return None

    def _limit_v2(self, group: Path) -> None:
        _write(group / "cpu.max", f"{max(1000, int(self.cpus * PERIOD_US))} {PERIOD_US}")
        _write(group / "memory.max", str(self.memory))
        if (group / "memory.swap.max").exists():
            _write(group / "memory.swap.max", "0")
        _write(group / "pids.max", str(self.pids))

    def _limit_v1(self, controller: str, group: Path) -> None:
        if controller == "cpu":
            _write(group / "cpu.cfs_period_us", str(PERIOD_US))
            _write(group / "cpu.cfs_quota_us", str(max(1000, int(self.cpus * PERIOD_US))))
        elif controller == "memory":
            _write(group / "memory.limit_in_bytes", str(self.memory))
            try:  # memory + swap, where swap accounting is on
                _write(group / "memory.memsw.limit_in_bytes", str(self.memory))
            except CgroupError:
                pass
        else:
            _write(group / "pids.max", str(self.pids))
