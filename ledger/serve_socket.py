"""The listening socket ``dpl serve --workers N`` shares with its workers.

uvicorn binds it with ``socket.socket(family)``, so its ``proto`` is 0; the connections the
workers accept inherit that, and asyncio turns TCP_NODELAY on only for sockets whose proto is
``IPPROTO_TCP``. Without it every small keep-alive response waited ~40 ms for the peer's
delayed ACK (Nagle; uvicorn issue #3149, measured in bench/README.md). One worker is not
affected: asyncio makes that socket itself.
"""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (proto IPPROTO_TCP, SO_REUSEADDR, inheritable) for ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
