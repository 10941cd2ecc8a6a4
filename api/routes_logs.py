"""Logs, records, proofs, checkpoints and leaf hashes.

A factory sees and writes only its own logs; an auditor reads every log's sizes, roots,
checkpoints, anchors, leaf hashes and proofs, never a payload; lenders and admins see no
logs. Streams are namespaced by the factory (``acme/line-a``), so one factory's names never
collide with, or reveal, another's.
"""

from __future__ import annotations

import hashlib
import io
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Caller, Factory, LogId, LogReader, Svc, find_log, find_log_anchored
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import (ActivityOut, AnchorReportOut, AppendOut, CheckpointOut, CheckpointToSign, ConsistencyBundle,
                         InclusionOut, LeavesOut, LogOut, ProofBundle, SignaturesKept)
from ledger.bundles import to_hex
from ledger.errors import RecordError
from ledger.limits import MAX_INDEX
from ledger.service.anchoring import anchor_once
from ledger.service.idempotency import IdempotencyKeyReused, Replays
from ledger.service.logs import CheckpointSignatureMismatch, Logs, LogView, NoFactoryAddress
from ledger.service.proofs import Proofs

router = APIRouter(prefix="/v1/logs", tags=["logs"], responses=PROBLEM_RESPONSES)
#: One request's limits (``dpl ingest`` reads files of any length): records, and bytes of the body.
MAX_RECORDS = 100_000
MAX_BYTES = 64 * 1024 * 1024
#: NDJSON lines sealed per step as a body streams in.
SEAL_CHUNK = 2000


class NewLog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stream: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$",
                        description="e.g. line-a/telemetry (namespaced by the factory)")
    format: Literal["dpl-record/1", "dpl-record/2"] = Field(
        default="dpl-record/1",
        description="The record format of the log's leaves, for good: dpl-record/2 commits to each "
                    "field apart, so records can be shown with fields hidden (docs/RECORDS.md)")


def _out(log: LogView) -> LogOut:
    return LogOut(log_id=to_hex(log.log_id) if log.log_id else None, stream=log.stream, size=log.size,
                  root=to_hex(log.root), factory=log.factory, format=log.record_format)


@router.post("", status_code=201, response_model=LogOut, summary="Create a log (factory)")
def create_log(body: NewLog, party: Factory, svc: Svc) -> LogOut:
    logs = Logs(svc)
    try:
        info = logs.create_for_party(party, body.stream, body.format)
    except NoFactoryAddress as e:
        raise ApiProblem(409, "no-factory-address", str(e)) from None
    return _out(logs.view(info))


@router.get("", response_model=list[LogOut], summary="List the logs the caller may read")
def list_logs(party: LogReader, svc: Svc) -> list[LogOut]:
    return [_out(log) for log in Logs(svc).visible_to(party)]


@router.get("/{log_id}", response_model=LogOut, summary="One log")
def show_log(log_id: LogId, party: Caller, svc: Svc) -> LogOut:
    return _out(Logs(svc).view(find_log(svc, party, log_id)))


# --- records ------------------------------------------------------------------------------

#: What a request body may be, by media type: NDJSON lines or a JSON array of records.
FORMATS = {"application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "application/x-jsonlines": "jsonl",
           "application/json": "json"}


def _too_large() -> ApiProblem:
    return ApiProblem(413, "too-large", f"a request may carry at most {MAX_BYTES} bytes")


def _too_many() -> ApiProblem:
    return ApiProblem(413, "too-many-records", f"a request may carry at most {MAX_RECORDS} records")


async def _pieces(request: Request):
    """The body as it arrives, refused (413) beyond ``MAX_BYTES`` before any work on the excess:
    a declared ``Content-Length`` at once, a chunked body as it crosses the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BYTES:
        raise _too_large()
    total = 0
    async for piece in request.stream():
        total += len(piece)
        if total > MAX_BYTES:
            raise _too_large()
        yield piece


async def _read_body(request: Request) -> bytes:
    return b"".join([piece async for piece in _pieces(request)])


def _records(body: bytes, fmt: str) -> list[tuple[int, object]]:
    """The body's records, read by the ledger's reader of ``fmt``, at most ``MAX_RECORDS`` of
    them (a limit of one request, like its bytes: ``dpl ingest`` reads files of any length)."""
    values = []
    for numbered in Logs.read(io.BytesIO(body), fmt):
        if len(values) == MAX_RECORDS:
            raise _too_many()
        values.append(numbered)
    return values


class _Ndjson:
    """An NDJSON body read as it streams in and sealed ``SEAL_CHUNK`` lines at a time in a
    worker thread, outside the log's lock (``Logs.seal``): the body's bytes are not kept, only
    the sealed records (what the write needs). Lines are numbered and skipped as
    ``sources.read_jsonl`` does. The first error (a bad line, too many records) is kept for its
    turn: the whole body is still read and hashed, so an idempotent replay and a reused key are
    answered first, as for a body read whole."""

    def __init__(self, logs: Logs, info):
        self.logs, self.info = logs, info
        self.batches, self.error = [], None
        self._lines, self._partial, self._number, self._count = [], [], 0, 0

    async def feed(self, piece: bytes) -> None:
        if self.error is not None:
            return
        cut = piece.rfind(b"\n")
        if cut < 0:
            self._partial.append(piece)  # a line longer than a piece: joined once, at its end
            return
        head = b"".join([*self._partial, piece[:cut]]) if self._partial else piece[:cut]
        self._partial = [piece[cut + 1:]] if cut + 1 < len(piece) else []
        self._take(head.split(b"\n"))
        while self.error is None and len(self._lines) >= SEAL_CHUNK:
            await self._seal(SEAL_CHUNK)

    async def finish(self) -> None:
        if self.error is None and self._partial:
            self._take([b"".join(self._partial)])
        if self.error is None and self._lines:
            await self._seal(len(self._lines))

    def _take(self, lines: list[bytes]) -> None:
        number, kept = self._number, self._lines
        for line in lines:
            number += 1
            line = line.rstrip(b"\r\n")
            if not line or line.isspace():
                continue
            self._count += 1
            if self._count > MAX_RECORDS:
                self.error = _too_many()
                break
            kept.append((number, line))
        self._number = number

    async def _seal(self, n: int) -> None:
        lines, self._lines = self._lines[:n], self._lines[n:]
        try:
            self.batches.append(await run_in_threadpool(self.logs.seal, self.info, lines, raw=True))
        except RecordError as e:
            self.error = e


def _replay(svc, party, key: str, digest: bytes) -> Response | None:
    try:
        answered = Replays(svc).answered(party.id, key, digest)
    except IdempotencyKeyReused as e:
        raise ApiProblem(422, "idempotency-key-reused", str(e)) from None
    if answered is None:
        return None
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
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    fmt = FORMATS.get(content_type)
    logs = Logs(svc)
    hasher = hashlib.sha256(request.url.path.encode() + b"\n")  # a key names one request
    body, ndjson = b"", None
    if fmt == "jsonl":  # streamed: sealed while it arrives
        ndjson = _Ndjson(logs, info)
        async for piece in _pieces(request):
            hasher.update(piece)
            await ndjson.feed(piece)
        await ndjson.finish()
    else:
        body = await _read_body(request)
        hasher.update(body)
    digest = hasher.digest()
    if idempotency_key:
        replay = await run_in_threadpool(_replay, svc, party, idempotency_key, digest)
        if replay is not None:
            return replay
    if fmt is None:
        raise ApiProblem(415, "unsupported-media-type", "send application/json (an array) or application/x-ndjson")
    if ndjson is not None:
        if ndjson.error is not None:
            raise ndjson.error
        batches = ndjson.batches
    else:
        batches = [await run_in_threadpool(lambda: logs.seal(info, _records(body, fmt)))]
        del body
    # Only the write holds the log's lock: two workers seal at the same time.
    result = await run_in_threadpool(logs.ingest_sealed, info, batches)
    out = orjson.dumps(AppendOut(appended=result.appended, duplicates=result.duplicates, size=result.size,
                                 root=to_hex(result.root)).model_dump())
    if idempotency_key:
        await run_in_threadpool(Replays(svc).keep, party.id, idempotency_key, digest, 200, out)
    return Response(out, media_type="application/json")


@router.get("/{log_id}/records/{index}", response_model=ProofBundle, summary="One record with its salt and inclusion proof (owner)",
            description="A `dpl-proof/1` bundle: verify it with `dpl verify`.")
def get_record(log_id: LogId, index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)], party: Caller, svc: Svc,
               size: int | None = Query(default=None, ge=1, le=MAX_INDEX)) -> JSONResponse:
    found = find_log_anchored(svc, party, log_id, ("factory",), Proofs.anchor_wanted(index, size))
    return JSONResponse(Proofs(svc.store).record_bundle(found.info, index, size, found.anchor))


@router.get("/{log_id}/records", response_model=ProofBundle, summary="A record by its id (owner)")
def get_record_by_id(log_id: LogId, party: Caller, svc: Svc,
                     id: str = Query(min_length=1, max_length=128)) -> JSONResponse:
    info = find_log(svc, party, log_id, ("factory",))
    return JSONResponse(Proofs(svc.store).record_bundle_by_id(info, id))


# --- proofs, checkpoints, leaves ------------------------------------------------------------------


@router.get("/{log_id}/proofs/inclusion", response_model=InclusionOut, summary="Inclusion proof of the leaf at an index (no payload)")
def inclusion(log_id: LogId, party: Caller, svc: Svc, index: int = Query(ge=0, le=MAX_INDEX),
              size: int | None = Query(default=None, ge=1, le=MAX_INDEX)) -> dict:
    info = find_log(svc, party, log_id)
    p = Proofs(svc.store).inclusion(info, index, size)
    return {"log_id": to_hex(info.log_id) if info.log_id else None, "index": p.index, "size": p.size,
            "root": to_hex(p.root), "leaf_hash": to_hex(p.leaf_hash), "proof": [to_hex(h) for h in p.proof]}


@router.get("/{log_id}/proofs/consistency", response_model=ConsistencyBundle, summary="Consistency proof between two sizes (dpl-consistency/1)")
def consistency(log_id: LogId, party: Caller, svc: Svc, old: int = Query(alias="from", ge=0, le=MAX_INDEX),
                new: int | None = Query(default=None, alias="to", ge=1, le=MAX_INDEX)) -> dict:
    info = find_log(svc, party, log_id)
    return Proofs(svc.store).consistency_bundle(info, old, new)


@router.get("/{log_id}/leaves", response_model=LeavesOut, summary="Leaf hashes [start, start+limit) (owner, auditor)")
def leaves(log_id: LogId, party: Caller, svc: Svc, start: int = Query(default=0, ge=0, le=MAX_INDEX),
           limit: int = Query(default=1000, ge=1, le=10_000)) -> dict:
    info = find_log(svc, party, log_id)
    return {"start": start, "size": info.size,
            "leaf_hashes": [to_hex(h) for h in Logs(svc).leaf_hashes(info, start, limit)]}


@router.get("/{log_id}/checkpoints", response_model=list[CheckpointOut], summary="Checkpoints with their anchor state (pending/included/final)")
def checkpoints(log_id: LogId, party: Caller, svc: Svc) -> list[dict]:
    info = find_log(svc, party, log_id)
    return [cp.as_json() for cp in Logs(svc).checkpoints(info)]


@router.get("/{log_id}/activity", response_model=ActivityOut, summary="Records per day and type over the newest records (owner)")
def activity(log_id: LogId, party: Caller, svc: Svc,
             last: int = Query(default=50_000, ge=1, le=200_000,
                               description="How many of the newest records to count")) -> dict:
    """Counts only: the day (UTC, from each record's ``ts``) and ``type`` of the newest
    ``last`` records. For the factory's own chart; payloads never leave."""
    info = find_log(svc, party, log_id, ("factory",))
    counted = Logs(svc).activity(info, last)
    return {"from": counted.start, "to": counted.end, "types": counted.types,
            "days": [{"day": day, "counts": counts} for day, counts in counted.days]}


class CheckpointSignatures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=1, description="The checkpoint signed: the log's size then (its root is the store's)")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712 signature of the Checkpoint")
    register_signature: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{130}$",
                                           description="EIP-712 signature of RegisterLog (first anchor only)")


@router.get("/{log_id}/checkpoints/to-sign", response_model=CheckpointToSign,
            summary="What a factory signs with its own wallet to have its newest checkpoint anchored (owner)")
def checkpoint_to_sign(log_id: LogId, party: Caller, svc: Svc) -> dict:
    return Logs(svc).checkpoint_to_sign(find_log(svc, party, log_id, ("factory",)))


@router.post("/{log_id}/checkpoints/signatures", response_model=SignaturesKept,
             summary="Hand in the factory's own signatures; the anchoring uses them (owner)")
def checkpoint_signatures(log_id: LogId, body: CheckpointSignatures, party: Caller,
                          svc: Svc) -> dict:
    info = find_log(svc, party, log_id, ("factory",))
    register = bytes.fromhex(body.register_signature[2:]) if body.register_signature else None
    try:
        return Logs(svc).hand_in_signatures(info, body.size, bytes.fromhex(body.signature[2:]), register)
    except CheckpointSignatureMismatch as e:
        raise ApiProblem(422, "invalid-signature", str(e), field=e.field) from None


@router.post("/{log_id}/checkpoints/anchor", response_model=list[AnchorReportOut], summary="Anchor the log's newest checkpoint now (owner)")
def anchor_now(log_id: LogId, party: Caller, svc: Svc) -> list[dict]:
    info = find_log(svc, party, log_id, ("factory",))
    return [r.__dict__ for r in anchor_once(svc, info.stream)]
