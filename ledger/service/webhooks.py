"""Webhooks: one home for the API's webhook routes, ``dpl webhooks deliver``, the service's
delivery loop and the monitor that raises events (``docs/WEBHOOKS.md``).

- ``Webhooks(ctx).register / list / delete / deliveries``: a party's own webhooks and log;
- ``Webhooks(ctx).enqueue(party_id, event_type, payload, event_key)``: one delivery of an event
  to each of the party's webhooks, once per (webhook, event key), written in one transaction;
- ``deliver_due(ctx, now)``: one pass of the delivery worker (safe with several at once).

The SSRF guard (``ledger.webhooks.check_addresses``) runs when a webhook is registered and
again at every delivery, and the delivery connects to the address it checked (a host that
resolves elsewhere a moment later is not asked again).
"""

from __future__ import annotations

import http.client
import random
import re
import secrets as _secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import orjson

from ledger.errors import InvalidArgumentError, LedgerError, NotFoundError
from ledger.store.models import utcnow
from ledger.webhooks import (GIVE_UP_AFTER, MAX_SECRET, MIN_SECRET, check_addresses, check_url, delivery_headers,
                             retry_delay)

#: Live webhooks a party may have.
MAX_WEBHOOKS = 10
#: Seconds a delivery may take, in all (connect, send, the answer).
TIMEOUT = 10.0
#: Bytes of a receiver's answer read (the rest is dropped unread).
MAX_RESPONSE = 4096
#: How long a claimed delivery is held by its worker before another may take it.
LEASE = timedelta(seconds=60)
#: Largest event body (bytes of JSON).
MAX_BODY = 256 * 1024
_EVENT_TYPE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SECRET = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class WebhookView:
    id: int
    url: str
    created_at: datetime

    def as_json(self) -> dict:
        return {"id": self.id, "url": self.url, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class DeliveryPass:
    """What one ``deliver_due`` pass did."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_target(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) for a webhook URL, or InvalidArgumentError."""
    scheme, host, port = check_url(url)
    addresses = check_addresses(host, resolve(host, port), allow_private)
    return scheme, host, port, addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to the address the SSRF guard checked, whatever DNS says now."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool,
         timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
    """POST ``body`` to ``url``: (HTTP status, None) when the receiver answered, (None, why)
    when it could not be asked. No redirect is followed (a 3xx is an answer, not a 2xx); at
    most ``MAX_RESPONSE`` bytes of the answer are read."""
    try:
        scheme, host, port, address = checked_target(url, allow_private)
    except InvalidArgumentError as e:
        return None, str(e)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = cls(host, port, address, timeout)
    # the whole exchange within ``timeout`` too: a receiver trickling its answer a byte at a
    # time (each read within the socket timeout) has its connection cut
    expired = threading.Event()
    watchdog = threading.Timer(timeout, _cut, (conn, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE)
        if expired.is_set():
            raise TimeoutError("timed out")
        return response.status, None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException, ssl.SSLError) as e:
        if expired.is_set():
            return None, f"no complete answer within {timeout:g} s (timed out)"
        return None, f"{type(e).__name__}: {e}"[:500]
    finally:
        watchdog.cancel()
        conn.close()


def _cut(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
    expired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _store(ctx):
    from ledger.store.webhooks import WebhookStore

    return WebhookStore(ctx.store.engine, ctx.store.key)


class Webhooks:
    """Webhook use cases over one ``Context``."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.store = _store(ctx)

    @property
    def allow_private(self) -> bool:
        return bool(getattr(self.ctx.settings, "webhooks_allow_private", False))

    def register(self, party, url: str, secret: str | None = None) -> tuple[WebhookView, str | None]:
        """A webhook for ``party`` (any role, for itself). ``secret``: at least ``MIN_SECRET``
        printable characters, or None to have one made (returned here, and never again).
        Returns (the webhook, the secret made or None)."""
        checked_target(url, self.allow_private)
        made = None
        if secret is None:
            secret = made = "whsec_" + _secrets.token_urlsafe(32)
        elif not (MIN_SECRET <= len(secret) <= MAX_SECRET and _SECRET.fullmatch(secret)):
            raise InvalidArgumentError(f"a webhook secret is {MIN_SECRET} to {MAX_SECRET} printable characters "
                                       "without spaces (or leave it out to have one made)")
        stored = self.store.add(party.id, url, secret, limit=MAX_WEBHOOKS)
        if stored is None:
            raise InvalidArgumentError(f"a party has at most {MAX_WEBHOOKS} webhooks; delete one first")
        return WebhookView(stored.id, stored.url, stored.created_at), made

    def list(self, party) -> list[WebhookView]:
        return [WebhookView(w.id, w.url, w.created_at) for w in self.store.list(party.id)]

    def delete(self, party, webhook_id: int) -> None:
        """Delete the party's webhook; its pending deliveries are cancelled. Another party's
        webhook is "no such webhook", like one that never was."""
        if not self.store.delete(party.id, webhook_id):
            raise NotFoundError(f"no such webhook: {webhook_id}")

    def deliveries(self, party, limit: int = 200):
        return self.store.deliveries(party.id, limit)

    def enqueue(self, party_id: int, event_type: str, payload: dict, event_key: str,
                now: datetime | None = None, conn=None) -> list[str]:
        """Deliver an event to each of the party's webhooks, once per (webhook, ``event_key``):
        enqueuing the same key again adds nothing. The body is
        ``{"id": <delivery id>, "type": event_type, "created_at": ..., "data": payload}``.
        Returns the ids of the deliveries made by this call. ``conn``: a connection in the
        caller's write transaction (its rows and these deliveries commit together, or neither);
        by default a transaction of its own."""
        if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
            raise InvalidArgumentError("an event type is 1-64 characters of a-z 0-9 . _ - (e.g. covenant.warning)")
        if not isinstance(event_key, str) or not 1 <= len(event_key) <= 200:
            raise InvalidArgumentError("an event key is 1 to 200 characters")
        if not isinstance(payload, dict):
            raise InvalidArgumentError("an event payload is a JSON object")
        now = now or utcnow()
        try:
            data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        except TypeError as e:
            raise InvalidArgumentError(f"the event payload is not JSON: {e}") from None
        if len(data) > MAX_BODY:
            raise InvalidArgumentError(f"an event payload is at most {MAX_BODY} bytes of JSON")
        head = {"type": event_type, "created_at": now.isoformat()}

        def body(delivery_id: str) -> bytes:
            return orjson.dumps({"id": delivery_id, **head, "data": orjson.Fragment(data)})

        return self.store.enqueue(party_id, event_type, event_key, body, now, conn)


def deliver_due(ctx, now: datetime | None = None, *, limit: int = 100, concurrency: int = 4,
                send: Callable[..., tuple[int | None, str | None]] = post,
                rand: Callable[[], float] = random.random) -> DeliveryPass:
    """One pass of the delivery worker: send the due deliveries (at most ``limit``), each
    claimed on its own, ``concurrency`` at a time (a receiver that times out holds up one
    sender, not the pass), and record each outcome: a 2xx is delivered; anything else is
    retried after ``ledger.webhooks.retry_delay`` while within ``GIVE_UP_AFTER`` of the event,
    then failed. ``now`` fixes the clock (tests); by default each delivery is signed at the
    time it is sent. Safe with several workers: see ``ledger.store.webhooks``."""
    store = _store(ctx)
    clock = (lambda: now) if now is not None else utcnow
    allow_private = bool(getattr(ctx.settings, "webhooks_allow_private", False))
    if not store.any_due(clock()):
        return DeliveryPass()
    lock = threading.Lock()
    counts = {"budget": limit, "attempted": 0, "delivered": 0, "retrying": 0, "failed": 0}

    def one() -> bool:
        with lock:
            if counts["budget"] <= 0:
                return False
            counts["budget"] -= 1
        at = clock()
        claim = store.claim(at, LEASE)
        if claim is None:
            return False
        headers = delivery_headers(claim.secret, int(at.timestamp()), claim.body, claim.delivery_id, claim.event_type)
        try:
            status, error = send(claim.url, claim.body, headers, allow_private=allow_private)
        except LedgerError as e:  # a send that cannot even start: an attempt that failed
            status, error = None, str(e)
        done = clock()
        ok = status is not None and 200 <= status < 300
        retry_at = None
        if not ok:
            retry_at = done + timedelta(seconds=retry_delay(claim.attempts, rand()))
            if retry_at > claim.created_at + timedelta(seconds=GIVE_UP_AFTER):
                retry_at = None
        recorded = store.finish(claim, now=done, delivered=ok, status=status, error=error, retry_at=retry_at)
        with lock:
            counts["attempted"] += 1
            if recorded:
                counts["delivered" if ok else "failed" if retry_at is None else "retrying"] += 1
        return True

    errors: list[BaseException] = []

    def sender() -> None:
        try:
            while one():
                pass
        except BaseException as e:  # noqa: BLE001 (raised by the pass once every sender is done)
            errors.append(e)

    threads = [threading.Thread(target=sender, name=f"dpl-webhook-sender-{n}", daemon=True)
               for n in range(max(1, concurrency) - 1)]
    for t in threads:
        t.start()
    sender()  # this thread is a sender too
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return DeliveryPass(counts["attempted"], counts["delivered"], counts["retrying"], counts["failed"])
