"""Record sources: stream records out of JSONL and CSV files without loading them whole.

Each reader yields ``(position, value)``: the 1-based line number and the parsed value,
ready for ``LogStore.append``. Malformed input raises ``RecordError`` naming the line.

CSV: the header must have ``id``, ``ts`` and ``type``; every other column is a field of
``data``. A cell that is a JSON number (``12``, ``-3.5``, ``1e3``) becomes a number when JSON can
carry it exactly (integers within +-(2^53 - 1)); an empty cell leaves its field out;
anything else, a 20-digit serial number included, is a string.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ledger.canonical import MAX_SAFE_INTEGER
from ledger.errors import RecordError
from ledger.records import parse_json_line

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INT = re.compile(r"-?(?:0|[1-9]\d*)")
FORMATS = ("jsonl", "csv")


def detect_format(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    return "jsonl"  # .jsonl, .ndjson, stdin


def read_jsonl(stream: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(line number, value)`` for each non-blank line of a JSONL byte stream."""
    for number, line in read_jsonl_lines(stream, on_bytes):
        yield number, parse_json_line(line, number)


def read_jsonl_lines(stream: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes]]:
    """``read_jsonl`` without the parse: ``(line number, line)`` for each non-blank line, for a
    reader that parses elsewhere (``LogStore.append(..., raw=True)`` parses in its workers with
    ``records.parse_json_line``, as ``read_jsonl`` does)."""
    for number, line in enumerate(stream, start=1):
        if on_bytes:
            on_bytes(len(line))
        line = line.rstrip(b"\r\n")
        if not line or line.isspace():
            continue
        yield number, line


def read_jsonl_blocks(stream: BinaryIO, on_bytes: Callable[[int], None] | None = None,
                      size: int = 512 * 1024) -> Iterator[tuple[int, bytes]]:
    """``read_jsonl`` in blocks for a reader that splits and parses elsewhere: ``(number of the
    block's first line, block)``, each block about ``size`` bytes of whole lines (a line longer
    than ``size`` is one block). ``jsonl_block_lines`` turns a block into ``read_jsonl_lines``'
    items, so the lines are numbered and skipped the same way."""
    number, rest = 1, b""
    while True:
        data = stream.read(size)
        if on_bytes and data:
            on_bytes(len(data))
        if not data:
            if rest:
                yield number, rest
            return
        data = rest + data if rest else data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[:cut + 1], data[cut + 1:]
        yield number, block
        number += block.count(b"\n")


def jsonl_block_lines(first: int, block: bytes) -> list[tuple[int, bytes]]:
    """The ``(line number, line)`` items of a ``read_jsonl_blocks`` block."""
    out = []
    for number, line in enumerate(block.split(b"\n"), start=first):
        line = line.rstrip(b"\r\n")
        if line and not line.isspace():
            out.append((number, line))
    return out


def read_csv(stream: BinaryIO, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, object]]:
    """Yield ``(line number, record)`` for each row of a CSV byte stream with a header.

    Strict CSV: a quote left open at the end of the file, or text after a closing quote, is
    refused with the line its row starts on. Each line is decoded on its own, so invalid
    UTF-8 is named on the line that holds it.
    """
    reader = csv.reader(_text_lines(stream, on_bytes), strict=True)
    rows = _rows(reader)
    try:
        _, header = next(rows)
    except StopIteration:
        return
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise RecordError(1, None, dup, "column appears twice in the CSV header", unit="line")
    missing = [c for c in ("id", "ts", "type") if c not in header]
    if missing:
        raise RecordError(1, None, missing[0], "CSV header must have columns id, ts, type", unit="line")
    if "data" in header:
        raise RecordError(1, None, "data", "CSV data fields are the other columns; 'data' is reserved", unit="line")
    data_columns = [(i, h) for i, h in enumerate(header) if h not in ("id", "ts", "type")]
    pos = {h: header.index(h) for h in ("id", "ts", "type")}
    for line, row in rows:
        if len(row) != len(header):
            raise RecordError(line, row[pos["id"]] if len(row) > pos["id"] else None, None,
                              f"row has {len(row)} cells, header has {len(header)}", unit="line")
        data = {}
        for i, name in data_columns:
            cell = row[i]
            if cell != "":
                data[name] = _cell_value(cell)
        yield line, {"id": row[pos["id"]], "ts": row[pos["ts"]], "type": row[pos["type"]], "data": data}


def _rows(reader) -> Iterator[tuple[int, list[str]]]:
    """``(line the row starts on, cells)`` for each non-blank row; malformed CSV names that line."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            reason = str(e)
            if reason == "unexpected end of data":
                reason = "a quoted field is not closed before the end of the file"
            raise RecordError(start, None, None, f"malformed CSV: {reason}", unit="line") from None
        if row:
            yield start, row


_BOM = b"\xef\xbb\xbf"
_AFTER_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


def _text_lines(stream: BinaryIO, on_bytes: Callable[[int], None] | None) -> Iterator[str]:
    """The stream's lines as text with their line ends, as ``csv`` wants them (``\\n``,
    ``\\r\\n`` and a lone ``\\r`` each end a line; a byte-order mark at the start is dropped).
    Raises ``RecordError`` naming the line of an invalid UTF-8 byte."""
    number = 0
    for raw in stream:
        if on_bytes:
            on_bytes(len(raw))
        if number == 0:
            raw = raw.removeprefix(_BOM)  # spreadsheet programs often start a CSV with one
        for part in _AFTER_LONE_CR.split(raw) if b"\r" in raw else (raw,):
            if not part:
                continue
            number += 1
            try:
                yield part.decode("utf-8")
            except UnicodeDecodeError as e:
                raise RecordError(number, None, None, f"invalid UTF-8 at byte {e.start + 1} of the line "
                                                      f"({e.reason})", unit="line") from None


def _cell_value(cell: str) -> object:
    """A number when the cell is one that JSON can carry exactly, else the text itself
    (a 20-digit serial number stays a string instead of being refused)."""
    if _JSON_NUMBER.fullmatch(cell):
        if _INT.fullmatch(cell):
            n = int(cell)
            if -MAX_SAFE_INTEGER <= n <= MAX_SAFE_INTEGER:
                return n
        else:
            x = float(cell)
            if math.isfinite(x) and not (x.is_integer() and abs(x) > MAX_SAFE_INTEGER):
                return x
    return cell


READERS = {"jsonl": read_jsonl, "csv": read_csv}
