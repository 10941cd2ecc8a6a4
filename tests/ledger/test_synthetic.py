"""ledger.synthetic.factory_month: the demo month is coherent across sources (IoT counters,
MES work orders, ERP sales orders), and the over-reporting variant departs from it only where
asked. The figures are recomputed here with plain code after docs/PROFILE.md's definitions
(increments with resets, machine-days at +08:00, per-product MES good vs ERP line quantities)."""

import json
from collections import Counter, defaultdict
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest

from ledger.records import prepare_record
from ledger.synthetic import MACHINES, factory_month

SAMPLES = Path(__file__).resolve().parents[2] / "ledger" / "samples"
OVER = {"machine": "press-07", "days": [8, 9, 10], "factor": 1.4}


def _day(ts: str) -> str:
    return ts[:10]  # every generated timestamp is written at +08:00, the factory's zone


def _figures(records: list[dict]) -> dict:
    """IoT parts and MES units per (machine, day), resets, longest non-running stretch per
    machine, MES good and ERP quantities per product, CNY amount per customer."""
    last: dict[str, tuple[int, datetime]] = {}
    iot, mes = Counter(), Counter()
    resets, stops = Counter(), Counter()
    run_since: dict[str, datetime] = {}
    good, ordered, billed = Counter(), Counter(), defaultdict(Counter)
    for r in records:
        d = r["data"]
        t = datetime.fromisoformat(r["ts"])
        if r["type"] == "iot.telemetry":
            m, cur = d["machine"], d["parts_total"]
            if m in last:
                prev = last[m][0]
                iot[m, _day(r["ts"])] += cur - prev if cur >= prev else cur
                resets[m] += cur < prev
            last[m] = (cur, t)
            if d["state"] == "running":
                if m in run_since:
                    stops[m] = max(stops[m], (t - run_since[m]).total_seconds())
                run_since[m] = t
        elif r["type"] == "mes.work_order":
            mes[d["machine"], _day(r["ts"])] += d["qty_good"] + d["qty_scrap"]
            good[d["product"]] += d["qty_good"]
        else:
            for line in d["lines"]:
                ordered[line["sku"]] += line["qty"]
            billed[d["currency"]][d["customer"]] += d["amount_minor"]
    return {"iot": iot, "mes": mes, "resets": resets, "stops": stops, "good": good,
            "ordered": ordered, "billed": billed}


@pytest.fixture(scope="module")
def month():
    return list(factory_month())


@pytest.fixture(scope="module")
def over_month():
    return list(factory_month(seed=12, over_report=OVER))


def _off(a: int, b: int) -> Fraction:
    return Fraction(abs(a - b), max(a, b))


def test_every_record_is_valid_unique_and_in_time_order(month, over_month):
    for records in (month, over_month):
        for i, r in enumerate(records):
            prepare_record(r, i)
        assert len({r["id"] for r in records}) == len(records)
        times = [datetime.fromisoformat(r["ts"]) for r in records]
        assert times == sorted(times)
        assert 3000 <= len(records) <= 4000
        assert set(Counter(r["type"] for r in records)) == {"iot.telemetry", "mes.work_order", "erp.sales_order"}


def test_deterministic_for_a_seed(month):
    assert list(factory_month()) == month
    assert list(factory_month(seed=12)) != month


def test_telemetry_keeps_its_shape(month):
    tel = [r for r in month if r["type"] == "iot.telemetry"]
    assert len(tel) == 30 * 24 * 4
    assert [r["data"]["machine"] for r in tel[:12]] == MACHINES * 2
    kinds = {"machine": str, "state": str, "temp_c": float, "spindle_rpm": int,
             "vibration_mm_s": float, "power_kw": float, "parts_total": int}
    for r in tel:
        assert r["id"].startswith(f"tel-{r['data']['machine']}-")
        assert list(r["data"]) == list(kinds)
        assert all(isinstance(r["data"][k], t) for k, t in kinds.items()), r
        running = r["data"]["state"] == "running"
        assert (r["data"]["power_kw"] >= 9.0) == running and (r["data"]["spindle_rpm"] > 0) == running


def test_running_machines_make_tens_of_parts_between_readings(month):
    last, steps = {}, []
    for r in month:
        if r["type"] == "iot.telemetry":
            m, cur = r["data"]["machine"], r["data"]["parts_total"]
            if m in last and r["data"]["state"] == "running" and cur >= last[m]:
                steps.append(cur - last[m])
            last[m] = cur
    steps.sort()
    assert 10 <= steps[len(steps) // 2] <= 99 and steps[0] > 0


def test_mes_units_follow_the_iot_counters_per_machine_day(month):
    f = _figures(month)
    assert set(f["iot"]) == set(f["mes"]) and len(f["iot"]) == 6 * 30
    for key, parts in f["iot"].items():
        assert _off(parts, f["mes"][key]) <= Fraction(5, 100), (key, parts, f["mes"][key])
    assert sum(f["iot"].values()) != sum(f["mes"].values())  # noise, not a copy


def test_a_reset_and_stoppages_exist(month):
    f = _figures(month)
    assert sum(f["resets"].values()) == 1
    # readings every 90 min: a stoppage of 4.5-6 h leaves 6-7.5 h between running readings,
    # a short pause 3 h; below the profile's stoppage flag (8 h)
    assert sorted(s for s in f["stops"].values() if s >= 6 * 3600) == sorted(f["stops"].values())[-2:]
    assert len([s for s in f["stops"].values() if s >= 6 * 3600]) == 2 and max(f["stops"].values()) < 8 * 3600
    states = Counter(r["data"]["state"] for r in month if r["type"] == "iot.telemetry")
    assert states["alarm"] >= 2 and states["idle"] >= 2
    assert 0.9 < states["running"] / sum(states.values()) < 0.99


def test_work_orders_scrap_and_plan(month):
    for r in month:
        if r["type"] == "mes.work_order":
            d = r["data"]
            units = d["qty_good"] + d["qty_scrap"]
            assert Fraction(d["qty_scrap"], units) <= Fraction(3, 100) + Fraction(1, units)
            # a round number (multiple of 50) near the order's size
            assert d["qty_planned"] % 50 == 0 and abs(d["qty_planned"] - units) <= 25 + units * Fraction(6, 100)
    scrap = sum(r["data"]["qty_scrap"] for r in month if r["type"] == "mes.work_order")
    units = sum(r["data"]["qty_good"] + r["data"]["qty_scrap"] for r in month if r["type"] == "mes.work_order")
    assert Fraction(5, 1000) <= Fraction(scrap, units) <= Fraction(3, 100)
    products = defaultdict(set)
    for r in month:
        if r["type"] == "mes.work_order":
            products[r["data"]["machine"]].add(r["data"]["product"])
    assert set(products) == set(MACHINES) and all(1 <= len(p) <= 2 for p in products.values())


def test_sales_follow_mes_output_per_product(month, over_month):
    for records in (month, over_month):
        f = _figures(records)
        assert set(f["good"]) == set(f["ordered"]) and len(f["good"]) == 4
        for product, made in f["good"].items():
            assert _off(made, f["ordered"][product]) <= Fraction(15, 100), product


def test_customers_and_currencies(month, over_month):
    for records in (month, over_month):
        billed = _figures(records)["billed"]
        assert set(billed) == {"CNY", "USD"}
        assert 1 <= sum(1 for r in records if r["type"] == "erp.sales_order" and r["data"]["currency"] == "USD") <= 6
        cny, usd = billed["CNY"], billed["USD"]
        assert len(cny) == 5
        assert Fraction(35, 100) <= Fraction(max(cny.values()), sum(cny.values())) <= Fraction(45, 100)
        # no currency concentrated past the profile's default limit (top-1 share 0.5)
        assert len(usd) == 3 and Fraction(max(usd.values()), sum(usd.values())) < Fraction(1, 2)


def test_over_report_inflates_only_the_named_machine_days(month, over_month):
    f = _figures(over_month)
    inflated = {("press-07", f"2026-10-{d:02d}") for d in OVER["days"]}
    for key, parts in f["iot"].items():
        if key in inflated:
            assert f["mes"][key] >= parts * Fraction(13, 10), key
        else:
            assert _off(parts, f["mes"][key]) <= Fraction(5, 100), key
    # the same seed without over-reporting differs only in those MES orders (and the sales after them)
    plain = list(factory_month(seed=12))
    assert [r for r in plain if r["type"] == "iot.telemetry"] == [r for r in over_month if r["type"] == "iot.telemetry"]


@pytest.mark.parametrize("name, kwargs", [("factory-month.jsonl", {}),
                                          ("factory-month-overreport.jsonl", {"seed": 12, "over_report": OVER})])
def test_the_samples_are_the_generator_s_output(name, kwargs):
    lines = (SAMPLES / name).read_text().splitlines()
    assert [json.loads(line) for line in lines] == list(factory_month(**kwargs))


def test_the_documented_command_writes_the_samples_byte_for_byte(capsys):
    from ledger.synthetic import main

    main([])
    assert capsys.readouterr().out == (SAMPLES / "factory-month.jsonl").read_text()
    main(["--seed", "12", "--over-report", "press-07:8,9,10:1.4"])
    assert capsys.readouterr().out == (SAMPLES / "factory-month-overreport.jsonl").read_text()
    with pytest.raises(SystemExit):
        main(["--over-report", "press-07:8"])
    assert "expected MACHINE:DAY,DAY:FACTOR" in capsys.readouterr().err


@pytest.mark.parametrize("days", [7, 8, 9])
def test_the_shortest_months_it_promises_are_made(days):
    """Before: 7 and 8 days (the docstring's minimum is 7) raised in randrange."""
    records = list(factory_month(days=days))
    assert {r["type"] for r in records} == {"iot.telemetry", "mes.work_order", "erp.sales_order"}
    with pytest.raises(ValueError, match="at least 7 days"):
        list(factory_month(days=6))
