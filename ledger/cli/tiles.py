"""``dpl verify --tiles URL``: a log's published checkpoint and tiles (``dpl publish``,
docs/TILES.md) fetched over HTTP(S) and checked with no call to the service.

The fetcher treats the server as hostile: http and https only, a connect and read timeout and
an overall deadline per file, and at most the bytes the file can hold (a tile's length follows
from its path; a checkpoint note is at most ``tlog.MAX_NOTE_BYTES``). Every failure is a
``BundleError``: one line, exit 1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from ledger import tlog
from ledger.errors import BundleError

#: Seconds to connect / between two reads, and for a whole file.
TIMEOUT = 10.0
DEADLINE = 30.0


def http_fetcher(base_url: str, timeout: float = TIMEOUT, deadline: float = DEADLINE) -> tlog.Fetch:
    """``fetch(path)``: the bytes at ``base_url/path``, bounded in size and time."""
    import requests
    import urllib3

    try:
        parts = urlsplit(base_url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise BundleError(f"--tiles {base_url!r} is not an http(s) URL")
    base = base_url.rstrip("/")
    session = requests.Session()

    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            limit = tlog.MAX_NOTE_BYTES
        else:
            _, _, width = tlog.parse_tile_path(path)
            limit = width * tlog.HASH_SIZE
        url = f"{base}/{path}"
        end = time.monotonic() + deadline
        try:
            with session.get(url, timeout=(timeout, timeout), stream=True,
                             headers={"Accept-Encoding": "gzip, identity"}) as r:
                if r.status_code != 200:
                    raise BundleError(f"{url}: HTTP {r.status_code}" + (" (not published?)" if r.status_code == 404 else ""))
                body = bytearray()
                while chunk := r.raw.read1(8192, decode_content=True):  # what has come: a slow drip meets the deadline
                    body += chunk
                    if len(body) > limit:
                        raise BundleError(f"{url} is larger than the {limit} bytes it can hold")
                    if time.monotonic() > end:
                        raise BundleError(f"{url} took longer than {deadline:g} s")
                return bytes(body)
        except BundleError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as e:  # ValueError: a bad redirect URL
            raise BundleError(f"cannot fetch {url}: {type(e).__name__}") from None

    return fetch


@dataclass(frozen=True)
class Published:
    """A log's checkpoint as fetched and checked, with a reader of its tiles."""

    url: str
    checkpoint: tlog.Checkpoint
    chain_id: int
    log_id: bytes
    signed_by: str | None
    reader: tlog.TileReader


def open_published(url: str, vkey: str | None, fetch: tlog.Fetch | None = None) -> Published:
    """Fetch ``url/checkpoint``, check its signature with ``vkey`` (None: not checked), read its
    origin, and check that the tiles hash to its root."""
    fetch = fetch or http_fetcher(url)
    note = fetch("checkpoint")
    if vkey is not None:
        verifier = tlog.parse_vkey(vkey)
        text = tlog.open_note(note, verifier)
        signed_by = f"{verifier.name}+{verifier.key_id.hex()}"
    else:
        text, signed_by = tlog.split_note(note)[0], None
    cp = tlog.parse_checkpoint(text)
    if vkey is not None and cp.origin != verifier.name:  # the signature does not cover the key's name
        raise BundleError(f"the checkpoint at {url} is for {cp.origin}, but the note key is for {verifier.name}: "
                          "a checkpoint of another log")
    chain_id, log_id = tlog.parse_origin(cp.origin)
    reader = tlog.TileReader(cp.size, fetch)
    root = reader.root()
    if root != cp.root:
        raise BundleError(f"the tiles at {url} hash to root 0x{root.hex()} at size {cp.size}, not to the "
                          f"checkpoint's root 0x{cp.root.hex()}")
    return Published(url, cp, chain_id, log_id, signed_by, reader)


def read_vkey(value: str) -> str:
    """``--vkey``: the verifier key itself, or a file holding it."""
    from pathlib import Path

    if value.count("+") >= 2 and "\n" not in value:
        return value
    try:
        return Path(value).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise BundleError(f"--vkey {value!r} is neither a note verifier key nor a readable file "
                          f"({getattr(e, 'strerror', None) or e})") from None
