"""Webhook deliveries to a REAL HTTP receiver (an ``http.server`` thread), on SQLite and on
PostgreSQL: retries until a 2xx, the event arriving once, signatures the receiver checks with
``ledger.webhooks.verify_delivery``, deliveries surviving a restart and a worker crash, the
give-up after a day, several workers at once, and the SSRF guard at delivery. Time is driven
with an injected ``now``, never slept."""

from __future__ import annotations

import functools
import http.client
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from ledger import webhooks as wh
from ledger.service.context import Context
from ledger.service.webhooks import LEASE, Webhooks, deliver_due, post
from ledger.store.webhooks import WebhookStore

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
WARNING = {"code": "MIN_OUTPUT", "week": "2026-W48", "actual": "41000", "required": "50000"}


class Receiver:
    """An HTTP receiver doing what docs/WEBHOOKS.md tells one to: it answers the next scripted
    status (500 first: it fails before it looks at the delivery), else verifies the signature,
    the timestamp against ``clock`` and the delivery id (dedupe), and answers 200 or 400."""

    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.script: list[int] = []
        self.requests: list[tuple[str, dict, bytes]] = []
        self.accepted: list[dict] = []
        self.refused: list[str] = []
        self.seen: set[str] = set()
        self.clock = T0
        self.delay = 0.0
        self.inflight = self.max_inflight = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                receiver.requests.append((self.path, headers, body))
                with lock:
                    receiver.inflight += 1
                    receiver.max_inflight = max(receiver.max_inflight, receiver.inflight)
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    self._handle(headers, body)
                finally:
                    with lock:
                        receiver.inflight -= 1

            def _handle(self, headers, body):
                if self.path == "/redirected":
                    return self._answer(200)
                if receiver.script:
                    return self._answer(receiver.script.pop(0))
                try:
                    wh.verify_delivery(receiver.secret, headers, body, now=int(receiver.clock.timestamp()),
                                       seen=receiver.seen)
                except wh.SignatureError as e:
                    receiver.refused.append(str(e))
                    return self._answer(400)
                receiver.accepted.append(orjson.loads(body))
                self._answer(200)

            def _answer(self, status):
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/redirected")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/dpl"

    def send(self, headers: dict, body: bytes) -> int:
        """Post to the receiver as anyone could (a replay, a forgery)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=5)
        try:
            conn.request("POST", "/hooks/dpl", body=body, headers=headers)
            return conn.getresponse().status
        finally:
            conn.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def settings(backend):
    return backend.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def ctx(settings):
    c = Context(settings)
    yield c
    c.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _hook(ctx, receiver, name="acme", role="factory"):
    party = ctx.parties.create(name, role)
    view, secret = Webhooks(ctx).register(party, receiver.url)
    receiver.secret = secret
    return party, view


def _log(ctx, party):
    return {d.delivery_id: d for d in Webhooks(ctx).deliveries(party)}


def test_500_then_200_arrives_once_across_a_restart_and_replays_are_refused(settings, ctx, receiver):
    party, hook = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "pledge-7:MIN_OUTPUT:2026-W48", now=T0)
    assert Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "pledge-7:MIN_OUTPUT:2026-W48", now=T0) == []

    receiver.script = [500]
    first = deliver_due(ctx, T0, rand=lambda: 0.0)
    assert (first.attempted, first.retrying, first.delivered) == (1, 1, 0)
    row = _log(ctx, party)[delivery_id]
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("pending", 1, 500, "HTTP 500")
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    assert deliver_due(ctx, T0 + timedelta(seconds=29)).attempted == 0  # not due yet

    # the service restarts: a new Context on the same database still has the delivery
    ctx.close()
    again = Context(settings)
    try:
        receiver.clock = T0 + timedelta(seconds=31)
        second = deliver_due(again, receiver.clock, rand=lambda: 0.0)
        assert (second.attempted, second.delivered) == (1, 1)
        assert deliver_due(again, T0 + timedelta(days=2)).attempted == 0
        row = _log(again, party)[delivery_id]
        assert (row.status, row.attempts, row.last_status, row.next_attempt_at) == ("delivered", 2, 200, None)
        assert row.delivered_at == receiver.clock
    finally:
        again.close()

    # two requests reached the receiver; the event was accepted exactly once
    assert len(receiver.requests) == 2 and receiver.refused == []
    [event] = receiver.accepted
    assert event == {"id": delivery_id, "type": "covenant.warning", "created_at": T0.isoformat(), "data": WARNING}
    path, headers, body = receiver.requests[-1]
    assert path == "/hooks/dpl" and headers["DPL-Delivery-Id"] == delivery_id
    assert headers["DPL-Event"] == "covenant.warning" and headers["Content-Type"] == "application/json"
    t = int(receiver.clock.timestamp())
    assert headers["DPL-Signature"] == f"t={t},v1=" + wh.sign(receiver.secret, t, body)
    assert receiver.requests[0][2] == body  # every retry carries the same body and id

    # a replay of the genuine delivery and a tampered copy are refused by the receiver
    assert receiver.send(headers, body) == 400 and "replay" in receiver.refused[-1]
    tampered = body.replace(b"41000", b"51000")
    assert receiver.send({**headers, "DPL-Delivery-Id": "dlv_other"}, tampered) == 400
    assert "signature" in receiver.refused[-1]
    receiver.clock += timedelta(minutes=10)  # a copy re-signed long ago (stale) is refused too
    stale = wh.delivery_headers(receiver.secret, int(T0.timestamp()), body, "dlv_stale", "covenant.warning")
    assert receiver.send(stale, body) == 400 and "timestamp" in receiver.refused[-1]
    assert len(receiver.accepted) == 1


def test_a_receiver_down_for_a_day_gets_retries_with_backoff_then_the_delivery_fails(ctx, receiver):
    party, _ = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    receiver.script = [503] * 1000
    at, times = T0, []
    while True:
        done = deliver_due(ctx, at, rand=lambda: 0.0)
        assert done.attempted == 1
        times.append((at - T0).total_seconds())
        row = _log(ctx, party)[delivery_id]
        if row.status != "pending":
            break
        at = row.next_attempt_at
    assert row.status == "failed" and row.last_status == 503 and row.next_attempt_at is None
    assert times == wh.schedule([0.0] * 1000)  # the pure schedule is what happened
    assert row.attempts == len(times) == len(receiver.requests)
    assert deliver_due(ctx, T0 + timedelta(days=3)).attempted == 0


def test_a_worker_that_dies_mid_delivery_leaves_it_to_be_sent_again_after_the_lease(ctx, receiver):
    party, _ = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    store = WebhookStore(ctx.store.engine, ctx.store.key)
    claim = store.claim(T0, LEASE)  # a worker took it ... and died before it recorded anything
    assert claim.delivery_id == delivery_id and claim.attempts == 1
    assert deliver_due(ctx, T0 + LEASE - timedelta(seconds=1)).attempted == 0  # still its lease
    receiver.clock = T0 + LEASE
    assert deliver_due(ctx, receiver.clock).delivered == 1
    assert [e["id"] for e in receiver.accepted] == [delivery_id]
    # the dead worker's late outcome does not overwrite the delivery
    assert store.finish(claim, now=T0, delivered=False, status=500, error="late", retry_at=T0) is False
    assert _log(ctx, party)[delivery_id].status == "delivered"


def test_several_workers_at_once_send_each_delivery_once(settings, ctx, receiver):
    party, _ = _hook(ctx, receiver)
    ids = {i for k in range(12) for i in Webhooks(ctx).enqueue(party.id, "covenant.warning", {"n": k}, f"k{k}", now=T0)}
    assert len(ids) == 12
    receiver.delay = 0.02  # overlapping sends
    contexts = [Context(settings) for _ in range(3)]
    try:
        threads = [threading.Thread(target=deliver_due, args=(c, T0)) for c in contexts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        for c in contexts:
            c.close()
    sent = Counter(h["DPL-Delivery-Id"] for _, h, _ in receiver.requests)
    assert set(sent) == ids and set(sent.values()) == {1}
    assert {d.status for d in _log(ctx, party).values()} == {"delivered"}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_pass_sends_several_at_once_so_a_slow_receiver_holds_up_one_sender(ctx, receiver, concurrency):
    party, _ = _hook(ctx, receiver)
    for k in range(8):
        Webhooks(ctx).enqueue(party.id, "covenant.warning", {"n": k}, f"k{k}", now=T0)
    receiver.delay = 0.1
    done = deliver_due(ctx, T0, concurrency=concurrency)
    assert (done.attempted, done.delivered) == (8, 8)
    assert len(receiver.accepted) == len({e["id"] for e in receiver.accepted}) == 8
    assert receiver.max_inflight == 1 if concurrency == 1 else receiver.max_inflight >= 2


def test_a_pass_stops_at_its_limit(ctx, receiver):
    party, _ = _hook(ctx, receiver)
    for k in range(5):
        Webhooks(ctx).enqueue(party.id, "covenant.warning", {"n": k}, f"k{k}", now=T0)
    assert deliver_due(ctx, T0, limit=3).attempted == 3
    assert deliver_due(ctx, T0, limit=3).attempted == 2
    assert len(receiver.accepted) == 5


def test_each_webhook_of_the_party_gets_the_event_and_other_parties_see_nothing(ctx, receiver):
    party, _ = _hook(ctx, receiver)
    other = Receiver(secret="o" * 32)
    try:
        Webhooks(ctx).register(party, other.url, other.secret)
        globex = ctx.parties.create("globex", "factory")
        made = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
        assert len(made) == 2 and Webhooks(ctx).enqueue(globex.id, "covenant.warning", WARNING, "k1", now=T0) == []
        assert deliver_due(ctx, T0).delivered == 2
        assert len(receiver.accepted) == len(other.accepted) == 1
        assert receiver.accepted[0]["id"] != other.accepted[0]["id"]
        assert Webhooks(ctx).deliveries(globex) == []
    finally:
        other.close()


def test_redirects_are_not_followed_and_timeouts_are_retried(ctx, receiver):
    party, _ = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    receiver.script = [302]
    assert deliver_due(ctx, T0).retrying == 1
    assert [p for p, _, _ in receiver.requests] == ["/hooks/dpl"]  # /redirected never asked
    assert _log(ctx, party)[delivery_id].last_status == 302

    receiver.delay = 1.0
    quick = functools.partial(post, timeout=0.2)
    assert deliver_due(ctx, T0 + timedelta(hours=1), send=quick).retrying == 1
    row = _log(ctx, party)[delivery_id]
    assert row.status == "pending" and row.last_status is None and "timed out" in row.last_error


def test_deleting_a_webhook_cancels_its_pending_deliveries(ctx, receiver):
    party, hook = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    Webhooks(ctx).delete(party, hook.id)
    assert deliver_due(ctx, T0).attempted == 0 and receiver.requests == []
    row = _log(ctx, party)[delivery_id]
    assert row.status == "cancelled" and row.last_error == "the webhook was deleted"
    assert Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k2", now=T0) == []  # no webhook left


def test_a_delivery_enqueued_while_its_webhook_was_deleted_is_cancelled_not_sent(ctx, receiver):
    """The race: an enqueue read the webhook as live, the delete committed, then the enqueue."""
    from sqlalchemy import text

    party, hook = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    with ctx.store.engine.begin() as conn:  # the delete, without its cancelling (it ran first)
        conn.execute(text("UPDATE webhooks SET deleted_at = created_at WHERE id = :i"), {"i": hook.id})
    assert deliver_due(ctx, T0).attempted == 0 and receiver.requests == []
    row = _log(ctx, party)[delivery_id]
    assert (row.status, row.attempts, row.last_error) == ("cancelled", 0, "the webhook was deleted")


def test_the_ssrf_guard_is_checked_again_at_delivery(settings, ctx, receiver):
    party, _ = _hook(ctx, receiver)  # registered while private addresses were allowed
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    strict = Context(settings.model_copy(update={"webhooks_allow_private": False}))
    try:
        assert deliver_due(strict, T0).retrying == 1
    finally:
        strict.close()
    assert receiver.requests == []
    assert "loopback, private or link-local" in _log(ctx, party)[delivery_id].last_error


def test_secrets_and_bodies_are_sealed_at_rest(ctx, receiver):
    party, hook = _hook(ctx, receiver)
    Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0)
    from sqlalchemy import text

    with ctx.store.engine.connect() as conn:
        secret = bytes(conn.execute(text("SELECT secret FROM webhooks")).scalar_one())
        body = bytes(conn.execute(text("SELECT body FROM webhook_deliveries")).scalar_one())
    assert receiver.secret.encode() not in secret and b"MIN_OUTPUT" not in body
    # a sealed secret moved to another row does not open
    other = Webhooks(ctx).register(ctx.parties.create("globex", "factory"), receiver.url, "z" * 32)[0]
    with ctx.store.engine.begin() as conn:
        conn.execute(text("UPDATE webhooks SET secret = :s WHERE id = :i"), {"s": secret, "i": other.id})
    [moved] = Webhooks(ctx).enqueue(ctx.parties.get("globex").id, "covenant.warning", WARNING, "k1", now=T0)
    done = deliver_due(ctx, T0)
    assert (done.attempted, done.delivered) == (1, 1)  # acme's; globex's is never sent
    assert len(receiver.requests) == 1
    row = _log(ctx, ctx.parties.get("globex"))[moved]
    assert row.status == "failed" and row.last_error.startswith(f"webhook {other.id} does not open")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def test_dpl_webhooks_deliver_once_sends_what_is_due(settings, ctx, receiver):
    import os
    import subprocess
    import sys

    party, _ = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1")
    receiver.clock = _now()
    env = {**os.environ, "DPL_HOME": str(settings.home), "DPL_WEBHOOKS_ALLOW_PRIVATE": "true"}
    env.pop("DATABASE_URL", None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    out = subprocess.run([sys.executable, "-m", "ledger.cli", "webhooks", "deliver", "--once"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 attempted: 1 delivered, 0 to retry, 0 failed"
    assert [e["id"] for e in receiver.accepted] == [delivery_id]
    assert _log(ctx, party)[delivery_id].status == "delivered"


def test_the_services_loop_delivers_when_asked(settings, ctx, receiver):
    from fastapi.testclient import TestClient

    from api.app import create_app

    party, _ = _hook(ctx, receiver)
    [delivery_id] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1")
    receiver.clock = _now()
    app = create_app(settings.model_copy(update={"webhooks_interval": 0.05, "anchor_interval": 0}))
    with TestClient(app):
        deadline = time.monotonic() + 20
        while not receiver.accepted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.services.webhook_loop is not None
    assert [e["id"] for e in receiver.accepted] == [delivery_id]
    assert _log(ctx, party)[delivery_id].status == "delivered"


def test_the_services_loop_is_off_when_the_interval_is_zero(settings):
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(settings.model_copy(update={"webhooks_interval": 0, "anchor_interval": 0}))
    with TestClient(app):
        assert app.state.services.webhook_loop is None


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline():
    """Each byte within the socket timeout, the whole answer never: the delivery still ends."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b"X-Slow: a\r\n")
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        status, error = post(f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {}, allow_private=True,
                             timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert status is None and "timed out" in error
    assert elapsed < 3  # 0.5 s deadline; without it the headers would stream until the server stops


def test_enqueue_in_the_callers_transaction_rolls_back_with_it(ctx, receiver):
    from ledger.store.db import write_transaction

    party, _ = _hook(ctx, receiver)
    with pytest.raises(RuntimeError):
        with write_transaction(ctx.store.engine) as conn:
            assert len(Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0, conn=conn)) == 1
            raise RuntimeError("the caller's own write failed")
    assert Webhooks(ctx).deliveries(party) == []
    with write_transaction(ctx.store.engine) as conn:
        [made] = Webhooks(ctx).enqueue(party.id, "covenant.warning", WARNING, "k1", now=T0, conn=conn)
    assert [d.delivery_id for d in Webhooks(ctx).deliveries(party)] == [made]
