"""Parties and API keys, approved lenders (admin); audits (auditor); health (anyone)."""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, AdminOrAuditor, Auditor, Svc, admin_signer, lender_address
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import AuditReport, Health, KeyOut, LatestAudit, LenderOut, NewKey, PartyOut
from ledger.errors import LedgerError
from ledger.service.health import check_health
from ledger.service.admin import Lenders, Parties
from ledger.service.audits import Audits
from ledger.store.parties import PartyInfo

router = APIRouter(tags=["admin"], responses=PROBLEM_RESPONSES)


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    # name, role and address are checked by the use case (ledger.service.admin), so the API and
    # `dpl keys api` refuse a bad one in the same words
    name: str = Field(description="1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    role: str = Field(json_schema_extra={"enum": ["factory", "lender", "auditor", "admin"]})
    address: str | None = Field(default=None, description="Its chain address (factory signer, lender account)")
    key_name: str | None = Field(default=None, description="A keyring key the service signs with (custody)")


class LenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    address: str


def _party_json(p: PartyInfo) -> dict:
    return {"name": p.name, "role": p.role, "address": p.address, "custodial": p.key_name is not None}


@router.get("/v1/parties", response_model=list[PartyOut], summary="Parties (admin)")
def list_parties(_: Admin, svc: Svc) -> list[dict]:
    return [_party_json(p) for p in Parties(svc).list()]


@router.post("/v1/parties", response_model=PartyOut, status_code=201, summary="Create a party (admin)")
def create_party(body: PartyIn, _: Admin, svc: Svc) -> dict:
    return _party_json(Parties(svc).create(body.name, body.role, body.address, body.key_name))


@router.post("/v1/parties/{name}/keys", response_model=NewKey, status_code=201, summary="A new API key for a party (shown once; admin)")
def new_key(name: str, _: Admin, svc: Svc) -> dict:
    made = Parties(svc).new_key(name)
    return {"party": made.party, "key": made.key, "prefix": made.prefix}


@router.get("/v1/keys", response_model=list[KeyOut], summary="API keys by prefix (never the keys; admin)")
def list_keys(_: Admin, svc: Svc) -> list[dict]:
    return [{"prefix": k.prefix, "party": k.party, "created_at": _utc(k.created_at),
             "revoked_at": _utc(k.revoked_at)} for k in Parties(svc).keys()]


def _utc(t: datetime | None) -> str | None:
    """ISO 8601 with its offset: SQLite hands back naive datetimes of what was stored as UTC."""
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat()


@router.delete("/v1/keys/{prefix}", status_code=204, summary="Revoke an API key (admin)")
def revoke_key(prefix: str, _: Admin, svc: Svc) -> None:
    Parties(svc).revoke(prefix)


@router.post("/v1/lenders", response_model=LenderOut, status_code=201, summary="Approve a lender on the registry (admin)")
def add_lender(body: LenderIn, party: Admin, svc: Svc) -> LenderOut:
    return _lender_out(Lenders(svc).set(lender_address(svc, body.address), True, admin_signer(svc, party)))


@router.delete("/v1/lenders/{address}", response_model=LenderOut, summary="Withdraw a lender's approval (admin)")
def remove_lender(address: str, party: Admin, svc: Svc) -> LenderOut:
    return _lender_out(Lenders(svc).set(lender_address(svc, address), False, admin_signer(svc, party)))


def _lender_out(change) -> LenderOut:
    return LenderOut(address=change.address, approved=change.approved, tx_hash=change.tx_hash)


@router.get("/v1/lenders", response_model=list[str], summary="Approved lenders (admin, auditor)")
def list_lenders(_: AdminOrAuditor, svc: Svc) -> list[str]:
    return Lenders(svc).list()


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
