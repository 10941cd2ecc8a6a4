"""Synthetic production data shaped like a small factory's: for demos, tests and benchmarks.

Deterministic for a given seed. Three record types:
- ``iot.telemetry``: a machine's reading every few minutes (temperature, spindle speed,
  vibration, power, parts counter, state);
- ``mes.work_order``: a work order finished on a line (product, quantities, scrap, times);
- ``erp.sales_order``: an order from a customer (lines, amount in minor units, currency).
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


def factory_month(days: int = 30, seed: int = 11) -> Iterator[dict]:
    """A month of one factory's telemetry (every 15 min), work orders and sales orders, in time order."""
    rnd = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=TZ)
    events: list[tuple[datetime, dict]] = []
    for i, rec in enumerate(telemetry(days * 24 * 4, seed, start, timedelta(minutes=15))):
        events.append((start + timedelta(minutes=15 * i), rec))
    wo = so = 0
    for day in range(days):
        base = start + timedelta(days=day)
        for _ in range(rnd.randint(6, 10)):
            wo += 1
            code, name = rnd.choice(PRODUCTS)
            planned = rnd.choice([200, 250, 400, 500, 800])
            scrap = rnd.randint(0, planned // 40)
            begun = base + timedelta(hours=rnd.uniform(6, 16))
            ended = begun + timedelta(hours=rnd.uniform(1.5, 6))
            events.append((ended, {
                "id": f"WO-2026-{wo:05d}", "ts": _ts(ended), "type": "mes.work_order",
                "data": {"line": rnd.choice(["line-a", "line-b"]), "product": code, "product_name": name,
                         "qty_planned": planned, "qty_good": planned - scrap, "qty_scrap": scrap,
                         "started": _ts(begun), "machine": rnd.choice(MACHINES)},
            }))
        for _ in range(rnd.randint(1, 4)):
            so += 1
            at = base + timedelta(hours=rnd.uniform(8, 18))
            lines = [{"sku": code, "qty": rnd.choice([100, 200, 500, 1000]),
                      "unit_price_minor": rnd.randint(350, 4200)}
                     for code, _ in rnd.sample(PRODUCTS, rnd.randint(1, 3))]
            events.append((at, {
                "id": f"SO-2026-{so:05d}", "ts": _ts(at), "type": "erp.sales_order",
                "data": {"customer": rnd.choice(CUSTOMERS), "currency": "CNY", "lines": lines,
                         "amount_minor": sum(l["qty"] * l["unit_price_minor"] for l in lines),
                         "due_days": rnd.choice([30, 60, 90])},
            }))
    events.sort(key=lambda e: e[0])
    for _, rec in events:
        yield rec
