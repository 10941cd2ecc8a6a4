"""The auditor: every anchor and every stored record checked against the chain.

Checks, each failure a finding that names what is wrong and where:
1. the registry at the recorded address runs the committed build (runtime bytecode);
2. every ``CheckpointAnchored`` event of our logs (read with paged ``eth_getLogs``) matches
   an anchor row in our database, and every included/final row matches an event;
3. every anchored root, and every checkpoint in our database, is recomputed from the stored
   leaf hashes (a streaming pass, memory O(log n));
4. no stored record was altered: each payload is unsealed and its leaf hash recomputed;
5. every pledge row in our database (the mirror) matches the pledge on chain, and every
   pledge holding a lien on one of our logs still commits to what our records hash to (its
   manifest is rebuilt from the store and its digest compared with the one on chain);
6. no anchor is stuck: pending for more than ``stuck_after`` blocks (with the reason: a nonce
   gap of the relayer, or what its transaction waits behind);
7. no checkpoint of ours conflicts with the registry: another root anchored at one of our sizes
   (only the log's factory key can have signed it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ledger import merkle
from ledger.anchoring import DEFAULT_STUCK_AFTER_BLOCKS, conflict_text, stuck_anchors
from ledger.chain.client import Chain
from ledger.chain.deploy import runtime_matches
from ledger.chain.events import read_events
from ledger.errors import DataKeyError, InvariantError, LedgerError
from ledger.leaves import leaf_hash_of
from ledger.store.anchors import FINAL, INCLUDED, AnchorStore
from ledger.store.logstore import LogStore


@dataclass
class AuditReport:
    chain_id: int
    registry: str
    logs: int = 0
    records: int = 0
    events: int = 0
    pledges: int = 0
    findings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_json(self) -> dict:
        return {"chain_id": self.chain_id, "registry": self.registry, "logs": self.logs,
                "records": self.records, "anchor_events": self.events, "pledges": self.pledges, "clean": self.clean,
                "findings": self.findings}


class _RootTracker:
    """Roots of every prefix of a stream of leaf hashes, in O(log n) memory (compact range)."""

    def __init__(self):
        self.stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
        self.size = 0

    def push(self, leaf: bytes) -> None:
        node, height = leaf, 0
        while self.stack and self.stack[-1][0] == height:
            _, left = self.stack.pop()
            node = merkle.node_hash(left, node)
            height += 1
        self.stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        acc = self.stack[-1][1]
        for _, h in reversed(self.stack[:-1]):
            acc = merkle.node_hash(h, acc)
        return acc


def chain_events(chain: Chain, from_block: int) -> list[dict]:
    """Every CheckpointAnchored event of the registry since ``from_block``, paged."""
    return read_events(chain, chain.registry.events.CheckpointAnchored, from_block)


def run_audit(store: LogStore, chain: Chain, deployment: dict,
              on_record: Callable[[int], None] | None = None,
              stuck_after: int = DEFAULT_STUCK_AFTER_BLOCKS,
              kept_manifests: Callable[[], Iterable] | None = None) -> AuditReport:
    """``kept_manifests()``: the manifests of the consents kept here (a pledge of a
    ``dpl-asset/2`` is recomputed with its consent's profile parameters)."""
    report = AuditReport(chain.chain_id, chain.registry.address)
    add = report.findings.append
    if not runtime_matches(chain, chain.registry.address):
        add(f"registry {chain.registry.address}: deployed bytecode differs from the committed build")
    for s in stuck_anchors(store, chain, stuck_after):
        add(f"log {s.stream}: anchor of size {s.size} (tx {s.tx_hash}, nonce {s.nonce}) is stuck: pending "
            f"for {s.pending_blocks} blocks; {s.reason}")

    anchors = AnchorStore(store.engine)
    logs = store.list_logs()
    report.logs = len(logs)
    by_log_id = {log.log_id: log for log in logs if log.log_id}
    events = chain_events(chain, deployment.get("block_number", 0))
    report.events = len(events)
    on_chain: dict[tuple[bytes, int], bytes] = {}
    anchored_in: dict[tuple[bytes, int], int] = {}  # the block of each
    for ev in events:
        args = ev["args"]
        log_id, size, root = bytes(args["logId"]), args["size"], bytes(args["root"])
        on_chain[(log_id, size)] = root
        anchored_in[(log_id, size)] = ev["blockNumber"]
        if log_id in by_log_id and anchors.get(chain.chain_id, chain.registry.address,
                                               by_log_id[log_id].pk, size) is None:
            add(f"log {by_log_id[log_id].stream}: checkpoint {size} is anchored on chain "
                f"(block {ev['blockNumber']}) but our database has no record of it")

    for log in logs:
        expected: dict[int, list[tuple[str, bytes]]] = {}
        ours: dict[int, bytes] = {}
        for size, root in store.checkpoints(log.stream):
            expected.setdefault(size, []).append(("checkpoint in our database", root))
            ours[size] = root
        rows = {}
        for row in anchors.for_log(chain.chain_id, chain.registry.address, log.pk):
            if row.state not in (INCLUDED, FINAL):
                continue
            rows[row.size] = row
            chain_root = on_chain.get((log.log_id, row.size)) if log.log_id else None
            if chain_root is None:
                add(f"log {log.stream}: anchor of size {row.size} (tx 0x{row.tx_hash.hex()}) is not on chain")
                continue
            if chain_root != row.root:
                add(f"log {log.stream}: anchored root of size {row.size} is 0x{chain_root.hex()} on "
                    f"chain but 0x{row.root.hex()} in our database")
            expected.setdefault(row.size, []).append(("root anchored on chain", chain_root))
        if log.log_id:
            for (log_id, size), root in on_chain.items():
                if log_id != log.log_id:
                    continue
                if size not in rows and size in ours and ours[size] != root:  # a row's mismatch is said above
                    add(f"log {log.stream}: {conflict_text(size, root, ours[size])} "
                        f"(anchored in block {anchored_in[(log_id, size)]})")
                if size not in expected:
                    expected.setdefault(size, []).append(("root anchored on chain", root))
        _check_records(store, log, expected, report, on_record)
    _check_pledges(store, chain, logs, report, kept_manifests or (lambda: ()))
    return report


def _check_pledges(store, chain: Chain, logs, report: AuditReport, kept_manifests) -> None:
    from ledger.assets import asset_digest
    from ledger.pledge.asset import pledged_manifest
    from ledger.pledge.chain import read_pledge
    from ledger.pledge.terms import recorded_status
    from ledger.store.pledges import PledgeMirror

    add = report.findings.append
    for row in PledgeMirror(store.engine, chain.chain_id, chain.registry.address).list():
        report.pledges += 1
        token = row["token_id"]
        try:
            view = read_pledge(chain, token)
        except LookupError:
            add(f"pledge {token}: in our database but not on chain (dpl pledge sync rebuilds the mirror)")
            continue
        t = view.terms
        status = recorded_status(view.status)  # lapse is read, not stored
        chain_values = {"log_id": t.log_id, "start": t.start, "end": t.end, "checkpoint_size": t.checkpoint_size,
                        "asset_digest": t.asset_digest, "lien_end": t.lien_end, "holder": view.holder,
                        "status": status}
        for name, value in chain_values.items():
            if row[name] != value:
                shown = [("0x" + v.hex()) if isinstance(v, bytes) else v for v in (row[name], value)]
                add(f"pledge {token}: {name} is {shown[0]} in our database but {shown[1]} on chain "
                    "(dpl pledge sync rebuilds the mirror)")
    for log in logs:
        if not log.log_id:
            continue
        for token in chain.call(chain.registry.functions.liensOf(log.log_id).call):
            t = read_pledge(chain, token).terms
            try:
                root = store.root_at(log.stream, t.checkpoint_size)
                manifest = pledged_manifest(store, log.stream, t, root, kept_manifests())
                if manifest is None:  # a dpl-asset/2 whose profile parameters no kept consent gives
                    add(f"log {log.stream}: pledge {token} commits to asset 0x{t.asset_digest.hex()}, which is not "
                        f"the dpl-asset/1 manifest of our records [{t.start}, {t.end}), and no consent kept here "
                        "gives the profile parameters of a dpl-asset/2 one: it cannot be checked")
                    continue
                digest = asset_digest(manifest)
            except LedgerError as e:  # e.g. a pledged record that no longer opens
                add(f"log {log.stream}: pledge {token} covers [{t.start}, {t.end}) of checkpoint "
                    f"{t.checkpoint_size}, which our records cannot describe ({e})")
                continue
            if digest != t.asset_digest:
                add(f"log {log.stream}: pledge {token} commits to asset 0x{t.asset_digest.hex()}, but our "
                    f"records [{t.start}, {t.end}) describe 0x{digest.hex()}")


def _rebuilt_leaf(record_format: str, salt: bytes, canonical: bytes) -> bytes | None:
    """The leaf of a stored record by its log's format; None when the stored bytes are not a
    record at all (a v2 leaf is rebuilt from the parsed record)."""
    try:
        return leaf_hash_of(record_format, salt, canonical)
    except (LedgerError, ValueError):
        return None


def _check_records(store, log, expected, report, on_record) -> None:
    add = report.findings.append
    tracker = _RootTracker()
    if 0 in expected:
        del expected[0]
    try:
        for rec in store.iter_sealed(log.stream):
            try:
                salt, canonical = store.key.open(rec.leaf_hash, rec.sealed)
                if _rebuilt_leaf(log.record_format, salt, canonical) != rec.leaf_hash:
                    add(f"log {log.stream}: record {rec.index} was altered (its payload does not "
                        f"hash to its leaf hash)")
            except DataKeyError:
                add(f"log {log.stream}: record {rec.index} was altered (its sealed payload does not "
                    f"open with the data key for its leaf hash)")
            tracker.push(rec.leaf_hash)
            report.records += 1
            if on_record:
                on_record(1)
            for what, root in expected.pop(tracker.size, []):
                if tracker.root() != root:
                    add(f"log {log.stream}: the {what} at size {tracker.size} is 0x{root.hex()}, but "
                        f"the stored leaf hashes give 0x{tracker.root().hex()}")
    except InvariantError as e:
        add(f"log {log.stream}: {e}")
    for size in sorted(expected):
        add(f"log {log.stream}: checkpoint of size {size} is beyond the stored records ({tracker.size})")
