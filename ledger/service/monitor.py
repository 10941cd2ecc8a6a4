"""Post-loan monitoring (issue 14, ``docs/COVENANTS.md`` §7): one home for ``dpl monitor`` and
the service's background loop (judging), and for ``dpl monitor warnings|ack`` and the API's
warning routes (reading, acknowledging).

``Monitor(ctx).run_once()`` judges every live or defaulted pledge of the pledge mirror whose
consent (kept by this service) carries covenants and a production profile, and whose covenants
hash to the ``covenantsDigest`` of the pledge's terms on chain (else the pledge is not judged:
``MonitorReport.refused`` says why, and no warning is raised):

- at a newer anchored checkpoint than the pledge's evaluation point: the records after the
  pledged range up to that checkpoint, their ``WeeklyFigures`` built once per group (log, range
  end, tz, mapping, checkpoint) and shared, ``evaluate``;
- at the same checkpoint: ``anchoring_cadence`` alone (it changes with the chain's clock);

then, per pledge in one transaction (``WarningStore.record_evaluation``), inserts the warnings
it has not got, resolves those a met window resolves and moves the evaluation point. The
evaluation is a pure function of what was read, so a crash before a commit loses nothing (the
point did not move: the next run judges again) and a re-run duplicates nothing (one warning per
key). After the commits the hook (``on_event(party_ids, event_type, payload, event_key)``) is
told of each warning raised or resolved and not told yet, so a crash between a commit and the
hook is caught up by the next run; the event key is stable, so a receiver deduplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson

from ledger.errors import NotFoundError

log = logging.getLogger("ledger.monitor")

#: The hook's events: a warning raised (its JSON, state open) and one resolved (with evidence).
RAISED, RESOLVED_EVENT = "covenant_warning.raised", "covenant_warning.resolved"
#: Pledge states that are judged: a released pledge is over; a lapsed one (read from the lien
#: end against the chain's clock) is no longer collateral.
JUDGED_STATUSES = ("live", "defaulted")

Hook = Callable[[list[int], str, dict, str], None]


@dataclass(frozen=True)
class Watched:
    """One pledge to judge: its range end (``start`` of the records after it), covenants and
    pledged profile, the log's newest anchored checkpoint ({size, root, anchored_at}) and its
    anchoring transaction, and the parties told of its warnings (holder lender, factory)."""

    token_id: int
    stream: str
    start: int
    covenants: dict
    profile: dict
    checkpoint: dict
    anchor_tx: bytes | None = None
    parties: tuple[int, ...] = ()


@dataclass
class MonitorReport:
    judged: int = 0  # pledges evaluated at a new checkpoint
    cadence_only: int = 0  # pledges whose checkpoint did not move (anchoring_cadence alone)
    raised: list[tuple[int, str]] = field(default_factory=list)  # (token id, key)
    resolved: list[tuple[int, str]] = field(default_factory=list)
    notified: int = 0
    errors: list[str] = field(default_factory=list)
    #: (token id, why): pledges not judged because the kept consent's covenants are not those
    #: the pledge's on-chain terms commit to (``covenantsDigest``); never a warning
    refused: list[tuple[int, str]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"judged": self.judged, "cadence_only": self.cadence_only,
                "raised": [{"token_id": t, "key": k} for t, k in self.raised],
                "resolved": [{"token_id": t, "key": k} for t, k in self.resolved],
                "notified": self.notified, "errors": self.errors,
                "refused": [{"token_id": t, "reason": r} for t, r in self.refused]}


def event_key(chain_id: int, registry: str, token_id: int, key: str, state: str) -> str:
    """The hook's event key of a warning's state: ``warning/CHAIN/REGISTRY/TOKEN/KEY/STATE``, or
    ``warning/`` + SHA-256 hex of that when it is longer than 200 characters (a webhook event key's
    limit; a stoppage key names a machine, whose name may be long)."""
    import hashlib

    text = f"warning/{chain_id}/{registry}/{token_id}/{key}/{state}"
    return text if len(text) <= 200 else "warning/" + hashlib.sha256(text.encode()).hexdigest()


def webhook_hook(ctx) -> Hook | None:
    """The hook that enqueues each event for every party's webhooks (``Webhooks(ctx).enqueue``),
    when this tree has them; else None (warnings are kept untold until a hook is plugged in)."""
    try:
        from ledger.service.webhooks import Webhooks
    except ImportError:
        return None
    hooks = Webhooks(ctx)

    def on_event(party_ids: list[int], event_type: str, payload: dict, event_key: str) -> None:
        for party_id in party_ids:
            hooks.enqueue(party_id, event_type, payload, event_key)

    return on_event


class Monitor:
    """Judging and reading covenant warnings over one ``Context`` (see the module docstring)."""

    def __init__(self, ctx, on_event: Hook | None = None):
        self.ctx = ctx
        self.on_event = on_event
        #: Runs inside each pledge's transaction just before its commit (tests inject a crash).
        self.before_commit: Callable[[], None] | None = None

    # --- judging -------------------------------------------------------------------------

    def _warnings(self, chain_id: int, registry: str):
        from ledger.store.warnings import WarningStore

        return WarningStore(self.ctx.store.engine, chain_id, registry)

    def run_once(self, now: int | None = None) -> MonitorReport:
        """Judge every watched pledge once (see the module docstring); ``now``: the chain's clock
        to judge ``anchoring_cadence`` by (default: the latest block's timestamp)."""
        from ledger.pledge.chain import chain_time
        from ledger.pledge.service import Pledges
        from ledger.pledge.terms import CovenantsNotPledged

        chain = self.ctx.chain()
        pledges = Pledges(self.ctx)
        listed = pledges.list()  # synced with the chain first; status by the lapse rule at chain time
        chain_now = chain_time(chain) if now is None else now
        known = self.ctx.parties.list()
        lenders = {p.address.lower(): p.id for p in known if p.address and p.role == "lender"}
        factories = {p.address.lower(): p.id for p in known if p.address and p.role == "factory"}
        # told of a pledge's warnings: the lender party holding it and the factory party of its log
        parties = {r["token_id"]: tuple(sorted(
            {i for i in (lenders.get((r["holder"] or "").lower()), factories.get(r["factory"].lower()))
             if i is not None})) for r in listed}
        watched, report = [], MonitorReport()
        from ledger.store.pledges import PledgeMirror

        mirror = PledgeMirror(self.ctx.store.engine, chain.chain_id, chain.registry.address)
        kept = pledges.kept_covenants()  # every kept consent opened once, not once per pledge
        for r in listed:
            if r["status"] not in JUDGED_STATUSES:
                continue
            try:
                item = self._watched(chain, pledges, kept, mirror.get(r["token_id"]), parties[r["token_id"]])
            except NotFoundError as e:  # a pledge of a log this service does not hold, not anchored here
                log.debug("pledge %s not judged: %s", r["token_id"], e)
                continue
            except CovenantsNotPledged as e:  # judge nothing rather than covenants the chain does not hold
                log.warning("pledge %s not judged: %s", r["token_id"], e)
                report.refused.append((r["token_id"], str(e)))
                continue
            if item is not None:
                watched.append(item)
        self.judge(watched, chain_now, chain.chain_id, chain.registry.address, report)
        self.notify(chain.chain_id, chain.registry.address, parties, report)
        return report

    def _watched(self, chain, pledges, kept, row: dict | None, parties: tuple[int, ...]) -> Watched | None:
        from ledger.store.anchors import FINAL, INCLUDED, AnchorStore

        if row is None:
            return None
        found = pledges.covenants_of(row, kept)
        if found is None:
            return None
        covenants, profile = found
        pledges.check_covenants_pledged(row["token_id"], covenants)
        info = self.ctx.store.find_by_log_id(bytes(row["log_id"]))
        if info is None:
            return None
        anchors = [a for a in AnchorStore(self.ctx.store.engine).for_log(chain.chain_id, chain.registry.address,
                                                                         info.pk)
                   if a.state in (INCLUDED, FINAL) and a.block_number is not None and a.size >= row["end"]]
        if not anchors:
            return None
        a = max(anchors, key=lambda x: x.size)
        anchored_at = chain.call(lambda: chain.w3.eth.get_block(a.block_number))["timestamp"]
        return Watched(row["token_id"], info.stream, row["end"], covenants, profile,
                       {"size": a.size, "root": a.root, "anchored_at": anchored_at}, a.tx_hash, parties)

    def judge(self, watched: Iterable[Watched], chain_now: int, chain_id: int, registry: str,
              report: MonitorReport | None = None) -> MonitorReport:
        """Judge ``watched`` pledges at their checkpoints with the chain's clock ``chain_now``
        and keep the outcome, one transaction per pledge (the store part of ``run_once``)."""
        from ledger.covenants import WeeklyFigures, evaluate

        report = report if report is not None else MonitorReport()
        store = self._warnings(chain_id, registry)
        points = store.evaluation_points()
        shared: dict[tuple, WeeklyFigures] = {}
        for w in watched:
            size = w.checkpoint["size"]
            last = points.get(w.token_id)
            covenants = w.covenants
            mapping = w.profile.get("mapping")
            if last is not None and size <= last:
                cadence = [c for c in covenants["covenants"] if c["code"] == "anchoring_cadence"]
                if not cadence:
                    continue
                covenants = {**covenants, "covenants": cadence}
                # only the cadence is judged: it reads the checkpoint and the clock, no record
                figures = WeeklyFigures(start=w.start, end=size, tz=covenants["tz"], mapping=_checked(mapping),
                                        weeks=[], machines={}, newest_ms=None)
                report.cadence_only += 1
            else:
                group = (w.stream, w.start, covenants["tz"], orjson.dumps(mapping, option=orjson.OPT_SORT_KEYS), size)
                figures = shared.get(group)
                if figures is None:
                    records = ((s.index, s.record) for s in self.ctx.store.iter_records(w.stream, w.start, size))
                    figures = shared[group] = WeeklyFigures.build(records, start=w.start, tz=covenants["tz"],
                                                                  mapping=mapping)
                report.judged += 1
            evaluation = evaluate(covenants, pledged_profile=w.profile, records_after=figures,
                                  checkpoint=w.checkpoint, chain_now=chain_now)
            changes = store.record_evaluation(w.token_id, size, evaluation.warnings, evaluation.met, w.anchor_tx,
                                              before_commit=self.before_commit)
            report.raised += [(w.token_id, k) for k in changes.raised]
            report.resolved += [(w.token_id, k) for k in changes.resolved]
        return report

    def notify(self, chain_id: int, registry: str, parties: dict[int, tuple[int, ...]],
               report: MonitorReport | None = None) -> MonitorReport:
        """Tell the hook of every warning raised or resolved it was not told of (then mark it
        told). Without a hook nothing is marked: a hook plugged in later is told of them all.
        A hook that fails leaves the warning untold (the next run tries again)."""
        report = report if report is not None else MonitorReport()
        if self.on_event is None:
            return report
        store = self._warnings(chain_id, registry)
        for w in store.unnotified():
            events = []
            if w.notified is None:
                events.append(RAISED)
            if w.state == "resolved":
                events.append(RESOLVED_EVENT)
            try:
                for event in events:
                    state = "open" if event == RAISED else "resolved"
                    payload = {**w.as_json(), "state": state} if event == RAISED else w.as_json()
                    key = event_key(chain_id, registry, w.token_id, w.key, state)
                    self.on_event(list(parties.get(w.token_id, ())), event, payload, key)
                    report.notified += 1
            except Exception as e:  # noqa: BLE001 (a receiver's store problem must not stop the monitor)
                report.errors.append(f"warning {w.id}: the hook failed: {e}")
                continue
            store.mark_notified(w.id, w.state)
        return report

    # --- reading and acknowledging ---------------------------------------------------------

    def _scope(self):
        chain = self.ctx.chain()
        return chain, self._warnings(chain.chain_id, chain.registry.address)

    def warnings(self, party=None, token_id: int | None = None) -> list[dict]:
        """Warnings as DESIGN.md §9 JSON with the stored state: of the pledges ``party`` may see
        (the holder's, the factory's own logs', all for an auditor; None: all), or of one."""
        from ledger.pledge.service import Pledges

        _, store = self._scope()
        if token_id is not None:
            if party is not None:
                Pledges(self.ctx).show(token_id, party)  # NotFoundError("no such pledge") if not its to see
            return [w.as_json() for w in store.list(token_ids=[token_id])]
        if party is None or party.role == "auditor":
            return [w.as_json() for w in store.list()]
        visible = [r["token_id"] for r in Pledges(self.ctx).list(party)
                   if party.role != "lender" or r.get("held", True)]
        return [w.as_json() for w in store.list(token_ids=visible)]

    def counts(self, token_id: int, party) -> dict:
        """Warnings of one pledge counted by state (what an auditor sees)."""
        from ledger.pledge.service import Pledges

        Pledges(self.ctx).show(token_id, party)
        _, store = self._scope()
        out = {"open": 0, "acknowledged": 0, "resolved": 0}
        for w in store.list(token_ids=[token_id]):
            out[w.state] += 1
        return out

    def acknowledge(self, warning_id: int, holder: str, party=None) -> dict:
        """The pledge's holder (``holder``: its address) acknowledges a warning: ``open`` →
        ``acknowledged``. Anyone else: ``NotFoundError("no such warning")``, like a missing one."""
        from ledger.pledge.chain import read_pledge

        chain, store = self._scope()
        found = store.get(warning_id)
        if found is None:
            raise NotFoundError("no such warning")
        try:
            view = read_pledge(chain, found.token_id)
        except NotFoundError:
            raise NotFoundError("no such warning") from None
        if (view.holder or "").lower() != holder.lower() or (party is not None and party.role != "lender"):
            raise NotFoundError("no such warning")
        return store.acknowledge(warning_id, view.holder).as_json()


def _checked(mapping):
    from ledger.profile import check_mapping

    return check_mapping(mapping)
