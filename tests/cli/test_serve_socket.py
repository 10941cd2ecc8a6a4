"""The socket `dpl serve --workers N` shares: connections accepted on it get TCP_NODELAY."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ledger.serve_socket import listening_socket


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    seen: asyncio.Future = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    try:
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(seen, 5)
        writer.close()
        return value
    finally:
        server.close()
        await server.wait_closed()


def test_connections_accepted_on_our_socket_have_nodelay():
    sock = listening_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()
    assert asyncio.run(_nodelay_of_accepted(sock)) == 1


def test_a_socket_made_like_uvicorns_does_not():
    # what uvicorn's Config.bind_socket does for --workers > 1: the reason listening_socket exists
    sock = socket.socket(socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    assert asyncio.run(_nodelay_of_accepted(sock)) == 0


def test_a_port_in_use_is_an_os_error():
    taken = listening_socket("127.0.0.1", 0)
    taken.listen()
    with pytest.raises(OSError):
        listening_socket("127.0.0.1", taken.getsockname()[1])
    taken.close()
