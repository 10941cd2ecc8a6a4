"""The production profile `dpl-profile/1` (`docs/PROFILE.md` §1-6): what a lender decides on,
computed from the records of a range of one log. Pure: records in, a JSON-ready dict out.

Every figure is exact (integers, rationals rounded half-even by ``ledger.exact``), so the
browser's ``api/web/static/js/verify/profile.js`` prints the same RFC 8785 bytes.

Use ``build_profile(records, ...)`` on an iterable of ``(index, record)`` or on a callable
returning a fresh such iterable, or feed a ``ProfileBuilder`` one record at a time (``add``) and
call ``result``.

Time order and memory. Records come in index order, which is usually but not always time
order ``(instant, index)``; the machines' figures and ``coverage.longest_gap_s`` follow time
order. Two modes give the same profile, byte for byte:
- streaming (``ProfileBuilder(in_order=True)``): while each record's instant is at or after the
  one before it, nothing is kept per record: per machine the previous reading (instant,
  ``parts_total``, running, power) and the running sums (parts, resets, energy per power value,
  longest stop), for the gap the previous instant. At the first record earlier in time than one
  before it, ``add`` raises ``OutOfOrder``;
- arrays (the default): one ``array('q')`` of instants (8 bytes per record) and, per IoT
  machine, compact arrays of its counted readings (instant, ``parts_total``, a running bit and
  the id of its ``power_kw`` value: 21 bytes per reading), walked at ``result`` in time order.
  Instants or readings that did not come in time order are sorted at ``result``, transiently:
  the instants as a list of ints (about 40 bytes per record), each such machine's readings as a
  list of positions (sorted by ``(instant, arrival)``).
``build_profile`` given a callable streams, and on ``OutOfOrder`` calls it again and reads the
records once more in array mode; given an iterable, it uses array mode from the start.
In both modes everything else is bounded not by the number of records but by the number of
distinct: days (and the ISO weeks and (machine, day) pairs within them), record types,
machines, products, SKUs, customers and currencies; ``temp_c`` and ``vibration_mm_s`` values
per machine and ``power_kw`` values (exact percentiles and energy need them); timestamp dates
(a cache, at most 100,000) and offsets. So streaming memory is flat in the number of records;
array mode adds about 29 bytes per reading and 8 per other record. Measured
(``bench/bench_profile.py``, 1,000,000 records, 99.4% telemetry, tracemalloc peak of the build,
the records' reading included): streamed 2.8 MiB (2.5 MiB at 100,000 records: the new distinct
values), arrays 30.8 MiB in time order and 48.8 MiB out of it.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from ledger import exact
from ledger.canonical import canonicalize
from ledger.errors import BundleError, InvalidArgumentError
from ledger.exact import DAY_MS, MAX_SAFE_INTEGER, count, ratio

__all__ = [
    "PROFILE_FORMAT",
    "MAPPING_FORMAT",
    "DEFAULT_THRESHOLDS",
    "MISSING",
    "ProfileBuilder",
    "OutOfOrder",
    "ProfileParams",
    "build_profile",
    "check_tz",
    "check_mapping",
    "check_thresholds",
    "check_profile",
    "compare_profiles",
    "record_disagreements",
    "profile_digest",
]

PROFILE_FORMAT = "dpl-profile/1"
MAPPING_FORMAT = "dpl-mapping/1"

DEFAULT_THRESHOLDS: dict = {
    "max_gap_s": 21600,
    "stoppage_s": 28800,
    "worst_min_units": 50,
    "temp_c_max": "85",
    "vibration_mm_s_max": "4.5",
    "min_utilization": "0.500000",
    "max_over_limit": "0.050000",
    "max_scrap_rate": "0.050000",
    "min_plan_attainment": "0.900000",
    "max_top1_share": "0.500000",
    "max_worst_mismatch": "0.100000",
    "max_mismatch": "0.050000",
    "min_product_ratio": "0.800000",
}
_INT_THRESHOLDS = ("max_gap_s", "stoppage_s", "worst_min_units")
#: The longest threshold string (a decimal or a ratio): exact comparison reads it as a rational,
#: and a 5,000-digit one would pass the shape check and fail or stall every build that uses it.
MAX_THRESHOLD_TEXT = 40
_DECIMAL_THRESHOLDS = ("temp_c_max", "vibration_mm_s_max")

MES, IOT, ERP = "mes.work_order", "iot.telemetry", "erp.sales_order"
#: The fields of section 2 a mapping may rename, per record type.
FIELDS = {
    MES: ("product", "qty_good", "qty_scrap", "qty_planned", "machine"),
    IOT: ("machine", "state", "parts_total", "power_kw", "temp_c", "vibration_mm_s"),
    ERP: ("customer", "currency", "amount_minor", "lines"),
}

_RATIO = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{6}")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_TS_SHAPE = exact._TS_SHAPE
_INF = float("inf")


class _Missing:
    """Marks a figure present on one side of ``compare_profiles`` only."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


# --- arguments -------------------------------------------------------------------------


def check_tz(value) -> str:
    """``value`` if it is an offset ``±HH:MM`` (hours 00-23, minutes 00-59), else
    ``InvalidArgumentError``."""
    try:
        exact.offset_ms(value)
    except ValueError:
        raise InvalidArgumentError(
            f"tz must be an offset like +08:00 or -05:30 (±HH:MM), not {value!r}") from None
    return value


def check_mapping(value) -> dict | None:
    """A ``dpl-mapping/1`` object (a copy), or None; ``InvalidArgumentError`` naming the field."""
    if value is None:
        return None

    def bad(where, why):
        raise InvalidArgumentError(f"mapping {where}: {why}")

    if type(value) is not dict:
        bad("", "must be a JSON object")
    extra = set(value) - {"format", "types"}
    if extra:
        bad(sorted(extra)[0], "unknown field")
    if value.get("format") != MAPPING_FORMAT:
        bad("format", f"must be {MAPPING_FORMAT!r}")
    types = value.get("types")
    if type(types) is not dict:
        bad("types", "must be an object")
    out, sources = {}, {}
    for name, entry in types.items():
        if name not in FIELDS:
            bad(f"types.{name}", f"only {', '.join(FIELDS)} can be mapped")
        if type(entry) is not dict:
            bad(f"types.{name}", "must be an object")
        extra = set(entry) - {"type", "fields"}
        if extra:
            bad(f"types.{name}.{sorted(extra)[0]}", "unknown field")
        copy = {}
        if "type" in entry:
            src = entry["type"]
            if type(src) is not str or not src:
                bad(f"types.{name}.type", "must be a non-empty string")
            if src in FIELDS and src != name:
                bad(f"types.{name}.type", f"{src!r} is itself a profiled type")
            if src in sources:
                bad(f"types.{name}.type", f"{src!r} is already mapped to {sources[src]}")
            sources[src] = name
            copy["type"] = src
        if "fields" in entry:
            fields = entry["fields"]
            if type(fields) is not dict:
                bad(f"types.{name}.fields", "must be an object")
            seen = {}
            for field, key in fields.items():
                if field not in FIELDS[name]:
                    bad(f"types.{name}.fields.{field}",
                        f"not a field of {name} (those are {', '.join(FIELDS[name])})")
                if type(key) is not str or not key:
                    bad(f"types.{name}.fields.{field}", "must be a non-empty data key")
                if key in seen:
                    bad(f"types.{name}.fields.{field}", f"{key!r} is already read as {seen[key]}")
                seen[key] = field
            copy["fields"] = dict(fields)
        out[name] = copy
    return {"format": MAPPING_FORMAT, "types": out}


def check_thresholds(value) -> dict:
    """Every threshold (defaults filled in for the absent ones); ``InvalidArgumentError``
    naming the field for a bad or unknown one."""
    if value is None:
        return dict(DEFAULT_THRESHOLDS)
    if type(value) is not dict:
        raise InvalidArgumentError("thresholds must be a JSON object")
    out = dict(DEFAULT_THRESHOLDS)
    for key, v in value.items():
        if key not in DEFAULT_THRESHOLDS:
            raise InvalidArgumentError(f"thresholds.{key}: unknown threshold")
        if key in _INT_THRESHOLDS:
            if type(v) is not int or not 0 <= v <= MAX_SAFE_INTEGER:
                raise InvalidArgumentError(f"thresholds.{key}: must be an integer >= 0, not {v!r}")
        elif key in _DECIMAL_THRESHOLDS:
            if type(v) is not str or not _DECIMAL.fullmatch(v):
                raise InvalidArgumentError(
                    f"thresholds.{key}: must be a decimal string like \"85\" or \"4.5\", not {v!r}")
        elif type(v) is not str or not _RATIO.fullmatch(v):
            raise InvalidArgumentError(
                f"thresholds.{key}: must be a ratio with 6 decimals like \"0.050000\", not {v!r}")
        if type(v) is str and len(v) > MAX_THRESHOLD_TEXT:
            raise InvalidArgumentError(f"thresholds.{key}: must be at most {MAX_THRESHOLD_TEXT} characters long")
        out[key] = v
    return out


# --- reading records --------------------------------------------------------------------


def _count_of(v):
    """An integer >= 0 (a JSON number whose canonical text has no fraction), else None."""
    if type(v) is int:
        return v if 0 <= v <= MAX_SAFE_INTEGER else None
    if type(v) is float and v.is_integer() and 0 <= v <= MAX_SAFE_INTEGER:
        return int(v)  # 5.0 is canonically 5
    return None


def _number_of(v):
    """A finite JSON number (never a boolean), integral floats as ints, else None."""
    t = type(v)
    if t is int:
        return v if -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else None
    if t is float and -_INF < v < _INF:
        # 5.0 is canonically the integer 5; 1e21 stays a float (canonically "1e+21")
        return int(v) if v.is_integer() and -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else v
    return None


class _Machine:
    """One machine's readings. ``step`` walks them in time order (``docs/PROFILE.md`` §4):
    called from ``add`` when the builder streams (``in_order``), else from ``result`` over the
    arrays sorted by ``(instant, arrival)``. The walk keeps only the previous reading."""

    __slots__ = ("name", "days", "pairs", "tz_ms", "inst", "parts", "run", "power", "ordered", "last",
                 "readings", "running", "temp", "vib",
                 "first", "prev_t", "prev_p", "prev_pow", "total", "resets", "dt_by_power", "stop", "last_run")

    def __init__(self, name: str, days: dict, pairs: dict, tz_ms: int, arrays: bool):
        self.name = name
        self.days = days
        self.pairs = pairs
        self.tz_ms = tz_ms
        if arrays:
            self.inst = array("q")
            self.parts = array("q")
            self.run = array("b")
            self.power = array("i")  # id of the power_kw value, -1 for none
        else:
            self.inst = self.parts = self.run = self.power = None
        self.ordered = True
        self.last = None
        self.readings = 0
        self.running = 0
        self.temp: dict = {}
        self.vib: dict = {}
        self.first = self.prev_t = self.prev_p = self.prev_pow = self.last_run = None
        self.total = self.resets = self.stop = 0
        self.dt_by_power: dict[int, int] = {}

    def step(self, t: int, p: int, running, pid: int) -> None:
        """The next reading in time order: instant, ``parts_total``, running or not, power id."""
        prev_t = self.prev_t
        if prev_t is None:
            self.first = t
        else:
            prev_p = self.prev_p
            if p >= prev_p:
                inc = p - prev_p
            else:
                inc = p
                self.resets += 1
            if inc:
                self.total += inc
                day = (t + self.tz_ms) // DAY_MS
                self.days[day].iot_parts += inc
                k = (self.name, day)
                pairs = self.pairs
                pairs[k] = pairs.get(k, 0) + inc
            prev_pow = self.prev_pow
            if prev_pow >= 0:
                dt = self.dt_by_power
                dt[prev_pow] = dt.get(prev_pow, 0) + t - prev_t
        if running:
            last_run = self.last_run
            gap = t - (self.first if last_run is None else last_run)
            if gap > self.stop:
                self.stop = gap
            self.last_run = t
        self.prev_t = t
        self.prev_p = p
        self.prev_pow = pid

    def walk_arrays(self) -> None:
        """``step`` over the stored readings in time order (array mode, at ``result``), once:
        the arrays are then dropped."""
        inst, parts, run, power = self.inst, self.parts, self.run, self.power
        self.inst = self.parts = self.run = self.power = None
        n = len(inst)
        order = range(n) if self.ordered else sorted(range(n), key=inst.__getitem__)
        step = self.step
        for i in order:
            step(inst[i], parts[i], run[i], power[i])

    def longest_stop(self) -> int:
        """Milliseconds, once every reading was walked (the tail after the last running one too)."""
        tail = self.prev_t - (self.first if self.last_run is None else self.last_run)
        return max(self.stop, tail)


class _Day:
    __slots__ = ("records", "mes_good", "mes_scrap", "iot_parts", "sales")

    def __init__(self):
        self.records = 0
        self.mes_good = 0
        self.mes_scrap = 0
        self.iot_parts = 0
        self.sales: dict = {}


class OutOfOrder(Exception):
    """A ``ProfileBuilder(in_order=True)`` was given a record earlier in time than one before it
    (``index``: that record's). The builder is then unusable: start again in array mode."""

    def __init__(self, index: int):
        super().__init__(f"record {index} is earlier in time than a record before it")
        self.index = index


class ProfileBuilder:
    """Accumulates the records of a range (``add``, in index order) into a profile (``result``).

    ``tz``, ``mapping`` and ``thresholds`` are checked as ``check_tz``, ``check_mapping`` and
    ``check_thresholds`` do (``InvalidArgumentError``). By default (array mode) the records may
    come in any time order. With ``in_order=True`` the builder keeps nothing per record and
    ``add`` raises ``OutOfOrder`` at the first record earlier in time than one before it."""

    def __init__(self, tz: str = "+00:00", mapping: dict | None = None, thresholds: dict | None = None,
                 *, in_order: bool = False):
        self.tz = check_tz(tz)
        self.mapping = check_mapping(mapping)
        self.thresholds = check_thresholds(thresholds)
        self._tz_ms = exact.offset_ms(tz)
        # record type as written -> (profiled type, data keys of its fields)
        self._kinds: dict[str, tuple[str, tuple]] = {}
        mapped = (self.mapping or {}).get("types", {})
        for name, fields in FIELDS.items():
            entry = mapped.get(name, {})
            renamed = entry.get("fields", {})
            self._kinds[entry.get("type", name)] = (name, tuple(renamed.get(f, f) for f in fields))
        self._first_index = None
        self._next_index = None
        self._dates: dict[str, int] = {}
        self._offsets: dict[str, int] = {}
        self._arrays = not in_order
        self._instants = array("q") if self._arrays else None
        self._ordered = True
        self._last = None
        self._gap = 0  # longest gap so far while the instants came in time order
        self._first = None  # (instant, ts) first in time order
        self._final = None  # (instant, ts) last in time order
        self._types: dict[str, int] = {}
        self._days: dict[int, _Day] = {}
        self._seen = {MES: 0, IOT: 0, ERP: 0}
        self._skipped = {MES: 0, IOT: 0, ERP: 0}
        self._products: dict[str, list] = {}  # product -> [orders, good, scrap, planned]
        self._mes_units: dict[tuple[str, int], int] = {}  # (machine, day) -> units
        self._machines: dict[str, _Machine] = {}
        self._iot_pairs: dict[tuple[str, int], int] = {}  # (machine, day) -> iot parts
        self._powers: dict = {}  # power_kw value -> id
        self._currencies: dict[str, list] = {}  # currency -> [orders, amount, {customer: amount}]
        self._erp_qty: dict[str, int] = {}

    # -- one record --------------------------------------------------------------------

    def add(self, index: int, record: dict) -> None:
        """Account for ``record`` at ``index``. Precondition: indices come consecutive."""
        if self._next_index is None:
            if type(index) is not int or index < 0:
                raise InvalidArgumentError(f"record index must be an integer >= 0, not {index!r}")
            self._first_index = index
        elif index != self._next_index:
            raise InvalidArgumentError(
                f"records must come in index order: expected index {self._next_index}, got {index!r}")
        try:
            ts = record["ts"]
            rtype = record["type"]
            if type(rtype) is not str:
                raise TypeError(f"type {rtype!r} is not a string")
            instant = self._instant(ts)
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidArgumentError(f"record {index} is not a record (ts, type): {e}") from None
        last = self._last
        if last is None:
            self._last = instant
        elif instant < last:
            if not self._arrays:
                raise OutOfOrder(index)
            self._ordered = False
        else:
            if instant - last > self._gap:
                self._gap = instant - last
            self._last = instant
        self._next_index = index + 1
        if self._arrays:
            self._instants.append(instant)
        if self._first is None or instant < self._first[0]:
            self._first = (instant, ts)
        if self._final is None or instant >= self._final[0]:
            self._final = (instant, ts)
        self._types[rtype] = self._types.get(rtype, 0) + 1
        day = (instant + self._tz_ms) // DAY_MS
        d = self._days.get(day)
        if d is None:
            if not exact.FIRST_DAY <= day <= exact.LAST_DAY:
                raise InvalidArgumentError(
                    f"record {index} falls on a day outside the years 0001-9999 at tz {self.tz}")
            d = self._days[day] = _Day()
        d.records += 1

        kind = self._kinds.get(rtype)
        if kind is None:
            return
        name, keys = kind
        self._seen[name] += 1
        data = record.get("data")
        if type(data) is not dict:
            self._skipped[name] += 1
            return
        if name == IOT:
            self._reading(data, keys, instant)
        elif name == MES:
            self._work_order(data, keys, day, d)
        else:
            self._sales_order(data, keys, d)

    def _instant(self, ts) -> int:
        """``exact.instant_ms(ts)`` with the date and offset parts cached (the hot path)."""
        if not _TS_SHAPE.fullmatch(ts):
            raise ValueError(f"ts {ts!r} is not an RFC 3339 timestamp")
        key = ts[:10]
        days = self._dates.get(key)
        if days is None:
            days = exact.instant_ms(key + "T00:00:00Z") // DAY_MS
            if len(self._dates) < 100_000:
                self._dates[key] = days
        hour, minute, second = int(ts[11:13]), int(ts[14:16]), int(ts[17:19])
        if hour > 23 or minute > 59 or second > 60:
            raise ValueError(f"ts {ts!r} is not a time of day")
        if second == 60:
            second = 59  # a leap second is read as the second before it
        last = ts[-1]
        if last == "Z" or last == "z":
            frac = ts[19:-1]
            offset = 0
        else:
            frac = ts[19:-6]
            suffix = ts[-6:]
            offset = self._offsets.get(suffix)
            if offset is None:
                offset = self._offsets[suffix] = exact.offset_ms(suffix)  # at most 48 * 60 * 2
        ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 - offset
        if frac:
            ms += int((frac[1:4] + "00")[:3])
        return ms

    def _work_order(self, data, keys, day, d):
        product = data.get(keys[0])
        good = _count_of(data.get(keys[1]))
        scrap = _count_of(data.get(keys[2]))
        planned = _count_of(data.get(keys[3]))
        if type(product) is not str or good is None or scrap is None or planned is None:
            self._skipped[MES] += 1
            return
        p = self._products.get(product)
        if p is None:
            p = self._products[product] = [0, 0, 0, 0]
        p[0] += 1
        p[1] += good
        p[2] += scrap
        p[3] += planned
        d.mes_good += good
        d.mes_scrap += scrap
        machine = data.get(keys[4])
        if type(machine) is str:
            k = (machine, day)
            self._mes_units[k] = self._mes_units.get(k, 0) + good + scrap

    def _reading(self, data, keys, instant):
        machine = data.get(keys[0])
        state = data.get(keys[1])
        parts = _count_of(data.get(keys[2]))
        if type(machine) is not str or type(state) is not str or parts is None:
            self._skipped[IOT] += 1
            return
        m = self._machines.get(machine)
        if m is None:
            m = self._machines[machine] = _Machine(machine, self._days, self._iot_pairs, self._tz_ms,
                                                   self._arrays)
        running = state == "running"
        m.readings += 1
        m.running += running
        power = _number_of(data.get(keys[3]))
        if power is None:
            pid = -1
        else:
            pid = self._powers.get(power)
            if pid is None:  # ints and non-integral floats only: 1 and 1.0 never meet
                pid = self._powers[power] = len(self._powers)
        if m.inst is None:
            m.step(instant, parts, running, pid)  # in time order: add() refuses one out of it
        else:
            if m.last is not None and instant < m.last:
                m.ordered = False
            else:
                m.last = instant
            m.inst.append(instant)
            m.parts.append(parts)
            m.run.append(running)
            m.power.append(pid)
        for key, counts in ((keys[4], m.temp), (keys[5], m.vib)):
            v = _number_of(data.get(key))
            if v is not None:
                counts[v] = counts.get(v, 0) + 1

    def _sales_order(self, data, keys, d):
        customer = data.get(keys[0])
        currency = data.get(keys[1])
        amount = _count_of(data.get(keys[2]))
        if type(customer) is not str or type(currency) is not str or amount is None:
            self._skipped[ERP] += 1
            return
        c = self._currencies.get(currency)
        if c is None:
            c = self._currencies[currency] = [0, 0, {}]
        c[0] += 1
        c[1] += amount
        c[2][customer] = c[2].get(customer, 0) + amount
        d.sales[currency] = d.sales.get(currency, 0) + amount
        lines = data.get(keys[3])
        if type(lines) is list:
            for line in lines:
                if type(line) is dict:
                    sku = line.get("sku")
                    qty = _count_of(line.get("qty"))
                    if type(sku) is str and qty is not None:
                        self._erp_qty[sku] = self._erp_qty.get(sku, 0) + qty

    # -- the profile -------------------------------------------------------------------

    def result(self, *, log_id: bytes, stream: str, start: int, end: int, checkpoint_size: int,
               checkpoint_root: bytes) -> dict:
        """The profile of the records added, which must be exactly indices ``start..end-1``
        with ``0 <= start < end <= checkpoint_size``."""
        if type(log_id) is not bytes or len(log_id) != 32:
            raise InvalidArgumentError("log_id must be 32 bytes")
        if type(checkpoint_root) is not bytes or len(checkpoint_root) != 32:
            raise InvalidArgumentError("checkpoint_root must be 32 bytes")
        if type(stream) is not str or not stream:
            raise InvalidArgumentError("stream must be a non-empty string")
        for name, v in (("start", start), ("end", end), ("checkpoint_size", checkpoint_size)):
            if type(v) is not int or v < 0:
                raise InvalidArgumentError(f"{name} must be an integer >= 0, not {v!r}")
        if not start < end <= checkpoint_size:
            raise InvalidArgumentError(
                f"the range [{start}, {end}) must hold at least one record and end at or before "
                f"the checkpoint size {checkpoint_size}")
        got = (self._first_index, self._next_index)
        if got != (start, end):
            shown = "no record" if got[0] is None else f"records {got[0]}..{got[1] - 1}"
            raise InvalidArgumentError(f"the range is [{start}, {end}) but {shown} came")

        days = self._days
        iot, cross_pairs = self._iot()
        profile = {
            "format": PROFILE_FORMAT,
            "log_id": "0x" + log_id.hex(),
            "stream": stream,
            "range": {"from": start, "to": end},
            "checkpoint": {"size": checkpoint_size, "root": "0x" + checkpoint_root.hex()},
            "tz": self.tz,
            "mapping": self.mapping,
            "thresholds": dict(self.thresholds),
            "coverage": self._coverage(end - start),
            "mes": self._mes(),
            "iot": iot,
            "sales": self._sales(),
        }
        profile["cross_source"] = self._cross_source(cross_pairs)
        daily = []
        for day in sorted(days):
            d = days[day]
            daily.append({"day": exact.day_name(day), "records": d.records, "mes_good": count(d.mes_good),
                          "mes_scrap": count(d.mes_scrap), "iot_parts": count(d.iot_parts),
                          "sales_minor": {c: count(a) for c, a in d.sales.items()}})
        profile["daily"] = daily
        profile["weekly"] = self._weekly()
        profile["trend"] = self._trend()
        profile["flags"] = _flags(profile)
        return profile

    def _coverage(self, records: int) -> dict:
        gap = self._gap
        if not self._ordered:
            seq = sorted(self._instants)
            gap = 0
            prev = seq[0]
            for t in seq:
                if t - prev > gap:
                    gap = t - prev
                prev = t
        first, last = min(self._days), max(self._days)
        return {"records": records, "first_ts": self._first[1], "last_ts": self._final[1],
                "days": len(self._days), "days_without_records": last - first + 1 - len(self._days),
                "longest_gap_s": gap // 1000, "types": dict(self._types)}

    def _mes(self) -> dict | None:
        if not self._seen[MES]:
            return None
        by_product = {}
        tg = ts_ = tp = orders = 0
        for product, (o, g, s, p) in self._products.items():
            by_product[product] = {"orders": o, "qty_good": count(g), "qty_scrap": count(s),
                                   "qty_planned": count(p), "scrap_rate": ratio(s, g + s),
                                   "plan_attainment": ratio(g, p)}
            orders += o
            tg += g
            ts_ += s
            tp += p
        return {"orders": orders, "qty_good": count(tg), "qty_scrap": count(ts_),
                "qty_planned": count(tp), "scrap_rate": ratio(ts_, tg + ts_),
                "plan_attainment": ratio(tg, tp), "skipped": self._skipped[MES],
                "by_product": by_product}

    def _iot(self):
        """(the iot section, {(machine, day): iot parts})."""
        pairs = self._iot_pairs
        if not self._seen[IOT]:
            return None, pairs
        th = self.thresholds
        temp_max = Fraction(th["temp_c_max"])
        vib_max = Fraction(th["vibration_mm_s_max"])
        power_values = [exact.decimal_value(v) for v in self._powers]
        machines = {}
        readings = 0
        for name, m in self._machines.items():
            if m.inst is not None:
                m.walk_arrays()
            n = m.readings
            readings += n
            total = m.total
            energy = sum((power_values[pid] * dt for pid, dt in m.dt_by_power.items()), Fraction(0))
            energy /= 3_600_000
            machines[name] = {
                "readings": n, "running": m.running, "utilization": ratio(m.running, n),
                "parts": count(total), "resets": m.resets, "energy_kwh": ratio(energy, 1),
                "energy_per_part": ratio(energy, total), "longest_stop_s": m.longest_stop() // 1000,
                "temp_c": _distribution(m.temp, temp_max),
                "vibration_mm_s": _distribution(m.vib, vib_max),
            }
        return {"readings": readings, "skipped": self._skipped[IOT], "machines": machines}, pairs

    def _sales(self) -> dict | None:
        if not self._seen[ERP]:
            return None
        by_currency = {}
        orders = 0
        for currency, (o, amount, customers) in self._currencies.items():
            orders += o
            ranked = sorted(customers.values(), reverse=True)
            squares = sum(a * a for a in ranked)
            by_currency[currency] = {
                "orders": o, "amount_minor": count(amount), "customers": len(customers),
                "top1_share": ratio(ranked[0], amount), "top5_share": ratio(sum(ranked[:5]), amount),
                "hhi": ratio(squares, amount * amount),
                "by_customer": {c: count(a) for c, a in customers.items()},
            }
        return {"orders": orders, "skipped": self._skipped[ERP], "by_currency": by_currency}

    def _cross_source(self, iot_pairs) -> dict | None:
        if not self._seen[IOT] and not self._seen[MES]:
            return None
        keys = set(iot_pairs) | {k for k, v in self._mes_units.items() if v > 0}
        total_iot = total_mes = diff = top = 0
        worst = None  # (-mismatch, day, machine) smallest wins
        by_machine_day: dict[str, dict] = {}
        min_units = self.thresholds["worst_min_units"]
        for machine, day in keys:
            a = iot_pairs.get((machine, day), 0)
            b = self._mes_units.get((machine, day), 0)
            total_iot += a
            total_mes += b
            diff += abs(a - b)
            hi = max(a, b)
            top += hi
            by_machine_day.setdefault(machine, {})[exact.day_name(day)] = [count(a), count(b)]
            if hi >= min_units and hi > 0:
                key = (-Fraction(abs(a - b), hi), day, machine)
                if worst is None or key < worst[0]:
                    worst = (key, a, b)
        worst_doc = None
        if worst is not None:
            (neg, day, machine), a, b = worst
            worst_doc = {"machine": machine, "day": exact.day_name(day), "iot_parts": count(a),
                         "mes_units": count(b), "mismatch": ratio(-neg, 1)}
        by_product = {}
        for product in sorted(set(self._products) | set(self._erp_qty)):
            good = self._products[product][1] if product in self._products else 0
            qty = self._erp_qty.get(product, 0)
            by_product[product] = {"mes_good": count(good), "erp_qty": count(qty), "ratio": ratio(good, qty)}
        return {"iot_parts": count(total_iot), "mes_units": count(total_mes), "mismatch": ratio(diff, top),
                "pairs": len(keys), "worst": worst_doc, "by_machine_day": by_machine_day,
                "by_product": by_product}

    def _weekly(self) -> list:
        weeks: dict[str, dict] = {}
        order = []
        for day in sorted(self._days):
            d = self._days[day]
            name = exact.week_name(day)
            w = weeks.get(name)
            if w is None:
                w = weeks[name] = {"week": name, "days": 0, "records": 0, "mes_good": 0, "mes_scrap": 0,
                                   "iot_parts": 0, "sales_minor": {}}
                order.append(w)
            w["days"] += 1
            w["records"] += d.records
            w["mes_good"] += d.mes_good
            w["mes_scrap"] += d.mes_scrap
            w["iot_parts"] += d.iot_parts
            for c, a in d.sales.items():
                w["sales_minor"][c] = w["sales_minor"].get(c, 0) + a
        for w in order:
            for k in ("mes_good", "mes_scrap", "iot_parts"):
                w[k] = count(w[k])
            w["sales_minor"] = {c: count(a) for c, a in w["sales_minor"].items()}
        return order

    def _trend(self) -> dict:
        days = sorted(self._days)
        goods = [self._days[d].mes_good for d in days]
        trend = {"output_cv": _cv(goods), "output_growth": _growth(days, goods)}
        sales_cv, sales_growth = {}, {}
        for currency in self._currencies:
            series = [self._days[d].sales.get(currency, 0) for d in days]
            sales_cv[currency] = _cv(series)
            sales_growth[currency] = _growth(days, series)
        trend["sales_cv"] = sales_cv
        trend["sales_growth"] = sales_growth
        return trend


def _distribution(counts: dict, limit: Fraction) -> dict | None:
    if not counts:
        return None
    n = sum(counts.values())
    values = sorted(counts)
    ranks = {50: (50 * n + 99) // 100, 95: (95 * n + 99) // 100}
    found = {}
    seen = 0
    for v in values:
        seen += counts[v]
        for p, r in ranks.items():
            if p not in found and seen >= r:
                found[p] = v
    over = sum(c for v, c in counts.items() if exact.decimal_value(v) > limit)
    return {"readings": n, "p50": found[50], "p95": found[95], "max": values[-1],
            "over_limit": ratio(over, n)}


def _cv(series: list[int]) -> str | None:
    """Population standard deviation / mean: sqrt((n·Σx² − (Σx)²) / (Σx)²)."""
    n = len(series)
    total = sum(series)
    if n < 2 or total == 0:
        return None
    q = Fraction(n * sum(x * x for x in series) - total * total, total * total)
    return exact.root_ratio(q)


def _growth(days: list[int], series: list[int]) -> str | None:
    first, last = days[0], days[-1]
    if last - first + 1 < 14:
        return None
    g_first = sum(x for d, x in zip(days, series) if d <= first + 6)
    g_last = sum(x for d, x in zip(days, series) if d >= last - 6)
    return ratio(g_last - g_first, g_first)


# --- flags ------------------------------------------------------------------------------


def _flags(p: dict) -> list[dict]:
    th = p["thresholds"]
    out: list[tuple[int, str, dict]] = []

    def flag(rank, code, figure, value, threshold, message):
        out.append((rank, figure, {"code": code, "message": message, "figure": figure,
                                   "value": str(value), "threshold": str(threshold)}))

    cov = p["coverage"]
    if cov["longest_gap_s"] > th["max_gap_s"]:
        flag(0, "gap", "coverage.longest_gap_s", cov["longest_gap_s"], th["max_gap_s"],
             f"The longest gap between consecutive records is {cov['longest_gap_s']} s, "
             f"more than {th['max_gap_s']} s.")
    if cov["days_without_records"] > 0:
        n = cov["days_without_records"]
        flag(1, "days_without_records", "coverage.days_without_records", n, 0,
             f"{n} day(s) between the first and the last day of the range have no record.")
    iot = p["iot"]
    if iot is not None:
        for name, m in iot["machines"].items():
            base = f"iot.machines.{name}"
            if m["longest_stop_s"] > th["stoppage_s"]:
                flag(2, "stoppage", f"{base}.longest_stop_s", m["longest_stop_s"], th["stoppage_s"],
                     f"Machine {name} had no running reading for {m['longest_stop_s']} s, "
                     f"more than {th['stoppage_s']} s.")
            if m["utilization"] is not None and Fraction(m["utilization"]) < Fraction(th["min_utilization"]):
                flag(3, "low_utilization", f"{base}.utilization", m["utilization"], th["min_utilization"],
                     f"Machine {name} was running in {m['utilization']} of its readings, "
                     f"less than {th['min_utilization']}.")
            for field, limit in (("temp_c", "temp_c_max"), ("vibration_mm_s", "vibration_mm_s_max")):
                dist = m[field]
                if dist is not None and Fraction(dist["over_limit"]) > Fraction(th["max_over_limit"]):
                    flag(4, "device_health", f"{base}.{field}.over_limit", dist["over_limit"],
                         th["max_over_limit"],
                         f"Machine {name}: a share of {dist['over_limit']} of its {field} readings exceed "
                         f"{th[limit]}, more than {th['max_over_limit']}.")
    mes = p["mes"]
    if mes is not None:
        if mes["scrap_rate"] is not None and Fraction(mes["scrap_rate"]) > Fraction(th["max_scrap_rate"]):
            flag(5, "high_scrap", "mes.scrap_rate", mes["scrap_rate"], th["max_scrap_rate"],
                 f"The scrap rate is {mes['scrap_rate']}, more than {th['max_scrap_rate']}.")
        if (mes["plan_attainment"] is not None
                and Fraction(mes["plan_attainment"]) < Fraction(th["min_plan_attainment"])):
            flag(6, "plan_shortfall", "mes.plan_attainment", mes["plan_attainment"],
                 th["min_plan_attainment"],
                 f"Plan attainment is {mes['plan_attainment']}, less than {th['min_plan_attainment']}.")
    sales = p["sales"]
    if sales is not None:
        for currency, c in sales["by_currency"].items():
            if c["top1_share"] is not None and Fraction(c["top1_share"]) > Fraction(th["max_top1_share"]):
                flag(7, "customer_concentration", f"sales.by_currency.{currency}.top1_share", c["top1_share"],
                     th["max_top1_share"],
                     f"In {currency}, the largest customer has a share of {c['top1_share']} of sales, "
                     f"more than {th['max_top1_share']}.")
    cs = p["cross_source"]
    if cs is not None:
        w = cs["worst"]
        if w is not None and Fraction(w["mismatch"]) > Fraction(th["max_worst_mismatch"]):
            flag(8, "cross_source_mismatch", "cross_source.worst.mismatch", w["mismatch"],
                 th["max_worst_mismatch"],
                 f"Machine {w['machine']} on {w['day']}: IoT counted {w['iot_parts']} parts and MES "
                 f"reported {w['mes_units']} units, a mismatch of {w['mismatch']}, more than "
                 f"{th['max_worst_mismatch']}.")
        if cs["mismatch"] is not None and Fraction(cs["mismatch"]) > Fraction(th["max_mismatch"]):
            flag(8, "cross_source_mismatch", "cross_source.mismatch", cs["mismatch"], th["max_mismatch"],
                 f"Over all machine-days, IoT parts and MES units differ by {cs['mismatch']}, "
                 f"more than {th['max_mismatch']}.")
        for product, x in cs["by_product"].items():
            if x["ratio"] is not None and Fraction(x["ratio"]) < Fraction(th["min_product_ratio"]):
                flag(9, "product_mismatch", f"cross_source.by_product.{product}.ratio", x["ratio"],
                     th["min_product_ratio"],
                     f"Product {product}: MES made {x['mes_good']} good units but ERP orders ask for "
                     f"{x['erp_qty']}, a ratio of {x['ratio']}, less than {th['min_product_ratio']}.")
    for section in ("mes", "iot", "sales"):
        s = p[section]
        if s is not None and s["skipped"] > 0:
            flag(10, "skipped_records", f"{section}.skipped", s["skipped"], 0,
                 f"{s['skipped']} {section} record(s) were skipped: a required field is missing "
                 f"or of the wrong kind.")
    out.sort(key=lambda f: (f[0], f[1]))  # Python compares strings by code point
    return [f[2] for f in out]


def build_profile(records: Iterable[tuple[int, dict]] | Callable[[], Iterable[tuple[int, dict]]], *,
                  log_id: bytes, stream: str, start: int, end: int, checkpoint_size: int, checkpoint_root: bytes,
                  tz: str = "+00:00", mapping: dict | None = None, thresholds: dict | None = None) -> dict:
    """The profile of ``records``: ``(index, record)`` pairs that must be exactly indices
    ``start..end-1`` in order (``InvalidArgumentError`` otherwise).

    ``records`` is an iterable (read once, in array mode), or a zero-argument callable that
    returns a fresh iterable of the same records at each call: then the records are streamed
    (``ProfileBuilder(in_order=True)``, memory flat in their number), and only if one is earlier
    in time than one before it is the callable called a second time, and the records read again
    in array mode. The first iterable is closed (``close()``, if it has one) before the second
    is asked for. Either way the profile is the same."""
    builder = ProfileBuilder(tz, mapping, thresholds)  # checks the parameters before any read
    if not callable(records):
        _feed(builder, iter(records), start, end)
    else:
        streamed = ProfileBuilder(tz, mapping, thresholds, in_order=True)
        try:
            _feed(streamed, iter(records()), start, end, close=True)
        except OutOfOrder:
            streamed = None  # freed, with the traceback's frames, before the second read
        if streamed is not None:
            builder = streamed
        else:
            _feed(builder, iter(records()), start, end, close=True)
    return builder.result(log_id=log_id, stream=stream, start=start, end=end,
                          checkpoint_size=checkpoint_size, checkpoint_root=checkpoint_root)


def _feed(builder: ProfileBuilder, records, start: int, end: int, close: bool = False) -> None:
    """``builder.add`` each of ``records`` (an iterator), checking indices ``start..end-1``;
    with ``close``, ``records.close()`` (if it has one) however this ends."""
    expected = start
    try:
        for index, record in records:
            if index != expected or index >= end:
                raise InvalidArgumentError(
                    f"expected the record at index {expected if expected < end else 'none (range ended)'}, "
                    f"got index {index!r}")
            builder.add(index, record)
            expected += 1
    finally:
        if close and hasattr(records, "close"):
            records.close()


def profile_digest(profile: dict) -> bytes:
    """SHA-256 of the profile's RFC 8785 bytes."""
    return hashlib.sha256(canonicalize(profile)).digest()


# --- reading a profile from outside -----------------------------------------------------

_PROFILE_KEYS = ("format", "log_id", "stream", "range", "checkpoint", "tz", "mapping", "thresholds",
                 "coverage", "mes", "iot", "sales", "cross_source", "daily", "weekly", "trend", "flags")


def check_profile(value) -> dict:
    """``value`` if it has the shape of a ``dpl-profile/1`` profile, else ``BundleError``
    naming the field. Figures are not re-validated one by one: a verifier recomputes the
    profile and compares (``compare_profiles``)."""

    def bad(field, why):
        raise BundleError(f"profile {field}: {why}")

    def nat(v):
        return type(v) is int and 0 <= v <= MAX_SAFE_INTEGER

    if type(value) is not dict:
        raise BundleError("profile: must be a JSON object")
    for key in _PROFILE_KEYS:
        if key not in value:
            bad(key, "missing")
    extra = sorted(set(value) - set(_PROFILE_KEYS))
    if extra:
        bad(extra[0], "unknown field")
    if value["format"] != PROFILE_FORMAT:
        bad("format", f"must be {PROFILE_FORMAT!r}, not {value['format']!r}")
    for key in ("log_id",):
        if type(value[key]) is not str or not _HEX32.fullmatch(value[key]):
            bad(key, "must be 0x and 64 lowercase hex digits")
    if type(value["stream"]) is not str or not value["stream"]:
        bad("stream", "must be a non-empty string")
    rng, cp = value["range"], value["checkpoint"]
    if type(rng) is not dict or set(rng) != {"from", "to"} or not nat(rng["from"]) or not nat(rng["to"]):
        bad("range", "must be {\"from\": integer, \"to\": integer}")
    if type(cp) is not dict or set(cp) != {"size", "root"} or not nat(cp["size"]):
        bad("checkpoint", "must be {\"size\": integer, \"root\": \"0x…\"}")
    if type(cp["root"]) is not str or not _HEX32.fullmatch(cp["root"]):
        bad("checkpoint.root", "must be 0x and 64 lowercase hex digits")
    if not rng["from"] < rng["to"] <= cp["size"]:
        bad("range", f"[{rng['from']}, {rng['to']}) must be non-empty and end at or before "
                     f"the checkpoint size {cp['size']}")
    try:
        check_tz(value["tz"])
        mapping = check_mapping(value["mapping"])
        thresholds = check_thresholds(value["thresholds"])
    except InvalidArgumentError as e:
        raise BundleError(f"profile {e}") from None
    if mapping != value["mapping"]:
        bad("mapping", "is not in its checked form")
    if type(value["thresholds"]) is not dict or set(value["thresholds"]) != set(thresholds):
        bad("thresholds", "must list every threshold")
    for key in ("coverage", "cross_source", "trend"):
        if type(value[key]) is not dict and not (key == "cross_source" and value[key] is None):
            bad(key, "must be an object")
    for key in ("mes", "iot", "sales"):
        if value[key] is not None and type(value[key]) is not dict:
            bad(key, "must be an object or null")
    for key in ("daily", "weekly", "flags"):
        if type(value[key]) is not list or not all(type(x) is dict for x in value[key]):
            bad(key, "must be a list of objects")
    for i, d in enumerate(value["daily"]):
        if type(d.get("day")) is not str or type(d.get("sales_minor")) is not dict:
            bad(f"daily[{i}]", "must have a day and sales_minor")
        # ascending, each once (§4): a sampled record's day is then found by bisection, and a
        # declared profile with millions of entries cannot make every sample scan them all
        if i and not value["daily"][i - 1]["day"] < d["day"]:
            bad(f"daily[{i}]", f"day {d['day']!r} does not come after {value['daily'][i - 1]['day']!r} "
                               "(days are ascending, each once)")
    return value


def compare_profiles(claimed: dict, recomputed: dict) -> list[tuple[str, object, object]]:
    """Every leaf where the two profiles differ: ``(path, claimed value or MISSING, recomputed
    value or MISSING)``, depth first, object keys in code point order, list items in order.
    A leaf differs unless both are the same JSON type and equal (``1``, ``1.0``, ``"1"`` and
    ``True`` all differ). A path is dotted (``mes.by_product.BRK-220.qty_good``) with list
    positions in brackets (``daily[3].mes_good``). Empty: identical."""
    out: list[tuple[str, object, object]] = []
    _compare("", claimed, recomputed, out)
    return out


def _join(path, key):
    return key if not path else f"{path}.{key}"


def _compare(path, a, b, out):
    ta, tb = type(a), type(b)
    if ta is dict and tb is dict:
        for key in sorted(set(a) | set(b)):
            _compare(_join(path, key), a.get(key, MISSING), b.get(key, MISSING), out)
    elif ta is list and tb is list:
        for i in range(max(len(a), len(b))):
            _compare(f"{path}[{i}]", a[i] if i < len(a) else MISSING, b[i] if i < len(b) else MISSING, out)
    elif not (ta is tb and a == b):
        out.append((path, a, b))


# --- one record against a profile (sampling) -----------------------------------------------


_COUNT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _int(v) -> int:
    """A profile's count (an integer, or a decimal string beyond 2^53); anything else (a tampered
    profile's "abc", "+1_0", 2.5, true) counts as 0, as in the browser."""
    if type(v) is int:
        return v
    return int(v) if type(v) is str and _COUNT_TEXT.fullmatch(v) else 0


def _get(obj, key):
    """``obj[key]`` when ``obj`` is an object that has ``key``, else None: a tampered profile's
    section of the wrong kind (a list, a string, a number) lists nothing, as in the browser."""
    return obj.get(key) if type(obj) is dict else None


def record_disagreements(profile: dict, index: int, record: dict) -> list[str]:
    """How ``record`` (at ``index``) contradicts the figures of its day in ``profile``
    (`docs/PROFILE.md` §5), in words; empty when it agrees. ``profile`` has passed
    ``check_profile``; the record's day and fields are read with the profile's own ``tz``
    and ``mapping``."""
    out: list[str] = []
    rng = profile["range"]
    if not rng["from"] <= index < rng["to"]:
        return [f"record {index} is outside the profile's range [{rng['from']}, {rng['to']})"]
    try:
        instant = exact.instant_ms(record["ts"])
    except (KeyError, TypeError, ValueError):
        return [f"record {index} has no valid ts"]
    day_number = exact.day_of(instant, exact.offset_ms(profile["tz"]))
    if not exact.FIRST_DAY <= day_number <= exact.LAST_DAY:
        return [f"record {index} falls on a day outside the years 0001-9999"]
    day = exact.day_name(day_number)
    daily = profile["daily"]  # ascending, each day once (check_profile)
    at = bisect_left(daily, day, key=lambda d: d["day"])
    entry = daily[at] if at < len(daily) and daily[at]["day"] == day else None
    if entry is None:
        out.append(f"record {index} falls on {day}, a day the profile does not list")
    builder = ProfileBuilder(profile["tz"], profile["mapping"])
    kind = builder._kinds.get(record.get("type"))
    data = record.get("data")
    if kind is None or type(data) is not dict:
        return out
    name, keys = kind
    if name == MES:
        product, good = data.get(keys[0]), _count_of(data.get(keys[1]))
        if type(product) is not str or good is None:
            return out
        if entry is not None and good > _int(entry.get("mes_good")):
            out.append(f"work order {index} has qty_good {good}, more than the {entry.get('mes_good')} "
                       f"good units of {day}")
        p = _get(_get(profile.get("mes"), "by_product"), product)
        if p is None:
            out.append(f"work order {index} is for product {product}, which the profile does not list")
        elif good > _int(_get(p, "qty_good")):
            out.append(f"work order {index} has qty_good {good}, more than the {_get(p, 'qty_good')} "
                       f"good units of product {product}")
    elif name == IOT:
        machine = data.get(keys[0])
        machines = _get(profile.get("iot"), "machines")
        if type(machine) is str and not (type(machines) is dict and machine in machines):
            out.append(f"reading {index} is from machine {machine}, which the profile does not list")
    else:
        customer, currency = data.get(keys[0]), data.get(keys[1])
        amount = _count_of(data.get(keys[2]))
        if type(customer) is not str or type(currency) is not str or amount is None:
            return out
        if entry is not None:
            day_amount = _int((entry.get("sales_minor") or {}).get(currency, 0))
            if amount > day_amount:
                out.append(f"sales order {index} is for {amount} {currency} (minor units), more than the "
                           f"{day_amount} of {day}")
        by_customer = _get(_get(_get(profile.get("sales"), "by_currency"), currency), "by_customer")
        known = _int(by_customer.get(customer, 0) if type(by_customer) is dict else 0)
        if amount > known:
            out.append(f"sales order {index} is for {amount} {currency} (minor units), more than the "
                       f"{known} the profile gives customer {customer}")
    return out


@dataclass(frozen=True)
class ProfileParams:
    """What a profile is computed with besides the records (checked)."""

    tz: str = "+00:00"
    mapping: dict | None = None
    thresholds: dict | None = None

    @classmethod
    def checked(cls, tz: str | None = None, mapping: object = None, thresholds: object = None) -> ProfileParams:
        return cls(check_tz(tz or "+00:00"), check_mapping(mapping), check_thresholds(thresholds or {}))

    def as_json(self) -> dict:
        return {"tz": self.tz, "mapping": self.mapping, "thresholds": self.thresholds}
