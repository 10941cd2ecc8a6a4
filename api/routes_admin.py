"""Parties and API keys, approved lenders (admin); audits (auditor); health (anyone)."""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, AdminOrAuditor, Auditor, Svc, admin_account, lender_address
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import AuditReport, Health, KeyOut, LatestAudit, LenderOut, NewKey, PartyOut
from api.services import Services
from ledger.errors import LedgerError
from ledger.service.health import check_health
from ledger.service.audits import Audits
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


@router.get("/v1/parties", response_model=list[PartyOut], summary="Parties (admin)")
def list_parties(_: Admin, svc: Svc) -> list[dict]:
    return [_party_json(p) for p in svc.parties.list()]


@router.post("/v1/parties", response_model=PartyOut, status_code=201, summary="Create a party (admin)")
def create_party(body: PartyIn, _: Admin, svc: Svc) -> dict:
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


@router.post("/v1/parties/{name}/keys", response_model=NewKey, status_code=201, summary="A new API key for a party (shown once; admin)")
def new_key(name: str, _: Admin, svc: Svc) -> dict:
    key = svc.parties.new_key(name)
    return {"party": name, "key": key, "prefix": key.split("_")[1]}


@router.get("/v1/keys", response_model=list[KeyOut], summary="API keys by prefix (never the keys; admin)")
def list_keys(_: Admin, svc: Svc) -> list[dict]:
    return [{"prefix": k.prefix, "party": k.party, "created_at": _utc(k.created_at),
             "revoked_at": _utc(k.revoked_at)} for k in svc.parties.keys()]


def _utc(t: datetime | None) -> str | None:
    """ISO 8601 with its offset: SQLite hands back naive datetimes of what was stored as UTC."""
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat()


@router.delete("/v1/keys/{prefix}", status_code=204, summary="Revoke an API key (admin)")
def revoke_key(prefix: str, _: Admin, svc: Svc) -> None:
    svc.parties.revoke(prefix)


@router.post("/v1/lenders", response_model=LenderOut, status_code=201, summary="Approve a lender on the registry (admin)")
def add_lender(body: LenderIn, party: Admin, svc: Svc) -> dict:
    return _set_lender(svc, party, body.address, True)


@router.delete("/v1/lenders/{address}", response_model=LenderOut, summary="Withdraw a lender's approval (admin)")
def remove_lender(address: str, party: Admin, svc: Svc) -> dict:
    return _set_lender(svc, party, address, False)


def _set_lender(svc: Services, party: PartyInfo, address: str, approved: bool) -> dict:
    from ledger.pledge.chain import is_lender, set_lender

    chain = svc.chain()
    who = lender_address(svc, address)
    if is_lender(chain, who) == approved:  # nothing to send: no custody needed
        return {"address": who, "approved": approved, "tx_hash": None}
    return {"address": who, "approved": approved,
            "tx_hash": set_lender(chain, admin_account(svc, party, chain), who, approved)}


@router.get("/v1/lenders", response_model=list[str], summary="Approved lenders (admin, auditor)")
def list_lenders(_: AdminOrAuditor, svc: Svc) -> list[str]:
    from ledger.pledge.chain import approved_lenders

    return approved_lenders(svc.chain(), svc.deployment_block)


# --- audit -----------------------------------------------------------------------------------


_NDJSON = "application/x-ndjson"


@router.post("/v1/audit", response_model=AuditReport, summary="Run an audit now (auditor)",
             responses={200: {"content": {"application/json": {}, _NDJSON: {}},
                              "description": "The report; with `Accept: application/x-ndjson`, progress lines "
                                             "`{\"progress\": {\"records\": n, \"total\": N}}` then "
                                             "`{\"report\": …}` (or `{\"error\": problem}`)"}})
def run_audit(request: Request, _: Auditor, svc: Svc):
    audits = Audits(svc)
    target = audits.target()  # a node that is down is a 503 before anything streams
    if _NDJSON not in request.headers.get("accept", ""):
        return audits.run(None, target)
    return StreamingResponse(_audit_stream(audits, target), media_type=_NDJSON)


def _audit_stream(audits: Audits, target):
    """Progress lines (at most ~10 a second) while the audit runs in a thread, then the report."""
    total = audits.total_records()
    done, events = [0], queue.Queue()

    def on_record(n: int) -> None:
        done[0] += n

    def work() -> None:
        try:
            events.put(("report", audits.run(on_record, target)))
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


@router.get("/v1/audit/latest", response_model=LatestAudit, response_model_exclude_unset=True, summary="The last audit's report (auditor)")
def latest_audit(_: Auditor, svc: Svc) -> dict:
    latest = Audits(svc).latest()
    if latest is None:
        raise ApiProblem(404, "not-found", "no audit has run yet (POST /v1/audit or dpl audit)")
    report, ran_at = latest
    return {**report, "ran_at": _utc(ran_at)}


# --- health ----------------------------------------------------------------------------------


@router.get("/health", response_model=Health, summary="Database, chain and anchoring backlog")
def health(svc: Svc) -> dict:
    return check_health(svc, getattr(svc, "loop", None))
