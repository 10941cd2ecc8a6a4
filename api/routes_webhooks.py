"""Webhooks (docs/WEBHOOKS.md): any party registers URLs for its own events, lists and deletes
them, and reads its delivery log. Events are signed with the webhook's secret (HMAC-SHA256,
``DPL-Signature``); a secret the service makes is shown once, in the answer that made it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AnyRole, Svc
from api.errors import PROBLEM_RESPONSES
from api.schemas import WebhookDeliveryOut, WebhookOut
from ledger.service.webhooks import Webhooks, WebhookView
from ledger.webhooks import MAX_SECRET, MAX_URL

router = APIRouter(prefix="/v1", tags=["webhooks"], responses=PROBLEM_RESPONSES)
WebhookId = Annotated[int, PathParam(ge=1, le=2**53 - 1, description="The webhook's id")]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(min_length=1, max_length=MAX_URL, description="http(s) URL the events are POSTed to")
    secret: str | None = Field(default=None, max_length=MAX_SECRET,
                               description="HMAC key, at least 32 characters; leave out to have one made (shown once)")


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _out(view: WebhookView, secret: str | None = None) -> WebhookOut:
    return WebhookOut(id=view.id, url=view.url, created_at=view.created_at.isoformat(), secret=secret)


@router.post("/webhooks", response_model=WebhookOut, status_code=201,
             summary="Register a webhook for the caller's events (any role)")
def add_webhook(body: WebhookIn, party: AnyRole, svc: Svc) -> WebhookOut:
    view, made = Webhooks(svc).register(party, body.url, body.secret)
    return _out(view, made)


@router.get("/webhooks", response_model=list[WebhookOut], summary="The caller's webhooks")
def list_webhooks(party: AnyRole, svc: Svc) -> list[WebhookOut]:
    return [_out(v) for v in Webhooks(svc).list(party)]


@router.get("/webhooks/deliveries", response_model=list[WebhookDeliveryOut],
            summary="The caller's delivery log, newest first (status, attempts, next attempt, last error)")
def list_deliveries(party: AnyRole, svc: Svc,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[WebhookDeliveryOut]:
    return [WebhookDeliveryOut(id=d.delivery_id, webhook_id=d.webhook_id, event_type=d.event_type,
                               event_key=d.event_key, status=d.status, attempts=d.attempts,
                               next_attempt_at=_iso(d.next_attempt_at), last_status=d.last_status,
                               last_error=d.last_error, created_at=d.created_at.isoformat(),
                               delivered_at=_iso(d.delivered_at))
            for d in Webhooks(svc).deliveries(party, limit)]


@router.delete("/webhooks/{webhook_id}", status_code=204,
               summary="Delete one of the caller's webhooks (its pending deliveries are cancelled)")
def delete_webhook(webhook_id: WebhookId, party: AnyRole, svc: Svc) -> None:
    Webhooks(svc).delete(party, webhook_id)
