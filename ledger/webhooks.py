"""Webhooks, the pure part (``docs/WEBHOOKS.md``): how a delivery is signed and checked, when a
failed one is retried, and which URLs a webhook may name. No store, no network.

A delivery is a POST of a JSON body with three headers:

    DPL-Signature: t=1700000000,v1=<hex HMAC-SHA256(secret, "1700000000." + body)>
    DPL-Delivery-Id: <the delivery's id; the same on every retry>
    DPL-Event: <the event type>

``verify_delivery`` is the reference implementation of what a receiver does (the snippets in
``docs/WEBHOOKS.md`` do the same): check the signature in constant time, refuse a timestamp
outside the tolerance window, refuse a delivery id already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping, MutableSet
from urllib.parse import urlsplit

from ledger.errors import InvalidArgumentError

SIGNATURE_HEADER = "DPL-Signature"
DELIVERY_HEADER = "DPL-Delivery-Id"
EVENT_HEADER = "DPL-Event"
#: Seconds a receiver accepts between the signature's timestamp and its own clock.
TOLERANCE = 300
#: A secret a party chooses is at least this long (characters).
MIN_SECRET = 32
MAX_SECRET = 256
MAX_URL = 2048
#: Retries: the first after ``BACKOFF_BASE`` seconds, doubling, never more than ``BACKOFF_CAP``
#: apart; jitter takes up to ``JITTER`` of each delay off. A delivery not made within
#: ``GIVE_UP_AFTER`` seconds of its event is marked failed.
BACKOFF_BASE = 30
BACKOFF_CAP = 3600
JITTER = 0.2
GIVE_UP_AFTER = 86400


class SignatureError(InvalidArgumentError):
    """A delivery a receiver must refuse (bad or missing signature, stale, replayed)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature: hex HMAC-SHA256 keyed with ``secret`` over ``"<timestamp>." + body``."""
    return hmac.new(secret.encode(), str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``DPL-Signature`` value: ``t=<unix seconds>,v1=<hex>``."""
    return f"t={int(timestamp)},v1={sign(secret, timestamp, body)}"


def delivery_headers(secret: str, timestamp: int, body: bytes, delivery_id: str, event_type: str) -> dict[str, str]:
    """Every header a delivery carries."""
    return {"Content-Type": "application/json", "User-Agent": "data-pledge-ledger-webhooks/1",
            SIGNATURE_HEADER: signature_header(secret, timestamp, body), DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: event_type}


def parse_signature(value: str) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures) of a ``DPL-Signature`` value (several ``v1`` may be given
    while a secret is rotated)."""
    timestamp, signatures = None, []
    for part in value.split(","):
        name, _, item = (x.strip() for x in part.partition("="))
        if name == "t" and item.isascii() and item.isdigit() and len(item) <= 12:
            timestamp = int(item)
        elif name == "v1":
            signatures.append(item)
    if timestamp is None or not signatures:
        raise SignatureError(f"{SIGNATURE_HEADER} is not t=<seconds>,v1=<hex>")
    return timestamp, signatures


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_delivery(secret: str, headers: Mapping[str, str], body: bytes, *, now: int,
                    seen: MutableSet[str], tolerance: int = TOLERANCE) -> str:
    """What a receiver does with a delivery; returns its delivery id, or raises
    ``SignatureError``. In order: the signature over the body (constant-time compare), the
    timestamp within ``tolerance`` seconds of ``now``, the delivery id not in ``seen`` (it is
    added only when everything else passed, so a forged copy cannot burn a real id)."""
    value = _header(headers, SIGNATURE_HEADER)
    delivery_id = _header(headers, DELIVERY_HEADER)
    if not value or not delivery_id:
        raise SignatureError(f"no {SIGNATURE_HEADER} or {DELIVERY_HEADER} header")
    timestamp, signatures = parse_signature(value)
    expected = sign(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("the signature does not match the body (wrong secret or altered body)")
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"the signature's timestamp is {abs(now - timestamp)} s from now "
                             f"(tolerance {tolerance} s)")
    if delivery_id in seen:
        raise SignatureError(f"delivery {delivery_id} was received already (a replay)")
    seen.add(delivery_id)
    return delivery_id


def retry_delay(attempts: int, rand: float) -> float:
    """Seconds to wait after ``attempts`` failed attempts (≥ 1): ``BACKOFF_BASE · 2^(n-1)``
    capped at ``BACKOFF_CAP``, less up to ``JITTER`` of it (``rand`` in [0, 1)) so that many
    deliveries failing together do not retry together."""
    if attempts < 1:
        raise InvalidArgumentError("attempts start at 1")
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts - 1, 32))
    return delay * (1 - JITTER * min(max(rand, 0.0), 1.0))


def schedule(rands: Iterable[float]) -> list[float]:
    """Offsets (seconds after the event) of every attempt made while a receiver stays down:
    the first at 0, then after each ``retry_delay``, while within ``GIVE_UP_AFTER``."""
    offsets, at = [0.0], 0.0
    for n, rand in enumerate(rands, 1):
        at += retry_delay(n, rand)
        if at > GIVE_UP_AFTER:
            break
        offsets.append(at)
    return offsets


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL: http or https, a host, no credentials, no
    fragment, at most ``MAX_URL`` characters; ``InvalidArgumentError`` otherwise."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise InvalidArgumentError(f"a webhook URL is at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7f for c in url):
        raise InvalidArgumentError("a webhook URL holds no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidArgumentError("the webhook URL does not parse") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidArgumentError("a webhook URL is http:// or https://")
    if not parts.hostname:
        raise InvalidArgumentError("the webhook URL names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgumentError("a webhook URL carries no credentials (the signature authenticates)")
    if parts.fragment:
        raise InvalidArgumentError("a webhook URL has no #fragment")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def address_allowed(address: str) -> bool:
    """Whether a webhook may be delivered to ``address`` without ``DPL_WEBHOOKS_ALLOW_PRIVATE``:
    a global unicast address (not loopback, private, link-local, shared, multicast, reserved,
    unspecified; an IPv4-mapped IPv6 address is judged as its IPv4 one)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_private
                                 or ip.is_reserved or ip.is_unspecified)


def check_addresses(host: str, addresses: list[str], allow_private: bool) -> list[str]:
    """``addresses`` (what ``host`` resolved to) when a delivery may go there: some, and every
    one public unless ``allow_private``; ``InvalidArgumentError`` otherwise."""
    if not addresses:
        raise InvalidArgumentError(f"the webhook host {host} does not resolve")
    if not allow_private:
        refused = [a for a in addresses if not address_allowed(a)]
        if refused:
            raise InvalidArgumentError(f"the webhook host {host} resolves to a loopback, private or link-local "
                                       f"address ({refused[0]}); refused (DPL_WEBHOOKS_ALLOW_PRIVATE allows it)")
    return addresses
