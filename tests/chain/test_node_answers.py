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
