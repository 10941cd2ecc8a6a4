"""Records per day and type over a log's newest records: counts only, for a factory's chart.

The payloads are sealed, so the counting reads them through the log store (unsealed one by
one, never all at once) rather than in SQL; what leaves is the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.records import utc_day
from ledger.store.logstore import LogStore


@dataclass(frozen=True)
class Activity:
    #: The records counted: ``[start, end)``.
    start: int
    end: int
    #: Every record type seen, sorted.
    types: list[str]
    #: ``(day, {type: count})`` in day order (UTC days, from each record's ``ts``).
    days: list[tuple[str, dict[str, int]]]


class RecordActivity:
    def __init__(self, store: LogStore):
        self.store = store

    def newest(self, stream: str, size: int, last: int) -> Activity:
        """Counts over the newest ``last`` of the log's first ``size`` records (``last`` >= 1)."""
        start = max(0, size - last)
        days: dict[str, dict[str, int]] = {}
        types: set[str] = set()
        for rec in self.store.iter_records(stream, start, size):
            per_type = days.setdefault(utc_day(rec.record["ts"]), {})
            per_type[rec.record["type"]] = per_type.get(rec.record["type"], 0) + 1
            types.add(rec.record["type"])
        # a five-digit year (10000-01-01) sorts after every four-digit one
        ordered = sorted(days, key=lambda d: (len(d), d))
        return Activity(start, size, sorted(types), [(d, days[d]) for d in ordered])
