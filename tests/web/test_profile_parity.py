"""The browser's profile (api/web/static/js/verify/profile.js) is Python's (ledger/profile.py).

Record sets built here — the synthetic factory month with a few seeds and offsets, and random
edge cases (counter resets, gaps, ties, several currencies, skipped records, mappings,
out-of-order timestamps, sub-millisecond and leap-second times, sums beyond 2^53 - 1, floats
with exponents next to a limit) — go to one node run as their canonical record texts. For every
set the RFC 8785 bytes of the JS profile must equal Python's, or both must refuse the arguments;
``compareProfiles``/``checkProfile`` must give Python's answers on altered copies of the profile,
and ``recordDisagreements`` Python's words on records and altered records.
Node is required: a machine without it fails this test, it does not skip it.
"""

from __future__ import annotations

import copy
import importlib
import json
import random
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ledger import profile as prof
from ledger.canonical import canonicalize
from ledger.errors import BundleError, InvalidArgumentError
from ledger.records import prepare_record
from ledger.synthetic import factory_month

ROOT = Path(__file__).resolve().parents[2]
LOG_ID = bytes.fromhex("ab" * 32)
ROOT_HASH = bytes.fromhex("cd" * 32)
MAX = 2**53 - 1
EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)  # +23:59 still names a day of year 9999

RUNNER = r"""
import { readFileSync } from 'node:fs';
import { buildProfile, checkProfile, compareProfiles, recordDisagreements, MISSING } from './api/web/static/js/verify/profile.js';
import { canonicalText } from './api/web/static/js/verify/jcs.js';
import { parseJson } from './api/web/static/js/verify/json.js';
import { pyRepr } from './api/web/static/js/verify/pyfmt.js';
import { BundleError } from './api/web/static/js/verify/errors.js';

const shownLeaf = (v) => (v === MISSING ? 'MISSING' : pyRepr(v));
const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  const r = {};
  try {
    const records = c.records.map((t, i) => [c.start + i, JSON.parse(t)]);
    const p = buildProfile(records, { ...c.opts, logId: c.log_id, checkpointRoot: c.root });
    r.profile = canonicalText(p);
    r.compared = c.altered.map((t) => {
      const claimed = parseJson(t);
      let check = null;
      try { checkProfile(claimed); } catch (e) { if (!(e instanceof BundleError)) throw e; check = e.message; }
      return { check, diff: compareProfiles(claimed, p).map(([path, a, b]) => [path, shownLeaf(a), shownLeaf(b)]) };
    });
    r.disagreements = c.probes.map(([which, index, text]) => {
      const claimed = which === null ? JSON.parse(r.profile) : JSON.parse(c.altered[which]);
      return recordDisagreements(claimed, index, JSON.parse(text));
    });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    r.error = e.message;
  }
  out.push(r);
}
process.stdout.write(JSON.stringify(out));
"""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: the browser verifier cannot be tested")
    return node


# --------------------------------------------------------------------------- record sets


def _ts(rnd: random.Random, at: datetime) -> str:
    """``at`` written in a random offset, sometimes with sub-millisecond digits or a leap second."""
    off = rnd.choice([0, 0, 8 * 60, -5 * 60 - 30, 14 * 60, -12 * 60, 23 * 60 + 59])
    local = at.astimezone(timezone(timedelta(minutes=off)))
    text = f"{local.year:04d}-" + local.strftime("%m-%dT%H:%M:%S")  # %Y is "1" for year 1
    roll = rnd.random()
    if roll < 0.2:
        text += "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 9)))
    elif roll < 0.25 and text.endswith(":59"):
        text = text[:-2] + "60"  # a leap second reads as :59
    elif roll < 0.5:
        text += f".{at.microsecond // 1000:03d}"
    if off == 0 and rnd.random() < 0.7:
        return text + rnd.choice("Zz")
    sign = "-" if off < 0 else "+"
    return f"{text}{sign}{abs(off) // 60:02d}:{abs(off) % 60:02d}"


def _float(rnd: random.Random) -> float | int:
    return rnd.choice([
        rnd.randint(0, 100), round(rnd.uniform(0, 100), rnd.randint(0, 6)), 85, 85.0000001, 84.99999999999999,
        4.5, 4.500000000000001, 1e-7, 2.5e-8, -3.25, 1e21, -1.5e300, 4503599627370495.5, 123456789.123, 0.1, rnd.uniform(-1e3, 1e3),
    ])


def _random_set(rnd: random.Random, n: int) -> list[dict]:
    machines = rnd.sample(["m1", "m2", "M-3", "z\u00e9", "\U0001F600x", "\uffefy"], rnd.randint(1, 4))
    products = rnd.sample(["P1", "P2", "P3", "BRK-220", "\u00e9"], rnd.randint(1, 4))
    currencies = rnd.sample(["EUR", "CNY", "USD", "JPY"], rnd.randint(1, 3))
    customers = [f"C{i}" for i in range(rnd.randint(1, 8))]
    big = rnd.random() < 0.25
    year = rnd.choice([2026, 2026, 2020, 1, 9999, 1970])
    base = datetime(year, rnd.choice([1, 6, 12]), rnd.choice([1, 15, 28]), tzinfo=timezone.utc)
    if year == 9999:
        base = datetime(9999, 12, 1, tzinfo=timezone.utc)
    if year == 1:
        base = EARLIEST
    at = base
    counters = {m: rnd.randint(0, 1000) for m in machines}
    out = []
    for i in range(n):
        step = rnd.choice([0, 0, 1, 900, 900, 3600, 3600 * 7, 86400, 86400 * 3]) * 1000 + rnd.randint(0, 999)
        at = at + timedelta(milliseconds=step) if LATEST - at > timedelta(days=4) else LATEST
        when = at
        if rnd.random() < 0.15 and at - EARLIEST > timedelta(seconds=200000):  # out of time order
            when = at - timedelta(seconds=rnd.randint(1, 200000))
        kind = rnd.choice(["iot", "iot", "iot", "mes", "mes", "erp", "other"])
        if kind == "iot":
            m = rnd.choice(machines)
            r = rnd.random()
            if r < 0.08:
                counters[m] = rnd.randint(0, 50)  # a reset
            elif r < 0.1:
                counters[m] = MAX - rnd.randint(0, 10) if big else counters[m]
            else:
                counters[m] += rnd.choice([0, 0, 1, 5, 17, 60, 200])
                if counters[m] > MAX:
                    counters[m] = rnd.randint(0, 100)
            data = {"machine": m, "state": rnd.choice(["running", "running", "idle", "down", "Running"]),
                    "parts_total": counters[m]}
            for key in ("power_kw", "temp_c", "vibration_mm_s"):
                if rnd.random() < 0.7:
                    data[key] = _float(rnd)
            if rnd.random() < 0.05:
                data["temp_c"] = rnd.choice([True, "80", None])
            if rnd.random() < 0.05:
                del data[rnd.choice(["machine", "state", "parts_total"])]
            if rnd.random() < 0.03:
                data["parts_total"] = rnd.choice([-1, 1.5, "7"])
            rtype = "iot.telemetry"
        elif kind == "mes":
            planned = rnd.choice([0, 100, 200, 500]) if not big else rnd.choice([MAX, MAX // 2])
            scrap = rnd.randint(0, 30)
            good = max(0, min(MAX, planned - scrap + rnd.randint(-50, 50)))
            data = {"product": rnd.choice(products), "qty_good": good, "qty_scrap": scrap, "qty_planned": planned}
            if rnd.random() < 0.7:
                data["machine"] = rnd.choice(machines + ["ghost"])
            if rnd.random() < 0.05:
                data["machine"] = 7
            if rnd.random() < 0.06:
                data[rnd.choice(["product", "qty_good", "qty_scrap", "qty_planned"])] = rnd.choice([None, -3, 2.5, "10", False])
            rtype = "mes.work_order"
        elif kind == "erp":
            amount = rnd.choice([0, rnd.randint(1, 100000), 12345]) if not big else rnd.choice([MAX, rnd.randint(0, MAX)])
            data = {"customer": rnd.choice(customers), "currency": rnd.choice(currencies), "amount_minor": amount}
            if rnd.random() < 0.8:
                data["lines"] = [rnd.choice([{"sku": rnd.choice(products), "qty": rnd.randint(0, 300)},
                                             {"sku": rnd.choice(products), "qty": 2.5}, {"sku": 5, "qty": 1}, "x",
                                             {"qty": 3}])
                                 for _ in range(rnd.randint(0, 3))]
            if rnd.random() < 0.05:
                data["lines"] = "not a list"
            if rnd.random() < 0.06:
                data[rnd.choice(["customer", "currency", "amount_minor"])] = rnd.choice([None, -1, 1.5, ["a"]])
            rtype = "erp.sales_order"
        else:
            rtype, data = rnd.choice(["qa.inspection", "mes.job", "iot.other"]), {"x": rnd.randint(0, 9)}
        out.append({"id": f"r{i}", "ts": _ts(rnd, when), "type": rtype, "data": data})
    return out


def _mapped(rnd: random.Random, records: list[dict]) -> tuple[list[dict], dict]:
    """The records renamed the way a mapping undoes, and that mapping."""
    mapping = {"format": "dpl-mapping/1", "types": {
        "mes.work_order": {"type": "mes.job", "fields": {"qty_good": "good", "qty_scrap": "bad", "qty_planned": "target",
                                                          "product": "sku"}},
        "erp.sales_order": {"fields": {"amount_minor": "cents"}},
    }}
    renames = {"mes.work_order": ("mes.job", {"qty_good": "good", "qty_scrap": "bad", "qty_planned": "target",
                                              "product": "sku"}),
               "erp.sales_order": ("erp.sales_order", {"amount_minor": "cents"})}
    out = []
    for r in records:
        r = copy.deepcopy(r)
        if r["type"] in renames and rnd.random() < 0.9:
            new_type, fields = renames[r["type"]]
            r["type"] = new_type
            r["data"] = {fields.get(k, k): v for k, v in r["data"].items()}
        out.append(r)
    return out, mapping


# --------------------------------------------------------------------------- altered copies


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def _set(doc, path, fn):
    node = doc
    for k in path[:-1]:
        node = node[k]
    fn(node, path[-1])


def _altered(rnd: random.Random, profile: dict) -> list[str]:
    leaves = [p for p, _ in _leaves(profile) if p]
    out = []
    for _ in range(6):
        doc = copy.deepcopy(profile)
        path = rnd.choice(leaves)
        change = rnd.choice(["bump", "string", "float", "drop", "add", "bool", "null"])

        def edit(node, key, change=change):
            v = node[key]
            if change == "bump":
                node[key] = v + 1 if type(v) is int else (v + "0" if type(v) is str else 1)
            elif change == "string":
                node[key] = str(v)
            elif change == "float":
                node[key] = float(v) + 0.5 if type(v) in (int, float) else 1.5
            elif change == "drop":
                if isinstance(node, dict):
                    del node[key]
                else:
                    node.pop(key)
            elif change == "add":
                if isinstance(node, dict):
                    node["zz_extra"] = 1
                else:
                    node.append({"day": "2999-01-01", "sales_minor": {}})
            elif change == "bool":
                node[key] = True
            else:
                node[key] = None

        _set(doc, path, edit)
        out.append(json.dumps(doc, ensure_ascii=rnd.random() < 0.5))
    lowered = copy.deepcopy(profile)  # figures lowered so that records disagree with their day
    for d in lowered["daily"]:
        d["mes_good"] = 0
        d["sales_minor"] = {c: 1 for c in d["sales_minor"]}
    if lowered["iot"]:
        lowered["iot"]["machines"] = {}
    if lowered["mes"]:
        for p in lowered["mes"]["by_product"].values():
            p["qty_good"] = "1"
    if lowered["sales"]:
        for c in lowered["sales"]["by_currency"].values():
            c["by_customer"] = {k: 0 for k in list(c["by_customer"])[:1]}
    lowered["daily"] = lowered["daily"][1:]
    out.append(json.dumps(lowered))
    return out


def _probes(rnd: random.Random, records: list[dict], start: int, valid: list[int]) -> list:
    """Records (some altered) to check against the profile (None) or an altered copy that still
    has a profile's shape (record_disagreements expects a checked profile)."""
    out = []
    for _ in range(12):
        i = rnd.randrange(len(records))
        r = copy.deepcopy(records[i])
        if rnd.random() < 0.5 and isinstance(r.get("data"), dict):
            data = r["data"]
            key = rnd.choice(list(data) or ["x"])
            data[key] = rnd.choice([10**9, 0, "ghost", MAX])
        if rnd.random() < 0.2:
            r["ts"] = "2999-01-01T00:00:00Z"
        index = start + i if rnd.random() < 0.9 else start - 1
        which = None if rnd.random() < 0.5 or not valid else rnd.choice(valid)
        out.append([which, index, json.dumps(r)])
    return out


# --------------------------------------------------------------------------- cases


def _python(case: dict, record_values: list[dict]) -> dict:
    r: dict = {}
    try:
        p = prof.build_profile(list(enumerate(record_values, case["start"])), log_id=LOG_ID,
                               checkpoint_root=ROOT_HASH, **{k: v for k, v in case["py_opts"].items()})
        r["profile"] = canonicalize(p).decode()
        compared = []
        for text in case["altered"] if "altered" in case else []:
            claimed = json.loads(text)
            try:
                prof.check_profile(claimed)
                check = None
            except BundleError as e:
                check = str(e)
            diff = [[path, repr(a), repr(b)] for path, a, b in prof.compare_profiles(claimed, p)]
            compared.append({"check": check, "diff": diff})
        r["compared"] = compared
        r["disagreements"] = [
            prof.record_disagreements(json.loads(r["profile"]) if which is None else json.loads(case["altered"][which]),
                                      index, json.loads(text))
            for which, index, text in case.get("probes", [])]
    except InvalidArgumentError as e:
        r["error"] = str(e)
    return r


def _case(records: list[dict], rnd: random.Random, *, tz="+00:00", mapping=None, thresholds=None, start=0,
          size_extra=0, alter=True) -> tuple[dict, list[dict]]:
    texts = [prepare_record(r, i).canonical.decode() for i, r in enumerate(records)]
    values = [json.loads(t) for t in texts]  # as read back from the canonical bytes
    py_opts = {"stream": "line-a/all", "start": start, "end": start + len(records),
               "checkpoint_size": start + len(records) + size_extra, "tz": tz, "mapping": mapping,
               "thresholds": thresholds}
    case = {"records": texts, "start": start, "log_id": "0x" + LOG_ID.hex(), "root": "0x" + ROOT_HASH.hex(),
            "opts": {"stream": py_opts["stream"], "start": start, "end": py_opts["end"],
                     "checkpointSize": py_opts["checkpoint_size"], "tz": tz, "mapping": mapping,
                     "thresholds": thresholds},
            "py_opts": py_opts, "altered": [], "probes": []}
    if alter:
        try:
            p = prof.build_profile(list(enumerate(values, start)), log_id=LOG_ID, checkpoint_root=ROOT_HASH, **py_opts)
        except InvalidArgumentError:
            pass
        else:
            case["altered"] = _altered(rnd, p)
            valid = []
            for k, text in enumerate(case["altered"]):
                try:
                    prof.check_profile(json.loads(text))
                    valid.append(k)
                except BundleError:
                    pass
            case["probes"] = _probes(rnd, values, start, valid)
    return case, values


def _known_answer_cases(rnd: random.Random):
    """The Python side's record sets whose every figure is known (tests/ledger/profile_cases.py)."""
    from tests.ledger.profile_cases import known_cases

    return [(_case(c["records"], rnd, tz=c["tz"], mapping=c["mapping"], thresholds=c["thresholds"]), c["expected"])
            for c in known_cases()]


def _all_cases():
    rnd = random.Random(2026)
    cases = []
    for seed, days, tz in ((11, 30, "+08:00"), (3, 21, "+00:00"), (7, 10, "-05:30"), (5, 40, "+14:00")):
        cases.append(_case(list(factory_month(days=days, seed=seed)), rnd, tz=tz))
    month = list(factory_month(days=15, seed=2))
    cases.append(_case(month, rnd, tz="+08:00", thresholds={"max_gap_s": 600, "stoppage_s": 0, "worst_min_units": 0,
                                                           "temp_c_max": "60", "vibration_mm_s_max": "1.25",
                                                           "min_utilization": "0.950000", "max_over_limit": "0.000000",
                                                           "max_scrap_rate": "0.010000", "min_plan_attainment": "1.000000",
                                                           "max_top1_share": "0.100000", "min_product_ratio": "5.000000"}))
    cases.append(_case(month[100:400], rnd, start=100, size_extra=5))
    for k in range(120):
        records = _random_set(rnd, rnd.choice([1, 2, 3, 8, 30, 80, 200]))
        tz = rnd.choice(["+00:00", "+08:00", "-05:30", "+23:59", "-23:59", "+05:45"])
        thresholds = None
        if rnd.random() < 0.3:
            thresholds = {"temp_c_max": rnd.choice(["85", "85.0000001", "84.99999999999999", "-1"]),
                          "vibration_mm_s_max": rnd.choice(["4.5", "4.500000000000001", "0"]),
                          "worst_min_units": rnd.choice([0, 1, 50, 10**6]),
                          "max_worst_mismatch": rnd.choice(["0.000000", "0.100000", "1.000000"])}
        mapping = None
        if k % 5 == 0:
            records, mapping = _mapped(rnd, records)
        cases.append(_case(records, rnd, tz=tz, mapping=mapping, thresholds=thresholds))
    # Arguments both refuse, in the same words.
    small = _random_set(rnd, 3)
    for bad in ({"tz": "+24:00"}, {"tz": "08:00"}, {"thresholds": {"max_gap_s": -1}},
                {"thresholds": {"max_mismatch": "0.05"}}, {"thresholds": {"nope": 1}},
                {"thresholds": {"temp_c_max": "1e3"}},
                {"thresholds": {"temp_c_max": "1" * 5000}}, {"thresholds": {"max_mismatch": "9" * 5000 + ".000000"}},
                {"thresholds": {"vibration_mm_s_max": "0." + "0" * 38 + "1"}},
                {"mapping": {"format": "dpl-mapping/1", "types": {"mes.work_order": {"type": "iot.telemetry"}}}},
                {"mapping": {"format": "dpl-mapping/1", "types": {"x.y": {}}}},
                {"mapping": {"format": "dpl-mapping/1", "types": {"mes.work_order": {"fields": {"qty_good": "a", "qty_scrap": "a"}}}}},
                {"mapping": {"format": "dpl-mapping/1", "types": {"mes.work_order": {"type": "a"}, "erp.sales_order": {"type": "a"}}}},
                {"mapping": {"format": "dpl-mapping/2", "types": {}}}):
        cases.append(_case(small, rnd, alter=False, **bad))
    return cases


def test_js_profiles_are_pythons_bytes(tmp_path):
    cases = _all_cases()
    known = _known_answer_cases(random.Random(7))
    first_known = len(cases)
    cases += [case for case, _ in known]
    expected = [_python(case, values) for case, values in cases]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([case for case, _ in cases]))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
    proc = subprocess.run([_node(), str(runner), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert len(got) == len(expected)
    assert sum("profile" in e for e in expected) >= 120
    assert sum("error" in e for e in expected) >= 10
    failures = []
    for i, (g, e) in enumerate(zip(got, expected)):
        if g.get("error") != e.get("error"):
            failures.append(f"case {i}: error {g.get('error')!r} != {e.get('error')!r}")
        elif "profile" in e:
            if g["profile"] != e["profile"]:
                diff = prof.compare_profiles(json.loads(g["profile"]), json.loads(e["profile"]))
                failures.append(f"case {i}: JS profile differs from Python's at {diff[:3]}")
            elif g["compared"] != e["compared"]:
                bad = next(k for k, (x, y) in enumerate(zip(g["compared"], e["compared"])) if x != y)
                failures.append(f"case {i}: compare/check of altered copy {bad}: JS {g['compared'][bad]} "
                                f"Python {e['compared'][bad]}")
            elif g["disagreements"] != e["disagreements"]:
                bad = next(k for k, (x, y) in enumerate(zip(g["disagreements"], e["disagreements"])) if x != y)
                failures.append(f"case {i}: probe {bad}: JS {g['disagreements'][bad]} Python {e['disagreements'][bad]}")
    for (_, expected_figures), g in zip(known, got[first_known:]):  # JS gets the figures worked out by hand
        from tests.ledger.profile_cases import lookup

        js = json.loads(g["profile"])
        for path, value in expected_figures.items():
            if lookup(js, path) != value:
                failures.append(f"known case: {path} is {lookup(js, path)!r} in JS, {value!r} by hand")
    assert not failures, f"{len(failures)} of {len(expected)} cases differ:\n" + "\n".join(failures[:20])
    # The tests can fail: altered copies differ and some probes disagree.
    assert any(c["diff"] for e in expected if "compared" in e for c in e["compared"])
    assert any(d for e in expected if "disagreements" in e for d in e["disagreements"])


def test_edge_numbers_and_years_give_pythons_bytes(tmp_path):
    """Readings past 2^53 (1e21 is canonically "1e+21", an integral float, not an integer) are
    written back as the readings' own numbers, and ISO weeks of years before 1000 have a 4-digit
    year ("0001-W01", as days are "0001-01-01"): both sides, the same bytes."""
    rnd = random.Random(1)
    records = [
        {"id": "a", "ts": "0001-01-01T00:00:00Z", "type": "iot.telemetry",
         "data": {"machine": "m", "state": "running", "parts_total": 1, "temp_c": 1e21, "vibration_mm_s": 1.5e300,
                  "power_kw": 2e22}},
        {"id": "b", "ts": "0001-01-09T00:00:00.5Z", "type": "iot.telemetry",
         "data": {"machine": "m", "state": "idle", "parts_total": 3, "temp_c": -1e21, "vibration_mm_s": 4.5}},
        {"id": "c", "ts": "0999-12-31T23:59:60Z", "type": "mes.work_order",
         "data": {"product": "P", "qty_good": 5, "qty_scrap": 0, "qty_planned": 5}},
    ]
    case, values = _case(records, rnd, alter=False)
    expected = _python(case, values)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([case]))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
    proc = subprocess.run([_node(), str(runner), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)[0]
    assert got == expected
    js = json.loads(got["profile"])
    assert js["iot"]["machines"]["m"]["temp_c"]["max"] == 1e21
    assert [w["week"] for w in js["weekly"]] == ["0001-W01", "0001-W02", "1000-W01"]  # 0999-12-31 is a Tuesday


def test_tampered_counts_are_no_counts_in_both(tmp_path):
    """record_disagreements on a profile whose counts are of the wrong kind ("abc", "+1_0", " 7",
    2.5, true, null): such a figure counts as 0, so the record disagrees with it, in the same words
    on both sides; never an exception (check_profile does not check figures one by one)."""
    rnd = random.Random(3)
    records = [
        {"id": "a", "ts": "2026-01-01T08:00:00Z", "type": "mes.work_order",
         "data": {"product": "P", "qty_good": 5, "qty_scrap": 0, "qty_planned": 5}},
        {"id": "b", "ts": "2026-01-01T09:00:00Z", "type": "erp.sales_order",
         "data": {"customer": "C", "currency": "EUR", "amount_minor": 40}},
    ]
    case, values = _case(records, rnd, alter=False)
    p = prof.build_profile(list(enumerate(values)), log_id=LOG_ID, checkpoint_root=ROOT_HASH, **case["py_opts"])
    for bad in ("abc", "+1_0", " 7", "7 ", "07", 2.5, True, None, "9007199254740993", "-0"):
        doc = copy.deepcopy(p)
        doc["daily"][0]["mes_good"] = bad
        doc["daily"][0]["sales_minor"]["EUR"] = bad
        doc["mes"]["by_product"]["P"]["qty_good"] = bad
        doc["sales"]["by_currency"]["EUR"]["by_customer"]["C"] = bad
        prof.check_profile(doc)  # the shape is a profile's
        case["altered"].append(json.dumps(doc))
    case["probes"] = [[k, i, json.dumps(values[i])] for k in range(len(case["altered"])) for i in (0, 1)]
    expected = _python(case, values)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([case]))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
    proc = subprocess.run([_node(), str(runner), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)[0]
    assert got["disagreements"] == expected["disagreements"]
    assert got["disagreements"][0] == [
        "work order 0 has qty_good 5, more than the abc good units of 2026-01-01",
        "work order 0 has qty_good 5, more than the abc good units of product P"]


def test_tampered_sections_list_nothing_in_both(tmp_path):
    """record_disagreements on a profile whose sections are of the wrong kind (check_profile checks
    only that mes, iot and sales are objects): machines as a list or a string, by_product,
    by_currency or by_customer as a list, a product's or currency's entry a number. Such a section
    lists nothing, so the record disagrees, in the same words on both sides. Python raised
    AttributeError on most, and found machine "m" in the string "m2m" (a sampled reading agreed)."""
    rnd = random.Random(4)
    records = [
        {"id": "a", "ts": "2026-01-01T08:00:00Z", "type": "mes.work_order",
         "data": {"product": "P", "qty_good": 5, "qty_scrap": 0, "qty_planned": 5}},
        {"id": "b", "ts": "2026-01-01T09:00:00Z", "type": "erp.sales_order",
         "data": {"customer": "C", "currency": "EUR", "amount_minor": 40}},
        {"id": "c", "ts": "2026-01-01T10:00:00Z", "type": "iot.telemetry",
         "data": {"machine": "m", "state": "running", "parts_total": 3}},
    ]
    case, values = _case(records, rnd, alter=False)
    p = prof.build_profile(list(enumerate(values)), log_id=LOG_ID, checkpoint_root=ROOT_HASH, **case["py_opts"])
    edits = [
        lambda d: d["iot"].update(machines=["m"]),
        lambda d: d["iot"].update(machines="m2m"),
        lambda d: d["mes"].update(by_product=["P"]),
        lambda d: d["mes"]["by_product"].update(P=5),
        lambda d: d["sales"].update(by_currency=["EUR"]),
        lambda d: d["sales"]["by_currency"].update(EUR=7),
        lambda d: d["sales"]["by_currency"]["EUR"].update(by_customer=["C"]),
    ]
    for edit in edits:
        doc = copy.deepcopy(p)
        edit(doc)
        prof.check_profile(doc)  # the shape is a profile's
        case["altered"].append(json.dumps(doc))
    case["probes"] = [[k, i, json.dumps(values[i])] for k in range(len(edits)) for i in (0, 1, 2)]
    expected = _python(case, values)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([case]))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
    proc = subprocess.run([_node(), str(runner), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)[0]
    assert got["disagreements"] == expected["disagreements"]
    by_probe = expected["disagreements"]
    assert by_probe[1 * 3 + 2] == ["reading 2 is from machine m, which the profile does not list"]
    assert by_probe[2 * 3 + 0] == ["work order 0 is for product P, which the profile does not list"]
    assert by_probe[3 * 3 + 0] == ["work order 0 has qty_good 5, more than the None good units of product P"]
    assert by_probe[6 * 3 + 1] == ["sales order 1 is for 40 EUR (minor units), more than the 0 the profile gives "
                                   "customer C"]


def test_names_like_proto_are_ordinary_keys_in_both(tmp_path):
    """A machine, product, customer, currency or sku named "__proto__" (or
    "constructor") is a key like any other: the browser wrote machines["__proto__"] = …, which sets
    the object's prototype instead, so the machine vanished from its profile (Python kept it): an
    honest profile was NOT SOUND in the browser, and one hiding that machine SOUND there only."""
    rnd = random.Random(5)
    records = []
    for i, name in enumerate(["__proto__", "constructor", "__proto__", "constructor"]):
        records += [
            {"id": f"r{i}", "ts": f"2026-01-0{i + 1}T08:00:00Z", "type": "iot.telemetry",
             "data": {"machine": name, "state": "idle", "parts_total": 10 * i}},
            {"id": f"w{i}", "ts": f"2026-01-0{i + 1}T09:00:00Z", "type": "mes.work_order",
             "data": {"product": name, "qty_good": 5, "qty_scrap": 1, "qty_planned": 9, "machine": name}},
            {"id": f"s{i}", "ts": f"2026-01-0{i + 1}T10:00:00Z", "type": "erp.sales_order",
             "data": {"customer": name, "currency": name, "amount_minor": 40,
                      "lines": [{"sku": name, "qty": 3}]}},
        ]
    case, values = _case(records, rnd, alter=False)
    expected = _python(case, values)
    p = json.loads(expected["profile"])
    assert set(p["iot"]["machines"]) == set(p["sales"]["by_currency"]) == {"__proto__", "constructor"}
    assert set(p["mes"]["by_product"]) == set(p["cross_source"]["by_machine_day"]) == {"__proto__", "constructor"}
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([case]))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
    proc = subprocess.run([_node(), str(runner), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)[0]
    assert got["profile"] == expected["profile"]


def test_daily_must_ascend_in_both(tmp_path):
    """A profile read from outside lists each day once, ascending (so a sampled record's day is
    found by bisection, not by scanning a declared list of millions): both refuse a repeated or
    reordered day in the same words, and still find the day of every record of a good one."""
    rnd = random.Random(6)
    records = [{"id": f"w{i}", "ts": f"2026-01-0{i + 1}T09:00:00Z", "type": "mes.work_order",
                "data": {"product": "P", "qty_good": 5, "qty_scrap": 1, "qty_planned": 9}} for i in range(4)]
    case, values = _case(records, rnd, alter=False)
    p = prof.build_profile(list(enumerate(values)), log_id=LOG_ID, checkpoint_root=ROOT_HASH, **case["py_opts"])
    repeated, reordered = copy.deepcopy(p), copy.deepcopy(p)
    repeated["daily"].insert(2, copy.deepcopy(repeated["daily"][1]))
    reordered["daily"][1], reordered["daily"][2] = reordered["daily"][2], reordered["daily"][1]
    case["altered"] = [json.dumps(repeated), json.dumps(reordered), json.dumps(p)]
    case["probes"] = [[2, i, json.dumps(values[i])] for i in range(4)] + [[None, 3, json.dumps(values[3])]]
    expected = _python(case, values)
    assert [c["check"] for c in expected["compared"]] == [
        "profile daily[2]: day '2026-01-02' does not come after '2026-01-02' (days are ascending, each once)",
        "profile daily[2]: day '2026-01-02' does not come after '2026-01-03' (days are ascending, each once)",
        None]
    assert expected["disagreements"] == [[], [], [], [], []]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([case]))
    runner = tmp_path / "runner.mjs"
    runner.write_text(RUNNER.replace("'./api/", f"'{ROOT.as_posix()}/api/"))
    proc = subprocess.run([_node(), str(runner), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)[0]
    assert got["compared"] == expected["compared"] and got["disagreements"] == expected["disagreements"]
