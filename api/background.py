"""Anchoring inside the service: a background thread every ``DPL_ANCHOR_INTERVAL`` seconds,
and "anchor now" requests.

One anchoring leader among every process on the database (the workers of one ``dpl serve``
and any number of other ``dpl serve`` processes): the loop anchors only while its process
holds the leader lock (``ledger.store.locks.AnchoringLeader``: a session-level advisory lock
on PostgreSQL, a ``flock`` on ``<database>.anchoring-leader.lock`` on SQLite), held until the
process stops or dies; the other loops try to take it every round, so one of them takes over
within an interval. Each run also takes the per-run anchoring lock (a row lock taken with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, a ``flock`` on ``<database>.anchoring.lock``
on SQLite), which keeps it apart from ``dpl anchor`` and "anchor now" requests; the crash-safe
anchoring (intent before send, reconcile) makes any interrupted run safe to redo.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from ledger.service.anchoring import anchor_round, anchoring_leader

log = logging.getLogger("dpl.anchoring")


class _Loop(ABC):
    """A daemon thread that calls ``run_round`` every ``interval`` seconds until stopped."""

    name = "dpl-loop"

    def __init__(self, svc, interval: float):
        self.svc, self.interval = svc, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.last_error: str | None = None
        self.last_run = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_round()

    @abstractmethod
    def run_round(self) -> None:
        """One round of the loop's work; never raises (the loop must keep going)."""


class AnchoringLoop(_Loop):
    """A daemon thread that anchors every ``interval`` seconds while its process is the
    anchoring leader, until stopped (stopping gives the leadership up)."""

    name = "dpl-anchoring"

    def __init__(self, svc, interval: float):
        super().__init__(svc, interval)
        self.leadership = anchoring_leader(svc)

    @property
    def leader(self) -> bool:
        """Whether this process is the anchoring leader (as of its last round)."""
        return self.leadership.held

    def stop(self) -> None:
        super().stop()
        self.leadership.release()

    def run_round(self) -> None:
        """One round: anchor if this process leads (taking the lead when it is free), else skip;
        never raises (the chain or the database may be down: keep serving, retry next round;
        ``/health`` shows the error)."""
        try:
            if not self.leadership.lead():
                self.last_error = None
                return  # another process leads
        except Exception as e:  # noqa: BLE001 (the database is down: retried next round)
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("anchoring leadership unknown: %s", self.last_error)
            return
        done = anchor_round(self.svc)
        if done.busy:
            return  # another worker has the lock this round
        if done.error is not None:
            self.last_error = f"{type(done.error).__name__}: {done.error}"
            log.warning("anchoring failed: %s", self.last_error)
            return
        self.last_run, self.last_error = done.reports, None


class WebhookLoop(_Loop):
    """A daemon thread that runs a webhook delivery pass (``ledger.service.webhooks.deliver_due``)
    every ``interval`` seconds until stopped. Every worker may run one: deliveries are claimed
    one at a time under a lease, so each is sent by one worker."""

    name = "dpl-webhooks"

    def run_round(self) -> None:
        self.run_pass()

    def run_pass(self) -> None:
        """One pass; never raises (the database may be down for a moment: retry next pass)."""
        from ledger.service.webhooks import deliver_due

        try:
            deliver_due(self.svc)
            self.last_error = None
        except Exception as e:  # noqa: BLE001 (keep the loop alive; the error is logged)
            self.last_error = f"{type(e).__name__}: {e}"
            logging.getLogger("dpl.webhooks").warning("webhook delivery pass failed: %s", self.last_error)


class MonitorLoop(_Loop):
    """A daemon thread that judges the pledges' covenants every ``interval`` seconds
    (``DPL_MONITOR_INTERVAL``; off unless set) until stopped. Each worker may run one: the
    monitor's writes are idempotent (one warning per pledge and key, one transaction per pledge),
    so two runs at once raise nothing twice."""

    name = "dpl-monitor"

    def run_round(self) -> None:
        """One run; never raises (the chain may be down: keep serving, retry next round)."""
        from ledger.service.monitor import Monitor, webhook_hook

        try:
            self.last_run, self.last_error = Monitor(self.svc, on_event=webhook_hook(self.svc)).run_once(), None
        except Exception as e:  # noqa: BLE001
            self.last_error = f"{type(e).__name__}: {e}"
            logging.getLogger("dpl.monitor").warning("monitoring failed: %s", self.last_error)
