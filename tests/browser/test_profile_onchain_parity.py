"""A lender's verdict on a factory's profile and its full disclosure against the real chain
(anvil), in Python (``ledger.service.profiles.verify``, what ``dpl profile verify --rpc`` runs)
and in the browser's modules (``verify/profile_chain.js``, what the lender page runs): a real
disclosure of acme/line-a made through the API, and the same with its anchor on another chain or
absent, a transaction it does not cite, its stream relabelled (profile and disclosure alike), a
lookalike registry trusted, another factory expected. Same checks, same verdicts, same reasons
(the "registry" check's source aside: each says where its address came from)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger import jsonio
from ledger.chain.build import load_artifact
from ledger.service.profiles import verify
from tests.forgery import dev_account

HERE = Path(__file__).parent


def _call(ui, method: str, path: str, who: str, **kw) -> httpx.Response:
    r = httpx.request(method, ui["base"] + path, headers={"Authorization": f"Bearer {ui['keys'][who]}"}, timeout=120, **kw)
    assert r.status_code in (200, 201), r.text
    return r


@pytest.mark.anvil
def test_js_and_python_agree_on_a_disclosure_against_the_chain(ui, tmp_path):
    log = next(x for x in _call(ui, "GET", "/v1/logs", "factory").json() if x["stream"] == "acme/line-a")
    made = _call(ui, "POST", f"/v1/logs/{log['log_id']}/disclosures", "factory",
                 json={"lender": "bank-a", "from": 100, "to": 700, "tz": "+08:00"}).json()
    profile = _call(ui, "GET", f"/v1/disclosures/{made['id']}/profile", "lender_a").content
    document = _call(ui, "GET", f"/v1/disclosures/{made['id']}/document", "lender_a").content

    def changed(raw: bytes, edit) -> bytes:
        doc = json.loads(raw)
        edit(doc)
        return json.dumps(doc).encode()

    acme = next(f["address"] for f in _call(ui, "GET", "/v1/factories", "lender_a").json()
                if f["name"] == "ACME Precision Co.")
    relabel = lambda d: d.update(stream="globex/line-a")  # noqa: E731
    cases = [  # (profile, disclosure, registry to trust: None = the pinned one, factory expected)
        (profile, document, None, None),
        (profile, document, None, acme),
        (profile, document, None, dev_account(6).address),
        (profile, changed(document, lambda d: d["anchor"].update(chain_id=1)), None, None),
        (profile, changed(document, lambda d: d.update(anchor=None)), None, None),
        (profile, changed(document, lambda d: d["anchor"].update(tx_hash="0x" + "ab" * 32)), None, None),
        (changed(profile, relabel), changed(document, relabel), None, None),
        (profile, document, ui["lookalike"], None),
        (changed(profile, lambda p: p["mes"].update(qty_good=p["mes"]["qty_good"] + 1)), document, None, None),
    ]
    artifact = load_artifact("DataPledgeRegistry")
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({
        "cases": [{"profile": p.decode(), "disclosure": d.decode(), "registry": r, "factory": f} for p, d, r, f in cases],
        "registry": ui["registry"], "registryCode": {"deployedBytecode": artifact["deployedBytecode"],
                                                     "immutableReferences": artifact["immutableReferences"]}}))
    run = subprocess.run(["node", str(HERE / "parity_profile_onchain.mjs"), str(path)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "DPL_UI_RPC": ui["rpc"]})
    assert run.returncode == 0, run.stderr
    js = json.loads(run.stdout)

    verdicts = []
    for n, (p, d, registry, factory) in enumerate(cases):
        py = verify(jsonio.loads(p), jsonio.loads(d), rpc_url=ui["rpc"], home=ui["home"], registry=registry,
                    factory=factory)
        got = js[n]
        assert [(c.name, c.ok) for c in py.checks] == [(c[0], c[1]) for c in got["checks"]], (n, py.checks, got)
        assert [c.detail for c in py.checks if c.name != "registry"] == [c[2] for c in got["checks"] if c[0] != "registry"], n
        assert py.sound == got["sound"], n
        verdicts.append((got["sound"], next((c[0] for c in got["checks"] if not c[1]), None)))
    assert verdicts == [
        (True, None),
        (True, None),                          # acme's log, acme expected
        (False, "expected factory"),           # another factory expected
        (False, "anchor"),                     # the anchor names another chain
        (False, "anchor"),                     # no anchor: nothing to check on chain
        (False, "anchor transaction"),         # a transaction that did not anchor it
        (False, "factory"),                    # relabelled: acme's log is not "globex/line-a"
        (False, "bundle names this registry"), # a lookalike registry trusted: the anchor names the pinned one
        (False, "figures"),                    # an inflated figure
    ], verdicts
    names = [c[0] for c in js[0]["checks"]]
    assert names == ["profile", "disclosure", "same range", "figures", "registry", "bundle names this registry",
                     "factory", "anchor", "anchor transaction"], names
