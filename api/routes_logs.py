"""Logs, records, proofs, checkpoints and leaf hashes.

A factory sees and writes only its own logs; an auditor reads every log's sizes, roots,
checkpoints, anchors, leaf hashes and proofs, never a payload; lenders and admins see no
logs. Streams are namespaced by the factory (``acme/line-a``), so one factory's names never
collide with, or reveal, another's.
"""

from __future__ import annotations

import hashlib
import io
import re

import orjson
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Caller, Factory, LogId, LogReader, Svc, find_log, not_found
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import (ActivityOut, AnchorReportOut, AppendOut, CheckpointOut, CheckpointToSign, ConsistencyBundle,
                         InclusionOut, LeavesOut, LogOut, ProofBundle, SignaturesKept)
from api.services import Services
from ledger.bundles import to_hex
from ledger.errors import RecordError
from ledger.limits import MAX_INDEX
from ledger.records import parse_json_line
from ledger.service.proofs import Proofs
from ledger.sources import read_jsonl
from ledger.store.anchors import AnchorStore
from ledger.store.activity import RecordActivity
from ledger.store.idempotency import IdempotencyKeys
from ledger.store.parties import PartyInfo

router = APIRouter(prefix="/v1/logs", tags=["logs"], responses=PROBLEM_RESPONSES)
MAX_RECORDS = 100_000
#: Sizes and indexes a log can have (the store's 64-bit integers): beyond is a 422, not a query.
MAX_BYTES = 64 * 1024 * 1024


class NewLog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stream: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$",
                        description="e.g. line-a/telemetry (namespaced by the factory)")


def _out(info, factory: str | None) -> LogOut:
    return LogOut(log_id=to_hex(info.log_id) if info.log_id else None, stream=info.stream, size=info.size,
                  root=to_hex(info.root), factory=factory)


@router.post("", status_code=201, response_model=LogOut, summary="Create a log (factory)")
def create_log(body: NewLog, party: Factory, svc: Svc) -> LogOut:
    from ledger.chain.client import log_id_of
    from ledger.store.logstore import validate_stream_name

    if not party.address:
        raise ApiProblem(409, "no-factory-address", "this factory party has no chain address (an admin sets it)")
    stream = validate_stream_name(f"{party.name}/{body.stream}")
    info = svc.store.create_log(stream, party.address, log_id_of(party.address, stream))
    svc.parties.own_log(info.pk, party.id)
    return _out(info, party.address)


@router.get("", response_model=list[LogOut], summary="List the logs the caller may read")
def list_logs(party: LogReader, svc: Svc) -> list[LogOut]:
    logs = svc.store.list_logs()
    if party.role == "factory":
        mine = svc.parties.logs_of(party.id)
        logs = [i for i in logs if i.pk in mine]
    return [_out(i, svc.store.factory_of(i.stream)) for i in logs]


@router.get("/{log_id}", response_model=LogOut, summary="One log")
def show_log(log_id: LogId, party: Caller, svc: Svc) -> LogOut:
    info = find_log(svc, party, log_id)
    return _out(info, svc.store.factory_of(info.stream))


# --- records ------------------------------------------------------------------------------


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise ApiProblem(413, "too-large", f"a request may carry at most {MAX_BYTES} bytes")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BYTES:
            raise ApiProblem(413, "too-large", f"a request may carry at most {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_records(body: bytes, content_type: str) -> list[tuple[int, object]]:
    if content_type in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines"):
        values = []  # the CLI's reader: the same lines, the same words for a bad one
        for numbered in read_jsonl(io.BytesIO(body)):
            if len(values) == MAX_RECORDS:
                raise ApiProblem(413, "too-many-records", f"a request may carry at most {MAX_RECORDS} records")
            values.append(numbered)
        return values
    if content_type != "application/json":
        raise ApiProblem(415, "unsupported-media-type", "send application/json (an array) or application/x-ndjson")
    try:  # strictly, as NDJSON lines: orjson alone keeps the last of duplicate keys and turns
        values = parse_json_line(body, None)  # integers beyond 64 bits into floats, silently
    except RecordError as e:
        at = re.fullmatch(r"\[(\d+)\](?:\.(.*))?", e.field or "")
        if at:
            raise RecordError(int(at[1]) + 1, None, at[2], e.reason) from None
        raise RecordError(None, None, e.field, f"the body is not JSON: {e.reason}") from None
    if not isinstance(values, list):
        raise RecordError(None, None, None, "the body must be a JSON array of records (or NDJSON)")
    if len(values) > MAX_RECORDS:
        raise ApiProblem(413, "too-many-records", f"a request may carry at most {MAX_RECORDS} records")
    return list(enumerate(values, 1))


def _remembered(svc: Services, party: PartyInfo, key: str, digest: bytes) -> Response | None:
    answered = IdempotencyKeys(svc.store.engine).get(party.id, key)
    if answered is None:
        return None
    if answered.request_sha256 != digest:
        raise ApiProblem(422, "idempotency-key-reused", "this Idempotency-Key was used with a different request body")
    return Response(answered.body, status_code=answered.status_code, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"})


@router.post("/{log_id}/records", response_model=AppendOut, summary="Append records (all or nothing)",
             description="A JSON array of records, or NDJSON (`application/x-ndjson`): at most 100,000 records "
                         "or 64 MiB. Idempotent by record id; an `Idempotency-Key` header replays the first answer.",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                 "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def append_records(log_id: LogId, request: Request, party: Factory, svc: Svc,
                         idempotency_key: str | None = Header(default=None, max_length=200)) -> Response:
    info = await run_in_threadpool(find_log, svc, party, log_id, ("factory",))
    body = await _read_body(request)
    digest = hashlib.sha256(request.url.path.encode() + b"\n" + body).digest()  # a key names one request
    if idempotency_key:
        replay = await run_in_threadpool(_remembered, svc, party, idempotency_key, digest)
        if replay is not None:
            return replay
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    values = await run_in_threadpool(_parse_records, body, content_type)
    result = await run_in_threadpool(svc.store.append, info.stream, values)
    out = orjson.dumps(AppendOut(appended=result.appended, duplicates=result.duplicates, size=result.size,
                                 root=to_hex(result.root)).model_dump())
    if idempotency_key:
        await run_in_threadpool(IdempotencyKeys(svc.store.engine).put, party.id, idempotency_key, digest, 200, out)
    return Response(out, media_type="application/json")


@router.get("/{log_id}/records/{index}", response_model=ProofBundle, summary="One record with its salt and inclusion proof (owner)",
            description="A `dpl-proof/1` bundle: verify it with `dpl verify`.")
def get_record(log_id: LogId, index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)], party: Caller, svc: Svc,
               size: int | None = Query(default=None, ge=1, le=MAX_INDEX)) -> JSONResponse:
    info = find_log(svc, party, log_id, ("factory",))
    if not 0 <= index < info.size:
        raise not_found("record")
    return JSONResponse(Proofs(svc.store).record_bundle(info.stream, index, size))


@router.get("/{log_id}/records", response_model=ProofBundle, summary="A record by its id (owner)")
def get_record_by_id(log_id: LogId, party: Caller, svc: Svc,
                     id: str = Query(min_length=1, max_length=128)) -> JSONResponse:
    info = find_log(svc, party, log_id, ("factory",))
    return JSONResponse(Proofs(svc.store).record_bundle_by_id(info.stream, id))


# --- proofs, checkpoints, leaves ------------------------------------------------------------------


@router.get("/{log_id}/proofs/inclusion", response_model=InclusionOut, summary="Inclusion proof of the leaf at an index (no payload)")
def inclusion(log_id: LogId, party: Caller, svc: Svc, index: int = Query(ge=0, le=MAX_INDEX),
              size: int | None = Query(default=None, ge=1, le=MAX_INDEX)) -> dict:
    info = find_log(svc, party, log_id)
    p = svc.store.inclusion_proof(info.stream, index, size)
    return {"log_id": to_hex(info.log_id) if info.log_id else None, "index": p.index, "size": p.size,
            "root": to_hex(p.root), "leaf_hash": to_hex(p.leaf_hash), "proof": [to_hex(h) for h in p.proof]}


@router.get("/{log_id}/proofs/consistency", response_model=ConsistencyBundle, summary="Consistency proof between two sizes (dpl-consistency/1)")
def consistency(log_id: LogId, party: Caller, svc: Svc, old: int = Query(alias="from", ge=0, le=MAX_INDEX),
                new: int | None = Query(default=None, alias="to", ge=1, le=MAX_INDEX)) -> dict:
    info = find_log(svc, party, log_id)
    return Proofs(svc.store).consistency_bundle(info.stream, old, new)


@router.get("/{log_id}/leaves", response_model=LeavesOut, summary="Leaf hashes [start, start+limit) (owner, auditor)")
def leaves(log_id: LogId, party: Caller, svc: Svc, start: int = Query(default=0, ge=0, le=MAX_INDEX),
           limit: int = Query(default=1000, ge=1, le=10_000)) -> dict:
    info = find_log(svc, party, log_id)
    hashes = [to_hex(r.leaf_hash) for r in svc.store.iter_sealed(info.stream, start, min(info.size, start + limit))]
    return {"start": start, "size": info.size, "leaf_hashes": hashes}


@router.get("/{log_id}/checkpoints", response_model=list[CheckpointOut], summary="Checkpoints with their anchor state (pending/included/final)")
def checkpoints(log_id: LogId, party: Caller, svc: Svc) -> list[dict]:
    info = find_log(svc, party, log_id)
    anchors = {}
    for row in AnchorStore(svc.store.engine).all_for_log(info.pk):
        anchors[row.size] = {"state": row.state, "tx_hash": to_hex(row.tx_hash), "block_number": row.block_number,
                             "chain_id": row.chain_id, "registry": row.registry}
    return [{"size": size, "root": to_hex(root), "anchor": anchors.get(size)}
            for size, root in svc.store.checkpoints(info.stream)]


@router.get("/{log_id}/activity", response_model=ActivityOut, summary="Records per day and type over the newest records (owner)")
def activity(log_id: LogId, party: Caller, svc: Svc,
             last: int = Query(default=50_000, ge=1, le=200_000,
                               description="How many of the newest records to count")) -> dict:
    """Counts only: the day (UTC, from each record's ``ts``) and ``type`` of the newest
    ``last`` records. For the factory's own chart; payloads never leave."""
    info = find_log(svc, party, log_id, ("factory",))
    counted = RecordActivity(svc.store).newest(info.stream, info.size, last)
    return {"from": counted.start, "to": counted.end, "types": counted.types,
            "days": [{"day": day, "counts": counts} for day, counts in counted.days]}


class CheckpointSignatures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=1, description="The checkpoint signed: the log's size then (its root is the store's)")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712 signature of the Checkpoint")
    register_signature: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{130}$",
                                           description="EIP-712 signature of RegisterLog (first anchor only)")


def _bound_factory(svc: Services, info) -> str:
    factory = svc.store.factory_of(info.stream)
    if factory is None or info.log_id is None:
        raise ApiProblem(409, "conflict", "this log is not bound to a factory address yet")
    return factory


def _checkpoint_document(chain, info, size: int, root: bytes) -> dict:
    from ledger.chain.client import CHECKPOINT_TYPES

    return chain.typed_data(CHECKPOINT_TYPES, {"logId": info.log_id, "size": size, "root": root})


def _register_document(chain, info, factory: str) -> dict:
    from ledger.chain.client import REGISTER_LOG_TYPES

    return chain.typed_data(REGISTER_LOG_TYPES, {"factory": factory, "stream": info.stream})


@router.get("/{log_id}/checkpoints/to-sign", response_model=CheckpointToSign,
            summary="What a factory signs with its own wallet to have its newest checkpoint anchored (owner)")
def checkpoint_to_sign(log_id: LogId, party: Caller, svc: Svc) -> dict:
    info = find_log(svc, party, log_id, ("factory",))
    if info.size == 0:
        raise ApiProblem(409, "conflict", "the log is empty: there is no checkpoint to sign")
    factory, chain = _bound_factory(svc, info), svc.chain()
    from ledger.pledge.chain import factory_of

    registered = factory_of(chain, info.log_id) is not None
    return {"size": info.size, "root": to_hex(info.root), "factory": factory,
            "checkpoint": _checkpoint_document(chain, info, info.size, info.root),
            "register": None if registered else _register_document(chain, info, factory)}


@router.post("/{log_id}/checkpoints/signatures", response_model=SignaturesKept,
             summary="Hand in the factory's own signatures; the anchoring uses them (owner)")
def checkpoint_signatures(log_id: LogId, body: CheckpointSignatures, party: Caller,
                          svc: Svc) -> dict:
    from ledger.store.signatures import CHECKPOINT, REGISTER, FactorySignatures

    info = find_log(svc, party, log_id, ("factory",))
    if body.size > info.size:
        raise ApiProblem(422, "invalid-argument", f"size {body.size} is beyond the log's {info.size} records")
    factory, chain = _bound_factory(svc, info), svc.chain()
    root = svc.store.root_at(info.stream, body.size)
    # (kind, size, root, signature, the document it must sign)
    signed = [(CHECKPOINT, body.size, root, body.signature, _checkpoint_document(chain, info, body.size, root))]
    if body.register_signature:
        signed.append((REGISTER, 0, None, body.register_signature, _register_document(chain, info, factory)))
    for kind, _, _, signature, document in signed:
        signer = chain.recover_typed_data(document, bytes.fromhex(signature[2:]))
        if signer is None or signer.lower() != factory.lower():
            raise ApiProblem(422, "invalid-signature", f"the {kind} signature is not the log's factory's ({factory})",
                             field="register_signature" if kind == REGISTER else "signature")
    store = FactorySignatures(svc.store.engine)
    for kind, size, root_, signature, _ in signed:
        store.put(info.pk, kind, size, root_, bytes.fromhex(signature[2:]))
    return {"size": body.size, "root": to_hex(root), "register": body.register_signature is not None}


@router.post("/{log_id}/checkpoints/anchor", response_model=list[AnchorReportOut], summary="Anchor the log's newest checkpoint now (owner)")
def anchor_now(log_id: LogId, party: Caller, svc: Svc) -> list[dict]:
    from ledger.service.anchoring import anchor_once

    info = find_log(svc, party, log_id, ("factory",))
    return [r.__dict__ for r in anchor_once(svc, info.stream)]
