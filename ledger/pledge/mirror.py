"""The pledge mirror sync: the registry's pledge events, read from the chain and applied to
the database mirror (``ledger.store.pledges``), and a mirrored pledge as lists show it.

The chain is the source of truth; the mirror is rebuilt from the deployment block when the
chain reorganised under the block it last read.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address

from ledger.bundles import to_hex
from ledger.chain.client import Chain
from ledger.chain.events import read_events
from ledger.pledge.terms import Terms, effective_status
from ledger.store.pledges import PledgeMirror, SyncPoint

EVENTS = ("PledgeIssued", "PledgeTransferred", "PledgeReleased", "PledgeDefaulted", "PledgeExtended")


def _decode(chain: Chain, from_block: int, to_block: int) -> list[dict]:
    raw = []
    for name in EVENTS:
        raw += [(name, ev) for ev in read_events(chain, getattr(chain.registry.events, name), from_block, to_block)]
    raw.sort(key=lambda item: (item[1]["blockNumber"], item[1]["logIndex"]))
    out = []
    for name, ev in raw:
        args = ev["args"]
        item = {"event": name, "token_id": args["tokenId"], "block_number": ev["blockNumber"],
                "tx": bytes(ev["transactionHash"])}
        if name == "PledgeIssued":
            item.update(terms=Terms.from_chain(args["terms"]), factory=to_checksum_address(args["factory"]),
                        holder=to_checksum_address(args["lender"]), nonce=args["nonce"],
                        issue_tx=bytes(ev["transactionHash"]))
        elif name == "PledgeTransferred":
            item["to"] = to_checksum_address(args["to"])
        elif name == "PledgeExtended":
            item["new_lien_end"] = args["newLienEnd"]
        out.append(item)
    return out


@dataclass(frozen=True)
class SyncReport:
    events: int
    rebuilt: bool
    block_number: int


def sync(chain: Chain, engine, deployment_block: int, full: bool = False) -> SyncReport:
    """Bring the pledge mirror up to the chain head. Reads from where it stopped; reads from
    the deployment block (a rebuild) when ``full``, the first time, or when the block it
    stopped at is no longer on the chain (a reorg)."""
    mirror = PledgeMirror(engine, chain.chain_id, chain.registry.address)
    point = mirror.sync_point()
    head = chain.block_number()
    head_hash = chain.block_hash(head)
    rebuild = full or point is None or chain.block_hash(point.block_number) != point.block_hash
    start = deployment_block if rebuild else point.block_number + 1
    events = _decode(chain, start, head) if start <= head else []
    mirror.apply(events, SyncPoint(head, head_hash), rebuild)
    return SyncReport(len(events), rebuild, head)


def mirror_row_json(row: dict, now: int) -> dict:
    """A mirrored pledge as the CLI and the API list it, its status read at chain time ``now``."""
    return {"token_id": row["token_id"], "status": effective_status(row["status"], row["lien_end"], now),
            "holder": row["holder"], "log_id": to_hex(row["log_id"]), "from": row["start"], "to": row["end"],
            "checkpoint_size": row["checkpoint_size"], "samples": row["samples"],
            "asset_digest": to_hex(row["asset_digest"]), "principal": row["principal"], "currency": row["currency"],
            "maturity": row["maturity"], "lien_end": row["lien_end"], "max_lien_end": row["max_lien_end"],
            "factory": row["factory"],
            "loan_ref_digest": to_hex(row["loan_ref_digest"]), "issue_block": row["issue_block"],
            "covenants_digest": None if row.get("covenants_digest") is None else to_hex(row["covenants_digest"])}
