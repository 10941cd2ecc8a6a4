"""Exact number and calendar rules of `docs/PROFILE.md` §1 and §3 (pure, no floats).

Every figure of a profile goes through these helpers, so Python and the browser's
JavaScript (``api/web/static/js/verify/profile.js``) print the same bytes:
- ``ratio(n, d)``: a rational rounded half-even to 6 decimals, as ``"0.012300"``;
- ``root_ratio(q)``: ``sqrt(q)`` rounded half-even to 6 decimals with integer square roots;
- ``count(x)``: an integer as a JSON integer, beyond +-(2^53 - 1) as a decimal string;
- ``instant_ms(ts)``: an RFC 3339 timestamp as whole milliseconds since the epoch
  (digits after the third dropped, a leap second ``60`` read as ``59``, offset applied);
- ``day_of`` / ``day_name`` / ``week_name``: the calendar day and ISO week (4-digit ISO year)
  in an offset.
"""

from __future__ import annotations

import math
import re
from datetime import date
from fractions import Fraction

MAX_SAFE_INTEGER = 2**53 - 1
DAY_MS = 86_400_000
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_SCALE = 1_000_000
#: The days a calendar names: 0001-01-01 and 9999-12-31 as day numbers.
FIRST_DAY = 1 - _EPOCH_ORDINAL
LAST_DAY = date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL

# The record timestamp shape `ledger.records` accepts (RFC 3339 with a mandatory offset).
_TS_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_TZ = re.compile(r"([+-])([01][0-9]|2[0-3]):([0-5][0-9])")


def count(x: int) -> int | str:
    """A count or integer sum as JSON: the integer, or its decimal string beyond +-(2^53 - 1)."""
    return x if -MAX_SAFE_INTEGER <= x <= MAX_SAFE_INTEGER else str(x)


def _six(n: int) -> str:
    """``n`` millionths as a decimal string with exactly 6 decimals (no sign for zero)."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // _SCALE}.{n % _SCALE:06d}"


def ratio(numerator: int | Fraction, denominator: int | Fraction) -> str | None:
    """``numerator / denominator`` rounded half-even to 6 decimals; None for a zero denominator."""
    if denominator == 0:
        return None
    return _six(round(Fraction(numerator) / Fraction(denominator) * _SCALE))  # round(): half-even


def root_ratio(q: Fraction) -> str | None:
    """``sqrt(q)`` (q >= 0) rounded half-even to 6 decimals, exactly: with X = q * 10^12,
    k = isqrt(floor(X)) = floor(sqrt(X)), and sqrt(X) is compared with k + 1/2 as 4X vs (2k+1)^2."""
    if q < 0:
        raise ValueError("root of a negative number")
    x = Fraction(q) * _SCALE * _SCALE
    k = math.isqrt(x.numerator // x.denominator)
    twice = (2 * k + 1) ** 2
    four_x = 4 * x
    if four_x > twice or (four_x == twice and k % 2 == 1):
        k += 1
    return _six(k)


def decimal_value(v: int | float | str) -> Fraction:
    """The exact value of a JSON number's canonical (shortest round-trip) text, or of a
    decimal string: ``0.1`` is 1/10, not the binary double's value."""
    if type(v) is int:
        return Fraction(v)
    if type(v) is float:
        return Fraction(repr(v))  # repr: the shortest round-trip digits, as ECMAScript prints
    return Fraction(v)


def instant_ms(ts: str) -> int:
    """Whole milliseconds since 1970-01-01T00:00:00Z of an RFC 3339 timestamp with an offset.
    Raises ValueError for anything else (or a date that does not exist)."""
    if type(ts) is not str or not _TS_SHAPE.fullmatch(ts):
        raise ValueError(f"not an RFC 3339 timestamp with an offset: {ts!r}")
    days = date(int(ts[0:4]), int(ts[5:7]), int(ts[8:10])).toordinal() - _EPOCH_ORDINAL
    return days * DAY_MS + _clock_ms(ts)


def _clock_ms(ts: str) -> int:
    """The time of day and offset part of ``instant_ms`` (``ts`` already has the right shape)."""
    hour, minute, second = int(ts[11:13]), int(ts[14:16]), int(ts[17:19])
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f"not a time of day: {ts!r}")
    if second == 60:
        second = 59  # a leap second is read as the second before it
    ms = ((hour * 60 + minute) * 60 + second) * 1000
    last = ts[-1]
    if last == "Z" or last == "z":
        frac = ts[19:-1]
    else:
        frac = ts[19:-6]
        ms -= offset_ms(ts[-6:])
    if frac:
        ms += int((frac[1:4] + "00")[:3])
    return ms


def offset_ms(tz: str) -> int:
    """``±HH:MM`` as signed milliseconds (hours 00-23, minutes 00-59)."""
    m = _TZ.fullmatch(tz) if type(tz) is str else None
    if not m:
        raise ValueError(f"not an offset ±HH:MM: {tz!r}")
    ms = (int(m.group(2)) * 60 + int(m.group(3))) * 60_000
    return -ms if m.group(1) == "-" else ms


def day_of(instant: int, tz_ms: int) -> int:
    """The day (days since 1970-01-01) of an instant seen at offset ``tz_ms``."""
    return (instant + tz_ms) // DAY_MS


def day_name(day: int) -> str:
    """``YYYY-MM-DD`` of a day number."""
    return date.fromordinal(day + _EPOCH_ORDINAL).isoformat()


def week_name(day: int) -> str:
    """The ISO 8601 week (``2026-W40``, Monday first) of a day number."""
    year, week, _ = date.fromordinal(day + _EPOCH_ORDINAL).isocalendar()
    return f"{year:04d}-W{week:02d}"
