"""Issue 14, class 5: filling the host's disk through the shared folder, and leaving it full.

- ``fill_shared``: writes 384 MB into the folder shared with the trusted side (the only
  host folder the sandbox can write), 32 MB a file (under the per-file limit).
- ``deep_chain``: leaves a 1,500-deep chain of folders there, with hostile names (a
  newline, bytes that are not UTF-8), unreadable folders, a FIFO, and symlinks to a host
  folder and a host file, so that a recursive or link-following cleanup fails or does harm.
Graded with honest controls in one batch: 0 points gained, honest scores exact, the batch
completes, the temp folder never holds much more than the shared folder's cap, nothing is
left in it afterwards, no host file changes, and the student is told the folder was full.
"""

from __future__ import annotations

import pytest
from attacks import with_cell
from host_watch import CONFIG, FIND_SHARED, HONEST, Canaries, grade, outputs_text

pytestmark = pytest.mark.slow

CAP = 64 * 1024**2
DISK_CONFIG = CONFIG + f"\nc.Sandbox.shared_size = {CAP}\n"

FILL = FIND_SHARED + """
chunk = b"x" * 1024**2
try:
    for i in range(12):
        with open(os.path.join(SHARED, f"fill{i}"), "wb") as f:
            for _ in range(32):
                f.write(chunk)
finally:
    chunk = None
"""

DEEP = FIND_SHARED + """
os.symlink({canary_dir!r}, os.path.join(SHARED, "escape"))
os.chdir(SHARED)
for depth in range(1500):
    name = b"d\\n\\xff" if depth % 100 == 0 else b"d"
    os.mkdir(name)
    os.chdir(name)
    if depth % 250 == 0:
        os.symlink({canary_file!r}, "secret")
        os.mkfifo("fifo")
with open("bottom", "wb") as f:
    f.write(b"y" * 1024**2)
os.chdir(SHARED)
os.chmod(b"d\\n\\xff", 0)  # unreadable, even for its owner
os.chdir("/")
"""

NAMES = ["fill_shared", "deep_chain"]


def attacks(canaries: Canaries) -> dict:
    deep = DEEP.format(canary_dir=str(canaries.dir), canary_file=str(canaries.file))
    return {"fill_shared": (with_cell(FILL), "full"),
            "deep_chain": (with_cell(deep), "expected")}


@pytest.fixture(scope="module")
def canaries(tmp_path_factory):
    return Canaries(tmp_path_factory.mktemp("host"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, canaries):
    return grade(tmp_path_factory, attacks(canaries), DISK_CONFIG)


def test_honest_controls_keep_exact_scores(graded):
    results, _ = graded
    for name in ("honest_a", "honest_b"):
        assert results[name].scores == HONEST, results[name].feedback


@pytest.mark.parametrize("name", NAMES)
def test_attack_gains_nothing_and_is_explained(graded, canaries, name):
    results, _ = graded
    assert set(results[name].scores) == set(HONEST), "the batch did not grade it"
    assert results[name].scores["correct_add"][0] == 0.0, results[name].feedback
    text = "\n".join(results[name].feedback.values()) + outputs_text(results[name])
    assert attacks(canaries)[name][1] in text, text[:3000]


def test_the_shared_folder_is_capped(graded):
    _, watch = graded
    print(f"peak under TMPDIR while grading: {watch.peak / 1024**2:.1f} MB "
          f"(batch {watch.seconds:.0f} s)")
    # The cap, plus the workspaces' own files (submission copies, a few MB): not 384 MB.
    assert watch.peak < CAP + 32 * 1024**2, f"peak {watch.peak / 1024**2:.0f} MB"


def test_nothing_left_in_the_temp_folder(graded):
    _, watch = graded
    assert watch.left() == [], (watch.left(), watch.left_bytes())


def test_no_host_file_changed(graded, canaries):
    assert canaries.changed() == []
