"""Records whose every profile figure is known in advance (`docs/PROFILE.md`), for the Python
tests and for the JavaScript parity tests.

``known_cases()`` returns a list of cases, each a JSON-ready dict::

    {"name": str, "tz": "+00:00", "mapping": None | {...}, "thresholds": None | {...},
     "records": [record, ...],            # indices 0..n-1 of the range [0, n)
     "expected": {path: value, ...}}      # figures by JSON path (as compare_profiles names them)

Every expected value was worked out by hand (the arithmetic is in the comments), not by
running the code under test. Build a case's profile with ``LOG_ID``, ``STREAM``, ``ROOT`` and
``checkpoint_size = len(records)``.
"""

from __future__ import annotations

LOG_ID = bytes(range(32))
ROOT = bytes(range(32, 64))
STREAM = "factory/known"
BIG = 2**53 - 1


def _rec(i, ts, rtype, data):
    return {"id": f"r-{i:03d}", "ts": ts, "type": rtype, "data": data}


def _iot(i, ts, machine, state, parts, **extra):
    data = {"state": state, "parts_total": parts, **extra}
    if machine is not None:
        data["machine"] = machine
    return _rec(i, ts, "iot.telemetry", data)


def _wo(i, ts, product, good, scrap, planned, machine=None):
    data = {"product": product, "qty_good": good, "qty_scrap": scrap, "qty_planned": planned}
    if machine is not None:
        data["machine"] = machine
    return _rec(i, ts, "mes.work_order", data)


def _so(i, ts, customer, currency, amount, lines=None):
    data = {"customer": customer, "currency": currency, "amount_minor": amount}
    if lines is not None:
        data["lines"] = lines
    return _rec(i, ts, "erp.sales_order", data)


def case_factory() -> dict:
    """Resets, an out-of-order reading, gaps and days without records, two currencies, ties
    (top customer, worst machine-day), skipped records, a leap second, sub-ms digits."""
    records = [
        _iot(0, "2026-10-05T08:00:00Z", "m1", "running", 100, power_kw=10, temp_c=70, vibration_mm_s=1.5),
        _iot(1, "2026-10-05T08:30:00Z", "m1", "running", 160, power_kw=12.5, temp_c=80),
        _iot(2, "2026-10-05T09:00:00Z", "m1", "idle", 20, temp_c=90),          # reset: +20
        _iot(3, "2026-10-05T10:00:00Z", "m1", "running", 50, power_kw=0.1, temp_c=85.5),
        _wo(4, "2026-10-05T12:00:00Z", "P1", 90, 10, 100, machine="m1"),
        _so(5, "2026-10-05T13:00:00Z", "A", "CNY", 500,
            [{"sku": "P1", "qty": 40}, {"sku": "X", "qty": -1}, "junk", {"sku": "P2"}]),
        _so(6, "2026-10-05T14:00:00Z", "B", "CNY", 500, [{"sku": "P2", "qty": 10}]),
        _so(7, "2026-10-05T15:00:00Z", "C", "EUR", 300, [{"sku": "P4", "qty": 5}]),
        _wo(8, "2026-10-05T16:00:00Z", "P1", "5", 0, 5),                          # skipped: "5"
        _iot(9, "2026-10-05T17:00:00Z", None, "running", 5),                    # skipped: no machine
        _rec(10, "2026-10-05T18:00:00Z", "qa.check", {}),
        _wo(11, "2026-10-08T09:00:00Z", "P2", 200, 0, 300, machine="m2"),
        _iot(12, "2026-10-08T10:00:00Z", "m2", "running", 0, vibration_mm_s=4.5),
        _iot(13, "2026-10-08T11:00:00Z", "m2", "running", 150, vibration_mm_s=4.6),
        _iot(14, "2026-10-05T09:30:00Z", "m1", "running", 10, temp_c=85),       # out of order; reset
        _rec(15, "2026-10-08T23:59:60.123456789Z", "qa.note", {"text": "leap second"}),
        _so(16, "2026-10-08T12:00:00Z", "D", "CNY", 12.5),                       # skipped: 12.5
        _rec(17, "2026-10-05T07:59:59.9999Z", "qa.check", {}),                  # first in time
        _wo(18, "2026-10-08T12:30:00Z", "P3", 0, 60, 0, machine="z1"),
        _wo(19, "2026-10-08T13:00:00Z", "P3", 0, 70, 0, machine="x1"),
        _wo(20, "2026-10-09T09:00:00Z", "P3", 0, 80, 0, machine="y1"),
        _wo(21, "2026-10-08T14:00:00Z", "P3", 0, 40, 0, machine="m3"),
    ]
    # m1 in time order: 8:00 100, 8:30 160 (+60), 9:00 20 (reset +20), 9:30 10 (reset +10),
    # 10:00 50 (+40): parts 130, resets 2. Energy: 10 kW x 0.5 h + 12.5 kW x 0.5 h = 11.25 kWh;
    # per part 11.25 / 130 = 0.0865384… Running at 8:00, 8:30, 9:30, 10:00: longest stop 1 h.
    # temp 70, 80, 90, 85.5, 85 -> sorted 70 80 85 85.5 90: p50 rank 3 = 85, p95 rank 5 = 90,
    # over 85: 85.5 and 90 = 2/5.
    # Machine-days: m1 10-05 130 vs 100, m2 10-08 150 vs 200, z1 10-08 0 vs 60, x1 10-08 0 vs 70,
    # y1 10-09 0 vs 80, m3 10-08 0 vs 40: Σ|d| = 30+50+60+70+80+40 = 330, Σmax = 580.
    # Worst among max >= 50: z1, x1, y1 tie at 1; earliest day 10-08, then x1 < z1.
    # Gap: 10-05 18:00 -> 10-08 09:00 = 63 h = 226800 s. Days 10-05, 10-08, 10-09.
    # Output cv over [90, 200, 0]: sqrt((3·48100 − 290²) / 290²) = 0.8460582…
    expected = {
        "coverage.records": 22,
        "coverage.first_ts": "2026-10-05T07:59:59.9999Z",
        "coverage.last_ts": "2026-10-09T09:00:00Z",
        "coverage.days": 3,
        "coverage.days_without_records": 2,
        "coverage.longest_gap_s": 226800,
        "coverage.types": {"iot.telemetry": 8, "mes.work_order": 7, "erp.sales_order": 4,
                           "qa.check": 2, "qa.note": 1},
        "mes.orders": 6, "mes.skipped": 1,
        "mes.qty_good": 290, "mes.qty_scrap": 260, "mes.qty_planned": 400,
        "mes.scrap_rate": "0.472727", "mes.plan_attainment": "0.725000",
        "mes.by_product.P1": {"orders": 1, "qty_good": 90, "qty_scrap": 10, "qty_planned": 100,
                              "scrap_rate": "0.100000", "plan_attainment": "0.900000"},
        "mes.by_product.P2": {"orders": 1, "qty_good": 200, "qty_scrap": 0, "qty_planned": 300,
                              "scrap_rate": "0.000000", "plan_attainment": "0.666667"},
        "mes.by_product.P3": {"orders": 4, "qty_good": 0, "qty_scrap": 250, "qty_planned": 0,
                              "scrap_rate": "1.000000", "plan_attainment": None},
        "iot.readings": 7, "iot.skipped": 1,
        "iot.machines.m1": {
            "readings": 5, "running": 4, "utilization": "0.800000", "parts": 130, "resets": 2,
            "energy_kwh": "11.250000", "energy_per_part": "0.086538", "longest_stop_s": 3600,
            "temp_c": {"readings": 5, "p50": 85, "p95": 90, "max": 90, "over_limit": "0.400000"},
            "vibration_mm_s": {"readings": 1, "p50": 1.5, "p95": 1.5, "max": 1.5, "over_limit": "0.000000"}},
        "iot.machines.m2": {
            "readings": 2, "running": 2, "utilization": "1.000000", "parts": 150, "resets": 0,
            "energy_kwh": "0.000000", "energy_per_part": "0.000000", "longest_stop_s": 3600,
            "temp_c": None,
            "vibration_mm_s": {"readings": 2, "p50": 4.5, "p95": 4.6, "max": 4.6, "over_limit": "0.500000"}},
        "sales.orders": 3, "sales.skipped": 1,
        "sales.by_currency.CNY": {"orders": 2, "amount_minor": 1000, "customers": 2, "top1_share": "0.500000",
                                  "top5_share": "1.000000", "hhi": "0.500000",
                                  "by_customer": {"A": 500, "B": 500}},
        "sales.by_currency.EUR": {"orders": 1, "amount_minor": 300, "customers": 1, "top1_share": "1.000000",
                                  "top5_share": "1.000000", "hhi": "1.000000", "by_customer": {"C": 300}},
        "cross_source.iot_parts": 280, "cross_source.mes_units": 550,
        "cross_source.mismatch": "0.568966", "cross_source.pairs": 6,
        "cross_source.worst": {"machine": "x1", "day": "2026-10-08", "iot_parts": 0, "mes_units": 70,
                               "mismatch": "1.000000"},
        "cross_source.by_machine_day": {
            "m1": {"2026-10-05": [130, 100]}, "m2": {"2026-10-08": [150, 200]},
            "z1": {"2026-10-08": [0, 60]}, "x1": {"2026-10-08": [0, 70]},
            "y1": {"2026-10-09": [0, 80]}, "m3": {"2026-10-08": [0, 40]}},
        "cross_source.by_product": {
            "P1": {"mes_good": 90, "erp_qty": 40, "ratio": "2.250000"},
            "P2": {"mes_good": 200, "erp_qty": 10, "ratio": "20.000000"},
            "P3": {"mes_good": 0, "erp_qty": 0, "ratio": None},
            "P4": {"mes_good": 0, "erp_qty": 5, "ratio": "0.000000"}},
        "daily": [
            {"day": "2026-10-05", "records": 13, "mes_good": 90, "mes_scrap": 10, "iot_parts": 130,
             "sales_minor": {"CNY": 1000, "EUR": 300}},
            {"day": "2026-10-08", "records": 8, "mes_good": 200, "mes_scrap": 170, "iot_parts": 150,
             "sales_minor": {}},
            {"day": "2026-10-09", "records": 1, "mes_good": 0, "mes_scrap": 80, "iot_parts": 0,
             "sales_minor": {}}],
        "weekly": [{"week": "2026-W41", "days": 3, "records": 22, "mes_good": 290, "mes_scrap": 260,
                    "iot_parts": 280, "sales_minor": {"CNY": 1000, "EUR": 300}}],
        "trend": {"output_cv": "0.846058", "output_growth": None,
                  "sales_cv": {"CNY": "1.414214", "EUR": "1.414214"},
                  "sales_growth": {"CNY": None, "EUR": None}},
        "flags[*].code": ["gap", "days_without_records", "device_health", "device_health", "high_scrap",
                          "plan_shortfall", "customer_concentration", "cross_source_mismatch",
                          "cross_source_mismatch", "product_mismatch", "skipped_records",
                          "skipped_records", "skipped_records"],
        "flags[*].figure": ["coverage.longest_gap_s", "coverage.days_without_records",
                            "iot.machines.m1.temp_c.over_limit", "iot.machines.m2.vibration_mm_s.over_limit",
                            "mes.scrap_rate", "mes.plan_attainment", "sales.by_currency.EUR.top1_share",
                            "cross_source.mismatch", "cross_source.worst.mismatch",
                            "cross_source.by_product.P4.ratio", "iot.skipped", "mes.skipped",
                            "sales.skipped"],
        "flags[*].value": ["226800", "2", "0.400000", "0.500000", "0.472727", "0.725000", "1.000000",
                           "0.568966", "1.000000", "0.000000", "1", "1", "1"],
        "flags[*].threshold": ["21600", "0", "0.050000", "0.050000", "0.050000", "0.900000", "0.500000",
                               "0.050000", "0.100000", "0.800000", "0", "0", "0"],
    }
    return {"name": "factory", "tz": "+00:00", "mapping": None, "thresholds": None,
            "records": records, "expected": expected}


MAPPING = {"format": "dpl-mapping/1", "types": {"mes.work_order": {
    "type": "mes.job", "fields": {"qty_good": "good", "qty_scrap": "bad", "qty_planned": "target",
                                  "product": "sku"}}}}


def case_mapping_tz() -> dict:
    """A mapping renaming a type and its fields; +08:00 moving records across midnight; a leap second."""
    records = [
        _rec(0, "2026-10-05T15:59:59.999Z", "mes.job", {"sku": "P1", "good": 10, "bad": 1, "target": 12}),
        _rec(1, "2026-10-05T16:00:00.000Z", "mes.job",
             {"sku": "P1", "good": 20, "bad": 0, "target": 20, "machine": "m1"}),
        # the mapped type's own name is no longer profiled
        _wo(2, "2026-10-06T00:30:00+08:00", "P9", 5, 0, 5),
        _rec(3, "2026-10-05T23:59:60Z", "iot.telemetry", {"machine": "m1", "state": "running", "parts_total": 7}),
    ]
    # In +08:00: r0 is 10-05 23:59:59.999, r1 10-06 00:00, r2 10-06 00:30, r3 (23:59:59Z) 10-06 07:59:59.
    # Time order r0 r1 r2 r3; longest gap r2 -> r3: 16:30:00 -> 23:59:59 = 26999 s.
    expected = {
        "coverage.records": 4, "coverage.days": 2, "coverage.days_without_records": 0,
        "coverage.first_ts": "2026-10-05T15:59:59.999Z", "coverage.last_ts": "2026-10-05T23:59:60Z",
        "coverage.longest_gap_s": 26999,
        "coverage.types": {"mes.job": 2, "mes.work_order": 1, "iot.telemetry": 1},
        "mes": {"orders": 2, "qty_good": 30, "qty_scrap": 1, "qty_planned": 32, "scrap_rate": "0.032258",
                "plan_attainment": "0.937500", "skipped": 0,
                "by_product": {"P1": {"orders": 2, "qty_good": 30, "qty_scrap": 1, "qty_planned": 32,
                                      "scrap_rate": "0.032258", "plan_attainment": "0.937500"}}},
        "iot.machines.m1": {"readings": 1, "running": 1, "utilization": "1.000000", "parts": 0, "resets": 0,
                            "energy_kwh": "0.000000", "energy_per_part": None, "longest_stop_s": 0,
                            "temp_c": None, "vibration_mm_s": None},
        "sales": None,
        "cross_source": {"iot_parts": 0, "mes_units": 20, "mismatch": "1.000000", "pairs": 1, "worst": None,
                         "by_machine_day": {"m1": {"2026-10-06": [0, 20]}},
                         "by_product": {"P1": {"mes_good": 30, "erp_qty": 0, "ratio": None}}},
        "daily": [
            {"day": "2026-10-05", "records": 1, "mes_good": 10, "mes_scrap": 1, "iot_parts": 0, "sales_minor": {}},
            {"day": "2026-10-06", "records": 3, "mes_good": 20, "mes_scrap": 0, "iot_parts": 0, "sales_minor": {}}],
        "trend.output_cv": "0.333333",  # [10, 20]: sqrt((2·500 − 900) / 900) = 1/3
        "flags[*].code": ["gap", "cross_source_mismatch"],
        "flags[*].figure": ["coverage.longest_gap_s", "cross_source.mismatch"],
    }
    return {"name": "mapping_tz", "tz": "+08:00", "mapping": MAPPING, "thresholds": None,
            "records": records, "expected": expected}


def case_big_sums() -> dict:
    """Sums beyond 2^53 are decimal strings."""
    records = [_wo(0, "2026-10-05T08:00:00Z", "BIG", BIG, 0, BIG),
               _wo(1, "2026-10-05T09:00:00Z", "BIG", BIG, 0, BIG)]
    twice = str(2 * BIG)
    assert twice == "18014398509481982"
    expected = {
        "mes.qty_good": twice, "mes.qty_planned": twice, "mes.qty_scrap": 0,
        "mes.scrap_rate": "0.000000", "mes.plan_attainment": "1.000000",
        "mes.by_product.BIG.qty_good": twice,
        "daily[0].mes_good": twice, "weekly[0].mes_good": twice,
        "iot": None, "sales": None,
        "cross_source": {"iot_parts": 0, "mes_units": 0, "mismatch": None, "pairs": 0, "worst": None,
                         "by_machine_day": {},
                         "by_product": {"BIG": {"mes_good": twice, "erp_qty": 0, "ratio": None}}},
        "trend": {"output_cv": None, "output_growth": None, "sales_cv": {}, "sales_growth": {}},
        "flags": [],
    }
    return {"name": "big_sums", "tz": "+00:00", "mapping": None, "thresholds": None,
            "records": records, "expected": expected}


def case_trend() -> dict:
    """14 days: growth, coefficient of variation, ISO weeks across a month's days, a one-day currency;
    percentile ranks over 20 readings with a custom limit."""
    records = []
    for day in range(1, 15):
        good = 100 if day <= 7 else 150
        records.append(_wo(len(records), f"2026-10-{day:02d}T10:00:00+00:00", "P1", good, 0, good))
    records.append(_so(len(records), "2026-10-01T12:00:00Z", "A", "CNY", 1000))
    # 20 readings of one machine, temp 20, 19, …, 1 (index order) at increasing times
    for k in range(20):
        records.append(_iot(len(records), f"2026-10-02T00:{k:02d}:00Z", "m1", "running", 0, temp_c=20 - k))
    # cv of 7×100, 7×150: mean 125, sd 25 -> 0.2; growth (1050 − 700) / 700 = 0.5.
    # CNY [1000, 0 × 13]: sqrt((14·10^6 − 10^6) / 10^6) = sqrt(13) = 3.6055512…; growth −1.
    # temp 1..20: p50 rank 10 -> 10, p95 rank 19 -> 19, over 15.5: 16..20 = 5/20.
    expected = {
        "coverage.days": 14, "coverage.records": 35,
        "trend": {"output_cv": "0.200000", "output_growth": "0.500000",
                  "sales_cv": {"CNY": "3.605551"}, "sales_growth": {"CNY": "-1.000000"}},
        "weekly[*].week": ["2026-W40", "2026-W41", "2026-W42"],
        "weekly[*].days": [4, 7, 3],
        "weekly[*].mes_good": [400, 900, 450],
        "weekly[*].records": [25, 7, 3],
        "weekly[*].sales_minor": [{"CNY": 1000}, {}, {}],
        "iot.machines.m1.temp_c": {"readings": 20, "p50": 10, "p95": 19, "max": 20, "over_limit": "0.250000"},
        "iot.machines.m1.longest_stop_s": 60,  # readings a minute apart, all running
        "flags[*].code": ["gap", "device_health", "customer_concentration"],  # gap: 24 h between days
    }
    return {"name": "trend", "tz": "+00:00", "mapping": None, "thresholds": {"temp_c_max": "15.5"},
            "records": records, "expected": expected}


def known_cases() -> list[dict]:
    return [case_factory(), case_mapping_tz(), case_big_sums(), case_trend()]


def lookup(profile, path: str):
    """The value at ``path`` (``a.b``, ``a[3]``, and ``a[*].b`` for the list of ``b`` over ``a``)."""
    import re

    if "[*]" in path:
        head, _, tail = path.partition("[*]")
        items = lookup(profile, head)
        tail = tail.lstrip(".")
        return [lookup(item, tail) if tail else item for item in items]
    value = profile
    for part in path.split("."):
        m = re.fullmatch(r"([^\[]*)((?:\[[0-9]+\])*)", part)
        if m.group(1):
            value = value[m.group(1)]
        for idx in re.findall(r"\[([0-9]+)\]", m.group(2)):
            value = value[int(idx)]
    return value
