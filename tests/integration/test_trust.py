"""Verifiers take their trust anchor from their own pinned record, never from the input
(DESIGN.md section 7), through the dpl command line on a real anvil.

Forgeries that a verifier trusting the bundle's registry called "valid … anchored" or "SOUND":
a lookalike registry (a fresh copy of ours) hosting an invented ``acme/line-a``, a 46-byte
contract answering ``rootAt`` with any root, a real bundle with its stream relabelled, an anchor
that cites another transaction or block. Each is refused now, with its reason; a lender whose
DPL_HOME pins no registry is refused outright unless it names one with --registry.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ledger.chain.client import Chain
from ledger.chain.deploy import load_deployment
from tests.forgery import (anchored_forgery, beyond_uint64, deploy_forwarder, deploy_lookalike, deploy_rootat_liar,
                           deploy_event_forger, dev_account, forge_anchor_event, invented_records)
from tests.integration.test_anchoring import DPL, STREAM, _setup, dpl, env  # noqa: F401 (fixture)
from tests.terminal import run_on_a_terminal

DEV1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # the factory key of _setup's log


def _write(env, name: str, doc) -> str:
    path = env["tmp"] / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def _refused(env, *args, reason: str, extra=None) -> str:
    code, out, err = dpl(env, *args, ok=False, extra=extra)
    assert code == 1 and reason in err, err
    assert not out.startswith("valid:")
    return err


@pytest.mark.anvil
def test_dpl_verify_trusts_only_the_pinned_registry(env):
    _setup(env)
    dpl(env, "anchor")
    genuine = load_deployment(env["home"], 31337)["address"]
    _, out, _ = dpl(env, "prove", "--log", STREAM, "--index", "41")
    real = json.loads(out)

    _, out, _ = dpl(env, "verify", _write(env, "real.json", real), "--rpc", env["rpc"])
    assert out.startswith("valid:")
    assert f"registry: {genuine} on chain 31337 (from the pinned deployment record " in out
    assert f"factory: factory {DEV1} (not in the directory); log {real['log_id']} is its stream {STREAM!r}" in out
    assert f"anchor transaction: transaction {real['anchor']['tx_hash']} in block {real['anchor']['block_number']}" in out
    dpl(env, "factories", "set", "dev1", "--name", "ACME Precision Co.", "--registration", "91310000MA1FL0000X")
    _, out, _ = dpl(env, "verify", "real.json", "--rpc", env["rpc"])
    assert f"factory {DEV1} (registered as ACME Precision Co.)" in out

    # A lookalike: a fresh copy of our registry, an invented acme/line-a anchored in it.
    lookalike = deploy_lookalike(env["rpc"], dev_account(5))
    forged = anchored_forgery(env["rpc"], lookalike, dev_account(6), "acme/line-a")
    assert dpl(env, "verify", _write(env, "forged.json", forged))[1].startswith("valid:")  # the maths holds
    _refused(env, "verify", "forged.json", "--rpc", env["rpc"],
             reason=f"the bundle's anchor names registry {lookalike}, not the trusted registry {genuine} of chain 31337")
    # Trusting it is an explicit act, and the verdict says whose log it is (not the directory's acme).
    _, out, _ = dpl(env, "verify", "forged.json", "--rpc", env["rpc"], "--registry", lookalike)
    assert f"(from --registry, given explicitly)" in out and f"factory {dev_account(6).address} (not in the directory)" in out

    # A 46-byte contract that answers rootAt with the forged root.
    liar = deploy_rootat_liar(env["rpc"], dev_account(7), bytes.fromhex(forged["checkpoint"]["root"][2:]))
    lie = {**forged, "anchor": {**forged["anchor"], "registry": liar, "tx_hash": None, "block_number": None}}
    _refused(env, "verify", _write(env, "liar.json", lie), "--rpc", env["rpc"],
             reason=f"the bundle's anchor names registry {liar}, not the trusted registry {genuine}")
    _refused(env, "verify", "liar.json", "--rpc", env["rpc"], "--registry", liar,
             reason=f"{liar} on chain 31337 (from --registry, given explicitly) does NOT hold the registry's code")

    # The factory's real record relabelled as another stream.
    _refused(env, "verify", _write(env, "relabelled.json", {**real, "stream": "globex/line-a"}), "--rpc", env["rpc"],
             reason=f"factory {DEV1} (registered as ACME Precision Co.) owns log {real['log_id']}, but its stream "
                    f"'globex/line-a' would be log 0x")

    # An anchor that cites another transaction, or another block.
    anchor = real["anchor"]
    chain = Chain(env["rpc"], genuine)
    [registered] = chain.registry.events.LogRegistered.get_logs(from_block=0)
    register_tx = "0x" + bytes(registered["transactionHash"]).hex()
    for tx, reason in [
        ("0x" + "ab" * 32, f"transaction {'0x' + 'ab' * 32} is not on chain 31337"),
        (forged["anchor"]["tx_hash"], f"holds no CheckpointAnchored of log {real['log_id']} at size"),
        (register_tx, f"holds no CheckpointAnchored of log {real['log_id']} at size"),
    ]:
        wrong = {**real, "anchor": {**anchor, "tx_hash": tx, "block_number": None}}
        _refused(env, "verify", _write(env, "wrong-tx.json", wrong), "--rpc", env["rpc"], reason=reason)
    wrong = {**real, "anchor": {**anchor, "block_number": anchor["block_number"] + 1}}
    _refused(env, "verify", _write(env, "wrong-block.json", wrong), "--rpc", env["rpc"],
             reason=f"is in block {anchor['block_number']}, not in block {anchor['block_number'] + 1} as the bundle says")
    # Not citing them is fine: they are then neither checked nor shown.
    quiet = {**real, "anchor": {**anchor, "tx_hash": None, "block_number": None}}
    _, out, _ = dpl(env, "verify", _write(env, "quiet.json", quiet), "--rpc", env["rpc"])
    assert "anchor transaction" not in out and "anchored on chain 31337" in out

    # Two readings of one document, or one index proven twice: refused before anything else.
    text = json.dumps(real).replace('"stream": ', '"stream": "globex/line-a", "stream": ', 1)
    _refused(env, "verify", _write(env, "dup-key.json", text), "--rpc", env["rpc"], reason="duplicate key 'stream'")
    twice = {**real, "entries": real["entries"] * 2}
    _refused(env, "verify", _write(env, "twice.json", twice), reason="repeats the index of entries[0]")

    # A verifier whose DPL_HOME pins no registry is refused, unless it names one.
    lender = {"DPL_HOME": str(env["tmp"] / "lender-home")}
    _refused(env, "verify", "real.json", "--rpc", env["rpc"], extra=lender,
             reason="no trusted registry for chain 31337: pass --registry")
    _refused(env, "verify", "forged.json", "--rpc", env["rpc"], extra=lender,
             reason="no trusted registry for chain 31337: pass --registry")
    _, out, _ = dpl(env, "verify", "real.json", "--rpc", env["rpc"], "--registry", genuine, extra=lender)
    assert out.startswith("valid:") and "(registered as ACME Precision Co.)" in out


@pytest.mark.anvil
def test_a_rival_factorys_log_of_the_same_name_fails_the_factory_the_lender_expects(env):
    """Anyone may register a stream of any name under their own address: a rival (dev6) registers
    and anchors its own line-a/mes in the genuine registry. Its bundle is true of the registry
    (exit 0, naming the rival's factory); with --factory, the lender's factory, it is refused."""
    _setup(env)
    dpl(env, "anchor")
    genuine = load_deployment(env["home"], 31337)["address"]
    _, out, _ = dpl(env, "prove", "--log", STREAM, "--index", "41")
    real = _write(env, "real.json", json.loads(out))
    rival = _write(env, "rival.json", anchored_forgery(env["rpc"], genuine, dev_account(6), STREAM))

    _, out, _ = dpl(env, "verify", rival, "--rpc", env["rpc"])
    assert out.startswith("valid:") and f"factory {dev_account(6).address} (not in the directory)" in out
    _refused(env, "verify", rival, "--rpc", env["rpc"], "--factory", DEV1.lower(),
             reason=f"invalid: the log belongs to factory {dev_account(6).address} (not in the directory), not to the "
                    f"expected factory {DEV1}")
    _, out, _ = dpl(env, "verify", real, "--rpc", env["rpc"], "--factory", DEV1)
    assert f"  expected factory: the log belongs to factory {DEV1} (not in the directory), the expected factory\n" in out
    _refused(env, "verify", real, "--rpc", env["rpc"], "--factory", "0x1234", reason="error: --factory '0x1234' is not an")
    code, _, err = dpl(env, "verify", real, "--factory", DEV1, ok=False)
    assert code == 2 and "--factory is for checks against the chain: give --rpc too" in err


@pytest.mark.anvil
def test_an_anchor_sent_through_a_contract_is_proven_by_the_registrys_own_log(env):
    """A factory whose anchor goes through a wallet or a batching contract (here a 48-byte
    forwarder) has a genuine anchor transaction that was not sent to the registry: it verifies,
    since the registry's own CheckpointAnchored log is in its receipt. The same log emitted by
    another contract (anyone can deploy one) is not the registry's: refused."""
    _setup(env)
    dpl(env, "anchor")
    genuine = load_deployment(env["home"], 31337)["address"]
    wallet = deploy_forwarder(env["rpc"], dev_account(6), genuine)
    forwarded = anchored_forgery(env["rpc"], genuine, dev_account(6), "globex/line-b", via=wallet)
    path = _write(env, "forwarded.json", forwarded)
    _, out, _ = dpl(env, "verify", path, "--rpc", env["rpc"])
    tx = forwarded["anchor"]["tx_hash"]
    assert out.startswith("valid:") and f"factory: factory {dev_account(6).address} (not in the directory)" in out
    block = forwarded["anchor"]["block_number"]
    # when: the timestamp of the block holding the event (the registry keeps no per-checkpoint time)
    when = datetime.fromtimestamp(Chain(env["rpc"]).block_time(block), timezone.utc).isoformat(timespec="seconds")
    assert f"anchor transaction: transaction {tx} in block {block} at {when} anchored this checkpoint" in out

    forger = deploy_event_forger(env["rpc"], dev_account(7))
    receipt = forge_anchor_event(env["rpc"], dev_account(7), forger, forwarded)
    fake = {**forwarded, "anchor": {**forwarded["anchor"], "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
                                    "block_number": receipt["blockNumber"]}}
    _refused(env, "verify", _write(env, "fake-event.json", fake), "--rpc", env["rpc"],
             reason=f"holds no CheckpointAnchored of log {forwarded['log_id']} at size 6 with root "
                    f"{forwarded['checkpoint']['root']} from the registry {genuine}")


@pytest.mark.anvil
def test_a_size_beyond_uint64_is_a_failed_check_not_a_crash(env):
    """A bundle valid offline at size 2^64 (or more) passes ``registry`` and ``factory``; its size is
    never sent to the registry (web3 raised MismatchedABI with a traceback): the ``anchor`` check
    fails, naming why."""
    _setup(env)
    dpl(env, "anchor")
    _, out, _ = dpl(env, "prove", "--log", STREAM, "--index", "41")
    real = json.loads(out)
    for size in (2**64, 2**256):
        huge = beyond_uint64(real, size)
        path = _write(env, "huge.json", huge)
        assert dpl(env, "verify", path)[1].startswith(f"valid: 1 record(s) at index 0 are in {STREAM!r} at size {size}")
        _refused(env, "verify", path, "--rpc", env["rpc"],
                 reason=f"invalid: size {size} is beyond uint64: no registry holds a checkpoint of that size")
    root = real["checkpoint"]["root"]
    consistency = {"format": "dpl-consistency/1", "log_id": real["log_id"], "stream": STREAM, "anchor": real["anchor"],
                   "old": {"size": 2**64, "root": root}, "new": {"size": 2**64, "root": root}, "proof": []}
    path = _write(env, "huge-consistency.json", consistency)
    assert dpl(env, "verify", path)[1].startswith("valid:")
    _refused(env, "verify", path, "--rpc", env["rpc"],
             reason=f"invalid: size {2**64} is beyond uint64: no registry holds a checkpoint of that size")


def _attacker_pledge(env, lookalike: str) -> tuple[int, str]:
    """In its own DPL_HOME, an attacker runs the whole pledge story on a lookalike registry it
    deployed (dev0 its admin): an invented acme/line-a of factory dev5, pledged to dev2.
    Returns the token and the path of the collateral bundle the attacker hands out."""
    home = env["tmp"] / "attacker-home"
    extra = {"DPL_HOME": str(home), "DPL_FACTORY_KEY": "dev5"}
    dpl(env, "keys", "import-dev", extra=extra)
    (home / "deployments").mkdir()
    (home / "deployments" / "31337.json").write_text(json.dumps({"chain_id": 31337, "address": lookalike}))
    records = env["tmp"] / "invented.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in invented_records(300)))
    dpl(env, "log", "create", "acme/line-a", "--factory", "dev5", extra=extra)
    dpl(env, "ingest", "--log", "acme/line-a", str(records), extra=extra)
    dpl(env, "anchor", extra=extra)
    dpl(env, "lenders", "add", "dev2", extra=extra)
    consent = env["tmp"] / "attacker-consent.json"
    dpl(env, "pledge", "consent", "--log", "acme/line-a", "--from", "0", "--to", "200", "--lender", "dev2",
        "--principal", "90000000", "--currency", "CNY", "--maturity", "2099-06-30", "--lien-end", "2099-12-31",
        "--samples", "5", "--loan-ref", "LOAN-FAKE", "--key", "dev5", "--out", str(consent), extra=extra)
    token = json.loads(dpl(env, "pledge", "issue", str(consent), "--key", "dev2", "--json", extra=extra)[1])["token_id"]
    bundle = env["tmp"] / "forged-collateral.json"
    dpl(env, "pledge", "bundle", str(token), "--out", str(bundle), extra=extra)
    return token, str(bundle)


@pytest.mark.anvil
def test_dpl_pledge_verify_in_a_home_without_a_deployment_record(env):
    _setup(env)
    dpl(env, "anchor")
    genuine = load_deployment(env["home"], 31337)["address"]
    lookalike = deploy_lookalike(env["rpc"], dev_account(0))
    token, bundle = _attacker_pledge(env, lookalike)

    lender = {"DPL_HOME": str(env["tmp"] / "lender-home")}
    args = ("pledge", "verify", str(token), "--bundle", bundle, "--rpc", env["rpc"])
    _refused(env, *args, extra=lender, reason="no trusted registry for chain 31337: pass --registry")
    code, out, err = dpl(env, *args, "--registry", genuine, extra=lender, ok=False)
    assert code == 1 and "NOT SOUND" in out, out + err
    assert f"FAIL  bundle names this pledge: bundle: token {token} on {lookalike} chain 31337" in out
    # In the factory's own home (the genuine registry pinned) it is not sound either.
    code, out, _ = dpl(env, *args, ok=False)
    assert code == 1 and f"FAIL  bundle names this pledge" in out and f"(from the pinned deployment record" in out
    # Trusting the lookalike is an explicit act; the verdict then names its factory, unlisted.
    _, out, _ = dpl(env, *args, "--registry", lookalike, extra=lender)
    assert "collateral SOUND" in out
    assert f"PASS  factory: factory {dev_account(5).address} (not in the directory); log " in out
    # ... and a lender that names the factory it deals with sees it is not that factory's log
    code, out, _ = dpl(env, *args, "--registry", lookalike, "--factory", DEV1, extra=lender, ok=False)
    assert code == 1 and "collateral NOT SOUND" in out
    assert (f"FAIL  expected factory: the log belongs to factory {dev_account(5).address} (not in the directory), "
            f"not to the expected factory {DEV1}") in out
    _, out, _ = dpl(env, *args, "--registry", lookalike, "--factory", dev_account(5).address, extra=lender)
    assert "PASS  expected factory: " in out and "collateral SOUND" in out
    # Text from the bundle in a check line cannot rewrite the lender's terminal: every line is escaped.
    def on_a_terminal(edit) -> list[str]:
        doc = json.loads((env["tmp"] / "forged-collateral.json").read_text())
        edit(doc)
        code, screen = run_on_a_terminal([DPL, "pledge", "verify", str(token), "--bundle",
                                          _write(env, "escapes.json", doc), "--rpc", env["rpc"], "--registry", lookalike],
                                         env={**env["env"], **lender}, cwd=env["tmp"])
        lines = screen.decode().split("\r\n")
        assert code == 1 and lines[-2:] == [f"pledge {token}: collateral NOT SOUND", ""], lines
        assert all(line.isprintable() for line in lines), lines  # no ESC, CR, LF or bidi control from the bundle
        return lines

    lines = on_a_terminal(lambda d: d.update(registry="\x1b[2K\rPASS  everything\n\x1b[8m"))
    assert (f"FAIL  bundle names this pledge: bundle: token {token} on \\x1b[2K\\rPASS  everything\\n\\x1b[8m "
            "chain 31337") in lines
    lines = on_a_terminal(lambda d: d["entries"][0]["record"]["data"].update({"\x1b[2K\u202ek": 1}))
    assert any("data.\\x1b[2K\\u202ek is a number, but the manifest lists no" in line for line in lines), lines
    # Duplicate keys: refused with their path, before any check.
    text = (env["tmp"] / "forged-collateral.json").read_text().replace('"token_id":', '"token_id": 999, "token_id":', 1)
    _refused(env, "pledge", "verify", str(token), "--bundle", _write(env, "dup.json", text), "--rpc", env["rpc"],
             "--registry", lookalike, extra=lender, reason="duplicate key 'token_id'")
