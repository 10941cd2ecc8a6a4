"""ledger.records: every malformed record is refused with its position, id and field."""

import pytest

from ledger.errors import RecordError
from ledger.records import MAX_CANONICAL_BYTES, parse_json_line, prepare_record

GOOD = b'{"id":"t-1","ts":"2026-10-01T08:00:00.250+08:00","type":"iot.telemetry","data":{"temp_c":61.5,"rpm":1450}}'


def _refused(raw: bytes, position: int = 7) -> RecordError:
    with pytest.raises(RecordError) as e:
        prepare_record(parse_json_line(raw, position), position)
    assert e.value.position == position
    assert str(position) in str(e.value)
    return e.value


def test_a_good_record_is_canonical():
    rec = prepare_record(parse_json_line(GOOD, 1), 1)
    assert rec.record_id == "t-1"
    assert rec.canonical == (b'{"data":{"rpm":1450,"temp_c":61.5},"id":"t-1",'
                             b'"ts":"2026-10-01T08:00:00.250+08:00","type":"iot.telemetry"}')


def test_whitespace_and_key_order_do_not_change_the_canonical_bytes():
    spaced = b'{ "type": "iot.telemetry", "data": {"rpm": 1450, "temp_c": 61.50}, "ts": "2026-10-01T08:00:00.250+08:00", "id": "t-1" }'
    assert prepare_record(parse_json_line(spaced, 1), 1).canonical == \
        prepare_record(parse_json_line(GOOD, 1), 1).canonical


@pytest.mark.parametrize("raw, field, reason", [
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y"}', "data", "missing"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{},"extra":1}', "extra", "unexpected"),
    (b'{"id":5,"ts":"2026-10-01T08:00:00Z","type":"x.y","data":{}}', "id", "string"),
    (b'{"id":"","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{}}', "id", "1-128"),
    (b'{"id":"' + b"x" * 129 + b'","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{}}', "id", "1-128"),
    (b'{"id":"a\\u0007","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{}}', "id", "printable"),
    (b'{"id":"a","ts":"2026-10-01 08:00:00","type":"x.y","data":{}}', "ts", "RFC 3339"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00","type":"x.y","data":{}}', "ts", "offset"),
    (b'{"id":"a","ts":"2026-02-30T08:00:00Z","type":"x.y","data":{}}', "ts", "real date"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00+08:60","type":"x.y","data":{}}', "ts", "offset"),
    (b'{"id":"a","ts":"2026-10-01T08:00:61Z","type":"x.y","data":{}}', "ts", "real date"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00+24:00","type":"x.y","data":{}}', "ts", "offset"),
    (b'{"id":"a","ts":1,"type":"x.y","data":{}}', "ts", "string"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"no spaces","data":{}}', "type", "dotted"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":[]}', "data", "object"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"t":NaN}}', "data.t", "NaN"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"t":-Infinity}}', "data.t", "Infinity"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"n":9007199254740993}}', "data.n", "2^53"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"t":1,"t":2}}', "data.t", "duplicate"),
    (b'{"id":"a","id":"b","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{}}', "id", "duplicate"),
    (b'{"id":"a","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"s":"\\ud800"}}', "data.s", "surrogate"),
])
def test_each_defect_names_the_field(raw, field, reason):
    err = _refused(raw)
    assert err.field == field
    assert reason in err.reason
    assert field in str(err)


def test_the_id_is_named_when_readable():
    err = _refused(b'{"id":"wo-77","ts":"yesterday","type":"x.y","data":{}}')
    assert err.record_id == "wo-77" and "wo-77" in str(err)


def test_invalid_utf8_names_position_and_id():
    err = _refused(b'{"id":"so-9","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"c":"\xff"}}')
    assert "UTF-8" in err.reason and err.record_id == "so-9"


def test_invalid_json_is_a_record_error_not_a_traceback():
    err = _refused(b'{"id":"a", "ts": ')
    assert "invalid JSON" in err.reason


def test_not_an_object():
    assert "JSON object" in _refused(b"[1,2]").reason


def test_nesting_deeper_than_32_is_refused():
    nested = b'{"a":' * 32 + b"1" + b"}" * 32  # data is the first of these: 33 with the record
    raw = b'{"id":"d","ts":"2026-10-01T08:00:00Z","type":"x.y","data":' + nested + b"}"
    err = _refused(raw)
    assert "deeper than 32" in err.reason
    very_deep = (b'{"id":"d","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"a":'
                 + b"[" * 5000 + b"]" * 5000 + b"}}")
    assert "deeper" in _refused(very_deep).reason


def test_depth_32_exactly_is_accepted():
    nested = b'{"a":' * 31 + b"1" + b"}" * 31  # the record + 31 objects (data is the first) = 32
    raw = b'{"id":"d","ts":"2026-10-01T08:00:00Z","type":"x.y","data":' + nested + b"}"
    assert prepare_record(parse_json_line(raw, 1), 1).record_id == "d"


def test_more_than_64_kib_canonical_is_refused():
    big = "x" * MAX_CANONICAL_BYTES
    raw = b'{"id":"big","ts":"2026-10-01T08:00:00Z","type":"x.y","data":{"blob":"' + big.encode() + b'"}}'
    err = _refused(raw)
    assert "64 KiB" in err.reason and err.record_id == "big"


def test_timestamps_that_rfc3339_allows():
    for ts in ["2026-10-01T08:00:00Z", "2026-10-01t08:00:00z", "2026-12-31T23:59:60+08:00",
               "2026-10-01T08:00:00.123456789-05:30"]:
        rec = {"id": "a", "ts": ts, "type": "x", "data": {}}
        assert prepare_record(rec, 1).record_id == "a"
