"""ledger.assets: manifest figures match a brute-force recount; the digest pins the records."""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import assets
from ledger.errors import BundleError, InvalidArgumentError
from ledger.records import parse_timestamp
from ledger.settings import Settings
from ledger.store.logstore import LogStore
from ledger.synthetic import telemetry

STREAM = "line-a/telemetry"
LOG_ID = bytes.fromhex("22" * 32)
_streams = itertools.count()


@pytest.fixture
def sqlite_store(home):
    """A real LogStore on SQLite (as the ``store`` fixture, without the PostgreSQL twin)."""
    s = LogStore.open(Settings(home=home, database_url=None))
    yield s
    s.close()


def _log(store, records, stream=None, bind=True):
    stream = stream or f"line-a/s{next(_streams)}"
    store.create_log(stream)
    store.append(stream, enumerate(records))
    if bind:
        store.bind_log(stream, "0x" + "11" * 20, LOG_ID)
    return stream


def _rec(i, data, type_="iot.telemetry", ts="2026-10-01T08:00:00+08:00"):
    return {"id": f"r{i}", "ts": ts, "type": type_, "data": data}


def _manifest(store, stream, start=0, end=None, size=None):
    n = store.get_log(stream).size
    end = n if end is None else end
    size = n if size is None else size
    return assets.build_manifest(store, stream, start, end, size, store.root_at(stream, size))


# --- brute force: the obvious recount, holding every value in memory -------------------

def _encode(v):
    if type(v) is int:
        return v if abs(v) <= 2**53 - 1 else str(v)
    if 2.0**53 <= abs(v) < 1e21:
        return str(int(v))
    return v


def _brute_force(records):
    types = {}
    for r in records:
        t = types.setdefault(r["type"], {"count": 0, "values": {}})
        t["count"] += 1
        for k, v in r["data"].items():
            if type(v) in (int, float):
                t["values"].setdefault(k, []).append(v)
    out = {}
    for name, t in types.items():
        fields = {}
        for k, vs in t["values"].items():
            exact = sum(map(Fraction, vs))
            if all(type(v) is int for v in vs):
                s = _encode(sum(vs))
            else:
                try:
                    s = _encode(math.fsum(vs))
                except OverflowError:  # fsum gives up on an intermediate overflow
                    try:
                        s = _encode(float(exact))
                    except OverflowError:
                        s = None  # beyond the double range
            fields[k] = {"count": len(vs), "sum": s, "min": _encode(min(vs)),
                         "max": _encode(max(vs)), "exact": exact}
        out[name] = {"count": t["count"], "fields": fields}
    instants = [(parse_timestamp(r["ts"]), r["ts"]) for r in records]
    first = min(instants, key=lambda p: p[0])[1]  # min/max keep the first of equals
    last = max(instants, key=lambda p: p[0])[1]
    return out, first, last


def _assert_figures_match(manifest, records):
    expected, first, last = _brute_force(records)
    assert manifest["period"] == {"first_ts": first, "last_ts": last}
    assert set(manifest["types"]) == set(expected)
    for name, exp in expected.items():
        got = manifest["types"][name]
        assert got["count"] == exp["count"]
        assert set(got["fields"]) == set(exp["fields"])
        for k, f in exp["fields"].items():
            g = got["fields"][k]
            assert (g["count"], g["min"], g["max"]) == (f["count"], f["min"], f["max"]), k
            if f["sum"] is None:
                # Beyond the double range: 17 significant digits of the exact sum.
                assert type(g["sum"]) is str
                assert abs(Fraction(Decimal(g["sum"])) / f["exact"] - 1) < Fraction(1, 10**16)
            else:
                assert g["sum"] == f["sum"] and type(g["sum"]) is type(f["sum"]), k


# Numbers a record may hold (ledger.canonical refuses floats in [2**53, 1e21)).
_numbers = st.one_of(
    st.integers(-(2**53 - 1), 2**53 - 1),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not 2.0**53 <= abs(f) < 1e21),
    st.floats(-100, 100, allow_nan=False).map(lambda f: round(f, 3)),
)
_values = st.one_of(_numbers, st.booleans(), st.none(), st.text(max_size=3),
                    st.lists(st.integers(0, 9), max_size=2), st.just({"nested": 5}))
_ts = st.builds(
    lambda minute, second, off: f"2026-10-01T{minute // 60:02d}:{minute % 60:02d}:{second:02d}{off}",
    st.integers(0, 23 * 60 + 59), st.integers(0, 59), st.sampled_from(["Z", "+08:00", "-05:30", "+00:00"]),
)
_records = st.lists(
    st.tuples(st.sampled_from(["iot.telemetry", "mes.work_order", "erp.sales_order"]), _ts,
              st.dictionaries(st.sampled_from(["a", "b", "qty", "temp_c", "flag"]), _values, max_size=4)),
    min_size=1, max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_records, data=st.data())
def test_figures_match_a_brute_force_recount(sqlite_store, raw, data):
    records = [_rec(i, d, t, ts) for i, (t, ts, d) in enumerate(raw)]
    stream = _log(sqlite_store, records)
    n = len(records)
    start = data.draw(st.integers(0, n - 1))
    end = data.draw(st.integers(start + 1, n))
    size = data.draw(st.integers(end, n))
    m = _manifest(sqlite_store, stream, start, end, size)
    stored = [r.record for r in sqlite_store.iter_records(stream, start, end)]  # as canonical bytes give them back
    _assert_figures_match(m, stored)
    assert m["range"] == {"from": start, "to": end} and m["records"] == end - start
    assert m["checkpoint"] == {"size": size, "root": "0x" + sqlite_store.root_at(stream, size).hex()}
    assert assets.check_manifest(json.loads(json.dumps(m))) == m
    assert all(assets.record_disagreements(m, r) == [] for r in stored)


def test_a_realistic_log(sqlite_store):
    records = list(telemetry(500))
    stream = _log(sqlite_store, records)
    m = _manifest(sqlite_store, stream, 100, 400, 450)
    assert m["format"] == "dpl-asset/1" and m["log_id"] == "0x" + "22" * 32 and m["stream"] == stream
    _assert_figures_match(m, records[100:400])
    assert set(m["types"]["iot.telemetry"]["fields"]) == {
        "temp_c", "spindle_rpm", "vibration_mm_s", "power_kw", "parts_total"}


def test_ints_stay_exact_floats_sum_like_fsum_bools_are_not_numbers(sqlite_store):
    records = [_rec(0, {"qty": 3, "x": 0.1, "flag": True, "nested": {"n": 1}}),
               _rec(1, {"qty": 4, "x": 0.2, "flag": False}),
               _rec(2, {"qty": 5, "x": 0.3}),
               _rec(3, {"qty": 2.5})]  # one float makes qty's sum a float sum
    fields = _manifest(sqlite_store, _log(sqlite_store, records))["types"]["iot.telemetry"]["fields"]
    assert set(fields) == {"qty", "x"}
    assert fields["qty"] == {"count": 4, "sum": 14.5, "min": 2.5, "max": 5}
    assert fields["x"] == {"count": 3, "sum": 0.6, "min": 0.1, "max": 0.3}
    assert 0.1 + 0.2 + 0.3 != 0.6  # naive left-to-right addition would differ


def test_integer_sums_beyond_2_53_are_decimal_strings(sqlite_store):
    big = 2**53 - 1
    records = [_rec(i, {"n": big, "m": -big}) for i in range(3)]
    fields = _manifest(sqlite_store, _log(sqlite_store, records))["types"]["iot.telemetry"]["fields"]
    assert fields["n"] == {"count": 3, "sum": str(3 * big), "min": big, "max": big}
    assert fields["m"]["sum"] == str(-3 * big) == "-27021597764222973"


def test_float_sums_out_of_the_safe_range_are_decimal_strings(sqlite_store):
    records = [_rec(0, {"f": 4e15 + 0.5, "g": 1e300, "h": 1.5e308, "k": 1.5e308}),
               _rec(1, {"f": 4e15 + 0.5, "g": 1e300, "h": 1.5e308, "k": 1.5e308}),
               _rec(2, {"f": 4e15 + 0.5, "g": 1e300, "k": -1.5e308})]
    m = _manifest(sqlite_store, _log(sqlite_store, records))
    fields = m["types"]["iot.telemetry"]["fields"]
    # 1.2e16 + 1.5 rounds to an integral double above 2**53: JCS would print it as an
    # integer that reads back differently, so it is written as its exact digits.
    assert fields["f"]["sum"] == str(int(math.fsum([4e15 + 0.5] * 3))) == "12000000000000002"
    assert fields["g"]["sum"] == 3e300  # from 1e21 up, JCS prints exponent form: a number
    assert fields["h"]["sum"] == "3.0000000000000000E+308"  # beyond any double: exact, 17 digits
    with pytest.raises(OverflowError):
        math.fsum([1.5e308, 1.5e308, -1.5e308])
    assert fields["k"]["sum"] == 1.5e308  # exact, where fsum gives up on the intermediate overflow
    assert assets.check_manifest(json.loads(json.dumps(m))) == m
    assets.asset_digest(m)  # canonicalisable


def test_sums_do_not_depend_on_record_order(sqlite_store):
    values = [0.1, 4e15 + 0.5, -4e15, 0.7, 3.3333, -2.5e-7, 12]
    forward = [_rec(i, {"v": v}) for i, v in enumerate(values)]
    backward = [_rec(i, {"v": v}) for i, v in enumerate(reversed(values))]
    a = _manifest(sqlite_store, _log(sqlite_store, forward))
    b = _manifest(sqlite_store, _log(sqlite_store, backward))
    assert a["types"] == b["types"]
    assert a["types"]["iot.telemetry"]["fields"]["v"]["sum"] == math.fsum(values) == 16.63329975
    assert sum(values) != sum(reversed(values))  # plain addition would depend on the order


def test_period_compares_instants_and_writes_the_original_strings(sqlite_store):
    records = [_rec(0, {}, ts="2026-10-01T09:00:00+08:00"),   # 01:00Z
               _rec(1, {}, ts="2026-10-01T00:30:00Z"),        # earliest
               _rec(2, {}, ts="2026-09-30T23:00:00-05:00"),   # 04:00Z: latest
               _rec(3, {}, ts="2026-10-01T03:59:59.999Z")]
    m = _manifest(sqlite_store, _log(sqlite_store, records))
    assert m["period"] == {"first_ts": "2026-10-01T00:30:00Z", "last_ts": "2026-09-30T23:00:00-05:00"}


def test_the_digest_pins_the_records(sqlite_store, tmp_path):
    records = list(telemetry(60))
    stream = _log(sqlite_store, records, stream=STREAM)
    m = _manifest(sqlite_store, stream, 0, 50)
    again = _manifest(sqlite_store, stream, 0, 50)
    assert assets.asset_digest(m) == assets.asset_digest(again)
    reread = json.loads(json.dumps(m, indent=2, sort_keys=False))
    assert assets.asset_digest(reread) == assets.asset_digest(m)  # JSON round trip: same bytes
    assert len(assets.asset_digest(m)) == 32

    # The same records in another store: only the checkpoint root (salts) differs.
    other = LogStore.open(Settings(home=tmp_path / "other", database_url=None))
    try:
        same = _manifest(other, _log(other, records, stream=STREAM), 0, 50)
        changed_records = copy.deepcopy(records)
        changed_records[17]["data"]["temp_c"] += 0.01
        changed = _manifest(other, _log(other, changed_records, stream="line-b/telemetry"), 0, 50)
    finally:
        other.close()
    assert {**same, "checkpoint": None} == {**m, "checkpoint": None}
    same["checkpoint"] = m["checkpoint"]
    assert assets.asset_digest(same) == assets.asset_digest(m)
    changed["checkpoint"], changed["stream"] = m["checkpoint"], m["stream"]
    assert assets.asset_digest(changed) != assets.asset_digest(m)


@pytest.mark.parametrize("start, end, size, reason", [
    (-1, 5, 10, "start -1 is negative"),
    (5, 5, 10, "empty range"),
    (6, 5, 10, "empty range"),
    (0, 11, 10, "beyond the checkpoint size"),
    (0, 5, 21, "beyond the log"),
])
def test_bad_ranges_are_refused(sqlite_store, start, end, size, reason):
    stream = _log(sqlite_store, [_rec(i, {"n": i}) for i in range(20)])
    with pytest.raises(InvalidArgumentError, match=reason):
        assets.build_manifest(sqlite_store, stream, start, end, size, b"\0" * 32)


def test_unbound_log_and_wrong_root_are_refused(sqlite_store):
    unbound = _log(sqlite_store, [_rec(i, {}) for i in range(4)], bind=False)
    with pytest.raises(InvalidArgumentError, match="bind the log first"):
        assets.build_manifest(sqlite_store, unbound, 0, 4, 4, sqlite_store.root_at(unbound, 4))
    bound = _log(sqlite_store, [_rec(i, {}) for i in range(4)])
    with pytest.raises(InvalidArgumentError, match="is not the root"):
        assets.build_manifest(sqlite_store, bound, 0, 3, 4, sqlite_store.root_at(bound, 3))


# --- check_manifest ------------------------------------------------------------------

def _good():
    return {
        "format": "dpl-asset/1", "log_id": "0x" + "22" * 32, "stream": STREAM,
        "range": {"from": 10, "to": 14}, "checkpoint": {"size": 20, "root": "0x" + "ab" * 32},
        "records": 4,
        "period": {"first_ts": "2026-10-01T08:00:00+08:00", "last_ts": "2026-10-01T09:00:00+08:00"},
        "types": {"iot.telemetry": {"count": 3, "fields": {
                      "temp_c": {"count": 3, "sum": 201.5, "min": 60.5, "max": 71},
                      "big": {"count": 1, "sum": "9007199254740993", "min": "9007199254740993",
                              "max": "9007199254740993"}}},
                  "mes.work_order": {"count": 1, "fields": {}}},
    }


def test_check_manifest_accepts_a_good_manifest_and_extra_fields():
    m = _good()
    assert assets.check_manifest(m) is m
    m["note"] = "a newer writer's field"
    assert assets.check_manifest(m) is m


@pytest.mark.parametrize("tamper, field", [
    (lambda m: m.update(format="dpl-asset/3"), "format"),
    (lambda m: m.update(format="dpl-asset/2"), "profile is missing"),
    (lambda m: m.pop("log_id"), "log_id is missing"),
    (lambda m: m.update(log_id="0x" + "AB" * 32), "log_id"),
    (lambda m: m.update(log_id="0x" + "ab" * 31), "log_id"),
    (lambda m: m.update(stream=5), "stream"),
    (lambda m: m["range"].update({"from": -1}), "range.from"),
    (lambda m: m["range"].update({"from": True}), "range.from"),
    (lambda m: m["range"].update({"to": 10}), "range.from .10. must be below range.to"),
    (lambda m: m["range"].update({"to": 21}), "beyond checkpoint.size"),
    (lambda m: m["checkpoint"].update(root="ab" * 32), "checkpoint.root"),
    (lambda m: m["checkpoint"].pop("size"), "checkpoint.size is missing"),
    (lambda m: m.update(records=5), "records is 5"),
    (lambda m: m["period"].update(first_ts="yesterday"), "period.first_ts"),
    (lambda m: m["period"].update(first_ts="2026-10-01T10:00:00+08:00"), "later than period.last_ts"),
    (lambda m: m.update(types=[]), "types must be"),
    (lambda m: m["types"]["mes.work_order"].update(count=0), r"types\['mes.work_order'\].count"),
    (lambda m: m["types"]["mes.work_order"].update(count=2), "add up to 5"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["temp_c"].update(count=4), "more than the type's count"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["temp_c"].update(sum=True), r"temp_c'\]\.sum"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["temp_c"].update(min="NaN"), r"temp_c'\]\.min"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["temp_c"].update(min=72), "min is greater than its max"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["temp_c"].update(min=float("nan")), r"temp_c'\]\.min"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["big"].update(max="1e999999999999999999999"), r"big'\]\.max"),
    (lambda m: m["types"]["iot.telemetry"]["fields"]["big"].update(max=2**60), "not canonical"),
    (lambda m: m.update(extra=float("inf")), "not canonical"),
])
def test_check_manifest_names_the_wrong_field(tamper, field):
    m = _good()
    tamper(m)
    with pytest.raises(BundleError, match=field):
        assets.check_manifest(m)


def test_check_manifest_refuses_non_objects():
    for value in (None, [], "dpl-asset/1", 3):
        with pytest.raises(BundleError, match="the manifest must be a JSON object"):
            assets.check_manifest(value)


# --- record_disagreements ------------------------------------------------------------

def _sample(**changes):
    r = {"id": "x", "ts": "2026-10-01T08:30:00+08:00", "type": "iot.telemetry",
         "data": {"temp_c": 65, "big": 9007199254740993, "state": "running", "ok": True}}
    r.update(changes)
    return r


def test_an_agreeing_record_has_no_disagreements():
    assert assets.record_disagreements(_good(), _sample()) == []
    # By instant: 00:59Z is 08:59+08:00, inside the period though it sorts earlier as text.
    assert assets.record_disagreements(_good(), _sample(ts="2026-10-01T00:59:00Z")) == []


@pytest.mark.parametrize("record, reason", [
    (_sample(type="erp.sales_order"), "type 'erp.sales_order' is not in the manifest"),
    (_sample(ts="2026-10-01T07:59:59.999+08:00"), "before the period's first_ts"),
    (_sample(ts="2026-10-01T01:00:01Z"), "after the period's last_ts"),
    (_sample(ts="soon"), "not an RFC 3339 timestamp"),
    (_sample(data={"temp_c": 65, "rpm": 1500}), "lists no 'rpm'"),
    (_sample(data={"temp_c": 60.49}), r"data.temp_c = 60.49 is outside .*\[60.5, 71\]"),
    (_sample(data={"temp_c": 71.000001}), "outside"),
    # Exact comparison with a string bound: as floats both would be 2**53 and "agree".
    (_sample(data={"big": 9007199254740992}), "data.big = 9007199254740992 is outside"),
    (_sample(data={"big": 9007199254740994}), "outside"),
    (_sample(data=[1]), "data is not a JSON object"),
    (_sample(data={"big": float("nan")}), "data.big is nan, not a JSON number"),
    ("not a record", "not a JSON object"),
])
def test_disagreements_say_why(record, reason):
    reasons = assets.record_disagreements(_good(), record)
    assert len(reasons) == 1 and re.search(reason, reasons[0]), reasons


def test_string_bounds_compare_exactly_with_floats():
    m = _good()
    m["types"]["iot.telemetry"]["fields"]["temp_c"].update(min="60.5", max="70.99999999999999999")
    assert assets.record_disagreements(m, _sample(data={"temp_c": 70.99999999999999})) == []
    assert assets.record_disagreements(m, _sample(data={"temp_c": 71.0})) != []
    assert assets.record_disagreements(m, _sample(data={"temp_c": 60.5})) == []


# --- dpl-asset/2: the manifest carries the range's production profile ------------------

def _profile(store, stream, start, end, size, tz="+08:00", thresholds=None):
    from ledger.profile import build_profile

    return build_profile(((s.index, s.record) for s in store.iter_records(stream, start, end)),
                         log_id=LOG_ID, stream=stream, start=start, end=end, checkpoint_size=size,
                         checkpoint_root=store.root_at(stream, size), tz=tz, thresholds=thresholds)


@pytest.fixture
def month(sqlite_store):
    from ledger.synthetic import factory_month

    return _log(sqlite_store, list(factory_month(days=10)))


def test_v2_carries_the_profile_and_round_trips(sqlite_store, month):
    n = sqlite_store.get_log(month).size
    profile = _profile(sqlite_store, month, 5, n - 5, n)
    v1 = _manifest(sqlite_store, month, 5, n - 5, n)
    v2 = assets.build_manifest(sqlite_store, month, 5, n - 5, n, sqlite_store.root_at(month, n), profile=profile)
    assert v2["format"] == "dpl-asset/2" and v1["format"] == "dpl-asset/1"
    assert {k: v for k, v in v2.items() if k not in ("format", "profile")} == \
        {k: v for k, v in v1.items() if k != "format"}
    assert v2["profile"] == profile and profile["mes"]["qty_good"] > 0
    read = json.loads(json.dumps(v2))  # as a lender reads it from a file
    assert assets.check_manifest(read) == v2
    assert assets.asset_digest(read) == assets.asset_digest(v2) != assets.asset_digest(v1)
    assert assets.check_manifest(json.loads(json.dumps(v1))) == v1  # v1 still reads


def test_the_v2_digest_covers_every_figure_of_the_profile(sqlite_store, month):
    n = sqlite_store.get_log(month).size
    v2 = assets.build_manifest(sqlite_store, month, 0, n, n, sqlite_store.root_at(month, n),
                               profile=_profile(sqlite_store, month, 0, n, n))
    digest = assets.asset_digest(v2)
    for path in (("mes", "qty_good"), ("mes", "scrap_rate"), ("coverage", "days"), ("thresholds", "max_gap_s")):
        edited = copy.deepcopy(v2)
        target = edited["profile"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = target[path[-1]] + 1 if type(target[path[-1]]) is int else "0.999999"
        assets.check_manifest(edited)  # still well formed: only the digest tells
        assert assets.asset_digest(edited) != digest, path


def test_a_profile_of_another_range_or_checkpoint_is_refused(sqlite_store, month):
    n = sqlite_store.get_log(month).size
    root = sqlite_store.root_at(month, n)
    other = _profile(sqlite_store, month, 0, n - 1, n)
    with pytest.raises(InvalidArgumentError, match=r"range \[0, \d+\) is not the manifest's \[0, \d+\)"):
        assets.build_manifest(sqlite_store, month, 0, n, n, root, profile=other)
    smaller = _profile(sqlite_store, month, 0, n - 1, n - 1)
    with pytest.raises(InvalidArgumentError, match="checkpoint .* is not the manifest's"):
        assets.build_manifest(sqlite_store, month, 0, n - 1, n, root, profile=smaller)
    good = assets.build_manifest(sqlite_store, month, 0, n, n, root, profile=_profile(sqlite_store, month, 0, n, n))
    for key, value, said in (("stream", "line-b/x", "stream 'line-b/x' is not the manifest's"),
                             ("log_id", "0x" + "33" * 32, "log_id 0x3333"),
                             ("range", {"from": 1, "to": n}, f"range \\[1, {n}\\)")):
        bad = copy.deepcopy(good)
        bad["profile"][key] = value
        with pytest.raises(BundleError, match=said):
            assets.check_manifest(bad)


@pytest.mark.parametrize("tamper, said", [
    (lambda m: m.pop("profile"), "profile is missing"),
    (lambda m: m.update(profile=None), "profile"),
    (lambda m: m["profile"].pop("mes"), "profile mes"),
    (lambda m: m["profile"].update(format="dpl-profile/9"), "profile format"),
    (lambda m: m.update(format="dpl-asset/3"), "expected 'dpl-asset/1' or 'dpl-asset/2'"),
])
def test_check_manifest_v2_names_what_is_wrong(sqlite_store, month, tamper, said):
    n = sqlite_store.get_log(month).size
    v2 = assets.build_manifest(sqlite_store, month, 0, n, n, sqlite_store.root_at(month, n),
                               profile=_profile(sqlite_store, month, 0, n, n))
    tamper(v2)
    with pytest.raises(BundleError, match=said):
        assets.check_manifest(v2)
