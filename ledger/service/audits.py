"""Audits: every anchor and every stored record checked against the chain, and the reports
kept (sealed) so the auditor's page shows the latest, whoever ran it (``dpl audit`` or the
API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import orjson

from ledger.service.context import Context
from ledger.store.audit_runs import AuditRunStore


class Audits:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def total_records(self) -> int:
        return sum(info.size for info in self.ctx.store.list_logs())

    def target(self):
        """(chain, deployment record) an audit checks: the registry the deployment record names,
        its code not checked first (a registry whose code is not ours is a finding of the
        report, not a refusal). Asks the node: call it first to fail before any work starts."""
        return self.ctx.recorded_registry()

    def run(self, on_record: Callable[[int], None] | None = None, target=None) -> dict:
        """Audit every anchor and record against ``target`` (default: ``self.target()``), keep
        the report (sealed), return it."""
        from ledger.audit import run_audit
        from ledger.pledge.service import Pledges

        chain, deployment = target or self.target()
        report = run_audit(self.ctx.store, chain, deployment, on_record,
                           stuck_after=self.ctx.settings.stuck_after_blocks,
                           kept_manifests=Pledges(self.ctx).kept_manifests).as_json()
        AuditRunStore(self.ctx.store.engine, self.ctx.store.key).add(report["clean"], orjson.dumps(report))
        return report

    def latest(self) -> tuple[dict, datetime] | None:
        """The last report kept and when it ran; None before the first audit."""
        row = AuditRunStore(self.ctx.store.engine, self.ctx.store.key).latest()
        return None if row is None else (orjson.loads(row.report), row.created_at)
