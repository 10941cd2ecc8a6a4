"""The service as users run it: `dpl serve` as a real process against anvil and PostgreSQL,
driven over HTTP through the whole story; and `make run`'s script, stopped with Ctrl-C and
started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger.chain import node
from ledger.grant_read import verify_grant_read
from ledger.pledge.collateral_chain import verify_against_chain
from tests.integration.test_anchoring import _free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DPL = str(BIN / "dpl")
SAMPLE = ROOT / "ledger" / "samples" / "factory-month.jsonl"


def _env(home: Path, rpc: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env.update(DPL_HOME=str(home), DPL_RPC_URL=rpc, PATH=f"{BIN}:{env['PATH']}", **extra)
    return env


def _wait_http(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited early"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def _dpl(env, *args) -> str:
    proc = subprocess.run([DPL, *args], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.postgres
def test_the_story_over_http_against_a_served_process(tmp_path, pg_url):
    home = tmp_path / "home"
    chain = node.up(home, port=_free_port())
    env = _env(home, chain.rpc_url, DATABASE_URL=pg_url, DPL_ANCHOR_INTERVAL="1")
    port = _free_port()
    server = None
    try:
        _dpl(env, "keys", "import-dev")
        _dpl(env, "deploy")
        keys = {}
        for slot, role, party, key in (("admin", "admin", "admin", "dev0"), ("factory", "factory", "acme", "dev1"),
                                       ("a", "lender", "bank-a", "dev2"), ("b", "lender", "bank-b", "dev3"),
                                       ("auditor", "auditor", "audit", None)):
            extra = ["--key", key] if key else []
            keys[slot] = json.loads(_dpl(env, "keys", "api", "--role", role, "--party", party, *extra, "--json"))["key"]
        server = subprocess.Popen([DPL, "serve", "--port", str(port), "--workers", "2"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/health", server)
        http = httpx.Client(base_url=base, timeout=60)

        def call(method, path, who, expect=200, headers=None, **kw):
            r = http.request(method, path, headers={"Authorization": f"Bearer {keys[who]}", **(headers or {})}, **kw)
            assert r.status_code == expect, (r.status_code, r.text)
            return r.json() if r.content else None

        health = http.get("/health").json()
        assert health["database"]["backend"] == "postgresql" and health["chain"]["chain_id"] == 31337
        assert http.get("/v1/logs").status_code == 401

        log = call("POST", "/v1/logs", "factory", 201, json={"stream": "line-a"})
        log_id = log["log_id"]
        body = SAMPLE.read_bytes()
        out = call("POST", f"/v1/logs/{log_id}/records", "factory", content=body,
                   headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": "month-1"})
        assert out["appended"] == 3495
        assert call("GET", "/v1/logs", "factory")[0]["size"] == 3495
        call("GET", f"/v1/logs/{log_id}", "a", 403)  # a lender sees no logs

        # The background anchoring (every second, two workers, one lock) anchors it.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            cps = call("GET", f"/v1/logs/{log_id}/checkpoints", "auditor")
            if cps and cps[-1]["anchor"] and cps[-1]["anchor"]["state"] in ("included", "final"):
                break
            time.sleep(1)
        else:
            raise AssertionError(f"not anchored: {cps}")

        for lender in ("bank-a", "bank-b"):
            call("POST", "/v1/lenders", "admin", 201, json={"address": lender})
        consent = call("POST", "/v1/pledges/consents", "factory", 201, json={"terms": {
            "log_id": log_id, "from": 0, "to": 1000, "lender": "bank-a", "principal": 50_000_000,
            "currency": "CNY", "maturity": "2030-06-30", "lien_end": "2030-12-31", "samples": 20,
            "loan_ref": "LN-HTTP-1"}})
        issued = call("POST", "/v1/pledges", "a", 201, json={"consent_id": consent["consent_id"]})
        token = issued["token_id"]
        refused = call("POST", "/v1/pledges", "a", 409, json={"consent_id": consent["consent_id"]})
        assert refused["error"] == "PledgeConsentReplayed"
        call("POST", f"/v1/pledges/{token}/transfer", "a", json={"to": "bank-b"})
        call("GET", f"/v1/pledges/{token}", "a", 404)  # no longer its pledge
        assert call("GET", f"/v1/pledges/{token}", "b")["holder"] == call("GET", "/v1/pledges", "b")[0]["holder"]

        bundle = call("GET", f"/v1/pledges/{token}/bundle", "b")
        report = verify_against_chain(bundle, token, chain.rpc_url, home)
        assert report.sound, [c for c in report.checks if not c.ok]
        refused = call("POST", f"/v1/pledges/{token}/default", "b", 409)
        assert refused["error"] == "PledgeNotMatured"
        call("POST", f"/v1/pledges/{token}/release", "b")
        assert call("GET", f"/v1/pledges/{token}", "auditor")["status"] == "released"
        audit = call("POST", "/v1/audit", "auditor")
        assert audit["clean"] and audit["records"] == 3495 and audit["pledges"] == 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=30)
        node.down(home)


def _assert_demo_warnings(base: str, keys: dict) -> None:
    """The demo's covenanted pledge (api.demo): bolt's [0, 467) held by bank-a, with an OPEN
    stoppage warning on press-07 and the cross-source warning of 2026-W41 resolved by 2026-W42;
    the factory sees the same warnings, the auditor their counts."""
    def get(path, slot):
        r = httpx.get(base + path, headers={"Authorization": f"Bearer {keys[slot]}"})
        assert r.status_code == 200, (path, r.text)
        return r.json()

    [pledge] = [p for p in get("/v1/pledges", "lender_a") if p["stream"] == "bolt/line-1"]
    assert (pledge["from"], pledge["to"], pledge["status"]) == (0, 467, "live")
    found = {w["key"]: w for w in get("/v1/warnings", "lender_a")}
    assert {k: w["state"] for k, w in found.items()} == {"cross_source_mismatch/2026-W41": "resolved",
                                                         "stoppage/press-07/3487": "open"}
    stoppage = found["stoppage/press-07/3487"]
    assert stoppage["token_id"] == pledge["token_id"] and stoppage["window"] == {"from": 3487, "to": 3575}
    assert stoppage["checkpoint"]["size"] == 3575 and "press-07" in stoppage["message"]
    assert found["cross_source_mismatch/2026-W41"]["evidence"]["week"] == "2026-W42"
    assert get("/v1/warnings", "factory_b") == list(found.values())  # no surprises between the parties
    counts = get(f"/v1/pledges/{pledge['token_id']}/warnings", "auditor")
    assert counts["counts"] == {"open": 1, "acknowledged": 0, "resolved": 1} and counts["warnings"] is None


def test_make_run_serves_the_demo_stops_on_ctrl_c_and_reuses_everything(tmp_path):
    home, chain_port, api_port = tmp_path / "home", _free_port(), _free_port()
    env = _env(home, f"http://127.0.0.1:{chain_port}", DPL_DEMO_PORT=str(chain_port), DPL_API_PORT=str(api_port),
               DPL=DPL, PY=sys.executable)
    env["PYTHONPATH"] = str(ROOT)

    def run_once() -> str:
        proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "run.sh")], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_http(f"http://127.0.0.1:{api_port}/health", proc, 180)
            keys = json.loads((home / "demo-keys.json").read_text())
            assert set(keys) == {"factory", "factory_b", "lender_a", "lender_b", "auditor", "admin"}
            assert (home / "demo-keys.json").stat().st_mode & 0o777 == 0o600
            # bolt's month, then its Saturday 31 October (80 readings, press-07 silent)
            # acme's month, and a dpl-record/2 log of its first 300 records (anchored)
            for slot, want in (("factory", [("acme/line-a", 3495, "dpl-record/1"),
                                            ("acme/line-v2", 300, "dpl-record/2")]),
                               ("factory_b", [("bolt/line-1", 3575, "dpl-record/1")])):
                logs = httpx.get(f"http://127.0.0.1:{api_port}/v1/logs",
                                 headers={"Authorization": f"Bearer {keys[slot]}"}).json()
                assert [(log["stream"], log["size"], log["format"]) for log in logs] == want
                for log in logs:  # each log's anchored checkpoint is published and served at /tiles/
                    log_id = log["log_id"].removeprefix("0x")
                    r = httpx.get(f"http://127.0.0.1:{api_port}/tiles/{log_id}/checkpoint")
                    assert r.status_code == 200, (log["stream"], r.status_code)
                    origin, size = r.text.splitlines()[:2]
                    assert origin.endswith(log_id) and 0 < int(size) <= log["size"]
            _assert_demo_warnings(f"http://127.0.0.1:{api_port}", keys)
            listed = httpx.get(f"http://127.0.0.1:{api_port}/v1/factories",
                               headers={"Authorization": f"Bearer {keys['lender_a']}"}).json()
            # a verifier names the demo factories
            assert sorted(f["name"] for f in listed) == ["ACME Precision Co.", "Bolt Fasteners Ltd."]
            # each factory disclosed its log to bank-a: the lender page has two profiles to read
            disclosed = httpx.get(f"http://127.0.0.1:{api_port}/v1/disclosures",
                                  headers={"Authorization": f"Bearer {keys['lender_a']}"}).json()
            assert sorted((d["stream"], d["range"]["to"]) for d in disclosed) == [("acme/line-a", 3495),
                                                                                   ("bolt/line-1", 3495)]
            # acme granted bank-a reads of its log: the lender page's "Granted data" has one to read
            granted = httpx.get(f"http://127.0.0.1:{api_port}/v1/grants",
                                headers={"Authorization": f"Bearer {keys['lender_a']}"}).json()
            assert sorted((g["factory"], g["state"], sorted(g["grant"]["types"].items())) for g in granted) == [
                ("acme", "live", [("erp.sales_order", ["amount_minor", "currency"]),
                                  ("mes.work_order", ["product", "qty_good"])]),
                ("acme", "live", [("iot.telemetry", ["*"]), ("mes.work_order", ["product", "qty_good"])]),
                ("bolt", "live", [("mes.work_order", ["product", "qty_good", "qty_scrap"])])]
            # acme applied to bank-a on its v2 log: the lender's inbox has one, submitted, with that grant
            inbox = httpx.get(f"http://127.0.0.1:{api_port}/v1/applications",
                              headers={"Authorization": f"Bearer {keys['lender_a']}"}).json()
            [v2] = [g for g in granted if "erp.sales_order" in g["grant"]["types"]]
            assert sorted((a["factory"], a["state"], a["application"]["collateral"][0]["to"]) for a in inbox) == [
                ("acme", "submitted", 300), ("bolt", "approved", 2000)]
            [acme_app] = [a for a in inbox if a["factory"] == "acme"]
            assert acme_app["grant_ids"] == [v2["id"]]
            [bolt_app] = [a for a in inbox if a["factory"] == "bolt"]
            terms = bolt_app["decision"]["terms"]
            assert (terms["from"], terms["to"], terms["loan_ref"]) == (1000, 2000, "LOAN-DEMO-BOLT-2")
            # a read through it: partial records on the dpl-record/2 log, proven, checked as a lender does
            read = httpx.get(f"http://127.0.0.1:{api_port}/v1/grants/{v2['id']}/records",
                             params={"log": v2["grant"]["logs"][0], "from": 0, "to": 300},
                             headers={"Authorization": f"Bearer {keys['lender_a']}"})
            assert read.status_code == 200, read.text
            checked = verify_grant_read(read.json())
            assert checked.record_format == "dpl-record/2" and checked.size == 300 and checked.records
            assert all(proven for _, _, proven in checked.records)
            assert 'action="/signin"' in httpx.get(f"http://127.0.0.1:{api_port}/").text
            signed_in = httpx.post(f"http://127.0.0.1:{api_port}/signin", data={"api_key": keys["auditor"]})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/auditor"
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
            out = proc.communicate(timeout=60)[0].decode()
        with pytest.raises(Exception):  # the chain stopped with the service
            node.rpc_call(env["DPL_RPC_URL"], "eth_blockNumber", timeout=2)
        return out

    first = run_once()
    keys = json.loads((home / "demo-keys.json").read_text())
    assert "new API key" in first and "appended 3495" in first
    second = run_once()
    assert "new API key" not in second and "already stored 3495" in second
    assert "listed in the directory as 'ACME Precision Co.'" in first and "listed in the directory" not in second
    assert "listed in the directory as 'Bolt Fasteners Ltd.'" in first
    assert "bolt/line-1: appended 3495" in first and "bolt/line-1: appended 0, already stored 3495" in second
    assert "disclosed in full to bank-a" in first and "disclosed in full" not in second
    assert "acme grants bank-a reads" in first and "grants bank-a" not in second
    assert "acme/line-v2 (dpl-record/2): appended 300" in first
    assert "acme/line-v2 (dpl-record/2): appended 0, already stored 300" in second
    assert "acme applies to bank-a (application 1, submitted" in first and "applies" not in second
    assert "bolt applies to bank-a for records [1000, 2000) (application 2), bank-a approved it" in first
    # the covenanted pledge is made and judged once; a second run judges nothing new
    assert "bolt consents to pledge records [0, 467) to bank-a with covenants" in first
    assert "monitor: pledge 1: warning stoppage/press-07/3487 raised" in first
    assert "bolt consents" not in second and "issued to bank-a" not in second and "monitor:" not in second
    assert json.loads((home / "demo-keys.json").read_text()) == keys
    for key in keys.values():  # printed on every run, to sign in with
        assert key in first and key in second
