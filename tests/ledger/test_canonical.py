"""ledger.canonical: the fast path gives the exact bytes of a full RFC 8785 implementation."""

import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, CanonicalError, canonicalize, fast_canonicalize

safe_ints = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
# Floats a telemetry source really sends: a few decimals, any magnitude.
sensor_floats = st.builds(lambda m, e: round(m * 10.0 ** e, 6), st.floats(-1000, 1000), st.integers(-8, 12))
keys = st.one_of(st.text(max_size=12), st.sampled_from(["id", "ts", "a", "b", "é", "\U0001f600", "\ue000"]))
scalars = st.one_of(st.none(), st.booleans(), safe_ints, finite_floats, sensor_floats, st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
records = st.fixed_dictionaries({
    "id": st.text(min_size=1, max_size=20),
    "ts": st.just("2026-10-01T08:00:00.000+08:00"),
    "type": st.just("iot.telemetry"),
    "data": st.dictionaries(st.text(max_size=10), st.one_of(finite_floats, sensor_floats, safe_ints, st.text()), max_size=8),
})


@settings(max_examples=1000, deadline=None)
@given(value=st.one_of(json_values, records))
def test_fast_path_is_byte_identical_to_rfc8785(value):
    fast = fast_canonicalize(value)
    if fast is not None:
        assert fast == rfc8785.dumps(value)
    try:
        ours = canonicalize(value)
    except CanonicalError as e:
        # Stricter than RFC 8785 by design: floats JCS prints as unsafe integers.
        assert "2^53" in e.reason and fast is None
        return
    assert ours == rfc8785.dumps(value)


def test_fast_path_is_taken_for_typical_records():
    # The property test above means little if the fast path were never taken.
    taken = 0
    for i in range(1000):
        rec = {"id": f"t-{i}", "ts": "2026-10-01T08:00:00+08:00", "type": "iot.telemetry",
               "data": {"temp_c": 60 + i / 7, "rpm": 1400 + i, "ok": True, "note": "x\ny", "n": 2.0}}
        fast = fast_canonicalize(rec)
        taken += fast is not None
        assert canonicalize(rec) == rfc8785.dumps(rec)
    assert taken == 1000


@pytest.mark.parametrize("value, expected", [
    (1.0, b"1"), (-0.0, b"0"), (1e21, b"1e+21"), (1e-7, b"1e-7"), (4.5e15, b"4500000000000000"),
    (0.000001, b"0.000001"), (9007199254740991.0, b"9007199254740991"), (1.5e300, b"1.5e+300"),
    ({"b": 1, "a": [True, None, "\u20ac\n"]}, '{"a":[true,null,"\u20ac\\n"],"b":1}'.encode()),
    # RFC 8785 section 3.2.3: keys sort by UTF-16 code units, so U+1F600 (D83D DE00) < U+E000.
    ({"\ue000": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\ue000":1}'.encode()),
])
def test_known_answers(value, expected):
    assert canonicalize(value) == expected


@pytest.mark.parametrize("value, path, reason", [
    ({"data": {"t": math.nan}}, ["data", "t"], "NaN"),
    ({"data": [1, math.inf]}, ["data", "[1]"], "NaN and Infinity"),
    ({"n": 2**53}, ["n"], "2^53"),
    ({"s": "\ud800"}, ["s"], "surrogate"),
    ({"v": 1e16}, ["v"], "2^53"),  # JCS prints 10000000000000000: unverifiable later
])
def test_values_jcs_cannot_hold_are_named(value, path, reason):
    with pytest.raises(CanonicalError) as e:
        canonicalize(value)
    assert e.value.path == path
    assert reason in e.value.reason


def test_depth_limit():
    deep = {}
    cur = deep
    for _ in range(40):
        cur["x"] = {}
        cur = cur["x"]
    with pytest.raises(CanonicalError, match="deep"):
        canonicalize(deep, max_depth=32)
    assert canonicalize(deep, max_depth=64).startswith(b'{"x":')


printable_ids = st.text(min_size=1, max_size=40).filter(str.isprintable)
valid_records = st.fixed_dictionaries({
    "id": printable_ids,
    "ts": st.sampled_from(["2026-10-01T08:00:00.000+08:00", "2026-10-01T00:00:00Z"]),
    "type": st.sampled_from(["iot.telemetry", "mes.work_order", "erp.sales_order"]),
    "data": st.dictionaries(keys, json_values, max_size=8),
})


@settings(max_examples=800, deadline=None)
@given(record=valid_records)
def test_a_records_canonical_bytes_are_rfc8785(record):
    from ledger.errors import RecordError
    from ledger.records import prepare_record

    try:
        canonical = prepare_record(record, 1).canonical
    except RecordError as e:
        assert "2^53" in e.reason  # stricter than RFC 8785 by design (see canonical.py)
        return
    assert canonical == rfc8785.dumps(record)
