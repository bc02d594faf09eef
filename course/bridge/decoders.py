"""Bounded decoders of the files a result is made of: ``.npy``, JSON and Parquet.

Each one works out, from the file's own header or metadata, how much memory its value
will take once decoded, charges that to the result's budget (`budget.ResultBudget`, which
refuses it with `TooLarge` when over) and only then decodes. Everything else wrong with a
file is a `ResultRejected`; nothing else escapes (hypothesis tests feed them random bytes).

- ``.npy``: the header is parsed here (a Python literal, read with ``ast.literal_eval``
  as numpy does); structured, object, sub-array and zero-size dtypes are refused, the
  size is element count x item size (exact), and the data must be exactly that long.
- JSON: the nesting depth and the number of values are counted on the raw bytes (string
  contents removed first) before ``json.loads``.
- Parquet: see `read_frame`.
"""

from __future__ import annotations

import ast
import json
import math
import re

import numpy as np

from .budget import ResultBudget, TooLarge, mb
from .errors import ResultRejected
from .parquet_pages import (
    DATA_PAGE,
    DATA_PAGE_V2,
    DICTIONARY_ENCODINGS,
    DICTIONARY_PAGE,
    INDEX_PAGE,
    READ_ENCODINGS,
    PageError,
    chunk_pages,
)

# -- .npy ----------------------------------------------------------------------------------
NPY_MAGIC = b"\x93NUMPY"
NPY_KINDS = "biufcUSMm"  # what the kernel's side writes (the same list as kernel_side)
MAX_NPY_HEADER = 10_000  # numpy's own default limit for np.load


def npy_header(data: bytes) -> tuple[np.dtype, tuple, bool, int]:
    """(dtype, shape, fortran_order, offset of the data) of an ``.npy`` file's header."""
    if len(data) < 10 or not data.startswith(NPY_MAGIC):
        raise ResultRejected("unreadable array: not an .npy file")
    major = data[6]
    if major == 1:
        length, start = int.from_bytes(data[8:10], "little"), 10
    elif major in (2, 3):
        length, start = int.from_bytes(data[8:12], "little"), 12
    else:
        raise ResultRejected("unreadable array: unknown .npy version")
    if length > MAX_NPY_HEADER or start + length > len(data):
        raise ResultRejected("unreadable array: bad .npy header length")
    try:
        text = data[start:start + length].decode("utf8" if major == 3 else "latin1")
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError,
            TypeError):
        raise ResultRejected("unreadable array: bad .npy header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ResultRejected("unreadable array: bad .npy header")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(descr, str) or not isinstance(fortran, bool) or not (
            isinstance(shape, tuple) and len(shape) <= 32
            and all(type(n) is int and n >= 0 for n in shape)):
        raise ResultRejected("unreadable array: bad .npy header (only plain dtypes are read)")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError):
        raise ResultRejected(f"unreadable array: unknown dtype {descr[:40]!r}") from None
    if dtype.itemsize == 0 and math.prod(shape):
        raise TooLarge(f"an array of {math.prod(shape)} items of the zero-size dtype "
                       f"{descr[:40]!r} (a graded array's items must have a size)")
    if (dtype.kind not in NPY_KINDS or dtype.hasobject or dtype.fields is not None
            or dtype.subdtype is not None):
        raise ResultRejected(f"unreadable array: dtype {descr[:40]!r} is not accepted")
    return dtype, shape, fortran, start + length


def read_npy(data: bytes, budget: ResultBudget) -> np.ndarray:
    dtype, shape, fortran, offset = npy_header(data)
    count = math.prod(shape)
    budget.charge(count * max(dtype.itemsize, 1), f"an array of shape {shape}")
    if len(data) - offset != count * dtype.itemsize:
        raise ResultRejected("unreadable array: its data does not match its header")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


# -- JSON ----------------------------------------------------------------------------------
MAX_JSON_DEPTH = 200  # the decoder allows 50 result levels; a list level is 3 JSON levels
JSON_VALUE_BYTES = 64  # the decoded cost of one JSON value (object, pointer, twice: tree+value)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def read_json(data: bytes, budget: ResultBudget, what: str):
    """``json.loads(data)``, once its depth and number of values are known to be small."""
    skeleton = _STRING.sub(b'""', data)  # brackets and commas inside strings do not count
    brackets = np.frombuffer(skeleton.translate(None, _NOT_BRACKETS), np.uint8)
    opening = (brackets == ord("[")) | (brackets == ord("{"))
    depth = int(np.cumsum(opening.astype(np.int32) * 2 - 1).max()) if len(brackets) else 0
    if depth > MAX_JSON_DEPTH:
        raise TooLarge(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")
    values = int(opening.sum()) + skeleton.count(b",") + 1
    budget.charge(len(data) + values * JSON_VALUE_BYTES, f"{what} ({values} JSON values)")
    try:
        return json.loads(data)
    except (ValueError, RecursionError, TypeError):
        raise ResultRejected(f"{what} is not valid JSON") from None


# -- Parquet -------------------------------------------------------------------------------
MAX_FOOTER = 1024**2  # a frame of a few columns has a footer of a few KB
MAX_COLUMNS = 2000
MAX_ROW_GROUPS = 10_000
OBJECT_BYTES = 64  # a pandas object (str) per value, with its pointer
FIXED_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}
_CODECS = {"SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd", "BROTLI": "brotli"}


def _simple_type(t) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _simple_type(t.value_type) and pa.types.is_integer(t.index_type)
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_temporal(t) or pa.types.is_null(t)
            or pa.types.is_decimal(t))


def _longest_dictionary_value(data: bytes, page_at: int, page, codec: str) -> int:
    """The longest value of a PLAIN-encoded BYTE_ARRAY dictionary page (its size is already
    within the budget); the page's whole size when it cannot be decompressed here."""
    import pyarrow as pa

    body = data[page_at + page.header_size: page_at + page.header_size + page.compressed_size]
    try:
        if codec != "UNCOMPRESSED":
            body = pa.decompress(body, decompressed_size=page.uncompressed_size,
                                 codec=_CODECS[codec]).to_pybytes()
    except (KeyError, ValueError, OSError, pa.ArrowException):
        return page.uncompressed_size
    longest, pos = 0, 0
    lengths = memoryview(body)
    for _ in range(page.num_values):
        if pos + 4 > len(body):
            return page.uncompressed_size
        n = int.from_bytes(lengths[pos:pos + 4], "little")
        longest, pos = max(longest, n), pos + 4 + n
    return min(longest, page.uncompressed_size)


def parquet_decoded_size(data: bytes, metadata, limit: int, what: str = "a DataFrame"
                         ) -> int:
    """An upper bound of the memory ``read_table(...).to_pandas()`` takes for ``data``.

    From the footer (pyarrow's metadata: row groups, column chunks and their offsets) and
    the page headers (`parquet_pages`, read here: the footer's sizes are the writer's
    word, the headers are what the reader allocates from). A flat column yields at most
    its row group's row count of values; a fixed-width value is its width; a byte-array
    value is at most the longest dictionary value when dictionary-encoded (read from the
    dictionary page alone), and plain values are at most their pages' size. Nested
    columns and encodings pyarrow does not write by default are refused. Raises
    `TooLarge` as soon as the pages alone are over ``limit`` (nothing is decompressed then).
    """
    schema = metadata.schema
    total = 0
    for r in range(metadata.num_row_groups):
        group = metadata.row_group(r)
        rows = group.num_rows
        if rows < 0 or group.num_columns != metadata.num_columns:
            raise ResultRejected("unreadable DataFrame: bad row group")
        for c in range(group.num_columns):
            column, chunk = schema.column(c), group.column(c)
            if column.max_repetition_level != 0:
                raise ResultRejected("unreadable DataFrame: nested columns are not read")
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and 0 < (chunk.dictionary_page_offset or 0) < start:
                start = chunk.dictionary_page_offset
            try:
                pages = chunk_pages(data, start, chunk.total_compressed_size)
            except PageError as error:
                if rows == 0:  # pyarrow writes empty chunks at offset 0 and reads none
                    continue
                raise ResultRejected(f"unreadable DataFrame: {error}") from None
            buffers = sum(p.uncompressed_size for p in pages)
            if total + buffers > limit:  # before decompressing any page here
                raise TooLarge(f"{what}'s pages would take {mb(total + buffers)} once "
                               f"decompressed; the limit is {mb(limit)}")
            if any(p.type not in (DATA_PAGE, DATA_PAGE_V2, DICTIONARY_PAGE, INDEX_PAGE)
                   or (p.type != INDEX_PAGE and p.encoding not in READ_ENCODINGS)
                   for p in pages):
                raise ResultRejected("unreadable DataFrame: an encoding the graders do not "
                                     "read")
            kind = column.physical_type
            if kind == "BYTE_ARRAY":
                plain = sum(p.uncompressed_size for p in pages if p.type != DICTIONARY_PAGE
                            and p.encoding not in DICTIONARY_ENCODINGS)
                longest, offset = 0, start
                for page in pages:
                    if page.type == DICTIONARY_PAGE:
                        longest = max(longest, _longest_dictionary_value(
                            data, offset, page, chunk.compression))
                    offset += page.header_size + page.compressed_size
                values = 2 * (rows * longest + plain) + rows * OBJECT_BYTES
            elif kind == "FIXED_LEN_BYTE_ARRAY":
                values = rows * (max(column.length or 0, 0) + OBJECT_BYTES)
            else:
                values = rows * 2 * max(FIXED_WIDTH.get(kind, 8), 8)
            total += buffers + values
    return total


def read_frame(data: bytes, budget: ResultBudget, what: str = "a DataFrame"):
    """The DataFrame of a Parquet file, refused before reading when its decoded size (see
    `parquet_decoded_size`) is over the budget."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise ResultRejected("unreadable DataFrame: not a Parquet file")
    footer = int.from_bytes(data[-8:-4], "little")
    if footer > MAX_FOOTER or footer > len(data) - 12:
        raise TooLarge(f"{what} has a {mb(footer)} Parquet footer (at most {mb(MAX_FOOTER)})")
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        metadata, schema = parquet.metadata, parquet.schema_arrow
        pandas_meta = schema.pandas_metadata or {}  # JSON in the footer (within its limit)
        index_columns = pandas_meta.get("index_columns") if isinstance(pandas_meta, dict) else 1
    except Exception as error:  # noqa: BLE001 - any malformed footer is rejected alike
        raise ResultRejected(f"unreadable DataFrame: {str(error)[:200]}") from None
    if metadata.num_columns > MAX_COLUMNS or metadata.num_row_groups > MAX_ROW_GROUPS:
        raise TooLarge(f"{what} has {metadata.num_columns} columns in "
                       f"{metadata.num_row_groups} row groups")
    if not all(_simple_type(field.type) for field in schema):
        raise ResultRejected("unreadable DataFrame: only columns of numbers, text, booleans "
                             "and dates are read")
    if index_columns:  # the kernel's side never writes an index
        raise ResultRejected("unreadable DataFrame: unexpected index")
    try:
        size = parquet_decoded_size(data, metadata, budget.left, what)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):  # odd metadata values
        raise ResultRejected("unreadable DataFrame: malformed metadata") from None
    budget.charge(size, what)
    try:
        return pq.read_table(pa.BufferReader(data)).to_pandas()
    except Exception as error:  # noqa: BLE001 - any malformed Parquet is rejected alike
        raise ResultRejected(f"unreadable DataFrame: {str(error)[:200]}") from None
