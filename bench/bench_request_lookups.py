"""The two lookups every API read of a log starts with, timed in process on SQLite: the API key
with its party (``PartyStore.authenticate``) and the log with its owner and newest anchor
(``LogStore.find_by_log_id_with_owner``). Microseconds a call, best of 5 rounds of 2,000.

    .venv/bin/python bench/bench_request_lookups.py
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/bench_request_lookups.py   # compare code
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ledger.settings import Settings
from ledger.store.logstore import LogStore
from ledger.store.parties import PartyStore


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dpl-lookups-"))
    store = LogStore.open(Settings(home=tmp / "home", database_url=None))
    store.create_log("m")
    log_id = os.urandom(32)
    store.bind_log("m", "0x" + "11" * 20, log_id)
    store.append("m", [(i, {"id": f"r{i}", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"v": i}})
                       for i in range(300)])
    parties = PartyStore(store.engine)
    parties.create("f", "factory")
    key = parties.new_key("f")
    for name, call in (("authenticate", lambda: parties.authenticate(key)),
                       ("find_by_log_id_with_owner", lambda: store.find_by_log_id_with_owner(log_id)),
                       ("… with the newest anchor", lambda: store.find_by_log_id_with_owner(log_id, (0, None))),
                       ("… with the anchor at a size", lambda: store.find_by_log_id_with_owner(log_id, (0, 10)))):
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(2000):
                call()
            best = min(best, (time.perf_counter() - t) / 2000)
        print(f"{name:32} {best * 1e6:6.0f} µs", flush=True)
    store.close()


if __name__ == "__main__":
    main()
