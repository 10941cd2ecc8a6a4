"""schemathesis over the service's OpenAPI schema, against a real server (uvicorn in a thread,
real anvil, SQLite): for a bounded number of generated requests per operation, no response
is a 5xx and every response matches the schema (status documented, content type, body)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis import checks
import uvicorn
from hypothesis import HealthCheck, given, settings

from ledger.chain import node

SAMPLE = Path(__file__).resolve().parents[2] / "ledger" / "samples" / "factory-month.jsonl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    base: str
    keys: dict


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from api.app import create_app
    from ledger.chain.client import Chain
    from ledger.chain.deploy import deploy_registry
    from ledger.keys import Keyring
    from ledger.settings import Settings

    home = tmp_path_factory.mktemp("fuzz") / "home"
    chain = node.up(home, port=_free_port())
    keyring = Keyring(home, lambda: "unused")
    keyring.import_dev()
    deploy_registry(Chain(chain.rpc_url), home, keyring.account("dev0", 31337))
    settings = Settings(home=home, rpc_url=chain.rpc_url, anchor_interval=0, data_key=None)
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    parties = app.state.services.parties
    keys = {}
    for role, name, key in (("admin", "admin", "dev0"), ("factory", "acme", "dev1"), ("lender", "bank-a", "dev2"),
                            ("auditor", "audit", None)):
        parties.create(name, role, keyring.info(key).address if key else None, key)
        keys[role] = parties.new_key(name)
    auth = {"Authorization": f"Bearer {keys['factory']}"}
    log = httpx.post(base + "/v1/logs", json={"stream": "line-a"}, headers=auth).json()
    httpx.post(f"{base}/v1/logs/{log['log_id']}/records", content=SAMPLE.read_bytes()[:200_000],
               headers={**auth, "Content-Type": "application/x-ndjson"}, timeout=60)
    yield Served(base, keys)
    server.should_exit = True
    thread.join(timeout=10)
    node.down(home)


@pytest.fixture(scope="module")
def api_schema(served):
    return schemathesis.openapi.from_url(served.base + "/openapi.json")


# The role whose key each operation is called with: the one most likely to get past auth.
ROLE_BY_PREFIX = [("/v1/parties", "admin"), ("/v1/keys", "admin"), ("/v1/lenders", "admin"),
                  ("/v1/audit", "auditor"), ("/v1/pledges/consents", "factory"), ("/v1/pledges", "lender")]
EXAMPLES = 6  # per operation: bounded, so the run takes about a minute
# What the issue asks: no 5xx, and every response conforms to the schema (status code
# documented, content type, body, headers). Not "every schema-valid request succeeds": a
# range [from, to) with from >= to is schema-valid JSON and rightly a 422.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


def _role(path: str) -> str:
    return next((role for prefix, role in ROLE_BY_PREFIX if path.startswith(prefix)), "factory")


def test_no_server_errors_and_responses_match_the_schema(api_schema, served):
    # schemathesis' pytest plugin does not load under pytest 9; drive hypothesis directly.
    failures, calls = {}, {"n": 0}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for op in operations:
        headers = {"Authorization": f"Bearer {served.keys[_role(op.path)]}"}

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case):
            calls["n"] += 1
            response = case.call_and_validate(base_url=served.base, headers=headers, checks=CHECKS)
            assert response.status_code < 500 or response.status_code in (502, 503), response.text

        try:
            check()
        except BaseException as e:  # keep going (schemathesis raises exception groups): report every failure
            if isinstance(e, KeyboardInterrupt):
                raise
            failures[f"{op.method.upper()} {op.path}"] = str(e)[:600]
    assert calls["n"] >= len(operations)
    assert failures == {}
