"""Decoding bombs: tiny result files that would expand to gigabytes on the trusted side.

The student's `add` makes the kernel's side of the bridge hand over a crafted file instead
of its real result (the same json.dump hook as the pickle attack of attacks.py): a 462-byte
Parquet file whose dictionary column decodes to ~98 GiB, a 128-byte ``.npy`` of 2e9
zero-size items (np.load accepts it; ``list()`` of it in a comparison helper needed ~100
bytes an item), an ``.npy`` whose header claims a terabyte, JSON nested 100,000 deep or
holding millions of items, and results that are each under the per-result limit but
together exhaust the per-submission budget. Graded in one batch beside honest controls,
the batch run in a child process so that its peak memory (nbgrader, the graders' process,
the kernels) can be measured: before the fix the ``.npy`` bomb alone took the host's OOM
killer (21 GB resident) and a 282-byte Parquet file took 3.2 GB for each 2 GB decoded.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from attacks import base, with_add, with_cell
from tiny_course import ROOT, SOURCE, make_course

pytestmark = pytest.mark.slow

MAX_RESULT = 64 * 1024**2
MAX_SUBMISSION = 160 * 1024**2
CONFIG = f"""
c.SandboxedExecute.timeout = 20
c.SandboxedExecute.call_timeout = 10
c.SandboxedExecute.max_result_bytes = {MAX_RESULT}
c.SandboxedExecute.max_submission_bytes = {MAX_SUBMISSION}
c.Sandbox.tmpfs_size = 256 * 1024**2
c.Sandbox.memory_limit = 2 * 1024**3
"""

# A property that goes through the comparison helpers (expect_list on whatever came back);
# honest `add` (a + b) concatenates two lists, so honest scores are unchanged.
LIST_PROPERTY = '''

def test_concatenates_lists(student):
    """add concatenates two lists"""
    from course.graders.compare import expect_list
    expect_list(student.add([1, 2], [3]), [1, 2, 3], what="add([1, 2], [3])")
'''

PEAK_LIMIT = 1536 * 1024**2  # the batch's largest process: a kernel or the graders (~300 MB)


def parquet_dictionary_bomb(rows: int = 100_000, length: int = 1024**2) -> bytes:
    """One dictionary value of ``length`` bytes referenced by ``rows`` rows, no Arrow schema
    stored (so the reader expands it): rows x length bytes once decoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)),
                                            pa.array([b"x" * length]))
    out = io.BytesIO()
    pq.write_table(pa.table({"c0": column}), out, store_schema=False, compression="zstd",
                   compression_level=19, write_statistics=False)
    return out.getvalue()


def npy_file(descr: str, shape: tuple, data: bytes = b"") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def _crafted(files: dict[str, bytes], result: dict | None = None, status: str = "None"):
    """A notebook whose `add` makes the kernel's side write ``files`` into the call folder
    and answer with ``result`` (or the raw status text the expression ``status`` makes,
    built in the kernel) instead of the real result."""
    blobs = {name: base64.b64encode(data).decode() for name, data in files.items()}
    return with_cell(textwrap.dedent(f'''
        import base64, json, os
        _BOMB = [False]
        _real_dump = json.dump
        def _evil_dump(obj, f, **kw):
            if not _BOMB[0]:
                return _real_dump(obj, f, **kw)
            _BOMB[0] = False
            call_dir = os.path.dirname(f.name)
            for name, blob in {blobs!r}.items():
                with open(os.path.join(call_dir, name), "wb") as out:
                    out.write(base64.b64decode(blob))
            status = {status}
            if status is None:
                return _real_dump({{"ok": True, "result": {result!r}}}, f)
            f.write(status)
        json.dump = _evil_dump
        def add(a, b):
            _BOMB[0] = True
            return a - b
        '''))


def bombs() -> dict[str, tuple[object, str]]:
    """name -> (submission, what its feedback must say)."""
    frame = {"$type": "dataframe", "columns": ["a"], "index_names": [], "file": "b.parquet"}
    array = {"$type": "ndarray", "file": "b.npy"}
    deep = "'{\"ok\": true, \"result\": ' + '[' * 100_000 + ']' * 100_000 + '}'"
    wide = ("'{\"ok\": true, \"result\": {\"$type\": \"list\", \"items\": [' "
            "+ '0,' * 20_000_000 + '0]}}'")
    return {
        "parquet_dictionary_bomb": (
            _crafted({"b.parquet": parquet_dictionary_bomb()}, frame), "too large to grade"),
        "npy_zero_size_items": (
            _crafted({"b.npy": npy_file("|V0", (2_000_000_000,))}, array), "too large to grade"),
        "npy_header_claims_a_terabyte": (
            _crafted({"b.npy": npy_file("<f8", (2**40 // 8,))}, array), "too large to grade"),
        "npy_zero_length_strings": (
            _crafted({"b.npy": npy_file("<U0", (2_000_000_000,))}, array), "too large to grade"),
        "json_nested_100000_deep": (_crafted({}, status=deep), "too large to grade"),
        "json_20_million_items": (_crafted({}, status=wide), "too large to grade"),
        "chart_json_nested": (
            _crafted({"b.json": ("[" * 100_000 + "]" * 100_000).encode()},
                     {"$type": "vegalite", "file": "b.json"}), "too large to grade"),
        # Each result is under the per-result limit; together they exhaust the budget.
        "many_large_results": (with_add(
            "import numpy as np\ndef add(a, b):\n    return np.zeros(8_000_000)"),
            "too large to grade"),
    }


# Run in a child process: its RUSAGE_CHILDREN peak is the batch's largest process.
_BATCH = '''
import json, resource, sys
sys.path.append({engine!r})
import nbformat
from course.authoring.batch import grade_parallel
subs = {{name: nbformat.reads(text, 4) for name, text in json.loads(open({subs!r}).read()).items()}}
graded = grade_parallel("tiny", subs, workers=2, root=__import__("pathlib").Path({course!r}),
                        tolerate=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
json.dump({{"peak": peak, "graded": {{n: {{"scores": g.scores, "feedback": g.feedback}}
                                     for n, g in graded.items()}}}}, open({out!r}, "w"))
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import nbformat

    course = make_course(tmp_path_factory.mktemp("bombs"), CONFIG)
    grader = course / "tests" / "graders" / "tiny" / "test_correct_add.py"
    grader.write_text(grader.read_text() + LIST_PROPERTY)
    subs = {"honest_a": SOURCE, "honest_b": SOURCE, "wrong_add": base()}
    subs.update({name: nb for name, (nb, _) in bombs().items()})
    work = tmp_path_factory.mktemp("bombs-run")
    (work / "subs.json").write_text(json.dumps({n: nbformat.writes(nb) for n, nb in subs.items()}))
    script = _BATCH.format(engine=str(ROOT / "tests" / "engine"),
                           subs=str(work / "subs.json"), course=str(course),
                           out=str(work / "out.json"))
    # The course package on PYTHONPATH wins (a worktree's, or another version's to compare).
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=1500, env=dict(os.environ, PYTHONPATH=path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((work / "out.json").read_text())
    print(f"\nbatch peak RSS: {out['peak'] / 2**20:.0f} MB")
    return out


def _scores(graded, name):
    return {k: tuple(v) for k, v in graded["graded"][name]["scores"].items()}


def test_honest_submissions_keep_exact_scores(graded):
    for name in ("honest_a", "honest_b"):
        assert _scores(graded, name) == {"correct_add": (2.0, 2.0), "correct_scale": (3.0, 3.0)}
    assert _scores(graded, "wrong_add") == {"correct_add": (0.0, 2.0),
                                            "correct_scale": (3.0, 3.0)}


@pytest.mark.parametrize("name", sorted(bombs()))
def test_bomb_gains_nothing_and_is_explained(graded, name):
    scores = _scores(graded, name)
    assert set(scores) == {"correct_add", "correct_scale"}, name  # graded: the batch went on
    assert scores["correct_add"][0] == 0.0
    text = "\n".join(graded["graded"][name]["feedback"].values())
    assert bombs()[name][1] in text, text[:2000]


@pytest.mark.parametrize("name", sorted(set(bombs()) - {"many_large_results"}))
def test_a_refused_result_costs_only_its_own_checks(graded, name):
    # Refused before decoding, a bomb spends nothing of the submission's budget: `scale`
    # is graded as usual.
    assert _scores(graded, name)["correct_scale"] == (3.0, 3.0)


def test_exhausted_budget_fails_the_rest_of_the_submission(graded):
    feedback = graded["graded"]["many_large_results"]["feedback"]
    assert "too large to grade" in feedback["correct_scale"]
    assert _scores(graded, "many_large_results")["correct_scale"][0] == 0.0


def test_trusted_side_memory_stays_small(graded):
    assert graded["peak"] < PEAK_LIMIT, f"{graded['peak'] / 2**20:.0f} MB"


def test_bombs_are_as_small_as_claimed():
    assert len(parquet_dictionary_bomb()) < 600
    assert len(npy_file("|V0", (2_000_000_000,))) == 128
    assert Path(__file__).stat().st_size < 20_000
