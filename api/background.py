"""Anchoring inside the service: a background thread every ``DPL_ANCHOR_INTERVAL`` seconds,
and "anchor now" requests. Only one process anchors at a time: a row lock taken with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (held for the run), an exclusive
``flock`` on ``DPL_HOME/anchoring.lock`` on SQLite (one machine). A worker that finds the
lock taken skips its turn: the holder anchors every log, and the crash-safe anchoring
(intent before send, reconcile) makes any interrupted run safe to redo.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from ledger.service.anchoring import anchor_round

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
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_round()

    @abstractmethod
    def run_round(self) -> None:
        """One round of the loop's work; never raises (the loop must keep going)."""


class AnchoringLoop(_Loop):
    """A daemon thread that anchors every ``interval`` seconds until stopped."""

    name = "dpl-anchoring"

    def run_round(self) -> None:
        """One round: anchor, or skip it if another worker holds the lock; never raises (the
        chain may be down: keep serving, retry next round; ``/health`` shows the error)."""
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
