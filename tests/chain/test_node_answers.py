"""A node's answers are input: the chain client reads them with ledger.jsonio, so a hostile
node (a lender types its URL) gets a clean refusal, never a crash of the verifier."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

ANSWERS = {
    "deep": b'{"jsonrpc":"2.0","id":0,"result":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "duplicate": b'{"jsonrpc":"2.0","id":0,"result":"0x1","result":"0x7a69"}',
    "rate-limit": b'{"jsonrpc":"2.0","id":0,"error":{"code":-32005,"message":"daily request count exceeded, '
                  b'request rate limited for http://127.0.0.1/key"}}',
    "error": b'{"jsonrpc":"2.0","id":0,"error":{"code":-32000,"message":"header not found\\u001b[31m"}}',
    "error-not-an-object": b'{"jsonrpc":"2.0","id":0,"error":"boom"}',
}


@pytest.fixture
def node():
    """A JSON-RPC "node" on loopback that answers every request with ``node.answer``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = ANSWERS[server.answer]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.mark.parametrize("answer,reason", [("deep", "nested deeper than 64"), ("duplicate", "duplicate key 'result'")])
def test_a_hostile_answer_is_a_clean_chain_error(node, answer, reason):
    """Run where web3 (py_ecc) has raised the recursion limit, as in dpl: the old client
    crashed with SIGSEGV on the deep answer and took the second of two results."""
    node.answer = answer
    url = f"http://127.0.0.1:{node.server_port}"
    code = ("import sys\nfrom ledger.chain.client import Chain\nfrom ledger.errors import ChainError\n"
            "assert sys.getrecursionlimit() >= 100000\n"
            f"try:\n    print(Chain({url!r}).chain_id)\nexcept ChainError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("refused: the Ethereum node sent an answer that is not usable JSON-RPC")
    assert reason in out.stdout


def test_a_json_rpc_error_answer_is_a_chain_error_naming_the_nodes_message(node):
    """An error answer is a ``ChainError`` naming the node's message, its control characters
    escaped (was: web3's Web3RPCError, a traceback from dpl and a 500 from the API); a rate
    limit (-32005) is a ``ChainUnavailableError`` (the API's 503: retry later); an error that
    is not a JSON-RPC error object is an unusable answer."""
    from ledger.chain.client import Chain
    from ledger.errors import ChainError, ChainUnavailableError

    url = f"http://user:secret@127.0.0.1:{node.server_port}"
    node.answer = "rate-limit"
    with pytest.raises(ChainUnavailableError) as limited:
        Chain(url).block_number()
    assert str(limited.value) == (f"the Ethereum node at http://127.0.0.1:{node.server_port}/… is limiting requests: "
                                  "daily request count exceeded, request rate limited for http://127.0.0.1/key "
                                  "(JSON-RPC error -32005); retry later")
    node.answer = "error"
    with pytest.raises(ChainError) as failed:
        Chain(url).block_number()
    assert not isinstance(failed.value, ChainUnavailableError)
    assert str(failed.value) == (f"the Ethereum node at http://127.0.0.1:{node.server_port}/… answered with an error: "
                                 "header not found\\x1b[31m (JSON-RPC error -32000)")
    assert "secret" not in str(failed.value)
    node.answer = "error-not-an-object"
    with pytest.raises(ChainError, match="sent an answer that is not usable JSON-RPC"):
        Chain(url).block_number()
