"""Synthetic production data shaped like a small factory's: for demos, tests and benchmarks.

Deterministic for a given seed. Three record types:
- ``iot.telemetry``: a machine's reading every few minutes (temperature, spindle speed,
  vibration, power, parts counter, state);
- ``mes.work_order``: a work order finished on a line (product, quantities, scrap, times);
- ``erp.sales_order``: an order from a customer (lines, amount in minor units, currency).

``telemetry`` is readings alone (benchmarks); ``factory_month`` is a month of all three, coherent
across sources (MES follows the IoT counters, ERP follows MES), optionally with one machine's MES
over-reported. The bundled samples ``ledger/samples/factory-month.jsonl`` (coherent) and
``factory-month-overreport.jsonl`` (press-07 over-reported by 40 % on 8-10 October) are its
output, written by ``main`` (``python -m ledger.synthetic --help``);
``tests/ledger/test_synthetic.py`` holds them to it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=8))
MACHINES = ["cnc-01", "cnc-02", "press-07", "press-08", "mold-03", "weld-11"]
PRODUCTS = [("BRK-220", "brake bracket"), ("HSG-118", "pump housing"),
            ("FLG-045", "flange 45mm"), ("SHF-310", "drive shaft")]
CUSTOMERS = ["C-1042", "C-1077", "C-2013", "C-3150", "C-3301"]
#: What each machine makes (``factory_month``), its parts per 90 minutes, and the list prices.
MACHINE_PRODUCTS = {"cnc-01": ["SHF-310", "HSG-118"], "cnc-02": ["HSG-118"],
                    "press-07": ["BRK-220", "FLG-045"], "press-08": ["BRK-220"],
                    "mold-03": ["HSG-118", "FLG-045"], "weld-11": ["SHF-310"]}
RATES = {"cnc-01": 24, "cnc-02": 28, "press-07": 60, "press-08": 55, "mold-03": 36, "weld-11": 42}
PRICES = {"BRK-220": 1850, "HSG-118": 4200, "FLG-045": 650, "SHF-310": 3100}  # CNY fen
USD_CNY = 7.1


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


def telemetry(n: int, seed: int = 7, start: datetime | None = None,
              every: timedelta = timedelta(seconds=1)) -> Iterator[dict]:
    """``n`` telemetry readings, round-robin over the machines, ``every`` apart."""
    rnd = random.Random(seed)
    t = start or datetime(2026, 10, 1, tzinfo=TZ)
    counters = {m: rnd.randint(10_000, 90_000) for m in MACHINES}
    for i in range(n):
        m = MACHINES[i % len(MACHINES)]
        running = rnd.random() > 0.07
        counters[m] += running and rnd.randint(0, 3)
        yield {
            "id": f"tel-{m}-{i:09d}",
            "ts": _ts(t),
            "type": "iot.telemetry",
            "data": {
                "machine": m,
                "state": "running" if running else rnd.choice(["idle", "setup", "alarm"]),
                "temp_c": round(rnd.gauss(68.0, 4.0), 2),
                "spindle_rpm": rnd.randint(1400, 1600) if running else 0,
                "vibration_mm_s": round(abs(rnd.gauss(2.2, 0.6)), 3),
                "power_kw": round(rnd.uniform(9.0, 18.5), 2) if running else round(rnd.uniform(0.4, 1.2), 2),
                "parts_total": counters[m],
            },
        }
        t += every


def factory_month(days: int = 30, seed: int = 11, over_report: dict | None = None) -> Iterator[dict]:
    """A month of one factory's records, coherent across sources, in time order.

    - ``iot.telemetry`` every 15 minutes, round-robin over ``MACHINES`` (each machine every
      90 minutes): a running machine makes tens of parts between two of its readings, counted
      by ``parts_total``; a few short pauses, two stoppages of 4.5-6 hours (idle, alarm), and
      one counter reset (to the parts made since) on one machine; power follows the state.
    - ``mes.work_order``: per machine and 8-hour shift (00-08, 08-16, 16-24 at +08:00, so a
      day at +08:00 or at UTC is a whole number of shifts), one order whose ``qty_good +
      qty_scrap`` is the parts the counter saw in that shift within +-2 % (scrap 0.5-3 %,
      ``qty_planned`` a multiple of 50 near the order's size); each machine makes one or two
      products (``MACHINE_PRODUCTS``); the order is stamped a few minutes after the shift's
      last reading of its machine.
    - ``erp.sales_order``: per product, the month's ordered quantity is the MES ``qty_good``
      within +-7 %; five customers, one of them about 40 % of the CNY amount; a few USD orders,
      shared by three customers.

    ``over_report={"machine": "press-07", "days": [8, 9, 10], "factor": 1.4}`` multiplies that
    machine's MES units on those days of the month (1 = the first day, at +08:00); sales follow
    the reported output. Deterministic for a given ``seed`` and arguments.
    """
    rnd = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=TZ)
    if days < 7:
        raise ValueError("factory_month needs at least 7 days")
    slot = timedelta(minutes=15)
    n = days * 24 * 4
    over = over_report or {}
    over_days = {int(d) for d in over.get("days", ())}
    over_machine, over_factor = over.get("machine"), float(over.get("factor", 1.0))

    # The machines' real life: rate (parts per 90 min), pauses, stoppages, one reset.
    rate = {m: RATES[m] * rnd.uniform(0.9, 1.1) for m in MACHINES}
    stops: list[tuple[str, datetime, datetime, str]] = []
    for m, state in zip(rnd.sample(MACHINES, 2), ("alarm", "idle")):
        begin = start + timedelta(days=rnd.randint(4, days - 5) if days >= 9 else rnd.randint(1, days - 2),
                                  hours=rnd.randint(6, 14))
        stops.append((m, begin, begin + timedelta(hours=rnd.uniform(4.5, 5.9)), state))
    reset_machine = rnd.choice(MACHINES)
    reset_at = n * rnd.randint(35, 80) // 100

    events: list[tuple[datetime, int, dict]] = []
    counters = {m: rnd.randint(10_000, 90_000) for m in MACHINES}
    seen: set[str] = set()
    # (machine, shift start) -> [parts, first interval start, last reading time]
    shifts: dict[tuple[str, datetime], list] = {}
    for i in range(n):
        m = MACHINES[i % len(MACHINES)]
        t = start + slot * i
        state = "running"
        for sm, b, e, s in stops:
            if sm == m and b <= t < e:
                state = s
        if state == "running" and rnd.random() < 0.03:
            state = rnd.choice(["idle", "setup"])
        parts = 0
        if m in seen and state == "running":
            parts = max(1, round(rate[m] * rnd.gauss(1.0, 0.08)))
        counters[m] += parts
        if m == reset_machine and i >= reset_at and parts:
            counters[m], reset_at = parts, n  # replaced controller: counts from zero again
        seen.add(m)
        if parts:
            local = t.astimezone(TZ)
            shift = local.replace(hour=local.hour // 8 * 8, minute=0, second=0, microsecond=0)
            acc = shifts.setdefault((m, shift), [0, t - slot * len(MACHINES), t])
            acc[0] += parts
            acc[2] = t
        running = state == "running"
        power = {"running": rnd.uniform(9.0, 18.5), "setup": rnd.uniform(1.5, 3.0),
                 "idle": rnd.uniform(0.4, 1.2), "alarm": rnd.uniform(0.2, 0.8)}[state]
        events.append((t, i, {
            "id": f"tel-{m}-{i:09d}",
            "ts": _ts(t),
            "type": "iot.telemetry",
            "data": {
                "machine": m,
                "state": state,
                "temp_c": round(rnd.gauss(68.0, 4.0) + (6.0 if state == "alarm" else 0.0), 2),
                "spindle_rpm": rnd.randint(1400, 1600) if running else 0,
                "vibration_mm_s": round(abs(rnd.gauss(2.2, 0.6)), 3),
                "power_kw": round(power, 2),
                "parts_total": counters[m],
            },
        }))

    # MES: one work order per machine and shift with parts, stamped after its last reading.
    orders = []
    made: dict[str, int] = {p: 0 for p, _ in PRODUCTS}
    names = dict(PRODUCTS)
    for (m, shift), (parts, begun, last) in sorted(shifts.items(), key=lambda kv: kv[1][2]):
        units = parts * rnd.uniform(0.98, 1.02)
        if m == over_machine and (shift - start).days + 1 in over_days:
            units *= over_factor
        units = max(1, round(units))
        scrap = round(units * rnd.uniform(0.005, 0.03))
        code = rnd.choice(MACHINE_PRODUCTS[m])
        made[code] += units - scrap
        ended = last + timedelta(minutes=rnd.randint(1, 13), seconds=rnd.randint(0, 59))
        orders.append((ended, {
            "line": "line-a" if m in MACHINES[:3] else "line-b", "product": code,
            "product_name": names[code],
            "qty_planned": max(50, round(units * rnd.uniform(0.99, 1.06) / 50) * 50),
            "qty_good": units - scrap, "qty_scrap": scrap, "started": _ts(begun), "machine": m}))
    for k, (ended, data) in enumerate(sorted(orders, key=lambda o: o[0]), 1):
        events.append((ended, n + k, {"id": f"WO-2026-{k:05d}", "ts": _ts(ended),
                                      "type": "mes.work_order", "data": data}))

    # ERP: sales orders whose per-product quantities add up to the MES output (+-7 %).
    count = max(len(PRODUCTS), days * 5 // 2)
    lines_of: dict[str, list[list]] = {p: [] for p, _ in PRODUCTS}
    sales = []
    for _ in range(count):
        at = start + timedelta(days=rnd.randrange(days), hours=rnd.uniform(8, 18))
        lines = [[code, 0, round(PRICES[code] * rnd.uniform(0.95, 1.05))]
                 for code, _ in rnd.sample(PRODUCTS, rnd.randint(1, 3))]
        for line in lines:
            lines_of[line[0]].append(line)
        sales.append([at, lines])
    for code, _ in PRODUCTS:
        lines, target = lines_of[code], round(made[code] * rnd.uniform(0.93, 1.07))
        if not lines:  # every product is sold at least once
            lines.append([code, 0, PRICES[code]])
            sales[rnd.randrange(len(sales))][1].append(lines[-1])
        weights = [rnd.uniform(0.5, 1.5) for _ in lines]
        for line, w in zip(lines, weights):
            line[1] = round(target * w / sum(weights) / 10) * 10
        lines[-1][1] = max(0, lines[-1][1] + target - sum(line[1] for line in lines))
    sales.sort(key=lambda s: s[0])
    usd = set(rnd.sample(range(len(sales)), min(5, len(sales))))
    share = dict(zip(CUSTOMERS, (0.40, 0.19, 0.16, 0.14, 0.11)))
    billed = {c: 0 for c in CUSTOMERS}
    billed_usd = {c: 0 for c in CUSTOMERS[2:]}
    for k, (at, lines) in enumerate(sales, 1):
        currency = "USD" if k - 1 in usd else "CNY"
        items = [{"sku": code, "qty": qty,
                  "unit_price_minor": price if currency == "CNY" else round(price / USD_CNY)}
                 for code, qty, price in lines]
        amount = sum(it["qty"] * it["unit_price_minor"] for it in items)
        if currency == "USD":  # three customers abroad, the one billed least so far
            customer = min(CUSTOMERS[2:], key=lambda c: billed_usd[c])
            billed_usd[customer] += amount
        else:  # the customer furthest below its share of the amount billed so far
            total = sum(billed.values()) + amount
            customer = max(CUSTOMERS, key=lambda c: share[c] * total - billed[c] + rnd.uniform(0, amount / 3))
            billed[customer] += amount
        events.append((at, n + len(orders) + k, {
            "id": f"SO-2026-{k:05d}", "ts": _ts(at), "type": "erp.sales_order",
            "data": {"customer": customer, "currency": currency, "lines": items,
                     "amount_minor": amount, "due_days": rnd.choice([30, 60, 90])}}))
    events.sort(key=lambda e: (e[0], e[1]))
    for _, _, rec in events:
        yield rec


def main(argv: list[str] | None = None) -> None:
    """``python -m ledger.synthetic [--days 30] [--seed 11] [--over-report press-07:8,9,10:1.4]``
    writes ``factory_month`` as JSONL on stdout. The bundled samples::

        python -m ledger.synthetic > ledger/samples/factory-month.jsonl
        python -m ledger.synthetic --seed 12 --over-report press-07:8,9,10:1.4 \\
            > ledger/samples/factory-month-overreport.jsonl
    """
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m ledger.synthetic", description=main.__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--over-report", metavar="MACHINE:DAY,DAY:FACTOR",
                        help="multiply MACHINE's MES units on those days of the month by FACTOR")
    args = parser.parse_args(argv)
    over = None
    if args.over_report:
        try:
            machine, day_list, factor = args.over_report.split(":")
            over = {"machine": machine, "days": [int(d) for d in day_list.split(",")], "factor": float(factor)}
        except ValueError:
            parser.error("--over-report: expected MACHINE:DAY,DAY:FACTOR, e.g. press-07:8,9,10:1.4")
    out = sys.stdout
    for rec in factory_month(args.days, args.seed, over):
        out.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
