"""The browser verifier and the Python one against the same real chain (anvil), trusting the same
registry (the service's pinned one, or one given explicitly; never a bundle's): the service's own
bundles, sound and tampered, and forgeries anyone could make: a record anchored in a lookalike
registry (a fresh copy of ours hosting an invented acme/line-a), a 46-byte contract answering
rootAt with any root, a relabelled stream, an anchor citing another transaction or block. Same
checks, same verdicts, same reasons (the "registry" check's source aside: each says where its
address came from)."""

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
from ledger.chain.check import expected_factory, proof_checks
from ledger.chain.client import Chain
from ledger.chain.deploy import trusted_registry
from ledger.errors import BundleError
from ledger.pledge.collateral_chain import verify_against_chain
from tests.forgery import (anchored_forgery, beyond_uint64, deploy_event_forger, deploy_forwarder, deploy_rootat_liar,
                           dev_account, forge_anchor_event)

HERE = Path(__file__).parent


def _get(ui, path: str, who: str):
    r = httpx.get(ui["base"] + path, headers={"Authorization": f"Bearer {ui['keys'][who]}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _python_proof(bundle: dict, ui, registry: str | None, factory: str | None = None) -> dict:
    """Python's verdict: the offline error, or the chain checks (``dpl verify --rpc`` raises the first
    failing one's reason)."""
    try:
        verified = verify_proof(bundle)
    except BundleError as e:
        return {"sound": False, "error": str(e), "chain": []}
    trusted = trusted_registry(31337, ui["home"], registry)
    checks = proof_checks(verified, Chain(ui["rpc"]), trusted, expected_factory(factory))
    failed = [c for c in checks if not c.ok]
    return {"sound": not failed, "error": failed[0].detail if failed else None,
            "chain": [(c.name, c.ok, c.detail) for c in checks]}


CHAIN_CHECKS = {"registry", "bundle names this registry", "factory", "expected factory", "anchor", "anchor transaction"}


@pytest.mark.anvil
def test_js_and_python_agree_against_the_chain_on_real_and_forged_bundles(ui, tmp_path):
    token = ui["token_id"]
    collateral = _get(ui, f"/v1/pledges/{token}/bundle", "lender_a")
    log = next(x for x in _get(ui, "/v1/logs", "factory") if x["stream"] == "acme/line-a")  # specs add logs
    proof = _get(ui, f"/v1/logs/{log['log_id']}/records/11", "factory")
    forged = json.loads(Path(ui["forged"]).read_text())
    liar = deploy_rootat_liar(ui["rpc"], dev_account(7), bytes.fromhex(forged["checkpoint"]["root"][2:]))
    # an anchor sent through a wallet (a forwarding contract), and the same log emitted by another contract
    wallet = deploy_forwarder(ui["rpc"], dev_account(6), ui["lookalike"])
    via_wallet = anchored_forgery(ui["rpc"], ui["lookalike"], dev_account(6), "globex/via-wallet", via=wallet)
    fake = forge_anchor_event(ui["rpc"], dev_account(7), deploy_event_forger(ui["rpc"], dev_account(7)), via_wallet)

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
        (changed(collateral, lambda b: b["manifest"].update(stream="globex/line-a")), token),   # relabelled
        (changed(collateral, lambda b: b.update(registry=ui["lookalike"])), token),             # names a lookalike
        (collateral, 2**64),                                           # token ids beyond uint64: never sent
        (changed(collateral, lambda b: b.update(token_id=2**256 + 5)), 2**256 + 5),
    ]
    acme = _get(ui, "/v1/factories", "lender_a")  # the directory: the factory the lender deals with
    acme = next(f["address"] for f in acme if f["name"] == "ACME Precision Co.")
    expecting = [None] * len(collaterals) + [acme.lower(), dev_account(6).address]  # (the lender's --factory)
    collaterals += [(collateral, token), (collateral, token)]
    anchor = proof["anchor"]
    proofs = [  # (bundle, registry to trust: None = the pinned one)
        (proof, None),
        (changed(proof, lambda b: b["checkpoint"].update(root="0x" + "cd" * 32)), None),
        (changed(proof, lambda b: b["entries"][0]["record"].update(type="forged")), None),
        (changed(proof, lambda b: b["anchor"].update(chain_id=1)), None),
        (forged, None),                                                # a lookalike registry
        (forged, ui["lookalike"]),                                     # ... trusted explicitly
        (changed(forged, lambda b: b["anchor"].update(registry=liar, tx_hash=None, block_number=None)), None),
        (changed(forged, lambda b: b["anchor"].update(registry=liar, tx_hash=None, block_number=None)), liar),
        (changed(proof, lambda b: b.update(stream="globex/line-a")), None),   # relabelled stream
        (changed(proof, lambda b: b["anchor"].update(tx_hash="0x" + "ab" * 32)), None),
        (changed(proof, lambda b: b["anchor"].update(tx_hash=forged["anchor"]["tx_hash"], block_number=None)), None),
        (changed(proof, lambda b: b["anchor"].update(block_number=anchor["block_number"] + 1)), None),
        (changed(proof, lambda b: b["anchor"].update(tx_hash=None, block_number=None)), None),
        (beyond_uint64(proof), None),                                  # sizes beyond uint64: never sent
        (beyond_uint64(proof, 2**256), None),
        (via_wallet, ui["lookalike"]),                                 # anchored through a wallet contract
        (changed(via_wallet, lambda b: b["anchor"].update(tx_hash="0x" + bytes(fake["transactionHash"]).hex(),
                                                          block_number=fake["blockNumber"])), ui["lookalike"]),
    ]
    proof_factories = [None] * len(proofs) + [acme, acme, dev_account(6).address]
    proofs += [(proof, None), (via_wallet, ui["lookalike"]), (via_wallet, ui["lookalike"])]  # ... expecting a factory
    cases = [{"kind": "collateral", "text": json.dumps(b), "tokenId": str(t), "factory": f}
             for (b, t), f in zip(collaterals, expecting)]
    cases += [{"kind": "proof", "text": json.dumps(b), "registry": r, "factory": f}
              for (b, r), f in zip(proofs, proof_factories)]
    artifact = load_artifact("DataPledgeRegistry")
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": cases, "registry": ui["registry"], "registryCode": {
        "deployedBytecode": artifact["deployedBytecode"], "immutableReferences": artifact["immutableReferences"]}}))
    run = subprocess.run(["node", str(HERE / "parity_onchain.mjs"), str(path)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "DPL_UI_RPC": ui["rpc"]})
    assert run.returncode == 0, run.stderr
    js = json.loads(run.stdout)

    for n, (bundle, tok) in enumerate(collaterals):
        py = verify_against_chain(bundle, tok, ui["rpc"], ui["home"], factory=expecting[n])
        got = js[n]
        assert [(c.name, c.ok) for c in py.checks] == [(c[0], c[1]) for c in got["checks"]], n
        # reasons agree too, except where each names where the registry address came from
        assert [c.detail for c in py.checks if c.name != "registry"] == [c[2] for c in got["checks"] if c[0] != "registry"], n
        assert py.sound == got["sound"]
    assert [r["sound"] for r in js[:len(collaterals)]] == [True, False, False, False, False, True, False, False, False,
                                                          False, False, True, False]
    assert [c[0] for c in js[12]["checks"] if not c[1]] == ["expected factory"]  # another factory than the lender's
    relabelled, lookalike = js[7], js[8]
    assert ("factory", False) in [(c[0], c[1]) for c in relabelled["checks"]]
    assert [c[0] for c in lookalike["checks"] if not c[1]] == ["bundle names this pledge"]

    for n, (bundle, registry) in enumerate(proofs):
        py, got = _python_proof(bundle, ui, registry, proof_factories[n]), js[len(collaterals) + n]
        assert py["sound"] == got["sound"], (n, py, got)
        chain = [tuple(c) for c in got["checks"] if c[0] in CHAIN_CHECKS]
        assert [c[:2] for c in py["chain"]] == [c[:2] for c in chain], (n, py, got)
        assert [c for c in py["chain"] if c[0] != "registry"] == [c for c in chain if c[0] != "registry"], n
        if py["error"] and not py["error"].startswith(f"{registry} on chain"):
            assert py["error"] == got["error"], (n, py, got)
    verdicts = [(r["sound"], next((c[0] for c in r["checks"] if not c[1]), None)) for r in js[len(collaterals):]]
    assert verdicts == [
        (True, None), (False, "entry 11: inclusion"), (False, "entry 11: leaf hash"), (False, "anchor"),
        (False, "bundle names this registry"),      # the lookalike: not the pinned registry
        (True, None),                               # ... unless trusted explicitly (its factory is then shown)
        (False, "bundle names this registry"),      # the rootAt liar
        (False, "registry"),                        # ... trusted explicitly: not our code
        (False, "factory"),                         # relabelled stream
        (False, "anchor transaction"), (False, "anchor transaction"), (False, "anchor transaction"),
        (True, None),                               # no transaction cited: none checked, none shown
        (False, "anchor"), (False, "anchor"),       # sizes beyond uint64
        (True, None),                               # sent through a wallet: the registry's own log proves it
        (False, "anchor transaction"),              # the same log from another contract
        (True, None),                               # the lender expects acme: acme's log
        (False, "expected factory"),                # ... not the log of another (a rival) factory
        (True, None),                               # the lender expects that factory
    ], verdicts
    assert [c[:2] for r in js[9:11] for c in r["checks"][-1:]] == [["pledge", False]] * 2
    explicit = js[len(collaterals) + 5]
    assert f"factory {dev_account(6).address} (not in the directory)" in dict((c[0], c[2]) for c in explicit["checks"])["factory"]
