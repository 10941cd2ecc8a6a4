"""A monitor process for ``test_monitor_kill``: judges the pickled pledges over the given store
and, just before the commit of the pledge named on the command line, says so on stdout and waits
to be killed (a real SIGKILL, inside an open write transaction)."""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

from ledger.service.context import Context
from ledger.service.monitor import Monitor
from ledger.settings import Settings


def main(home: str, database_url: str, watched_file: str, stop_at: str, now: str, chain: str, registry: str) -> None:
    watched = pickle.loads(Path(watched_file).read_bytes())
    ctx = Context(Settings(home=Path(home), database_url=database_url or None))
    monitor = Monitor(ctx)
    calls = []

    def before_commit():
        calls.append(watched[len(calls)].token_id)
        print(f"committing {calls[-1]}", flush=True)
        if calls[-1] == int(stop_at):
            time.sleep(600)  # killed here, its rows written and not committed

    monitor.before_commit = before_commit
    monitor.judge(watched, int(now), int(chain), registry)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
