"""A served UI for the browser tests, the way `make run` serves it: anvil, the registry, the
demo parties and keys (api.demo), then `dpl serve` as a process on SQLite, plus one pledge
(acme's consent, issued by bank-a) so the lender has collateral to look at.

The specs themselves are JavaScript (playwright-core driving Debian's Chromium): see
harness.mjs. Screenshots land in test-artifacts/browser/ (or DPL_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ledger.chain import node
from tests.integration.test_anchoring import _free_port
from tests.integration.test_service import _env, _wait_http

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("DPL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("DPL_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"


def _run(env, *args) -> str:
    proc = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"{args}: {proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="session")
def ui(tmp_path_factory) -> dict:
    assert shutil.which("node"), "node is needed for the browser tests"
    assert Path(CHROMIUM).exists(), f"Chromium is needed at {CHROMIUM}: bash scripts/install-chromium.sh"
    assert (ROOT / "node_modules" / "playwright-core").is_dir(), "playwright-core is missing: npm ci"
    home = tmp_path_factory.mktemp("ui") / "home"
    chain = node.up(home, port=_free_port())
    env = _env(home, chain.rpc_url, DPL_ANCHOR_INTERVAL="2")
    server = None
    try:
        _run(env, str(BIN / "dpl"), "keys", "import-dev")
        # dev9 stays out of the service's keyring: a factory that signs with its own wallet (the
        # browser's wallet forwards to anvil, where dev9 is unlocked)
        (home / "keys" / "dev9.json").unlink()
        _run(env, str(BIN / "dpl"), "deploy")
        _run(env, sys.executable, "-m", "api.demo")
        keys = json.loads((home / "demo-keys.json").read_text())
        port = _free_port()
        server = subprocess.Popen([str(BIN / "dpl"), "serve", "--port", str(port)], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/health", server)
        token_id = _one_pledge(base, keys)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # A forgery anyone could make: a lookalike registry (a fresh copy of ours) on the same chain,
        # hosting an invented acme/line-a; the proof bundle of one of its records.
        from tests.forgery import anchored_forgery, deploy_lookalike, dev_account

        lookalike = deploy_lookalike(chain.rpc_url, dev_account(5))
        forged = home.parent / "forged-proof.json"
        forged.write_text(json.dumps(anchored_forgery(chain.rpc_url, lookalike, dev_account(6), "acme/line-a")))
        yield {"base": base, "rpc": chain.rpc_url, "keys": keys, "home": home, "token_id": token_id,
               "env": env, "registry": httpx.get(base + "/health").json()["chain"]["registry"],
               "lookalike": lookalike, "forged": forged}
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        node.down(home)


def _one_pledge(base: str, keys: dict) -> int:
    """acme consents (custodial) to a pledge of its first 200 records to bank-a, which issues it."""
    http = httpx.Client(base_url=base, timeout=120)

    def call(method, path, who, expect, **kw):
        r = http.request(method, path, headers={"Authorization": f"Bearer {keys[who]}"}, **kw)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    [log] = [x for x in call("GET", "/v1/logs", "factory", 200) if x["stream"] == "acme/line-a"]  # the demo has two
    consent = call("POST", "/v1/pledges/consents", "factory", 201, json={"terms": {
        "log_id": log["log_id"], "from": 0, "to": 200, "lender": "bank-a", "principal": 2_500_000,
        "currency": "EUR", "maturity": "2027-06-30", "lien_end": "2027-12-31", "samples": 8,
        "loan_ref": "LOAN-UI-1"}})
    issued = call("POST", "/v1/pledges", "lender_a", 201, json={"consent_id": consent["consent_id"]})
    return issued["token_id"]


def run_spec(ui: dict, spec: str, timeout: float = 300) -> None:
    """Runs one JavaScript spec with node's test runner against the served UI; fails with its output."""
    env = {**os.environ, "DPL_UI_BASE": ui["base"], "DPL_UI_RPC": ui["rpc"], "DPL_UI_KEYS": json.dumps(ui["keys"]),
           "DPL_UI_TOKEN_ID": str(ui["token_id"]), "DPL_UI_ARTIFACTS": str(ARTIFACTS), "DPL_CHROMIUM": CHROMIUM,
           "DPL_UI_REGISTRY": ui["registry"], "DPL_UI_FORGED": str(ui["forged"])}
    proc = subprocess.run(["node", "--test", "--test-reporter=spec", str(Path(__file__).parent / spec)],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, f"{spec} failed:\n{proc.stdout[-12000:]}\n{proc.stderr[-4000:]}"
