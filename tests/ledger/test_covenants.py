"""ledger.covenants: the dpl-covenants/1 format, and evaluation on synthetic weeks of known figures
(DESIGN.md §9, docs/COVENANTS.md)."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from ledger.canonical import canonicalize
from ledger.covenants import (COVENANTS_FORMAT, Met, WeeklyFigures, check_covenants, covenants_digest,
                              describe, evaluate)
from ledger.errors import InvalidArgumentError
from ledger.profile import build_profile
from ledger.synthetic import factory_month

TZ = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 10, 5, tzinfo=TZ)  # 2026-W41
ROOT = "0x" + "ab" * 32
EXAMPLE = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
    {"code": "anchoring_cadence", "max_hours": 48},
    {"code": "output_floor", "min_percent": 70},
    {"code": "stoppage", "max_hours": 8},
    {"code": "cross_source_mismatch", "max_ratio": "0.100000"},
    {"code": "scrap_ceiling", "max_ratio": "0.050000"},
    {"code": "customer_concentration", "max_top1_share": "0.500000"}]}


# --- a small factory of known figures ----------------------------------------------------


def factory(days: int, *, rate=lambda day: 10, silence=None, scrap=0, customers=("C-1", "C-2", "C-3")):
    """``days`` days from Monday 2026-10-05 (+08:00): machines m1 and m2 read every hour (m1 at
    :00, m2 at :30), each making ``rate(day)`` parts an hour; one work order per machine and day
    at 23:50 with those parts (``scrap`` of them scrapped); one sales order a day at 12:15,
    customers in turn. ``silence=(machine, first hour, hours)``: that machine sends nothing then
    (counted from day 0, 00:00). Records in time order."""
    events = []
    counters = {"m1": 1000, "m2": 5000}
    for day in range(days):
        base = MONDAY + timedelta(days=day)
        for hour in range(24):
            for machine, minute in (("m1", 0), ("m2", 30)):
                absolute = day * 24 + hour
                if silence and silence[0] == machine and silence[1] <= absolute < silence[1] + silence[2]:
                    continue
                counters[machine] += rate(day)
                events.append((base + timedelta(hours=hour, minutes=minute), {
                    "type": "iot.telemetry",
                    "data": {"machine": machine, "state": "running", "parts_total": counters[machine]}}))
        for machine in ("m1", "m2"):
            units = 24 * rate(day)
            events.append((base + timedelta(hours=23, minutes=50), {
                "type": "mes.work_order",
                "data": {"product": "P-1", "machine": machine, "qty_good": units - scrap, "qty_scrap": scrap,
                         "qty_planned": units}}))
        events.append((base + timedelta(hours=12, minutes=15), {
            "type": "erp.sales_order",
            "data": {"customer": customers[day % len(customers)], "currency": "CNY", "amount_minor": 1000}}))
    events.sort(key=lambda e: e[0])
    return [{"id": f"r-{i}", "ts": t.isoformat(timespec="milliseconds"), **r} for i, (t, r) in enumerate(events)]


def split(records, days: int):
    """The index where records of day ``days`` (from MONDAY, +08:00) begin."""
    edge = (MONDAY + timedelta(days=days)).isoformat(timespec="milliseconds")
    return next(i for i, r in enumerate(records) if r["ts"] >= edge)


def pledged(records, end):
    return build_profile(enumerate(records[:end]), log_id=bytes(32), stream="line/a", start=0, end=end,
                         checkpoint_size=len(records), checkpoint_root=bytes.fromhex(ROOT[2:]), tz="+08:00")


def run(records, end, covenants=EXAMPLE, *, anchored_at=1_000_000, chain_now=1_000_100, **kw):
    return evaluate(covenants, pledged_profile=pledged(records, end),
                    records_after=[(i, records[i]) for i in range(end, len(records))],
                    checkpoint={"size": len(records), "root": ROOT, "anchored_at": anchored_at},
                    chain_now=chain_now, **kw)


def only(code, **params):
    return {"format": COVENANTS_FORMAT, "tz": "+08:00", "covenants": [{"code": code, **params}]}


def keys(evaluation):
    return [w.key for w in evaluation.warnings]


def met_weeks(evaluation, code):
    return [m.week for m in evaluation.met if m.code == code]


# --- the format ----------------------------------------------------------------------------


def test_the_design_example_is_a_valid_set_and_its_digest_is_sha256_of_rfc8785():
    checked = check_covenants(EXAMPLE)
    assert checked == EXAMPLE and checked is not EXAMPLE
    assert covenants_digest(EXAMPLE) == hashlib.sha256(canonicalize(EXAMPLE)).digest()
    reordered = {"covenants": EXAMPLE["covenants"], "tz": "+08:00", "format": COVENANTS_FORMAT}
    assert covenants_digest(reordered) == covenants_digest(EXAMPLE)  # key order is not meaning
    other = copy.deepcopy(EXAMPLE)
    other["covenants"][1]["min_percent"] = 71
    assert covenants_digest(other) != covenants_digest(EXAMPLE)
    assert [describe(c) for c in checked["covenants"]][1].startswith("each week's MES good output")


def _with(**change):
    doc = copy.deepcopy(EXAMPLE)
    for k, v in change.items():
        if v is None:
            del doc[k]
        else:
            doc[k] = v
    return doc


def _item(i, **change):
    doc = copy.deepcopy(EXAMPLE)
    for k, v in change.items():
        if v is None:
            del doc["covenants"][i][k]
        else:
            doc["covenants"][i][k] = v
    return doc


@pytest.mark.parametrize("doc, words", [
    ([], "covenants: must be a JSON object"),
    (_with(format="dpl-covenants/2"), "covenants format: must be 'dpl-covenants/1'"),
    (_with(extra=1), "covenants extra: unknown field"),
    (_with(tz=None), "covenants tz: missing"),
    (_with(tz="+8:00"), "covenants tz: tz must be an offset like +08:00"),
    (_with(tz="+24:00"), "covenants tz:"),
    (_with(covenants=[]), "covenants covenants: must be a non-empty list"),
    (_with(covenants={"code": "stoppage"}), "covenants covenants: must be a non-empty list"),
    (_with(covenants=["stoppage"]), "covenants[0]: must be an object"),
    (_with(covenants=[{"code": "weather", "max": 1}]), "covenants[0].code: 'weather' is not a covenant"),
    (_with(covenants=[{"code": "stoppage", "max_hours": 8}, {"code": "stoppage", "max_hours": 9}]),
     "covenants[1].code: stoppage is listed twice"),
    (_item(0, max_hours=None), "covenants[0].max_hours: missing"),
    (_item(0, max_days=2), "covenants[0].max_days: not a parameter of anchoring_cadence"),
    (_item(0, max_hours=0), "covenants[0].max_hours: must be a whole number of hours from 1 to 8760"),
    (_item(0, max_hours=8761), "covenants[0].max_hours: must be a whole number"),
    (_item(0, max_hours=True), "covenants[0].max_hours: must be a whole number"),
    (_item(0, max_hours=48.0), "covenants[0].max_hours: must be a whole number"),
    (_item(1, min_percent=101), "covenants[1].min_percent: must be a whole percentage from 1 to 100"),
    (_item(1, min_percent="70"), "covenants[1].min_percent: must be a whole percentage"),
    (_item(3, max_ratio="0.1"), "covenants[3].max_ratio: must be a ratio from \"0.000000\" to \"1.000000\""),
    (_item(3, max_ratio=0.1), "covenants[3].max_ratio: must be a ratio"),
    (_item(4, max_ratio="1.000001"), "covenants[4].max_ratio: must be a ratio"),
    (_item(5, max_top1_share="-0.100000"), "covenants[5].max_top1_share: must be a ratio"),
])
def test_a_bad_set_is_refused_naming_the_field(doc, words):
    with pytest.raises(InvalidArgumentError) as e:
        check_covenants(doc)
    assert words in str(e.value)
    with pytest.raises(InvalidArgumentError):
        covenants_digest(doc)


def test_the_bounds_themselves_are_valid():
    doc = _item(0, max_hours=8760)
    doc["covenants"][1]["min_percent"] = 100
    doc["covenants"][3]["max_ratio"] = "1.000000"
    doc["covenants"][4]["max_ratio"] = "0.000000"
    assert check_covenants(doc) == doc


# --- output_floor --------------------------------------------------------------------------


def test_a_50_percent_output_drop_raises_output_floor_in_exactly_its_week_and_is_met_when_output_recovers():
    # weeks W41, W42 pledged; W43 normal, W44 at half rate, W45 normal again, W46 Monday closes W45
    records = factory(36, rate=lambda day: 5 if 21 <= day < 28 else 10)
    end = split(records, 14)
    ev = run(records, end, only("output_floor", min_percent=70))
    assert keys(ev) == ["output_floor/2026-W44"]
    w = ev.warnings[0]
    assert (w.value, w.threshold) == ("240.000000", "336.000000")  # 2 machines x 24 h x 5; 70 % of 480
    assert w.window == (split(records, 21), split(records, 28))
    assert w.checkpoint == (len(records), ROOT)
    assert met_weeks(ev, "output_floor") == ["2026-W43", "2026-W45"]
    w43, w45 = (m for m in ev.met if m.code == "output_floor")
    assert w45.resolves(w.key) and not w43.resolves(w.key)

    steady = run(factory(36), end, only("output_floor", min_percent=70))
    assert keys(steady) == [] and met_weeks(steady, "output_floor") == ["2026-W43", "2026-W44", "2026-W45"]


def test_output_floor_is_per_day_with_records_so_a_partial_week_is_not_a_drop():
    records = factory(24)  # the range ends on a Thursday: W43's records start there
    end = split(records, 17)
    ev = run(records, end, only("output_floor", min_percent=100))
    assert keys(ev) == [] and met_weeks(ev, "output_floor") == ["2026-W43"]


# --- stoppage ------------------------------------------------------------------------------


def test_a_10_hour_silence_of_one_machine_raises_stoppage_naming_it():
    records = factory(22, silence=("m2", 16 * 24 + 3, 10))  # day 16, 03:30 .. 12:30 missing
    end = split(records, 14)
    ev = run(records, end, only("stoppage", max_hours=8))
    assert len(ev.warnings) == 1
    w = ev.warnings[0]
    assert w.code == "stoppage" and w.week is None
    assert (w.value, w.threshold) == (str(11 * 3600), str(8 * 3600))  # 02:30 -> 13:30
    assert "Machine m2" in w.message and "11.0 hours" in w.message
    before = split(records, 16) + 2 * 2 + 1  # day 16: m1 00:00, m2 00:30, m1 01:00, m2 01:30, m1 02:00, m2 02:30
    assert records[before]["ts"].startswith("2026-10-21T02:30") and records[before]["data"]["machine"] == "m2"
    assert w.key == f"stoppage/m2/{before}"
    assert w.window[0] == before and records[w.window[1] - 1]["ts"].startswith("2026-10-21T13:30")
    # m2 reports again: its newest silence meets the covenant, which resolves the warning
    assert [(m.machine, m.resolves(w.key)) for m in ev.met] == [("m1", False), ("m2", True)]
    assert keys(run(records, end, only("stoppage", max_hours=11))) == []  # exactly 11 h is not more


def test_a_machine_that_stopped_reporting_is_judged_up_to_the_newest_record_with_a_stable_key():
    records = factory(22, silence=("m1", 20 * 24, 48))  # m1 silent from day 20 to the end
    end = split(records, 14)
    ev = run(records, end, only("stoppage", max_hours=8))
    assert len(ev.warnings) == 1
    w = ev.warnings[0]
    last_m1 = max(i for i, r in enumerate(records) if r["type"] == "iot.telemetry" and r["data"]["machine"] == "m1")
    assert w.key == f"stoppage/m1/{last_m1}" and w.window == (last_m1, len(records))
    assert "has not reported since" in w.message
    assert [m.machine for m in ev.met] == ["m2"]
    # m1 resumes later: the same silence, now ended, keeps its key (never raised twice)
    later = factory(24, silence=("m1", 20 * 24, 30))
    ev2 = run(later, end, only("stoppage", max_hours=8))
    assert keys(ev2) == [w.key] and "then reported again" in ev2.warnings[0].message
    assert next(m for m in ev2.met if m.machine == "m1").resolves(w.key)


def test_a_machine_of_the_range_that_never_reports_after_it_is_a_stoppage_from_the_range_end():
    records = factory(17, silence=("m2", 14 * 24, 72))
    end = split(records, 14)
    ev = run(records, end, only("stoppage", max_hours=8))
    assert keys(ev) == ["stoppage/m2/range"]
    assert ev.warnings[0].window == (end, len(records))
    assert keys(run(records, end, only("stoppage", max_hours=8), machines={"m1"})) == []


# --- anchoring_cadence ---------------------------------------------------------------------


def test_anchoring_cadence_is_judged_by_the_chain_clock():
    records = factory(15)
    end = split(records, 14)
    cov = only("anchoring_cadence", max_hours=48)
    fresh = run(records, end, cov, anchored_at=1_000_000, chain_now=1_000_000 + 48 * 3600)
    assert keys(fresh) == [] and [m.code for m in fresh.met] == ["anchoring_cadence"]
    stale = run(records, end, cov, anchored_at=1_000_000, chain_now=1_000_000 + 48 * 3600 + 1)
    assert keys(stale) == [f"anchoring_cadence/{len(records)}"]
    w = stale.warnings[0]
    assert (w.value, w.threshold, w.window, w.week) == (str(48 * 3600 + 1), str(48 * 3600),
                                                        (len(records), len(records)), None)
    assert fresh.met[0].resolves(f"anchoring_cadence/{len(records) - 1}")  # a newer checkpoint
    assert not fresh.met[0].resolves(w.key)


# --- the profile's figures per week --------------------------------------------------------


def _month(over_report=None):
    records = list(factory_month(days=35, over_report=over_report))
    end = next(i for i, r in enumerate(records) if r["ts"] >= "2026-10-12")  # W41 closes on Sunday the 11th
    return records, end


def test_an_over_reporting_mes_raises_cross_source_mismatch_for_its_week():
    cov = only("cross_source_mismatch", max_ratio="0.040000")
    records, end = _month()
    honest = run(records, end, cov)
    assert keys(honest) == [] and met_weeks(honest, "cross_source_mismatch") == [
        "2026-W42", "2026-W43", "2026-W44"]
    # press-07 reports 80 % more on 20-22 October (days 20-22 of the month, in W43)
    records, end = _month({"machine": "press-07", "days": [20, 21, 22], "factor": 1.8})
    ev = run(records, end, cov)
    assert keys(ev) == ["cross_source_mismatch/2026-W43"]
    assert met_weeks(ev, "cross_source_mismatch") == ["2026-W42", "2026-W44"]
    w = ev.warnings[0]
    assert w.value > "0.040000" and "IoT counted" in w.message


def test_scrap_ceiling_and_customer_concentration_use_the_weeks_profile():
    records = factory(22, scrap=24, customers=("C-1",))  # 24 of 240 scrapped; one customer buys all
    end = split(records, 14)
    ev = run(records, end, {"format": COVENANTS_FORMAT, "tz": "+08:00", "covenants": [
        {"code": "scrap_ceiling", "max_ratio": "0.050000"},
        {"code": "customer_concentration", "max_top1_share": "0.500000"}]})
    assert keys(ev) == ["scrap_ceiling/2026-W43", "customer_concentration/2026-W43"]
    assert [(w.value, w.threshold) for w in ev.warnings] == [("0.100000", "0.050000"), ("1.000000", "0.500000")]
    assert "CNY" in ev.warnings[1].message


# --- windows, determinism ------------------------------------------------------------------


def test_a_week_not_yet_closed_is_not_judged():
    records = factory(28, rate=lambda day: 1 if day >= 21 else 10)  # W44 (days 21-27) collapses
    end = split(records, 14)
    ev = run(records, end, only("output_floor", min_percent=70))
    assert keys(ev) == [] and met_weeks(ev, "output_floor") == ["2026-W43"]  # W44 not closed
    # one record of Monday W45 closes W44
    closing = dict(records[-1], id="late", ts=(MONDAY + timedelta(days=28)).isoformat(timespec="milliseconds"))
    ev = run(records + [closing], end, only("output_floor", min_percent=70))
    assert keys(ev) == ["output_floor/2026-W44"]


def test_evaluation_is_deterministic_and_figures_are_shared_between_pledges():
    records = factory(36, rate=lambda day: 5 if 21 <= day < 28 else 10, silence=("m2", 16 * 24 + 3, 10))
    end = split(records, 14)
    first, second = run(records, end), run(records, end)
    assert first == second
    assert [w.as_json() for w in first.warnings] == [w.as_json() for w in second.warnings]
    figures = WeeklyFigures.build(((i, records[i]) for i in range(end, len(records))), start=end, tz="+08:00")
    profile = pledged(records, end)
    shared = [evaluate(EXAMPLE, pledged_profile=profile, records_after=figures,
                       checkpoint={"size": len(records), "root": ROOT, "anchored_at": 1_000_000},
                       chain_now=1_000_100) for _ in range(2)]
    assert shared[0] == shared[1] == first
    assert keys(first) == ["output_floor/2026-W44", f"stoppage/m2/{split(records, 16) + 5}"]
    # a later checkpoint: the same warnings keep their keys, new weeks are judged
    more = factory(43, rate=lambda day: 5 if 21 <= day < 28 else 10, silence=("m2", 16 * 24 + 3, 10))
    assert set(keys(first)) <= set(keys(run(more, end)))


def test_the_warning_json_is_the_design_shape():
    records = factory(29, rate=lambda day: 5 if day >= 21 else 10)
    end = split(records, 14)
    w = run(records, end).warnings[0].with_token(7)
    assert w.as_json() == {
        "token_id": 7, "code": "output_floor", "state": "open",
        "window": {"from": split(records, 21), "to": split(records, 28)}, "week": "2026-W44",
        "checkpoint": {"size": len(records), "root": ROOT}, "value": "240.000000", "threshold": "336.000000",
        "message": w.message}
    assert "2026-W44" in w.message and "70 %" in w.message
    assert canonicalize(w.as_json())


def test_met_resolves_only_its_own_code_and_machine():
    m = Met("stoppage", (10, 20), machine="m1", after=10)
    assert m.resolves("stoppage/m1/9") and m.resolves("stoppage/m1/range")
    assert not m.resolves("stoppage/m2/9") and not m.resolves("stoppage/m1/10")
    assert not m.resolves("output_floor/2026-W01")
    assert Met("stoppage", (10, 20), machine="line/m1", after=10).resolves("stoppage/line/m1/3")


def test_bad_evaluation_inputs_are_named():
    records = factory(16)
    end = split(records, 14)
    profile = pledged(records, end)
    after = [(i, records[i]) for i in range(end, len(records))]
    cp = {"size": len(records), "root": ROOT, "anchored_at": 1}
    with pytest.raises(InvalidArgumentError, match="end at .* not at the checkpoint size"):
        evaluate(EXAMPLE, pledged_profile=profile, records_after=after, checkpoint=dict(cp, size=len(records) + 1),
                 chain_now=2)
    with pytest.raises(InvalidArgumentError, match="expected index"):
        evaluate(EXAMPLE, pledged_profile=profile, records_after=after[1:], checkpoint=cp, chain_now=2)
    figures = WeeklyFigures.build(after, start=end, tz="+00:00")
    with pytest.raises(InvalidArgumentError, match="at tz \\+00:00"):
        evaluate(EXAMPLE, pledged_profile=profile, records_after=figures, checkpoint=cp, chain_now=2)
    with pytest.raises(InvalidArgumentError, match="checkpoint.root"):
        evaluate(EXAMPLE, pledged_profile=profile, records_after=after, checkpoint=dict(cp, root="0x12"), chain_now=2)
    with pytest.raises(InvalidArgumentError, match="covenants tz: missing"):
        evaluate(_with(tz=None), pledged_profile=profile, records_after=after, checkpoint=cp, chain_now=2)
    bad = list(after)
    bad[3] = (bad[3][0], dict(bad[3][1], ts="yesterday"))
    with pytest.raises(InvalidArgumentError, match=f"record {end + 3} has no valid ts"):
        evaluate(EXAMPLE, pledged_profile=profile, records_after=bad, checkpoint=cp, chain_now=2)


def test_the_module_is_pure():
    """No store, settings, chain or api (tests/test_layers.py's rule, for this module)."""
    import subprocess
    import sys

    code = ("import sys, ledger.covenants\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'pydantic_settings', 'api', 'web3') "
            "or m.startswith(('ledger.store', 'ledger.chain', 'ledger.service')) or m == 'ledger.settings')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_a_weekly_warning_is_recomputed_from_its_window_alone():
    """The evidence: a disclosure of the window's records gives the week's figure again."""
    records, end = _month({"machine": "press-07", "days": [20, 21, 22], "factor": 1.8})
    ev = run(records, end, only("cross_source_mismatch", max_ratio="0.040000"))
    w = ev.warnings[0]
    a, b = w.window
    again = WeeklyFigures.build(((i, records[i]) for i in range(a, b)), start=a, tz="+08:00")
    week = next(x for x in again.weeks if x.name == w.week)
    assert week.profile["cross_source"]["mismatch"] == w.value
    assert (week.first, week.last + 1) == (a, b)


def test_later_checkpoints_keep_every_key_and_closed_weeks_keep_their_figures():
    """Records in time order: what one checkpoint raised, every later one raises with the same key
    (a closed week's value unchanged), so the store's (pledge, key) never sees a breach twice."""
    records = factory(36, rate=lambda day: 5 if 21 <= day < 28 else 10, silence=("m2", 17 * 24 + 20, 30),
                      scrap=30)
    end = split(records, 14)
    profile = pledged(records, end)
    seen: dict[str, str] = {}
    for size in range(end + 1, len(records) + 1, 97):
        part = records[:size]
        ev = evaluate(EXAMPLE, pledged_profile=profile, records_after=[(i, part[i]) for i in range(end, size)],
                      checkpoint={"size": size, "root": ROOT, "anchored_at": 0}, chain_now=0)
        now = {w.key: w.value for w in ev.warnings}
        assert set(seen) <= set(now), sorted(set(seen) - set(now))
        for key, value in seen.items():
            if not key.startswith("stoppage/"):  # a silence still going on grows
                assert now[key] == value, key
        seen = now
    assert {k.split("/")[0] for k in seen} == {"output_floor", "stoppage", "scrap_ceiling"}


def test_a_pledged_profile_that_is_not_one_is_named():
    records = factory(15)
    end = split(records, 14)
    with pytest.raises(InvalidArgumentError, match="pledged_profile must be the dpl-profile/1"):
        evaluate(EXAMPLE, pledged_profile={"range": {"to": end}}, records_after=[],
                 checkpoint={"size": end, "root": ROOT, "anchored_at": 0}, chain_now=0)
