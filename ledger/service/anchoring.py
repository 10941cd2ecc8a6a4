"""One anchoring run under the anchoring lock: the use case behind ``dpl anchor`` (once or
``--every``), the service's background loop and its "anchor now" route.

Only one process anchors at a time: a row lock (``SELECT … FOR UPDATE SKIP LOCKED``) on
PostgreSQL, an exclusive ``flock`` on ``<database>.anchoring.lock`` on SQLite
(``ledger.store.locks``). A caller that finds it taken gets ``AnchoringBusyError``; the holder
anchors every log, and crash-safe anchoring (intent before send, reconcile) makes an
interrupted run safe to redo. The service's loops add one anchoring leader on top
(``ledger.store.locks.AnchoringLeader``, ``api.background``): only the leader's loop runs
rounds."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import AnchoringBusyError
from ledger.service.context import Context
from ledger.store.locks import AnchoringLeader, anchoring_lock



def anchoring_leader(ctx: Context) -> AnchoringLeader:
    """This process's claim on the anchoring leadership (``AnchoringLeader``: ``lead()``,
    ``held``, ``release()``); the service loop anchors only while it holds it."""
    return AnchoringLeader(ctx.store.engine, ctx.settings.home)


def anchor_once(ctx: Context, stream: str | None = None) -> list:
    """Anchor the newest checkpoint of ``stream`` (default: every log); the reports of the run."""
    from ledger.anchoring import Anchorer

    with anchoring_lock(ctx.store.engine, ctx.settings.home) as held:
        if not held:
            raise AnchoringBusyError()
        s = ctx.settings
        anchorer = Anchorer(ctx.store, ctx.chain(), ctx.keyring, relayer_key=s.relayer_key,
                            factory_key=s.factory_key, confirmations=s.confirmations,
                            stuck_after=s.stuck_after_blocks)
        return anchorer.run(stream)


@dataclass(frozen=True)
class Round:
    """What one round of an anchoring loop did: ran (``reports``), was skipped because another
    process anchors (``busy``), or failed (``error``: retried next round)."""

    reports: list | None = None
    busy: bool = False
    error: Exception | None = None


def anchor_round(ctx: Context, stream: str | None = None) -> Round:
    """One round of a loop that anchors every few seconds unattended (``dpl anchor --every``, the
    service's thread): never raises. Whatever made the run fail — a node or database that is
    down, a refusal, our own bug — is the round's ``error``, for the loop to report and retry:
    one failed round must not end the loop (the service's copy of this rule; ``dpl anchor
    --every`` used to stop with a traceback on any error that was not a ``LedgerError`` or a
    database error)."""
    try:
        reports = anchor_once(ctx, stream)
        if ctx.settings.publish_dir is not None:  # DPL_PUBLISH_DIR: what this round anchored, for any static server
            from ledger.service.publish import publish

            publish(ctx.store, ctx.settings.publish_dir)  # every log with an anchor (incremental: cheap)
        return Round(reports=reports)
    except AnchoringBusyError:
        return Round(busy=True)
    except Exception as e:  # noqa: BLE001 (see the docstring)
        return Round(error=e)
