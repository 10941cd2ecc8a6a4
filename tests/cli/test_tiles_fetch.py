"""``dpl verify --tiles`` fetching from a hostile server: a body dripped a byte at a time meets
the per-file deadline, and a redirect to a URL that does not parse is one line, not a traceback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ledger.cli.tiles import http_fetcher
from ledger.errors import BundleError


def _server(answer) -> str:
    """A one-connection HTTP server on a free port running ``answer(conn)``; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def serve():
        conn, _ = sock.accept()
        with conn:
            conn.recv(4096)
            try:
                answer(conn)
            except OSError:
                pass
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_body_dripped_a_byte_at_a_time_meets_the_deadline():
    def drip(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n")
        for _ in range(40):  # 10 s in all, each byte well inside the read timeout
            conn.sendall(b"a")
            time.sleep(0.25)

    fetch = http_fetcher(_server(drip), timeout=2.0, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(BundleError, match=r"checkpoint took longer than 1 s"):
        fetch("checkpoint")
    assert time.monotonic() - started < 6  # at the deadline, not when the drip ends (10 s)


def test_a_redirect_to_a_url_that_does_not_parse_is_one_line():
    def redirect(conn):
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://[::1/\r\nContent-Length: 0\r\n\r\n")

    with pytest.raises(BundleError, match=r"^cannot fetch .*/checkpoint: "):
        http_fetcher(_server(redirect))("checkpoint")


def test_a_tiles_url_that_does_not_parse_is_refused_in_words():
    with pytest.raises(BundleError, match="is not an http"):
        http_fetcher("http://[::1")
