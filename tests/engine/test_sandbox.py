"""The sandbox's command line and its refusal to run without bubblewrap."""

import os

import pytest

from course.nbgrader_plugin.executor import SandboxedExecute
from course.sandbox import Sandbox, SandboxUnavailable, Workspace


def test_missing_bwrap_stops_with_a_clear_error():
    with pytest.raises(SandboxUnavailable, match="bubblewrap.*--unsafe-no-sandbox"):
        Sandbox(bwrap="/nonexistent/bwrap").check()


def test_course_folder_is_not_mounted(root, tmp_path):
    ws = Workspace(str(tmp_path))
    try:
        cmd, _uid = Sandbox().command(["python"], ws.submission, ws.shared, "lab")
    finally:
        ws.close()
    mounted = {cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind")}
    for secret in ("reference", "tests", "source", "gradebook.db", "submitted", ""):
        path = str(root / secret).rstrip("/")
        assert not any(m == path or path.startswith(m + "/") for m in mounted), (secret, mounted)
    assert "--unshare-net" in cmd and "--unshare-pid" in cmd and "--die-with-parent" in cmd


def test_unsafe_mode_must_be_asked_for_explicitly(monkeypatch):
    monkeypatch.delenv("COURSE_UNSAFE_NO_SANDBOX", raising=False)
    assert SandboxedExecute().unsafe_no_sandbox is False
    monkeypatch.setenv("COURSE_UNSAFE_NO_SANDBOX", "1")
    from course.nbgrader_plugin.executor import _unsafe_requested

    assert _unsafe_requested()


def test_symlinks_in_a_submission_stay_links(tmp_path):
    (tmp_path / "link").symlink_to("/etc/hostname")
    ws = Workspace(str(tmp_path))
    try:
        assert os.path.islink(os.path.join(ws.submission, "link"))
    finally:
        ws.close()


def test_read_only_mounts_below_tmp_are_not_hidden_by_the_private_tmp(tmp_path):
    # A checkout (and its .venv) in /tmp, as in CI's fresh clone, must stay visible.
    sandbox = Sandbox(extra_ro_paths=[str(tmp_path)])
    ws = Workspace(str(tmp_path))
    try:
        cmd, _ = sandbox.command(["python"], ws.submission, ws.shared, "lab")
    finally:
        ws.close()
    tmpfs_at = cmd.index("--tmpfs")
    bind_at = max(i for i, arg in enumerate(cmd)
                  if arg == "--ro-bind" and cmd[i + 1] == str(tmp_path))
    assert tmpfs_at < bind_at
