"""Caps on what a student's notebook may send back as cell outputs.

A notebook that displays 64 MB again and again would otherwise be held whole in the
grader's memory (nbclient keeps every output) and written to the autograded notebook.
Outputs are counted as they arrive, per cell and per notebook (cleared outputs count too:
the bytes were received); past a cap the cell's further outputs are dropped and one note
says so. The kernel's messages are capped on the trusted side as well (``MAXMSGSIZE`` on the
client's ZMQ sockets): a larger message is refused by ZMQ before it is read into memory.
"""

from __future__ import annotations

import functools

import zmq
import zmq.asyncio
from nbformat.v4 import new_output

# Messages that add or replace outputs; status, execute_input and comm messages are small
# and drive the execution, so they always pass.
OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "error", "update_display_data"}


def content_bytes(value) -> int:
    """Bytes of the text in a message's content (data, text, traceback), roughly as stored."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + content_bytes(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(content_bytes(v) for v in value)
    return 8


def cut_note(per_cell: int, per_notebook: int) -> str:
    return (f"[output cut: a cell may show at most {per_cell / 2**20:g} MB of output and a "
            f"notebook {per_notebook / 2**20:g} MB; the rest of this cell's output was "
            "dropped by the grader]\n")


class OutputBudget:
    """Bytes of output taken per cell and per notebook, and which cells were cut."""

    def __init__(self, per_cell: int, per_notebook: int):
        self.per_cell, self.per_notebook = per_cell, per_notebook
        self.cells: dict[int, int] = {}
        self.total = 0
        self.cut: set[int] = set()

    def take(self, cell_index: int, size: int) -> bool:
        """Count ``size`` bytes for the cell; False (nothing counted) past a cap."""
        used = self.cells.get(cell_index, 0)
        if (cell_index in self.cut or used + size > self.per_cell
                or self.total + size > self.per_notebook):
            return False
        self.cells[cell_index] = used + size
        self.total += size
        return True

    def process(self, msg: dict, cell, cell_index: int) -> bool:
        """Should the message be processed? If not, the cell gets the note (once)."""
        if msg.get("msg_type") not in OUTPUT_MESSAGES:
            return True
        if self.take(cell_index, content_bytes(msg.get("content", {}))):
            return True
        if cell_index not in self.cut:
            self.cut.add(cell_index)
            cell.outputs.append(new_output("stream", name="stdout",
                                           text=cut_note(self.per_cell, self.per_notebook)))
        if "execution_count" in msg.get("content", {}):
            cell["execution_count"] = msg["content"]["execution_count"]
        return False


def capped_client(km, max_message_bytes: int) -> zmq.asyncio.Context:
    """Make ``km.client()`` use a ZMQ context whose sockets refuse messages larger than
    ``max_message_bytes``; returns the context (destroy it after the kernel)."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
    km.client = functools.partial(km.client, context=context)
    return context
