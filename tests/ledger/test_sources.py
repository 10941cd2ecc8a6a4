"""The CSV reader: strict CSV, and every defect named on the line that holds it."""

from __future__ import annotations

import io

import pytest

from ledger.errors import RecordError
from ledger.sources import read_csv

HEADER = b"id,ts,type,temp_c,note\n"


def _row(i: int, note: str = "ok") -> bytes:
    return f"t-{i},2026-10-01T08:00:00+08:00,iot.telemetry,{60 + i},{note}\n".encode()


def _read(data: bytes) -> list[tuple[int, object]]:
    return list(read_csv(io.BytesIO(data)))


def test_rows_become_records_numbered_by_line():
    rows = _read(HEADER + _row(1) + b"\n" + _row(2, '"two\nlines"') + _row(3))
    assert [line for line, _ in rows] == [2, 4, 6]
    assert rows[1][1] == {"id": "t-2", "ts": "2026-10-01T08:00:00+08:00", "type": "iot.telemetry",
                          "data": {"temp_c": 62, "note": "two\nlines"}}


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_any_line_ending(ending):
    data = (HEADER + _row(1) + _row(2)).replace(b"\n", ending)
    assert [(line, r["id"]) for line, r in _read(data)] == [(2, "t-1"), (3, "t-2")]


def test_a_byte_order_mark_is_dropped():
    assert _read(b"\xef\xbb\xbf" + HEADER + _row(1))[0][1]["id"] == "t-1"


@pytest.mark.parametrize("tail", [b'"not closed\n', b'"not closed', b'"not\nclosed\n'])
def test_a_quote_left_open_at_the_end_of_the_file_is_refused_on_its_line(tail):
    data = HEADER + _row(1) + _row(2) + b"t-3,2026-10-01T08:00:00+08:00,iot.telemetry,1," + tail
    with pytest.raises(RecordError, match=r"^line 4: malformed CSV: a quoted field is not closed") as e:
        _read(data)
    assert e.value.position == 4


def test_text_after_a_closing_quote_is_refused():
    with pytest.raises(RecordError, match=r"^line 3: malformed CSV") as e:
        _read(HEADER + _row(1) + b't-2,2026-10-01T08:00:00+08:00,iot.telemetry,1,"a"b\n')
    assert e.value.position == 3


@pytest.mark.parametrize("bad_line", [1, 2, 7, 500, 5000])
def test_invalid_utf8_is_named_on_its_line(bad_line):
    lines = [HEADER] + [_row(i) for i in range(1, 6000)]
    line = lines[bad_line - 1]
    lines[bad_line - 1] = line[:3] + b"\xff" + line[3:]
    with pytest.raises(RecordError, match=rf"^line {bad_line}: invalid UTF-8 at byte 4 of the line") as e:
        _read(b"".join(lines))
    assert e.value.position == bad_line


def test_invalid_utf8_inside_a_quoted_multi_line_cell_names_its_physical_line():
    data = HEADER + _row(1) + _row(2, '"first\nsecond \xff"').replace("\xff".encode(), b"\xff")
    with pytest.raises(RecordError, match=r"^line 4: invalid UTF-8"):
        _read(data)


def test_progress_counts_every_byte():
    data = b"\xef\xbb\xbf" + HEADER + _row(1) + _row(2)
    seen = []
    list(read_csv(io.BytesIO(data), seen.append))
    assert sum(seen) == len(data)
