"""ledger.profile: known answers (tests/ledger/profile_cases.py), exact number rules, comparison,
sampling checks and argument errors."""

import copy
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import exact
from ledger.canonical import canonicalize
from ledger.errors import BundleError, InvalidArgumentError
from ledger.profile import (DEFAULT_THRESHOLDS, MISSING, PROFILE_FORMAT, OutOfOrder, ProfileBuilder, build_profile,
                            check_mapping, check_profile, check_thresholds, check_tz, compare_profiles,
                            profile_digest, record_disagreements)
from tests.ledger import profile_cases as cases


def build(case, reread=False, **over):
    """The profile of ``case``'s records, given as an iterable (array mode) or, with ``reread``,
    as a callable (streamed; read again in array mode if out of time order)."""
    records = case["records"]
    args = dict(log_id=cases.LOG_ID, stream=cases.STREAM, start=0, end=len(records),
                checkpoint_size=len(records), checkpoint_root=cases.ROOT, tz=case["tz"],
                mapping=case["mapping"], thresholds=case["thresholds"])
    args.update(over)
    return build_profile((lambda: enumerate(records)) if reread else enumerate(records), **args)


class Reads:
    """A callable giving ``records`` as fresh generators, counting the calls and whether each
    generator was closed before the next call."""

    def __init__(self, records):
        self.records = records
        self.calls = 0
        self.open = 0
        self.closed_before_next = []

    def __call__(self):
        self.closed_before_next.append(self.open == 0)
        self.calls += 1
        return self._gen()

    def _gen(self):
        self.open += 1
        try:
            yield from enumerate(self.records)
        finally:
            self.open -= 1


def in_time_order(records):
    """The records stably sorted by instant (ties keep their order): time order = index order."""
    return sorted(records, key=lambda r: exact.instant_ms(r["ts"]))


def is_in_time_order(records):
    instants = [exact.instant_ms(r["ts"]) for r in records]
    return all(a <= b for a, b in zip(instants, instants[1:]))


def same(a, b):
    """Equal as JSON, types included (1 is not 1.0, nor True)."""
    return compare_profiles({"v": a}, {"v": b}) == []


@pytest.mark.parametrize("reread", [False, True], ids=["iterable", "callable"])
@pytest.mark.parametrize("case", cases.known_cases(), ids=lambda c: c["name"])
def test_known_answers(case, reread):
    profile = build(case, reread)
    canonicalize(profile)  # canonicalizable I-JSON
    wrong = {path: (cases.lookup(profile, path), want) for path, want in case["expected"].items()
             if not same(cases.lookup(profile, path), want)}
    assert wrong == {}


def test_top_level_fields():
    case = cases.case_factory()
    p = build(case)
    assert p["format"] == PROFILE_FORMAT
    assert p["log_id"] == "0x" + cases.LOG_ID.hex() and p["checkpoint"] == {"size": 22, "root": "0x" + cases.ROOT.hex()}
    assert p["range"] == {"from": 0, "to": 22} and p["stream"] == cases.STREAM
    assert p["thresholds"] == DEFAULT_THRESHOLDS and p["tz"] == "+00:00" and p["mapping"] is None
    assert check_profile(p) is p


def test_flag_messages_name_what_they_concern():
    flags = build(cases.case_factory())["flags"]
    by_figure = {f["figure"]: f["message"] for f in flags}
    assert by_figure["cross_source.worst.mismatch"] == (
        "Machine x1 on 2026-10-08: IoT counted 0 parts and MES reported 70 units, a mismatch of 1.000000, "
        "more than 0.100000.")
    assert by_figure["sales.by_currency.EUR.top1_share"].startswith("In EUR, the largest customer")
    assert "Product P4" in by_figure["cross_source.by_product.P4.ratio"]
    assert "Machine m1" in by_figure["iot.machines.m1.temp_c.over_limit"]


def test_time_order_not_index_order_gives_the_same_figures():
    """Records in time order and the same records out of order (re-indexed) give the same
    figures except coverage.types order-free fields: the machines' sequences follow time."""
    case = cases.case_trend()
    shuffled = list(reversed(case["records"]))
    p1 = build(case)
    p2 = build(dict(case, records=shuffled))
    diff = compare_profiles(p1, p2)
    assert diff == []


def test_tz_moves_a_record_across_midnight():
    case = cases.case_mapping_tz()
    utc = build(dict(case, tz="+00:00"))
    assert [d["day"] for d in utc["daily"]] == ["2026-10-05"]
    assert utc["daily"][0]["records"] == 4
    west = build(dict(case, tz="-05:00"))
    assert [d["day"] for d in west["daily"]] == ["2026-10-05"]  # 10:59 .. 18:59 local


def test_without_the_mapping_the_renamed_type_is_not_profiled():
    case = cases.case_mapping_tz()
    p = build(dict(case, mapping=None))
    assert p["mes"]["orders"] == 1 and list(p["mes"]["by_product"]) == ["P9"]


def test_thresholds_change_flags():
    case = cases.case_factory()
    p = build(case, thresholds={"max_top1_share": "0.400000", "max_gap_s": 226800})
    codes = [f["code"] for f in p["flags"]]
    assert "gap" not in codes  # 226800 is not more than 226800
    assert [f["figure"] for f in p["flags"] if f["code"] == "customer_concentration"] == [
        "sales.by_currency.CNY.top1_share", "sales.by_currency.EUR.top1_share"]
    assert p["thresholds"]["max_gap_s"] == 226800 and p["thresholds"]["stoppage_s"] == 28800


def test_synthetic_month_is_consistent():
    from ledger.synthetic import factory_month

    records = list(factory_month())
    p = build_profile(enumerate(records), log_id=cases.LOG_ID, stream="s", start=0, end=len(records),
                      checkpoint_size=len(records), checkpoint_root=cases.ROOT, tz="+08:00")
    daily = p["daily"]
    assert sum(d["mes_good"] for d in daily) == p["mes"]["qty_good"]
    assert sum(d["mes_scrap"] for d in daily) == p["mes"]["qty_scrap"]
    assert sum(d["records"] for d in daily) == p["coverage"]["records"] == len(records)
    assert sum(d["iot_parts"] for d in daily) == sum(m["parts"] for m in p["iot"]["machines"].values())
    assert sum(d["iot_parts"] for d in daily) == p["cross_source"]["iot_parts"]
    assert sum(w["mes_good"] for w in p["weekly"]) == p["mes"]["qty_good"]
    assert sum(d["sales_minor"].get("CNY", 0) for d in daily) == p["sales"]["by_currency"]["CNY"]["amount_minor"]
    assert sum(x["qty_good"] for x in p["mes"]["by_product"].values()) == p["mes"]["qty_good"]
    assert sum(m["readings"] for m in p["iot"]["machines"].values()) == p["iot"]["readings"] == 2880
    assert p["coverage"]["days"] == len(daily) == 30 and p["coverage"]["longest_gap_s"] == 900
    assert sum(p["coverage"]["types"].values()) == len(records)
    assert profile_digest(p) == profile_digest(build_profile(
        enumerate(records), log_id=cases.LOG_ID, stream="s", start=0, end=len(records),
        checkpoint_size=len(records), checkpoint_root=cases.ROOT, tz="+08:00"))


# --- exact numbers -------------------------------------------------------------------------


def test_ratio_rounds_half_even_exactly():
    assert exact.ratio(5, 10**7) == "0.000000"  # 0.5 millionths -> even 0
    assert exact.ratio(15, 10**7) == "0.000002"  # 1.5 -> 2
    assert exact.ratio(25, 10**7) == "0.000002"  # 2.5 -> 2
    assert exact.ratio(-1, 4) == "-0.250000"
    assert exact.ratio(-1, 10**7) == "0.000000"  # no "-0.000000"
    assert exact.ratio(1, 3) == "0.333333" and exact.ratio(2, 3) == "0.666667"
    assert exact.ratio(1, 0) is None
    assert exact.ratio(Fraction(1, 3), Fraction(2, 3)) == "0.500000"


def test_root_is_exact():
    assert exact.root_ratio(Fraction(1, 4)) == "0.500000"
    assert exact.root_ratio(Fraction(2)) == "1.414214"
    # sqrt(q) * 10^6 exactly k + 1/2: half-even
    assert exact.root_ratio(Fraction(1, 4 * 10**12)) == "0.000000"
    assert exact.root_ratio(Fraction(9, 4 * 10**12)) == "0.000002"
    assert exact.root_ratio(Fraction(25, 4 * 10**12)) == "0.000002"
    # just above a half
    assert exact.root_ratio(Fraction(1, 4 * 10**12) + Fraction(1, 10**40)) == "0.000001"


def test_instants():
    assert exact.instant_ms("1970-01-01T00:00:00Z") == 0
    assert exact.instant_ms("1970-01-01T08:00:00.5+08:00") == 500
    assert exact.instant_ms("2026-10-05T23:59:60.9999999Z") == exact.instant_ms("2026-10-05T23:59:59.999Z")
    assert exact.instant_ms("1969-12-31T23:59:59.999Z") == -1
    assert exact.instant_ms("2026-10-05t10:00:00z") == exact.instant_ms("2026-10-05T12:00:00+02:00")
    for bad in ("2026-02-30T00:00:00Z", "2026-10-05T24:00:00Z", "2026-10-05 10:00:00Z", "2026-10-05T10:00:00"):
        with pytest.raises(ValueError):
            exact.instant_ms(bad)
    assert exact.day_name(exact.day_of(exact.instant_ms("2026-10-05T16:00:00Z"), exact.offset_ms("+08:00"))) \
        == "2026-10-06"
    assert exact.week_name(exact.day_of(exact.instant_ms("2027-01-01T00:00:00Z"), 0)) == "2026-W53"
    assert exact.count(2**53 - 1) == 2**53 - 1 and exact.count(2**53) == "9007199254740992"
    assert exact.count(-(2**53)) == "-9007199254740992"


@pytest.mark.parametrize("ts", [
    "2026-10-05T08:00:00Z", "2026-10-05t08:00:00.1z", "2026-10-05T08:00:00.123456789-09:30",
    "2026-12-31T23:59:60+14:00"[:-6] + "+13:59", "0001-01-01T00:00:00+00:00", "1969-12-31T23:59:59.9-00:01",
    "2024-02-29T12:00:00.05+05:45"])
def test_builder_reads_instants_as_exact_does(ts):
    b = ProfileBuilder()
    assert b._instant(ts) == b._instant(ts) == exact.instant_ms(ts)


@pytest.mark.parametrize("ts", ["2026-02-29T00:00:00Z", "2026-10-05T08:61:00Z", "2026-10-05T08:00:00+24:00",
                                "2026-10-05T08:00:00", 20261005])
def test_builder_refuses_what_exact_refuses(ts):
    with pytest.raises((ValueError, TypeError)):
        exact.instant_ms(ts)
    with pytest.raises(InvalidArgumentError, match="record 0 is not a record"):
        ProfileBuilder().add(0, {"ts": ts, "type": "x", "data": {}})


def test_readings_past_2_53_and_years_before_1000():
    """1e21 is canonically "1e+21", an integral float (not an integer): written back as it is.
    An ISO week's year has 4 digits, as a day's does."""
    records = [
        {"id": "a", "ts": "0001-01-01T00:00:00Z", "type": "iot.telemetry",
         "data": {"machine": "m", "state": "running", "parts_total": 1, "temp_c": 1e21, "power_kw": 2e22}},
        {"id": "b", "ts": "0001-01-09T00:00:00.5Z", "type": "iot.telemetry",
         "data": {"machine": "m", "state": "idle", "parts_total": 3, "temp_c": -1e21}},
        {"id": "c", "ts": "0999-12-31T23:59:60Z", "type": "mes.work_order",
         "data": {"product": "P", "qty_good": 5, "qty_scrap": 0, "qty_planned": 5}},
    ]
    p = build({"records": records, "tz": "+00:00", "mapping": None, "thresholds": None})
    canonicalize(p)
    temp = p["iot"]["machines"]["m"]["temp_c"]
    assert temp["max"] == 1e21 and type(temp["max"]) is float and temp["p50"] == -1e21
    assert temp["over_limit"] == "0.500000"
    # 2e22 kW for 8 days and 0.5 s (691,200,500 ms) = 2e22 * 691200500 / 3600000 kWh
    assert p["iot"]["machines"]["m"]["energy_kwh"] == "3840002777777777777777777.777778"
    assert [w["week"] for w in p["weekly"]] == ["0001-W01", "0001-W02", "1000-W01"]  # 0999-12-31: a Tuesday
    assert [d["day"] for d in p["daily"]] == ["0001-01-01", "0001-01-09", "0999-12-31"]


def test_a_day_outside_the_calendar_is_refused_by_index():
    with pytest.raises(InvalidArgumentError, match="record 0 falls on a day outside the years 0001-9999"):
        ProfileBuilder(tz="-00:01").add(0, {"ts": "0001-01-01T00:00:00Z", "type": "x", "data": {}})
    with pytest.raises(InvalidArgumentError, match="record 3 falls on a day outside"):
        ProfileBuilder(tz="+23:59").add(3, {"ts": "9999-12-31T01:00:00Z", "type": "x", "data": {}})


# --- compare_profiles ---------------------------------------------------------------------


def test_compare_profiles_finds_each_altered_figure():
    p = build(cases.case_factory())
    assert compare_profiles(p, build(cases.case_factory())) == []
    alterations = [
        ("mes.by_product.P1.qty_good", 91),
        ("daily[1].mes_good", 201),
        ("coverage.longest_gap_s", 226800.0),  # same number, other JSON type
        ("mes.scrap_rate", "0.472728"),
        ("iot.machines.m1.temp_c.p50", "85"),
        ("cross_source.worst.machine", "z1"),
        ("flags[0].message", "nothing to see"),
        ("coverage.records", True),
    ]
    for path, value in alterations:
        altered = build(cases.case_factory())
        parent_path, _, last = path.rpartition(".")
        parent = cases.lookup(altered, parent_path)
        if "[" in last:
            key, idx = last[:-1].split("[")
            parent[key][int(idx)] = value
        else:
            old = parent[last]
            parent[last] = value
        diff = compare_profiles(altered, p)
        assert diff == [(path, value, cases.lookup(p, path))], path
    missing = build(cases.case_factory())
    del missing["mes"]["by_product"]["P2"]
    missing["daily"].append({"day": "2026-10-10"})
    missing["trend"]["extra"] = 1
    assert compare_profiles(missing, p) == [
        ("daily[3]", {"day": "2026-10-10"}, MISSING),
        ("mes.by_product.P2", MISSING, p["mes"]["by_product"]["P2"]),
        ("trend.extra", 1, MISSING),
    ]
    assert repr(MISSING) == "MISSING"
    del old


# --- record_disagreements ------------------------------------------------------------------


def test_record_disagreements():
    case = cases.case_factory()
    p = build(case)
    recs = case["records"]
    for i, r in enumerate(recs):
        assert record_disagreements(p, i, r) == [], i
    assert record_disagreements(p, 22, recs[0]) == ["record 22 is outside the profile's range [0, 22)"]
    wo = dict(recs[11], data=dict(recs[11]["data"], qty_good=201))
    assert record_disagreements(p, 11, wo) == [
        "work order 11 has qty_good 201, more than the 200 good units of 2026-10-08",
        "work order 11 has qty_good 201, more than the 200 good units of product P2"]
    moved = dict(recs[11], ts="2026-10-07T09:00:00Z")
    assert record_disagreements(p, 11, moved) == [
        "record 11 falls on 2026-10-07, a day the profile does not list"]
    other = dict(recs[11], data=dict(recs[11]["data"], product="P7"))
    assert record_disagreements(p, 11, other) == [
        "work order 11 is for product P7, which the profile does not list"]
    reading = dict(recs[0], data=dict(recs[0]["data"], machine="ghost"))
    assert record_disagreements(p, 0, reading) == [
        "reading 0 is from machine ghost, which the profile does not list"]
    sale = dict(recs[7], data=dict(recs[7]["data"], amount_minor=301))
    assert record_disagreements(p, 7, sale) == [
        "sales order 7 is for 301 EUR (minor units), more than the 300 of 2026-10-05",
        "sales order 7 is for 301 EUR (minor units), more than the 300 the profile gives customer C"]
    new_customer = dict(recs[6], data=dict(recs[6]["data"], customer="Z"))
    assert record_disagreements(p, 6, new_customer) == [
        "sales order 6 is for 500 CNY (minor units), more than the 0 the profile gives customer Z"]


def test_record_disagreements_use_the_profiles_mapping_and_tz():
    case = cases.case_mapping_tz()
    p = build(case)
    for i, r in enumerate(case["records"]):
        assert record_disagreements(p, i, r) == []
    job = dict(case["records"][0], data={"sku": "P1", "good": 11, "bad": 0, "target": 1})
    assert record_disagreements(p, 0, job) == [
        "work order 0 has qty_good 11, more than the 10 good units of 2026-10-05"]


# --- arguments and shapes ----------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["+8:00", "08:00", "+24:00", "+08:60", "Z", 8, None, "+08:00 "])
def test_bad_tz(tz):
    with pytest.raises(InvalidArgumentError, match="tz must be an offset"):
        check_tz(tz)
    with pytest.raises(InvalidArgumentError, match="tz"):
        ProfileBuilder(tz=tz)


def test_good_tz():
    assert check_tz("-05:30") == "-05:30" and check_tz("+23:59") == "+23:59"


@pytest.mark.parametrize("mapping, field", [
    ([], "must be a JSON object"),
    ({"format": "dpl-mapping/2", "types": {}}, "format"),
    ({"format": "dpl-mapping/1"}, "types"),
    ({"format": "dpl-mapping/1", "types": {}, "x": 1}, "x: unknown field"),
    ({"format": "dpl-mapping/1", "types": {"qa.check": {}}}, "types.qa.check"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"type": ""}}}, "types.mes.work_order.type"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"type": "iot.telemetry"}}},
     "types.mes.work_order.type"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"type": "x"}, "iot.telemetry": {"type": "x"}}},
     "types.iot.telemetry.type"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"fields": {"qty": "q"}}}},
     "types.mes.work_order.fields.qty"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"fields": {"qty_good": 3}}}},
     "types.mes.work_order.fields.qty_good"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"fields": {"qty_good": "a", "qty_scrap": "a"}}}},
     "types.mes.work_order.fields.qty_scrap"),
    ({"format": "dpl-mapping/1", "types": {"mes.work_order": {"kind": "x"}}}, "types.mes.work_order.kind"),
])
def test_bad_mapping(mapping, field):
    with pytest.raises(InvalidArgumentError, match="^mapping .*" + field.replace(".", r"\.")):
        check_mapping(mapping)


def test_good_mapping():
    assert check_mapping(None) is None
    assert check_mapping(cases.MAPPING) == cases.MAPPING


@pytest.mark.parametrize("thresholds, field", [
    ({"max_gap": 1}, "thresholds.max_gap: unknown"),
    ({"max_gap_s": -1}, "thresholds.max_gap_s"),
    ({"max_gap_s": True}, "thresholds.max_gap_s"),
    ({"max_gap_s": 1.5}, "thresholds.max_gap_s"),
    ({"temp_c_max": 85}, "thresholds.temp_c_max"),
    ({"temp_c_max": "85."}, "thresholds.temp_c_max"),
    ({"max_scrap_rate": "0.05"}, "thresholds.max_scrap_rate"),
    ({"max_scrap_rate": 0.05}, "thresholds.max_scrap_rate"),
    ("x", "thresholds must be a JSON object"),
    # read as exact rationals: a 5,000-digit one failed every build (int() digit limit) after passing
    ({"temp_c_max": "1" * 5000}, "thresholds.temp_c_max: must be at most 40 characters"),
    ({"min_utilization": "9" * 5000 + ".000000"}, "thresholds.min_utilization: must be at most 40"),
])
def test_bad_thresholds(thresholds, field):
    with pytest.raises(InvalidArgumentError, match=field.replace(".", r"\.")):
        check_thresholds(thresholds)


def test_partial_thresholds_get_defaults():
    t = check_thresholds({"temp_c_max": "-3.25", "stoppage_s": 60})
    assert t == {**DEFAULT_THRESHOLDS, "temp_c_max": "-3.25", "stoppage_s": 60}


def test_range_must_match_the_records():
    case = cases.case_big_sums()
    with pytest.raises(InvalidArgumentError, match="expected the record at index 1"):
        build_profile([(0, case["records"][0]), (2, case["records"][1])], log_id=cases.LOG_ID, stream="s",
                      start=0, end=2, checkpoint_size=2, checkpoint_root=cases.ROOT)
    with pytest.raises(InvalidArgumentError, match=r"the range is \[0, 3\)"):
        build(case, end=3, checkpoint_size=3)
    with pytest.raises(InvalidArgumentError, match="checkpoint size"):
        build(case, checkpoint_size=1)
    with pytest.raises(InvalidArgumentError, match="at least one record"):
        build_profile([], log_id=cases.LOG_ID, stream="s", start=0, end=0, checkpoint_size=0,
                      checkpoint_root=cases.ROOT)
    with pytest.raises(InvalidArgumentError, match="record 0 is not a record"):
        build_profile([(0, {"ts": "yesterday", "type": "x"})], log_id=cases.LOG_ID, stream="s", start=0,
                      end=1, checkpoint_size=1, checkpoint_root=cases.ROOT)
    for bad in ({"ts": "2026-10-05T08:00:00Z", "type": ["x"]}, {"type": "x"}, [], "record"):
        with pytest.raises(InvalidArgumentError, match="record 0 is not a record"):
            ProfileBuilder().add(0, bad)
    with pytest.raises(InvalidArgumentError, match="log_id"):
        build(case, log_id=b"short")


def test_check_profile_names_the_field():
    p = build(cases.case_factory())
    for mutate, field in [
        (lambda q: q.update(format="dpl-profile/2"), "format"),
        (lambda q: q.pop("daily"), "daily: missing"),
        (lambda q: q.update(extra=1), "extra: unknown field"),
        (lambda q: q.update(log_id="0x12"), "log_id"),
        (lambda q: q.update(range={"from": 5, "to": 5}), "range"),
        (lambda q: q.update(checkpoint={"size": 22, "root": "0x"}), "checkpoint.root"),
        (lambda q: q.update(tz="+8"), "tz must be"),
        (lambda q: q.update(mapping={"format": "x"}), "mapping format"),
        (lambda q: q.update(thresholds={"max_gap_s": 1}), "thresholds"),
        (lambda q: q.update(mes=[]), "mes"),
        (lambda q: q.update(flags={}), "flags"),
    ]:
        q = build(cases.case_factory())
        mutate(q)
        with pytest.raises(BundleError, match=r"^profile .*" + field.replace(".", r"\.")):
            check_profile(q)
    with pytest.raises(BundleError):
        check_profile([])
    assert check_profile(p) is p


# --- a slow, obvious reference for the time-ordered figures -------------------------------------


def _reference_machines(records, tz_ms):
    """iot machines' parts, resets, longest stop and per-day parts, from records sorted by
    (instant, index) up front: the definitions of PROFILE.md read literally."""
    timed = sorted(((exact.instant_ms(r["ts"]), i, r) for i, r in enumerate(records)), key=lambda x: x[:2])
    out, per_day = {}, {}
    for machine in sorted({r["data"]["machine"] for _, _, r in timed}):
        seq = [(t, r["data"]) for t, _, r in timed if r["data"]["machine"] == machine]
        parts = resets = 0
        energy = Fraction(0)
        for (t0, a), (t1, b) in zip(seq, seq[1:]):
            inc = b["parts_total"] - a["parts_total"] if b["parts_total"] >= a["parts_total"] else b["parts_total"]
            resets += b["parts_total"] < a["parts_total"]
            parts += inc
            day = exact.day_name(exact.day_of(t1, tz_ms))
            per_day[day] = per_day.get(day, 0) + inc
            if "power_kw" in a:
                energy += exact.decimal_value(a["power_kw"]) * (t1 - t0) / 3_600_000
        running = [t for t, d in seq if d["state"] == "running"]
        if running:
            marks = [seq[0][0], *running, seq[-1][0]]
        else:
            marks = [seq[0][0], seq[-1][0]]
        stop = max(b - a for a, b in zip(marks, marks[1:])) if len(marks) > 1 else 0
        out[machine] = {"parts": parts, "resets": resets, "longest_stop_s": stop // 1000,
                        "energy_kwh": exact.ratio(energy, 1), "readings": len(seq)}
    times = [t for t, _, _ in timed]
    gap = max((b - a for a, b in zip(times, times[1:])), default=0) // 1000
    return out, per_day, gap, timed[0][2]["ts"], timed[-1][2]["ts"]


@st.composite
def _readings(draw):
    n = draw(st.integers(1, 40))
    records = []
    for i in range(n):
        ms = draw(st.integers(0, 3 * 86_400_000))
        second, milli = divmod(ms, 1000)
        minute, s = divmod(second, 60)
        hour, m = divmod(minute, 60)
        day, h = divmod(hour, 24)
        ts = f"2026-10-{day + 1:02d}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}{draw(st.sampled_from(['', '7', '99']))}Z"
        data = {"machine": draw(st.sampled_from(["a", "b", "c"])),
                "state": draw(st.sampled_from(["running", "running", "idle"])),
                "parts_total": draw(st.integers(0, 30))}
        if draw(st.booleans()):
            data["power_kw"] = draw(st.sampled_from([0.1, 2.5, 7, 13.37, -1.25]))
        records.append({"id": f"t{i}", "ts": ts, "type": "iot.telemetry", "data": data})
    return records


@settings(max_examples=150, deadline=None)
@given(records=_readings(), tz=st.sampled_from(["+00:00", "+08:00", "-09:30"]))
def test_time_ordered_figures_match_the_reference(records, tz):
    p = build({"records": records, "tz": tz, "mapping": None, "thresholds": None})
    machines, per_day, gap, first_ts, last_ts = _reference_machines(records, exact.offset_ms(tz))
    got = {name: {k: m[k] for k in ("parts", "resets", "longest_stop_s", "energy_kwh", "readings")}
           for name, m in p["iot"]["machines"].items()}
    assert got == machines
    assert {d["day"]: d["iot_parts"] for d in p["daily"] if d["iot_parts"]} == {
        k: v for k, v in per_day.items() if v}
    assert p["coverage"]["longest_gap_s"] == gap
    assert (p["coverage"]["first_ts"], p["coverage"]["last_ts"]) == (first_ts, last_ts)


@settings(max_examples=100, deadline=None)
@given(records=_readings(), tz=st.sampled_from(["+00:00", "+08:00", "-09:30"]))
def test_streamed_figures_match_the_reference(records, tz):
    """The same reference, for the streaming path: records in time order, given as a callable."""
    records = in_time_order(records)
    reads = Reads(records)
    p = build_profile(reads, log_id=cases.LOG_ID, stream=cases.STREAM, start=0, end=len(records),
                      checkpoint_size=len(records), checkpoint_root=cases.ROOT, tz=tz)
    assert reads.calls == 1
    machines, per_day, gap, first_ts, last_ts = _reference_machines(records, exact.offset_ms(tz))
    got = {name: {k: m[k] for k in ("parts", "resets", "longest_stop_s", "energy_kwh", "readings")}
           for name, m in p["iot"]["machines"].items()}
    assert got == machines
    assert {d["day"]: d["iot_parts"] for d in p["daily"] if d["iot_parts"]} == {
        k: v for k, v in per_day.items() if v}
    assert p["coverage"]["longest_gap_s"] == gap
    assert (p["coverage"]["first_ts"], p["coverage"]["last_ts"]) == (first_ts, last_ts)


# --- streamed (callable) against array mode (iterable) ----------------------------------------


def _all_cases():
    """Every known case as written, and in time order (so the streaming path sees each)."""
    out = []
    for case in cases.known_cases():
        out.append(case)
        out.append(dict(case, name=case["name"] + "-in-time-order", records=in_time_order(case["records"])))
    return out


@pytest.mark.parametrize("case", _all_cases(), ids=lambda c: c["name"])
def test_a_callable_gives_the_same_bytes_and_reads_twice_only_out_of_order(case):
    records = case["records"]
    reads = Reads(records)
    args = dict(log_id=cases.LOG_ID, stream=cases.STREAM, start=0, end=len(records), checkpoint_size=len(records),
                checkpoint_root=cases.ROOT, tz=case["tz"], mapping=case["mapping"], thresholds=case["thresholds"])
    streamed = build_profile(reads, **args)
    arrays = build_profile(enumerate(records), **args)
    assert canonicalize(streamed) == canonicalize(arrays)
    assert reads.calls == (1 if is_in_time_order(records) else 2)
    assert reads.closed_before_next == [True] * reads.calls and reads.open == 0


def test_the_known_cases_include_both_paths():
    """Not vacuous: some known cases come out of time order (read twice), and sorting changes them."""
    orders = [is_in_time_order(c["records"]) for c in cases.known_cases()]
    assert False in orders


@st.composite
def _mixed(draw):
    """Records of every type, a few of them moved back in time, some with bad or absent fields."""
    records = draw(_readings())
    n = draw(st.integers(0, 12))
    for i in range(n):
        ts = draw(st.sampled_from([r["ts"] for r in records]))
        kind = draw(st.sampled_from(["mes", "erp", "other"]))
        if kind == "mes":
            data = {"product": draw(st.sampled_from(["P1", "P2"])), "qty_good": draw(st.integers(0, 50)),
                    "qty_scrap": draw(st.integers(0, 5)), "qty_planned": draw(st.integers(0, 60)),
                    "machine": draw(st.sampled_from(["a", "b", "c"]))}
            rec = {"id": f"w{i}", "ts": ts, "type": "mes.work_order", "data": data}
        elif kind == "erp":
            data = {"customer": draw(st.sampled_from(["C1", "C2"])), "currency": "EUR",
                    "amount_minor": draw(st.integers(0, 10**6)), "lines": [{"sku": "P1", "qty": 3}]}
            rec = {"id": f"s{i}", "ts": ts, "type": "erp.sales_order", "data": data}
        else:
            rec = {"id": f"o{i}", "ts": ts, "type": "note", "data": draw(st.sampled_from([{}, None]))}
        records.insert(draw(st.integers(0, len(records))), rec)
    if draw(st.booleans()):
        records = in_time_order(records)
    return records


@settings(max_examples=150, deadline=None)
@given(records=_mixed(), tz=st.sampled_from(["+00:00", "+08:00", "-09:30"]))
def test_streamed_and_array_profiles_are_byte_identical(records, tz):
    args = dict(log_id=cases.LOG_ID, stream=cases.STREAM, start=0, end=len(records), checkpoint_size=len(records),
                checkpoint_root=cases.ROOT, tz=tz)
    reads = Reads(records)
    streamed = build_profile(reads, **args)
    assert canonicalize(streamed) == canonicalize(build_profile(enumerate(records), **args))
    assert reads.calls == (1 if is_in_time_order(records) else 2)


def test_the_in_order_builder_keeps_no_arrays_and_refuses_a_record_back_in_time():
    records = in_time_order(cases.case_factory()["records"])
    b = ProfileBuilder(in_order=True)
    for i, r in enumerate(records):
        b.add(i, r)
    assert b._instants is None and all(m.inst is None for m in b._machines.values())
    late = dict(records[0], ts="2000-01-01T00:00:00Z")
    with pytest.raises(OutOfOrder, match=f"record {len(records)} is earlier in time") as e:
        b.add(len(records), late)
    assert e.value.index == len(records)
    tie = ProfileBuilder(in_order=True)  # an equal instant is in order (ties keep arrival order)
    tie.add(0, records[0])
    tie.add(1, records[0])


def test_a_callable_meets_the_same_errors():
    case = cases.case_trend()
    records = list(reversed(case["records"])) + [{"ts": "yesterday", "type": "x"}]
    with pytest.raises(InvalidArgumentError, match=f"record {len(records) - 1} is not a record"):
        build_profile(Reads(records), log_id=cases.LOG_ID, stream="s", start=0, end=len(records),
                      checkpoint_size=len(records), checkpoint_root=cases.ROOT)
    reads = Reads(case["records"])
    with pytest.raises(InvalidArgumentError, match="tz must be"):
        build_profile(reads, log_id=cases.LOG_ID, stream="s", start=0, end=1, checkpoint_size=1,
                      checkpoint_root=cases.ROOT, tz="+8")
    assert reads.calls == 0  # parameters are checked before any read
    with pytest.raises(InvalidArgumentError, match=r"the range is \[0, 99\)"):
        build(case, reread=True, end=99, checkpoint_size=99)
    with pytest.raises(InvalidArgumentError, match="range ended"):
        build(case, reread=True, end=2, checkpoint_size=2)


def test_check_profile_wants_each_day_once_ascending():
    p = build(cases.case_factory())
    assert len(p["daily"]) >= 2
    twice = copy.deepcopy(p)
    twice["daily"].append(copy.deepcopy(twice["daily"][-1]))
    with pytest.raises(BundleError, match=rf"profile daily\[{len(p['daily'])}\]: day .* does not come after"):
        check_profile(twice)
    backwards = copy.deepcopy(p)
    backwards["daily"].reverse()
    with pytest.raises(BundleError, match=r"profile daily\[1\]: .*\(days are ascending, each once\)"):
        check_profile(backwards)
    for index, record in enumerate(cases.case_factory()["records"]):  # bisection finds every record's day
        assert not any("a day the profile does not list" in r for r in record_disagreements(p, index, record))
