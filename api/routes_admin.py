"""Parties and API keys, approved lenders (admin); audits (auditor); health (anyone)."""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from api.auth import role, services
from api.errors import PROBLEM_RESPONSES, ApiProblem
from ledger.errors import LedgerError
from ledger.store.audit_runs import AuditRunStore
from ledger.store.parties import PartyInfo

router = APIRouter(tags=["admin"], responses=PROBLEM_RESPONSES)


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(pattern="^(factory|lender|auditor|admin)$")
    address: str | None = Field(default=None, description="Its chain address (factory signer, lender account)")
    key_name: str | None = Field(default=None, description="A keyring key the service signs with (custody)")


class LenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    address: str


def _party_json(p: PartyInfo) -> dict:
    return {"name": p.name, "role": p.role, "address": p.address, "custodial": p.key_name is not None}


@router.get("/v1/parties", summary="Parties (admin)")
def list_parties(_: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> list[dict]:
    return [_party_json(p) for p in svc.parties.list()]


@router.post("/v1/parties", status_code=201, summary="Create a party (admin)")
def create_party(body: PartyIn, _: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> dict:
    from eth_utils import is_address, to_checksum_address

    address = body.address
    if body.key_name:
        key_address = svc.keyring.info(body.key_name).address
        if address and to_checksum_address(address) != key_address:
            raise ApiProblem(422, "invalid-argument", f"key {body.key_name} is {key_address}, not {address}")
        address = key_address
    elif address:
        if not is_address(address):
            raise ApiProblem(422, "invalid-argument", f"{address!r} is not an Ethereum address")
        address = to_checksum_address(address)
    return _party_json(svc.parties.create(body.name, body.role, address, body.key_name))


@router.post("/v1/parties/{name}/keys", status_code=201, summary="A new API key for a party (shown once; admin)")
def new_key(name: str, _: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> dict:
    key = svc.parties.new_key(name)
    return {"party": name, "key": key, "prefix": key.split("_")[1]}


@router.get("/v1/keys", summary="API keys by prefix (never the keys; admin)")
def list_keys(_: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> list[dict]:
    return [{"prefix": k.prefix, "party": k.party, "created_at": _utc(k.created_at),
             "revoked_at": _utc(k.revoked_at)} for k in svc.parties.keys()]


def _utc(t: datetime | None) -> str | None:
    """ISO 8601 with its offset: SQLite hands back naive datetimes of what was stored as UTC."""
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat()


@router.delete("/v1/keys/{prefix}", status_code=204, summary="Revoke an API key (admin)")
def revoke_key(prefix: str, _: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> None:
    svc.parties.revoke(prefix)


def _admin_account(svc, party: PartyInfo, chain):
    if not party.key_name:
        raise ApiProblem(409, "not-custodial", "the service holds no chain key for this admin")
    return svc.keyring.account(party.key_name, chain.chain_id)


@router.post("/v1/lenders", status_code=201, summary="Approve a lender on the registry (admin)")
def add_lender(body: LenderIn, party: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> dict:
    return _set_lender(svc, party, body.address, True)


@router.delete("/v1/lenders/{address}", summary="Withdraw a lender's approval (admin)")
def remove_lender(address: str, party: PartyInfo = Depends(role("admin")), svc=Depends(services)) -> dict:
    return _set_lender(svc, party, address, False)


def _set_lender(svc, party: PartyInfo, address: str, approved: bool) -> dict:
    from api.routes_pledges import _lender_address
    from ledger.pledge.chain import is_lender, set_lender

    chain = svc.chain()
    who = _lender_address(svc, address)
    if is_lender(chain, who) == approved:  # nothing to send: no custody needed
        return {"address": who, "approved": approved, "tx_hash": None}
    return {"address": who, "approved": approved,
            "tx_hash": set_lender(chain, _admin_account(svc, party, chain), who, approved)}


@router.get("/v1/lenders", summary="Approved lenders (admin, auditor)")
def list_lenders(_: PartyInfo = Depends(role("admin", "auditor")), svc=Depends(services)) -> list[str]:
    from ledger.pledge.chain import approved_lenders

    return approved_lenders(svc.chain(), svc.deployment().get("block_number", 0))


# --- audit -----------------------------------------------------------------------------------


_NDJSON = "application/x-ndjson"


@router.post("/v1/audit", summary="Run an audit now (auditor)",
             responses={200: {"content": {"application/json": {}, _NDJSON: {}},
                              "description": "The report; with `Accept: application/x-ndjson`, progress lines "
                                             "`{\"progress\": {\"records\": n, \"total\": N}}` then "
                                             "`{\"report\": …}` (or `{\"error\": problem}`)"}})
def run_audit(request: Request, _: PartyInfo = Depends(role("auditor")), svc=Depends(services)):
    chain, deployment = svc.chain(), svc.deployment()
    chain.block_number()  # a node that is down is a 503 before anything streams
    if _NDJSON not in request.headers.get("accept", ""):
        return _audit_and_keep(svc, chain, deployment, None)
    return StreamingResponse(_audit_stream(svc, chain, deployment), media_type=_NDJSON)


def _audit_and_keep(svc, chain, deployment, on_record) -> dict:
    from ledger.audit import run_audit as audit

    report = audit(svc.store, chain, deployment, on_record, stuck_after=svc.settings.stuck_after_blocks).as_json()
    AuditRunStore(svc.store.engine, svc.store.key).add(report["clean"], orjson.dumps(report))
    return report


def _audit_stream(svc, chain, deployment):
    """Progress lines (at most ~10 a second) while the audit runs in a thread, then the report."""
    total = sum(info.size for info in svc.store.list_logs())
    done, events = [0], queue.Queue()

    def on_record(n: int) -> None:
        done[0] += n

    def work() -> None:
        try:
            events.put(("report", _audit_and_keep(svc, chain, deployment, on_record)))
        except LedgerError as e:
            events.put(("error", {"title": type(e).__name__, "detail": str(e)}))
        except Exception as e:  # reported to the page; the stream must end either way
            events.put(("error", {"title": "internal error", "detail": str(e).splitlines()[0] if str(e) else ""}))

    threading.Thread(target=work, name="audit", daemon=True).start()
    yield orjson.dumps({"progress": {"records": 0, "total": total}}) + b"\n"
    while True:
        try:
            kind, value = events.get(timeout=0.1)
        except queue.Empty:
            yield orjson.dumps({"progress": {"records": done[0], "total": total}}) + b"\n"
            continue
        yield orjson.dumps({"progress": {"records": done[0], "total": total}}) + b"\n"
        yield orjson.dumps({kind: value}) + b"\n"
        return


@router.get("/v1/audit/latest", summary="The last audit's report (auditor)")
def latest_audit(_: PartyInfo = Depends(role("auditor")), svc=Depends(services)) -> dict:
    r = AuditRunStore(svc.store.engine, svc.store.key).latest()
    if r is None:
        raise ApiProblem(404, "not-found", "no audit has run yet (POST /v1/audit)")
    return {**orjson.loads(r.report), "ran_at": _utc(r.created_at)}


# --- health ----------------------------------------------------------------------------------


@router.get("/health", summary="Database, chain and anchoring backlog")
def health(svc=Depends(services)) -> dict:
    out: dict = {"status": "ok"}
    try:
        with svc.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        out["database"] = {"ok": True, "backend": svc.store.engine.dialect.name}
    except Exception as e:
        out["status"] = "degraded"
        out["database"] = {"ok": False, "error": str(e).splitlines()[0]}
    chain = None
    try:
        chain = svc.chain()
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
        for info in svc.store.list_logs():
            anchored = [r.size for r in AnchorStore(svc.store.engine).all_for_log(info.pk) if r.state in LIVE_STATES]
            if info.size and (not anchored or max(anchored) < info.size):
                backlog += 1
        out["anchoring"] = {"logs_behind": backlog}
        if chain is not None:  # pending for more than DPL_STUCK_AFTER_BLOCKS blocks, and why
            stuck = [s.as_json() for s in stuck_anchors(svc.store, chain, svc.settings.stuck_after_blocks)]
            conflicts = [c.as_json() for c in conflicting_anchors(svc.store, chain)]  # another root on chain
            out["anchoring"].update(stuck=stuck, stuck_after_blocks=svc.settings.stuck_after_blocks,
                                    conflicts=conflicts)
            if stuck or conflicts:
                out["status"] = "degraded"
        loop = getattr(svc, "loop", None)
        if loop is not None:
            out["anchoring"].update(interval_s=loop.interval, last_error=loop.last_error)
            if loop.last_error:  # the last run failed: anchors are not being made
                out["status"] = "degraded"
    except Exception as e:
        out["status"] = "degraded"
        out["anchoring"] = {"error": str(e)}
    return out
