"""The browser verifier and the Python one on the service's own bundles against the same real
chain (anvil): the collateral bundle of a live pledge and the proof bundle of a record, sound
and tampered. Same checks, same verdicts, same reasons (where the wording names no source)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger.bundles import verify as verify_proof
from ledger.chain.build import load_artifact
from ledger.chain.check import check_anchor
from ledger.errors import BundleError, ProofError, RecordError
from ledger.pledge_collateral import verify_against_chain

HERE = Path(__file__).parent


def _get(ui, path: str, who: str):
    r = httpx.get(ui["base"] + path, headers={"Authorization": f"Bearer {ui['keys'][who]}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _python_proof(bundle: dict, rpc: str) -> bool:
    try:
        check_anchor(verify_proof(bundle), rpc)
        return True
    except (BundleError, ProofError, RecordError):
        return False


@pytest.mark.anvil
def test_js_and_python_agree_on_the_services_bundles_against_the_chain(ui, tmp_path):
    token = ui["token_id"]
    collateral = _get(ui, f"/v1/pledges/{token}/bundle", "lender_a")
    log = next(x for x in _get(ui, "/v1/logs", "factory") if x["stream"] == "acme/line-a")  # specs add logs
    proof = _get(ui, f"/v1/logs/{log['log_id']}/records/11", "factory")

    def changed(doc, edit):
        doc = copy.deepcopy(doc)
        edit(doc)
        return doc

    collaterals = [
        (collateral, token),
        (collateral, token + 1000),                                    # another (unknown) pledge
        (changed(collateral, lambda b: b["entries"][0]["record"]["data"].update(x=1)), token),
        (changed(collateral, lambda b: b["manifest"]["checkpoint"].update(root="0x" + "ab" * 32)), token),
        (changed(collateral, lambda b: b["entries"].pop()), token),
        (changed(collateral, lambda b: b.update(registry=b["registry"].lower())), token),
        (changed(collateral, lambda b: b["issue"].update(block_hash="0x" + "00" * 32)), token),
    ]
    proofs = [
        proof,
        changed(proof, lambda b: b["checkpoint"].update(root="0x" + "cd" * 32)),
        changed(proof, lambda b: b["entries"][0]["record"].update(type="forged")),
        changed(proof, lambda b: b["anchor"].update(chain_id=1)),
    ]
    cases = [{"kind": "collateral", "text": json.dumps(b), "tokenId": t} for b, t in collaterals]
    cases += [{"kind": "proof", "text": json.dumps(b)} for b in proofs]
    artifact = load_artifact("DataPledgeRegistry")
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": cases, "registry": ui["registry"], "registryCode": {
        "deployedBytecode": artifact["deployedBytecode"], "immutableReferences": artifact["immutableReferences"]}}))
    run = subprocess.run(["node", str(HERE / "parity_onchain.mjs"), str(path)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "DPL_UI_RPC": ui["rpc"]})
    assert run.returncode == 0, run.stderr
    js = json.loads(run.stdout)

    for n, (bundle, tok) in enumerate(collaterals):
        py = verify_against_chain(bundle, tok, ui["rpc"], ui["home"])
        got = js[n]
        assert [(c.name, c.ok) for c in py.checks] == [(c[0], c[1]) for c in got["checks"]], n
        # reasons agree too, except where each names where the registry address came from
        assert [c.detail for c in py.checks if c.name != "registry"] == [c[2] for c in got["checks"] if c[0] != "registry"], n
        assert py.sound == got["sound"]
    assert [r["sound"] for r in js[:len(collaterals)]] == [True, False, False, False, False, True, False]
    for n, bundle in enumerate(proofs):
        assert js[len(collaterals) + n]["sound"] == _python_proof(bundle, ui["rpc"]), n
    assert [r["sound"] for r in js[len(collaterals):]] == [True, False, False, False]
