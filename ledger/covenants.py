"""Covenants `dpl-covenants/1` (DESIGN.md §9, `docs/COVENANTS.md`): what a borrower promises
about the production of its pledged log after the loan, and the pure evaluation of those
promises over the records anchored after the pledged range. No store, no chain: records,
a checkpoint and the chain's clock in; warnings and "met" markers out.

- ``check_covenants(obj)``: the checked set (a copy), else ``InvalidArgumentError`` naming the field;
- ``covenants_digest(obj)``: SHA-256 of the checked set's RFC 8785 bytes (what a consent commits to);
- ``WeeklyFigures.build(records_after, start=, tz=, mapping=)``: the figures of every ISO week and
  every machine's readings after a pledged range, computed once per (log, range end, tz, mapping)
  and shared by every pledge of that group;
- ``evaluate(covenants, pledged_profile=, records_after=, checkpoint=, chain_now=)``: an
  ``Evaluation`` (``warnings``, ``met``). A ``Warning`` has a deterministic ``key`` (the caller
  stores one warning per (pledge, key), so re-evaluation never raises one twice); a ``Met`` marks a
  window that meets a covenant and ``resolves(key)`` says which earlier warnings it resolves.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction

from ledger import exact
from ledger.canonical import canonicalize
from ledger.errors import InvalidArgumentError
from ledger.exact import DAY_MS, MAX_SAFE_INTEGER, ratio
from ledger.profile import IOT, ProfileBuilder, check_mapping, check_tz

__all__ = [
    "COVENANTS_FORMAT",
    "CODES",
    "WEEKLY_CODES",
    "check_covenants",
    "covenants_digest",
    "describe",
    "WeeklyFigures",
    "Warning",
    "CovenantWarning",
    "Met",
    "Evaluation",
    "evaluate",
    "week_basis",
    "judge_weeks",
    "silences",
]

COVENANTS_FORMAT = "dpl-covenants/1"
MAX_HOURS = 8760  # a year: a longer cadence or stoppage limit promises nothing
_RATIO = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{6}")
HOUR_MS = 3_600_000


def _hours(where, v):
    if type(v) is not int or not 1 <= v <= MAX_HOURS:
        raise InvalidArgumentError(f"{where}: must be a whole number of hours from 1 to {MAX_HOURS}, not {v!r}")
    return v


def _percent(where, v):
    if type(v) is not int or not 1 <= v <= 100:
        raise InvalidArgumentError(f"{where}: must be a whole percentage from 1 to 100, not {v!r}")
    return v


def _share(where, v):
    if type(v) is not str or not _RATIO.fullmatch(v) or Fraction(v) > 1:
        raise InvalidArgumentError(
            f"{where}: must be a ratio from \"0.000000\" to \"1.000000\" with 6 decimals, not {v!r}")
    return v


#: Each code's parameters: name -> checker (all required, no others).
CODES: dict[str, dict] = {
    "anchoring_cadence": {"max_hours": _hours},
    "output_floor": {"min_percent": _percent},
    "stoppage": {"max_hours": _hours},
    "cross_source_mismatch": {"max_ratio": _share},
    "scrap_ceiling": {"max_ratio": _share},
    "customer_concentration": {"max_top1_share": _share},
}
#: The codes judged per ISO week of records.
WEEKLY_CODES = ("output_floor", "cross_source_mismatch", "scrap_ceiling", "customer_concentration")


def check_covenants(obj) -> dict:
    """A checked copy of a ``dpl-covenants/1`` set (the order of ``covenants`` kept), else
    ``InvalidArgumentError`` naming the field: ``format``, ``tz`` (``±HH:MM``) and a non-empty
    list ``covenants`` of objects, each a known ``code`` once with exactly its parameters."""
    if type(obj) is not dict:
        raise InvalidArgumentError("covenants: must be a JSON object")
    extra = sorted(set(obj) - {"format", "tz", "covenants"})
    if extra:
        raise InvalidArgumentError(f"covenants {extra[0]}: unknown field")
    if obj.get("format") != COVENANTS_FORMAT:
        raise InvalidArgumentError(f"covenants format: must be {COVENANTS_FORMAT!r}, not {obj.get('format')!r}")
    if "tz" not in obj:
        raise InvalidArgumentError("covenants tz: missing (an offset like +08:00 that names the weeks)")
    try:
        tz = check_tz(obj["tz"])
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"covenants tz: {e}") from None
    items = obj.get("covenants")
    if type(items) is not list or not items:
        raise InvalidArgumentError("covenants covenants: must be a non-empty list")
    out, seen = [], set()
    for i, item in enumerate(items):
        where = f"covenants[{i}]"
        if type(item) is not dict:
            raise InvalidArgumentError(f"{where}: must be an object")
        code = item.get("code")
        if type(code) is not str or code not in CODES:  # a list or object as code is not hashable
            known = ", ".join(CODES)
            raise InvalidArgumentError(f"{where}.code: {code!r} is not a covenant (known: {known})")
        if code in seen:
            raise InvalidArgumentError(f"{where}.code: {code} is listed twice")
        seen.add(code)
        params = CODES[code]
        extra = sorted(set(item) - {"code"} - set(params))
        if extra:
            raise InvalidArgumentError(f"{where}.{extra[0]}: not a parameter of {code}")
        copy = {"code": code}
        for name, checker in params.items():
            if name not in item:
                raise InvalidArgumentError(f"{where}.{name}: missing (the {code} covenant needs it)")
            copy[name] = checker(f"{where}.{name}", item[name])
        out.append(copy)
    return {"format": COVENANTS_FORMAT, "tz": tz, "covenants": out}


def covenants_digest(obj) -> bytes:
    """SHA-256 of the RFC 8785 bytes of the checked set (``check_covenants``)."""
    return hashlib.sha256(canonicalize(check_covenants(obj))).digest()


def describe(covenant: dict) -> str:
    """One checked covenant in words."""
    code = covenant["code"]
    if code == "anchoring_cadence":
        return f"the log gets a new anchored checkpoint at least every {covenant['max_hours']} hours (block time)"
    if code == "output_floor":
        return (f"each week's MES good output per day with records is at least {covenant['min_percent']} % "
                f"of the pledged range's")
    if code == "stoppage":
        return (f"no machine of the pledged range goes more than {covenant['max_hours']} hours "
                f"without a telemetry reading")
    if code == "cross_source_mismatch":
        return f"each week's IoT-vs-MES mismatch is at most {covenant['max_ratio']}"
    if code == "scrap_ceiling":
        return f"each week's MES scrap rate is at most {covenant['max_ratio']}"
    return f"in each week and currency, the largest customer's share of sales is at most {covenant['max_top1_share']}"


# --- the figures of the records after a pledged range ------------------------------------


@dataclass
class _Week:
    name: str
    end_ms: int  # Monday 00:00 of the next week in tz, as an instant
    first: int  # smallest record index
    last: int  # largest record index
    builder: ProfileBuilder
    n: int = 0
    profile: dict | None = None
    # code -> (figure as printed, its exact value, what it is about), for the profile-figure codes
    figures: dict = field(default_factory=dict)


@dataclass
class _Readings:
    """One machine's readings after the range, in time order (instant, index), and its gaps."""

    inst: list
    index: list
    gaps: list = field(default_factory=list)  # (gap_ms, position of the later reading), longest first
    gap_lengths: list = field(default_factory=list)  # -gap_ms ascending (for bisect)


class WeeklyFigures:
    """The figures every pledge of one group needs, computed once: per ISO week (Monday 00:00
    in ``tz``) the profile of that week's records (``ledger.profile``), its window of record
    indices, and per machine the readings in time order with their gaps. A group is the pledges
    of one log with the same range end (``start``), ``tz`` and ``mapping``.

    A week's ``profile`` is built without the readings' ``power_kw``, ``temp_c`` and
    ``vibration_mm_s`` (no covenant reads them; their distributions were most of the cost): every
    figure a covenant judges is the full profile's, the energy and health figures are not.

    Use ``WeeklyFigures.build``; the object is read-only afterwards."""

    def __init__(self, *, start: int, end: int, tz: str, mapping: dict | None, weeks: list[_Week],
                 machines: dict[str, _Readings], newest_ms: int | None):
        self.start = start
        self.end = end
        self.tz = tz
        self.mapping = mapping
        self.weeks = weeks  # by week name ascending
        self.machines = machines
        self.newest_ms = newest_ms  # the latest record instant after the range, None for no record

    @classmethod
    def build(cls, records_after: Iterable[tuple[int, dict]], *, start: int, tz: str = "+00:00",
              mapping: dict | None = None, min_gap_hours: int = 1) -> WeeklyFigures:
        """The figures of ``records_after``: ``(index, record)`` pairs with consecutive indices
        from ``start`` (the pledged range's end). Gaps of at most ``min_gap_hours`` are not kept
        (no covenant can be broken by them; ``check_covenants`` allows 1 hour at least)."""
        tz = check_tz(tz)
        mapping = check_mapping(mapping)
        tz_ms = exact.offset_ms(tz)
        if type(start) is not int or start < 0:
            raise InvalidArgumentError(f"start must be an integer >= 0, not {start!r}")
        mapped = (mapping or {}).get("types", {}).get(IOT, {})
        iot_type = mapped.get("type", IOT)
        renamed = mapped.get("fields", {})
        machine_key = renamed.get("machine", "machine")
        # What no covenant reads: the per-value distributions and energy are most of a week
        # profile's cost, so readings reach the week's builder without these fields.
        unused = frozenset(renamed.get(f, f) for f in ("power_kw", "temp_c", "vibration_mm_s"))
        weeks: dict[int, _Week] = {}  # Monday's day number -> week
        readings: dict[str, tuple[list, list]] = {}
        newest = None
        expected = start
        for index, record in records_after:
            if index != expected:
                raise InvalidArgumentError(f"records after the range must come in index order from {start}: "
                                           f"expected index {expected}, got {index!r}")
            expected += 1
            try:
                instant = exact.instant_ms(record["ts"])
            except (KeyError, TypeError, ValueError) as e:
                raise InvalidArgumentError(f"record {index} has no valid ts: {e}") from None
            if newest is None or instant > newest:
                newest = instant
            day = (instant + tz_ms) // DAY_MS
            monday = day - (day + 3) % 7  # day 0 (1970-01-01) was a Thursday
            w = weeks.get(monday)
            if w is None:
                if not exact.FIRST_DAY <= day <= exact.LAST_DAY:
                    raise InvalidArgumentError(f"record {index} falls on a day outside the years 0001-9999")
                w = weeks[monday] = _Week(exact.week_name(monday), (monday + 7) * DAY_MS - tz_ms, index, index,
                                          ProfileBuilder(tz, mapping))
            data = record.get("data")
            is_reading = record.get("type") == iot_type and type(data) is dict
            if is_reading and not unused.isdisjoint(data):
                record = {**record, "data": {k: v for k, v in data.items() if k not in unused}}
            w.builder.add(w.n, record)  # the week's own numbering: the builder needs consecutive indices
            w.n += 1
            w.last = index
            if is_reading:
                machine = data.get(machine_key)
                if type(machine) is str:
                    r = readings.get(machine)
                    if r is None:
                        r = readings[machine] = ([], [])
                    r[0].append(instant)
                    r[1].append(index)
        log_id = bytes(32)
        week_list = []
        for monday in sorted(weeks):
            w = weeks[monday]
            w.profile = w.builder.result(log_id=log_id, stream="week", start=0, end=w.n, checkpoint_size=w.n,
                                         checkpoint_root=log_id)
            w.builder = None  # its arrays are not needed any more
            for code in WEEKLY_CODES[1:]:
                value, subject = _week_figure(code, w.profile)
                w.figures[code] = (value, None if value is None else Fraction(value), subject)
            week_list.append(w)
        machines = {}
        floor = min_gap_hours * HOUR_MS
        for name, (inst, idx) in readings.items():
            if any(inst[i] > inst[i + 1] for i in range(len(inst) - 1)):
                order = sorted(range(len(inst)), key=lambda i: (inst[i], idx[i]))
                inst, idx = [inst[i] for i in order], [idx[i] for i in order]
            gaps = [(inst[i] - inst[i - 1], i) for i in range(1, len(inst)) if inst[i] - inst[i - 1] > floor]
            gaps.sort(key=lambda g: (-g[0], g[1]))
            machines[name] = _Readings(inst, idx, gaps, [-g for g, _ in gaps])
        return cls(start=start, end=expected, tz=tz, mapping=mapping, weeks=week_list, machines=machines,
                   newest_ms=newest)


# --- warnings and met markers ------------------------------------------------------------


@dataclass(frozen=True)
class Warning:
    """One broken covenant, as DESIGN.md §9 prints it (``as_json``). ``key`` is unique per pledge
    and stable across evaluations: ``code/week`` for the weekly codes, ``stoppage/MACHINE/START``
    (START: the index of the reading the silence began after, or ``range`` for the range's end),
    ``anchoring_cadence/SIZE`` (the stale checkpoint's size)."""

    key: str
    code: str
    window: tuple[int, int]
    week: str | None
    checkpoint: tuple[int, str]
    value: str
    threshold: str
    message: str
    token_id: int | None = None
    state: str = "open"

    def with_token(self, token_id: int) -> Warning:
        return replace(self, token_id=token_id)

    def as_json(self) -> dict:
        return {"token_id": self.token_id, "code": self.code, "state": self.state,
                "window": {"from": self.window[0], "to": self.window[1]}, "week": self.week,
                "checkpoint": {"size": self.checkpoint[0], "root": self.checkpoint[1]},
                "value": self.value, "threshold": self.threshold, "message": self.message}


#: ``Warning`` shadows the builtin exception class in a module that imports it by name: import this.
CovenantWarning = Warning


@dataclass(frozen=True)
class Met:
    """A window that meets a covenant: it resolves the open or acknowledged warnings of the same
    code (and machine, for ``stoppage``) from before it (``resolves``)."""

    code: str
    window: tuple[int, int]
    week: str | None = None
    machine: str | None = None
    after: int = 0  # stoppage: the machine's newest reading index; anchoring_cadence: the checkpoint size
    value: str | None = field(default=None, compare=False)  # a weekly code: the week's figure, as printed

    def resolves(self, key: str) -> bool:
        """Whether the warning with ``key`` (of the same pledge) is resolved by this window."""
        code, _, rest = key.partition("/")
        if code != self.code:
            return False
        if code in WEEKLY_CODES:
            return rest < self.week  # "2026-W40" < "2026-W41": names sort as weeks do
        if code == "anchoring_cadence":
            return rest.isdigit() and int(rest) < self.after
        machine, _, start = rest.rpartition("/")
        if machine != self.machine:
            return False
        return start == "range" or (start.isdigit() and int(start) < self.after)

    def as_json(self) -> dict:
        return {"code": self.code, "window": {"from": self.window[0], "to": self.window[1]},
                "week": self.week, "machine": self.machine}


@dataclass(frozen=True)
class Evaluation:
    warnings: list[Warning]
    met: list[Met]


def _checkpoint(value) -> tuple[int, str, int]:
    if type(value) is not dict:
        raise InvalidArgumentError("checkpoint must be {size, root, anchored_at}")
    size, root, at = value.get("size"), value.get("root"), value.get("anchored_at")
    if type(size) is not int or not 0 <= size <= MAX_SAFE_INTEGER:
        raise InvalidArgumentError(f"checkpoint.size must be an integer >= 0, not {size!r}")
    if isinstance(root, bytes) and len(root) == 32:
        root = "0x" + root.hex()
    if type(root) is not str or not re.fullmatch(r"0x[0-9a-f]{64}", root):
        raise InvalidArgumentError("checkpoint.root must be 32 bytes or 0x and 64 lowercase hex digits")
    if type(at) is not int or at < 0:
        raise InvalidArgumentError(f"checkpoint.anchored_at must be a block timestamp (seconds), not {at!r}")
    return size, root, at


def _hours_text(ms: int) -> str:
    return f"{ms / HOUR_MS:.1f} hours"


def evaluate(covenants: dict, *, pledged_profile: dict, records_after, checkpoint: dict, chain_now: int,
             machines: set[str] | None = None) -> Evaluation:
    """Judge ``covenants`` (checked here) at ``checkpoint`` ({size, root, anchored_at: its block
    timestamp}) with ``chain_now`` the latest block timestamp.

    ``pledged_profile`` is the ``dpl-profile/1`` of the pledged range (its baseline: MES good
    output per day, machines, the range's end and last instant). ``records_after`` is either the
    ``(index, record)`` pairs ``[range.to, checkpoint.size)`` or a ``WeeklyFigures`` built from them
    with the covenants' ``tz`` and the profile's ``mapping`` (shared between pledges). ``machines``:
    the machines ``stoppage`` watches (default: the pledged profile's IoT machines).

    Weeks are judged once the records hold an instant at or after the week's end (a record of a
    later week); silences are measured up to the newest record instant (record time); only
    ``anchoring_cadence`` reads the chain's clock. Warnings and met markers come in a fixed order
    (the covenants' order, then week or machine), so the same inputs give the same output."""
    cov = check_covenants(covenants)
    size, root, anchored_at = _checkpoint(checkpoint)
    if type(chain_now) is not int or chain_now < 0:
        raise InvalidArgumentError(f"chain_now must be a block timestamp (seconds), not {chain_now!r}")
    try:
        start = pledged_profile["range"]["to"]
        exact.instant_ms(pledged_profile["coverage"]["last_ts"])
        pledged_profile["coverage"]["days"], pledged_profile["mes"], pledged_profile["iot"]
    except (KeyError, TypeError, ValueError):
        raise InvalidArgumentError("pledged_profile must be the dpl-profile/1 of the pledged range") from None
    if start > size:
        raise InvalidArgumentError(f"the checkpoint (size {size}) ends before the pledged range [.., {start})")
    mapping = pledged_profile.get("mapping")
    if isinstance(records_after, WeeklyFigures):
        figures = records_after
        if (figures.start, figures.tz, figures.mapping) != (start, cov["tz"], check_mapping(mapping)):
            raise InvalidArgumentError(
                f"these figures are of the records from {figures.start} at tz {figures.tz}; the pledge needs "
                f"them from {start} at tz {cov['tz']} with the profile's mapping")
    else:
        figures = WeeklyFigures.build(records_after, start=start, tz=cov["tz"], mapping=mapping)
    if figures.end != size:
        raise InvalidArgumentError(f"the records after the range end at {figures.end}, not at the "
                                   f"checkpoint size {size}")
    cp = (size, root)
    warnings: list[Warning] = []
    met: list[Met] = []
    for c in cov["covenants"]:
        code = c["code"]
        if code == "anchoring_cadence":
            _cadence(c, cp, anchored_at, chain_now, warnings, met)
        elif code == "stoppage":
            _stoppage(c, cp, pledged_profile, figures, machines, warnings, met)
        else:
            _weekly(c, cp, pledged_profile, figures, warnings, met)
    return Evaluation(warnings, met)


def _cadence(c, cp, anchored_at, chain_now, warnings, met):
    age = chain_now - anchored_at
    limit = c["max_hours"] * 3600
    window = (cp[0], cp[0])
    if age > limit:
        warnings.append(Warning(
            f"anchoring_cadence/{cp[0]}", "anchoring_cadence", window, None, cp, str(age), str(limit),
            f"The newest anchored checkpoint (size {cp[0]}) is {age} s old by the chain's latest block, "
            f"more than {c['max_hours']} hours ({limit} s): the data stopped coming."))
    else:
        met.append(Met("anchoring_cadence", window, after=cp[0]))


def _weekly(c, cp, pledged, figures, warnings, met):
    basis = week_basis(c, pledged)
    if basis is None:
        return  # no baseline: the pledged range made no MES good output to compare with
    newest = figures.newest_ms
    closed = []
    for w in figures.weeks:
        if newest is None or newest < w.end_ms:
            break  # weeks come in order: this one and the later ones are not closed yet
        closed.append(w)
    judge_weeks(c, basis, cp, closed, warnings, met)


def week_basis(c: dict, pledged: dict):
    """What a weekly covenant ``c`` (checked) compares each week with, from the pledged profile:
    for ``output_floor`` (the range's good units, its days, the floor per day), None when the
    range made no MES good output (not judged); else the limit (as printed, exact)."""
    if c["code"] == "output_floor":
        base_mes = pledged.get("mes") or {}
        base_good = _int(base_mes.get("qty_good"))
        base_days = pledged["coverage"]["days"]
        if not base_good or not base_days:
            return None
        return base_good, base_days, Fraction(c["min_percent"] * base_good, 100 * base_days)
    limit = c["max_top1_share" if c["code"] == "customer_concentration" else "max_ratio"]
    return limit, Fraction(limit)


def judge_weeks(c: dict, basis, cp: tuple[int, str], weeks: Iterable[_Week], warnings: list, met: list, *,
                with_value: bool = False) -> None:
    """Judge closed weeks of ``WeeklyFigures`` by the weekly covenant ``c`` with its ``week_basis``:
    each week appends a ``Warning`` to ``warnings`` or a ``Met`` to ``met`` (with the week's figure as
    ``value`` if ``with_value``: the monitor does not print it), or nothing when the week's figure
    is null (not judged). The monitor and the evidence re-check (``ledger.covenant_evidence``) both
    judge with this (one loop, not a call per week: the monitor runs it for 1,000 pledges)."""
    code = c["code"]
    if code == "output_floor":
        base_good, base_days, floor = basis
    else:
        limit, limit_value = basis
    for w in weeks:
        p = w.profile
        window = (w.first, w.last + 1)
        value = None
        if code == "output_floor":
            good = _int((p["mes"] or {}).get("qty_good"))
            days = p["coverage"]["days"]
            per_day = Fraction(good, days)
            if per_day < floor:
                warnings.append(Warning(
                    f"{code}/{w.name}", code, window, w.name, cp, ratio(per_day, 1), ratio(floor, 1),
                    f"In {w.name}, MES good output was {good} units over {days} day(s) with records, "
                    f"{ratio(per_day, 1)} a day: less than {c['min_percent']} % of the pledged range's "
                    f"{base_good} units over {base_days} day(s) ({ratio(floor, 1)} a day)."))
                continue
            if with_value:
                value = ratio(per_day, 1)
        else:
            value, exact_value, subject = w.figures[code]
            if value is None:
                continue  # the figure has no value this week (no such records): not judged
            if exact_value > limit_value:
                warnings.append(Warning(f"{code}/{w.name}", code, window, w.name, cp, value, limit,
                                        _week_message(code, w.name, value, limit, subject)))
                continue
        met.append(Met(code, window, week=w.name, value=value))


def _week_figure(code, p):
    """(the week's figure, what it is about) of a profile-figure covenant, from the week's profile."""
    if code == "cross_source_mismatch":
        cs = p["cross_source"]
        return (cs or {}).get("mismatch"), cs
    if code == "scrap_ceiling":
        return (p["mes"] or {}).get("scrap_rate"), p["mes"]
    worst = None  # (share, currency): the largest share, ties by currency name
    for currency, s in sorted(((p["sales"] or {}).get("by_currency") or {}).items()):
        share = s["top1_share"]
        if share is not None and (worst is None or Fraction(share) > Fraction(worst[0])):
            worst = (share, currency)
    if worst is None:
        return None, None
    return worst


def _week_message(code, week, value, limit, subject):
    if code == "cross_source_mismatch":
        return (f"In {week}, IoT counted {subject['iot_parts']} parts and MES reported {subject['mes_units']} "
                f"units over the machine-days: a mismatch of {value}, more than {limit}.")
    if code == "scrap_ceiling":
        return (f"In {week}, MES reported {subject['qty_scrap']} scrap of {_int(subject['qty_good']) + _int(subject['qty_scrap'])} "
                f"units: a scrap rate of {value}, more than {limit}.")
    return (f"In {week}, the largest customer had a share of {value} of the {subject} sales, "
            f"more than {limit}.")


def _stoppage(c, cp, pledged, figures, machines, warnings, met):
    """Per machine: the range's last instant counts as its reading, then its readings after the
    range in time order, then the newest record instant (a silence still going on)."""
    limit = c["max_hours"] * HOUR_MS
    since = exact.instant_ms(pledged["coverage"]["last_ts"])
    newest = figures.newest_ms
    if machines is None:
        machines = set(((pledged.get("iot") or {}).get("machines") or {}))
    if newest is None:
        return  # no record after the range: no time has passed in record time
    for name in sorted(machines):
        r = figures.machines.get(name)
        warnings.extend(silences(c, cp, name, r, since=since, start=figures.start, newest=newest))
        if r is not None and newest - r.inst[-1] <= limit:
            met.append(Met("stoppage", (r.index[-1], cp[0]), machine=name, after=r.index[-1]))


def silences(c: dict, cp: tuple[int, str], name: str, r: _Readings | None, *, since: int, start: int,
             newest: int) -> list[Warning]:
    """The ``stoppage`` warnings of machine ``name`` (its readings ``r`` of ``WeeklyFigures``,
    None for none), in time order: from ``since`` (the pledged range's last instant; ``start``
    its end index) through its readings to ``newest`` (the newest record instant), every step
    longer than ``c["max_hours"]``. The monitor and the evidence re-check both judge with this."""
    limit = c["max_hours"] * HOUR_MS
    found = []  # (key start, window, gap_ms, ended)
    if r is None:
        gap = newest - since
        if gap > limit:
            found.append(("range", (start, cp[0]), gap, False))
    else:
        first = r.inst[0] - since
        if first > limit:
            found.append(("range", (start, r.index[0] + 1), first, True))
        k = bisect_left(r.gap_lengths, -limit)  # the gaps longer than the limit
        for gap, i in sorted(r.gaps[:k], key=lambda g: g[1]):
            a, b = r.index[i - 1], r.index[i]
            found.append((str(a), (min(a, b), max(a, b) + 1), gap, True))
        tail = newest - r.inst[-1]
        if tail > limit:
            found.append((str(r.index[-1]), (r.index[-1], cp[0]), tail, False))
    out = []
    for key_start, window, gap, ended in found:
        began = "the end of the pledged range" if key_start == "range" else f"its reading {key_start}"
        how = ("then reported again" if ended else "and has not reported since (up to the newest record)")
        out.append(Warning(
            f"stoppage/{name}/{key_start}", "stoppage", window, None, cp, str(gap // 1000), str(limit // 1000),
            f"Machine {name} sent no telemetry for {_hours_text(gap)} after {began} {how}: "
            f"more than {c['max_hours']} hours."))
    return out


def _int(v) -> int:
    """A profile count (an integer, or a decimal string beyond 2^53), 0 for null."""
    if v is None:
        return 0
    return v if type(v) is int else int(v)
