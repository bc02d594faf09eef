"""The per-sandbox cgroup (course/sandbox/cgroups.py): where it goes on v2, v1 and hybrid
machines (fake trees written here), how it degrades, and for real when we are root."""

import logging
import os
import subprocess
import time
from pathlib import Path

import pytest

from course.sandbox import cgroups
from course.sandbox.cgroups import SandboxCgroup, detect


def _mountinfo(*mounts: tuple[str, str, str, str]) -> str:
    """Lines of /proc/self/mountinfo for (mount point, fs type, super options, root)."""
    return "\n".join(f"{30 + i} 1 0:{40 + i} {root} {point} rw,nosuid shared:{i} - {kind} "
                     f"{kind} {options}" for i, (point, kind, options, root) in enumerate(mounts))


def _v2_tree(base: Path, controllers: str) -> Path:
    top = base / "unified"
    top.mkdir(parents=True)
    (top / "cgroup.controllers").write_text(controllers + "\n")
    (top / "cgroup.subtree_control").write_text("\n")
    return top


def _v1_tree(base: Path, own: str = "/") -> dict[str, Path]:
    folders = {}
    for name in ("cpu,cpuacct", "memory", "pids"):
        folder = base / name / own.lstrip("/")
        folder.mkdir(parents=True)
        folders[name] = base / name
    return folders


V1_OWN = "12:pids:/\n11:memory:/\n10:cpu,cpuacct:/\n0::/\n"


def _fake(tmp_path, mounts, own) -> SandboxCgroup:
    (tmp_path / "mountinfo").write_text(mounts)
    (tmp_path / "cgroup").write_text(own)
    return SandboxCgroup(cpus=0.5, memory=3 * 2**30, pids=64,
                         mountinfo=str(tmp_path / "mountinfo"),
                         own_cgroup=str(tmp_path / "cgroup"))


def test_v2_with_controllers_gets_a_group_with_every_limit(tmp_path):
    top = _v2_tree(tmp_path, "cpuset cpu io memory pids")
    setting = _fake(tmp_path, _mountinfo((str(top), "cgroup2", "rw,nsdelegate", "/")), "0::/\n")
    assert setting.layout().kind == "v2"
    group = setting.create()
    (folder,) = group.folders
    assert folder.parent == top / "course-grading" and group.kill == folder
    assert (folder / "cpu.max").read_text() == "50000 100000"
    assert (folder / "memory.max").read_text() == str(3 * 2**30)
    assert (folder / "pids.max").read_text() == "64"
    # the controllers were enabled for the children, on the way down
    assert (top / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (top / "course-grading" / "cgroup.subtree_control").read_text().split() == [
        "+cpu", "+memory", "+pids"]
    assert str(folder / "cgroup.procs") in group.prefix()


def test_v1_groups_go_below_our_own_group_in_each_hierarchy(tmp_path):
    # a container: its hierarchies are mounted from /docker/c1, we are in /docker/c1/job
    v1 = _v1_tree(tmp_path, "job")
    mounts = _mountinfo((str(v1["cpu,cpuacct"]), "cgroup", "rw,cpu,cpuacct", "/docker/c1"),
                        (str(v1["memory"]), "cgroup", "rw,memory", "/docker/c1"),
                        (str(v1["pids"]), "cgroup", "rw,pids", "/docker/c1"))
    own = "5:pids:/docker/c1/job\n4:memory:/docker/c1/job\n3:cpu,cpuacct:/docker/c1/job\n"
    setting = _fake(tmp_path, mounts, own)
    layout = setting.layout()
    assert layout.kind == "v1" and layout.v2 is None
    assert layout.v1["memory"] == v1["memory"] / "job" / "course-grading"
    group = setting.create()
    by_name = {f.parent.parent.parent.name: f for f in group.folders}
    assert (by_name["cpu,cpuacct"] / "cpu.cfs_quota_us").read_text() == "50000"
    assert (by_name["cpu,cpuacct"] / "cpu.cfs_period_us").read_text() == "100000"
    assert (by_name["memory"] / "memory.limit_in_bytes").read_text() == str(3 * 2**30)
    assert (by_name["pids"] / "pids.max").read_text() == "64"
    assert group.kill is None  # no v2 hierarchy: killed one by one


def test_hybrid_limits_on_v1_and_kills_through_v2(tmp_path):
    v1 = _v1_tree(tmp_path)
    top = _v2_tree(tmp_path, "hugetlb")  # like this machine: v2 without the controllers
    mounts = _mountinfo((str(v1["cpu,cpuacct"]), "cgroup", "rw,cpu,cpuacct", "/"),
                        (str(v1["memory"]), "cgroup", "rw,memory", "/"),
                        (str(v1["pids"]), "cgroup", "rw,pids", "/"),
                        (str(top), "cgroup2", "rw", "/"))
    setting = _fake(tmp_path, mounts, V1_OWN)
    assert setting.layout().kind == "v1"
    group = setting.create()
    assert len(group.folders) == 3 and group.kill == top / "course-grading" / group.kill.name
    assert str(group.kill / "cgroup.procs") in group.prefix()
    assert (top / "cgroup.subtree_control").read_text() == "\n"  # nothing enabled there


@pytest.mark.parametrize("case,reason", [
    ("nothing", "no cgroup filesystem is mounted"),
    ("v2_without_controllers", "controller"),
    ("v2_not_writable", "not writable"),
    ("v1_not_writable", "not writable"),
    ("v1_without_pids", "pids"),
])
def test_degrades_with_a_reason(tmp_path, case, reason):
    v1 = _v1_tree(tmp_path)
    top = _v2_tree(tmp_path, "cpu memory pids" if case == "v2_not_writable" else "hugetlb")
    v1_lines = [(str(v1["cpu,cpuacct"]), "cgroup", "rw,cpu,cpuacct", "/"),
                (str(v1["memory"]), "cgroup", "rw,memory", "/")]
    if case != "v1_without_pids":
        v1_lines.append((str(v1["pids"]), "cgroup", "rw,pids", "/"))
    mounts = {"nothing": [], "v2_without_controllers": [(str(top), "cgroup2", "rw", "/")],
              "v2_not_writable": [(str(top), "cgroup2", "rw", "/")],
              "v1_not_writable": v1_lines, "v1_without_pids": v1_lines}[case]
    layout = detect(_mountinfo(*mounts), V1_OWN, writable=lambda p: "writable" not in case)
    assert layout.kind == "none"
    assert reason in layout.reason


def test_degrading_warns_once_and_keeps_grading(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(cgroups, "_warned", set())
    setting = _fake(tmp_path, "", "0::/\n")
    setting.log = logging.getLogger("test-cgroups")
    with caplog.at_level(logging.WARNING, "test-cgroups"):
        assert setting.create() is None
        assert setting.create() is None
    warnings = [r for r in caplog.records if "rlimits" in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    assert "no cgroup filesystem is mounted" in warnings[0].getMessage()


REAL = SandboxCgroup().layout()


@pytest.mark.skipif(os.geteuid() != 0 or REAL.kind == "none",
                    reason=f"no cgroups to make here: {REAL.reason}")
def test_for_real_caps_processes_and_kills_everything():
    group = SandboxCgroup(cpus=0.5, pids=12, memory=512 * 2**20).create()
    assert group is not None
    # A process that starts detached children in their own sessions, more than pids.max.
    script = ("import os, subprocess, time\nok = 0\nfor _ in range(30):\n    try:\n"
              "        subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
              "        ok += 1\n    except OSError:\n        break\n"
              "print(ok, flush=True)\ntime.sleep(300)\n")
    proc = subprocess.Popen([*group.prefix(), "/usr/bin/env", "python3", "-c", script],
                            stdout=subprocess.PIPE, text=True)
    started = int(proc.stdout.readline())
    assert started < 12  # the cap holds, whatever the sessions
    members = {f: f.joinpath("cgroup.procs").read_text().split() for f in group.folders}
    assert all(len(pids) == started + 1 for pids in members.values()), members
    t = time.monotonic()
    group.close()
    assert time.monotonic() - t < 5
    assert proc.wait(timeout=5) == -9
    for folder in [*group.folders, group.kill]:
        assert folder is None or not folder.exists()
