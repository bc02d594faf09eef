"""The page headers of a Parquet column chunk, read without decoding any page.

pyarrow's metadata API gives the footer (row groups, column chunks, offsets) but not the
page headers, and only they say how large each page is once decompressed (the size the
reader allocates) and how each data page is encoded: one small page can decompress to
gigabytes. So the headers are read here, with a minimal reader of Thrift's compact
protocol (the encoding of Parquet's metadata) that knows only what it needs and refuses
anything else with `PageError`.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 1, 2, 3
# Parquet's Encoding enum: the ones pyarrow writes for the kernel's frames by default.
PLAIN, PLAIN_DICTIONARY, RLE, BIT_PACKED, RLE_DICTIONARY = 0, 2, 3, 4, 8
DICTIONARY_ENCODINGS = {PLAIN_DICTIONARY, RLE_DICTIONARY}
READ_ENCODINGS = {PLAIN, PLAIN_DICTIONARY, RLE, BIT_PACKED, RLE_DICTIONARY}

MAX_DEPTH = 16  # nesting of Thrift structs in a page header (statistics inside a header: 2)


class PageError(ValueError):
    """The bytes are not a page header this reader accepts."""


@dataclass(frozen=True)
class Page:
    type: int
    uncompressed_size: int
    compressed_size: int
    num_values: int
    encoding: int
    header_size: int


class _Compact:
    """A cursor over Thrift compact-protocol bytes (only what page headers use)."""

    def __init__(self, data: bytes, pos: int, end: int):
        self.data, self.pos, self.end = data, pos, end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise PageError("page header runs past its column chunk")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise PageError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, kind: int, depth: int) -> None:
        if kind in (1, 2):  # booleans live in the field header
            return
        if kind == 3:
            self.byte()
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self._advance(8)
        elif kind == 8:
            self._advance(self.varint())
        elif kind in (9, 10):
            head = self.byte()
            size = head >> 4 if head >> 4 != 15 else self.varint()
            for _ in range(size):
                self.skip(head & 0x0F, depth + 1)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip(types >> 4, depth + 1)
                    self.skip(types & 0x0F, depth + 1)
        elif kind == 12:
            self.struct(lambda field, kind: False, depth + 1)
        else:
            raise PageError(f"unknown Thrift type {kind}")

    def _advance(self, n: int) -> None:
        if n < 0 or self.pos + n > self.end:
            raise PageError("page header runs past its column chunk")
        self.pos += n

    def struct(self, on_field, depth: int = 0) -> None:
        """Read one struct; ``on_field(id, type)`` reads a field it wants and returns True,
        else the field is skipped."""
        if depth > MAX_DEPTH:
            raise PageError("page header nested too deeply")
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            kind, delta = head & 0x0F, head >> 4
            field = last + delta if delta else self.zigzag()
            last = field
            if not on_field(field, kind):
                self.skip(kind, depth)


def read_page_header(data: bytes, pos: int, end: int) -> Page:
    """The header of the page at ``pos`` (the chunk ends at ``end``)."""
    cur = _Compact(data, pos, end)
    found = {"type": None, "uncompressed": None, "compressed": None,
             "num_values": 0, "encoding": PLAIN}

    def page_field(field, kind):
        if field in (1, 2, 3) and kind == 5:
            found[("type", "uncompressed", "compressed")[field - 1]] = cur.zigzag()
            return True
        if field in (5, 7, 8) and kind == 12:  # data, dictionary, data v2 page headers
            values_at, encoding_at = (1, 4) if field == 8 else (1, 2)

            def inner(f, k):
                if k == 5 and f in (values_at, encoding_at):
                    found["num_values" if f == values_at else "encoding"] = cur.zigzag()
                    return True
                return False

            cur.struct(inner, 1)
            return True
        return False

    cur.struct(page_field)
    if None in (found["type"], found["uncompressed"], found["compressed"]):
        raise PageError("page header without its type or sizes")
    if min(found["uncompressed"], found["compressed"], found["num_values"]) < 0:
        raise PageError("negative size in a page header")
    return Page(found["type"], found["uncompressed"], found["compressed"],
                found["num_values"], found["encoding"], cur.pos - pos)


def chunk_pages(data: bytes, start: int, length: int, max_pages: int = 100_000) -> list[Page]:
    """Every page of the column chunk at ``data[start:start + length]``, in order: the
    window pyarrow's page reader reads from (it may stop earlier, never later)."""
    end = start + length
    if start < 4 or length < 0 or end > len(data):
        raise PageError("column chunk outside the file")
    pages, pos = [], start
    while pos < end:
        page = read_page_header(data, pos, end)
        pages.append(page)
        pos += page.header_size + page.compressed_size
        if pos > end:
            raise PageError("page runs past its column chunk")
        if len(pages) > max_pages:
            raise PageError("too many pages")
    return pages
