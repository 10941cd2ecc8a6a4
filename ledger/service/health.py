"""The service's health: the database, the chain and the anchoring backlog, in one report.

One use case for ``GET /health`` and the sign-in page (which shows it). It never raises: a
part that fails is reported as not ok and the status becomes ``degraded``.
"""

from __future__ import annotations

from typing import Protocol


class AnchoringStatus(Protocol):
    """What the report shows of a running anchoring loop (``api.background.AnchoringLoop``)."""

    interval: float
    last_error: str | None
    leader: bool  # this process holds the anchoring leadership (ledger.store.locks.AnchoringLeader)


def check_health(ctx, loop: AnchoringStatus | None = None) -> dict:
    """``{"status": "ok" | "degraded", "database": …, "chain": …, "anchoring": …}``.

    ``ctx`` gives ``store``, ``settings`` and ``chain()`` (the service's context); ``loop``
    is the anchoring loop of this worker, if it runs one (its last run failing degrades;
    ``anchoring.leader`` says whether this process is the one that anchors, the others stand by).
    """
    from sqlalchemy import text

    out: dict = {"status": "ok"}
    try:
        with ctx.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        out["database"] = {"ok": True, "backend": ctx.store.engine.dialect.name}
    except Exception as e:
        out["status"] = "degraded"
        out["database"] = {"ok": False, "error": str(e).splitlines()[0]}
    chain = None
    try:
        chain = ctx.chain()
        out["chain"] = {"ok": True, "chain_id": chain.chain_id, "latest_block": chain.block_number(),
                        "registry": chain.registry.address}
    except Exception as e:
        chain = None
        out["status"] = "degraded"
        out["chain"] = {"ok": False, "error": str(e)}
    try:
        from ledger.anchoring import conflicting_anchors, stuck_anchors
        from ledger.store.anchors import LIVE_STATES, AnchorStore

        backlog = 0
        for info in ctx.store.list_logs():
            anchored = [r.size for r in AnchorStore(ctx.store.engine).all_for_log(info.pk) if r.state in LIVE_STATES]
            if info.size and (not anchored or max(anchored) < info.size):
                backlog += 1
        out["anchoring"] = {"logs_behind": backlog}
        stuck_after = ctx.settings.stuck_after_blocks
        if chain is not None:  # pending for more than DPL_STUCK_AFTER_BLOCKS blocks, and why
            stuck = [s.as_json() for s in stuck_anchors(ctx.store, chain, stuck_after)]
            conflicts = [c.as_json() for c in conflicting_anchors(ctx.store, chain)]  # another root on chain
            out["anchoring"].update(stuck=stuck, stuck_after_blocks=stuck_after, conflicts=conflicts)
            if stuck or conflicts:
                out["status"] = "degraded"
        if loop is not None:
            out["anchoring"].update(interval_s=loop.interval, last_error=loop.last_error, leader=loop.leader)
            if loop.last_error:  # the last run failed: anchors are not being made
                out["status"] = "degraded"
    except Exception as e:
        out["status"] = "degraded"
        out["anchoring"] = {"error": str(e)}
    return out
