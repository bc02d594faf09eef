"""The bridge against a live kernel (no sandbox): one serve loop answers every call, and
what a student's function can do to it (close its connection, hang, kill the kernel)
costs that call only, or is reported as a dead kernel."""

import os
import time

import pytest
from jupyter_client.manager import KernelManager

from course.bridge import Bridge, BridgeError, CallTimeout, KernelDead

NOTEBOOK = """
import os, gc, socket
def add(a, b):
    return a + b
def pid():
    return os.getpid()
def spin():
    while True:
        pass
def cut_the_line():
    for s in gc.get_objects():
        if isinstance(s, socket.socket) and s.family == socket.AF_UNIX:
            s.close()
    return 1
def die():
    os._exit(3)
"""


@pytest.fixture
def bridge(tmp_path):
    # IPC sockets in the shared folder: the only connection the bridge accepts.
    shared = tmp_path / "shared"
    shared.mkdir()
    km = KernelManager(connection_file=str(shared / "kernel.json"), transport="ipc")
    km.start_kernel(env=dict(os.environ, PYTHONWARNINGS="ignore"))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(60)
    reply = kc.execute_interactive(NOTEBOOK, timeout=60)
    assert reply["content"]["status"] == "ok"
    kc.stop_channels()
    b = Bridge(km.connection_file, str(shared), call_timeout=20)
    yield b
    b.close()
    km.shutdown_kernel(now=True)


def test_one_serve_loop_answers_every_call(bridge):
    assert [bridge.call("add", i, 1) for i in range(30)] == list(range(1, 31))
    serving = bridge.serving
    assert bridge.call("add", "a", "b") == "ab"
    assert bridge.serving == serving  # no new execute request per call


def test_an_interrupt_between_calls_does_not_end_the_loop(bridge):
    assert bridge.call("add", 1, 1) == 2
    serving = bridge.serving
    bridge.kc.control_channel.send(bridge.kc.session.msg("interrupt_request", {}))
    time.sleep(0.5)
    assert bridge.call("add", 2, 2) == 4
    assert bridge.serving == serving


def test_a_function_that_closes_the_connection_fails_alone(bridge):
    with pytest.raises(BridgeError, match="closed the graders' connection"):
        bridge.call("cut_the_line")
    assert bridge.call("add", 1, 2) == 3  # a new serve loop
    assert not bridge.dead


def test_a_hung_function_is_interrupted_and_later_calls_work(bridge):
    with pytest.raises(CallTimeout, match="interrupted"):
        bridge.call("spin", timeout=1)
    assert bridge.call("add", 5, 5) == 10
    start = time.monotonic()
    with pytest.raises(CallTimeout, match="earlier call"):
        bridge.call("spin", timeout=1)
    assert time.monotonic() - start < 0.5  # fails at once, no second wait


def test_a_function_that_kills_the_kernel_is_reported_dead(bridge):
    assert bridge.call("pid") > 0
    with pytest.raises(KernelDead, match="died"):
        bridge.call("die")
    start = time.monotonic()
    with pytest.raises(KernelDead):
        bridge.call("add", 1, 1)
    assert time.monotonic() - start < 0.5
