"""The pledge story on a real anvil, through the dpl command line: a factory pledges a range
of its anchored log to lender A, A transfers it to lender B, B verifies the collateral
(and rejects tampered bundles), releases it; every forbidden move is refused with the
contract's error name and changes nothing. Time travel covers maturity, default and lapse.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

from ledger.chain import node
from tests.integration.test_anchoring import DPL, STREAM, _setup, dpl, env  # noqa: F401 (fixture)

DAY = 86400


def _now(env) -> int:
    return int(node.rpc_call(env["rpc"], "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def _block(env) -> int:
    return int(node.rpc_call(env["rpc"], "eth_blockNumber"), 16)


def _travel(env, seconds: int) -> None:
    node.rpc_call(env["rpc"], "evm_increaseTime", [seconds])
    node.rpc_call(env["rpc"], "evm_mine")


def _consent(env, name, start, end, lender="dev2", *, maturity, lien_end, samples=10, extra=()):
    path = env["tmp"] / f"{name}.json"
    dpl(env, "pledge", "consent", "--log", STREAM, "--from", str(start), "--to", str(end), "--lender", lender,
        "--principal", "50000000", "--currency", "CNY", "--maturity", str(maturity), "--lien-end", str(lien_end),
        "--samples", str(samples), "--loan-ref", f"LOAN-{name}", "--out", str(path), *extra)
    return path


def _issue(env, consent, key="dev2") -> int:
    _, out, _ = dpl(env, "pledge", "issue", str(consent), "--key", key, "--json")
    return json.loads(out)["token_id"]


def _show(env, token) -> dict:
    return json.loads(dpl(env, "pledge", "show", str(token), "--json")[1])


def _refused(env, *args, error: str) -> str:
    """The command fails naming the contract error, and nothing reaches the chain."""
    before = _block(env)
    _, _, err = dpl(env, *args, ok=False)
    assert error in err, err
    assert _block(env) == before, "a refused command sent a transaction"
    return err


def _verify(env, token, bundle_doc, name) -> tuple[int, str]:
    path = env["tmp"] / f"{name}.json"
    path.write_text(json.dumps(bundle_doc))
    proc = subprocess.run([DPL, "pledge", "verify", str(token), "--bundle", str(path), "--rpc", env["rpc"]],
                          env=env["env"], capture_output=True, timeout=180, cwd=env["tmp"])
    assert "Traceback" not in proc.stderr.decode()
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


def test_pledge_story_through_the_cli(env):
    _setup(env)
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    dpl(env, "lenders", "add", "dev3")
    lenders = json.loads(dpl(env, "lenders", "list", "--json")[1])
    assert len(lenders) == 2
    now = _now(env)
    maturity, lien_end = now + 30 * DAY, now + 60 * DAY

    # The asset: a manifest whose digest goes on chain.
    asset = json.loads(dpl(env, "asset", "create", "--log", STREAM, "--from", "0", "--to", "1000", "--json")[1])
    assert asset["manifest"]["records"] == 1000 and asset["manifest"]["checkpoint"]["size"] == 3495
    assert set(asset["manifest"]["types"]) >= {"iot.telemetry", "mes.work_order"}

    # Terms the registry would refuse are refused before anything is signed (no file written):
    # a lender that is not approved, a deadline, maturity or lien end that has passed; and more
    # samples than the one bound (MAX_SAMPLES) every path keeps.
    for name, lender, extra, words in (
            ("unapproved", "dev4", (), "is not an approved lender"),
            ("late", "dev2", ("--deadline", str(now - 1)), "deadline: "),
            ("past", "dev2", ("--maturity", str(now - 20), "--lien-end", str(now - 10)), "maturity: "),
            ("many", "dev2", ("--samples", "20000"), "samples: must be from 1 to 10,000")):  # was: signed
        args = ["pledge", "consent", "--log", STREAM, "--from", "0", "--to", "1000", "--lender", lender,
                "--principal", "5", "--currency", "CNY", "--maturity", str(maturity), "--lien-end", str(lien_end),
                "--samples", "3", "--loan-ref", "L", "--out", f"{name}.json", *extra]
        err = _refused(env, *args, error=words)
        assert not (env["tmp"] / f"{name}.json").exists(), err
    # Forbidden issues: a lender no longer approved, a lender the consent does not name.
    dpl(env, "lenders", "add", "dev4")
    c_dev4 = _consent(env, "dev4", 0, 1000, lender="dev4", maturity=maturity, lien_end=lien_end)
    dpl(env, "lenders", "remove", "dev4")
    _refused(env, "pledge", "issue", str(c_dev4), "--key", "dev4", error="PledgeLenderNotApproved")
    c1 = _consent(env, "one", 0, 1000, maturity=maturity, lien_end=lien_end, samples=25)
    _refused(env, "pledge", "issue", str(c1), "--key", "dev3", error="PledgeWrongLender")
    assert json.loads(c1.read_text())["terms"]["asset_digest"] == asset["asset_digest"]

    token = _issue(env, c1)
    shown = _show(env, token)
    assert shown["status"] == "live" and shown["from"] == 0 and shown["to"] == 1000
    assert shown["holder"] == lenders[0] and shown["asset_digest"] == asset["asset_digest"]

    # No second use of a consent, no overlapping pledge while the first holds its lien.
    _refused(env, "pledge", "issue", str(c1), "--key", "dev2", error="PledgeConsentReplayed")
    c_overlap = _consent(env, "overlap", 500, 1500, maturity=maturity, lien_end=lien_end,
                         extra=("--max-lien-end", str(lien_end + 60 * DAY)))
    err = _refused(env, "pledge", "issue", str(c_overlap), "--key", "dev2", error="PledgeRangeOverlaps")
    assert f"PledgeRangeOverlaps({token})" in err and "overlaps a pledge that holds a lien" in err
    expiring = _consent(env, "expiring", 2000, 2100, maturity=maturity, lien_end=lien_end,
                        extra=("--deadline", str(now + DAY)))  # issued after the time travel below: expired
    forged = json.loads(c_overlap.read_text())
    forged["terms"]["from"], forged["terms"]["to"] = 1000, 1500  # terms changed after signing
    (env["tmp"] / "forged.json").write_text(json.dumps(forged))
    _refused(env, "pledge", "issue", "forged.json", "--key", "dev2", error="PledgeInvalidSignature")

    # Lender A moves it to lender B only (B approved, dev4 not); A can no longer release it.
    _refused(env, "pledge", "transfer", str(token), "--to", "dev4", "--key", "dev2", error="PledgeLenderNotApproved")
    dpl(env, "pledge", "transfer", str(token), "--to", "dev3", "--key", "dev2")
    assert _show(env, token)["holder"] == lenders[1]
    _refused(env, "pledge", "release", str(token), "--key", "dev2", error="PledgeNotHolder")
    _refused(env, "pledge", "default", str(token), "--key", "dev3", error="PledgeNotMatured")

    # The factory hands B the collateral bundle; B checks it against the chain.
    bundle_path = env["tmp"] / "collateral.json"
    dpl(env, "pledge", "bundle", str(token), "--out", str(bundle_path))
    bundle = json.loads(bundle_path.read_text())
    assert len(bundle["entries"]) == 25
    code, out = _verify(env, token, bundle, "sound")
    assert code == 0 and "collateral SOUND" in out and "FAIL" not in out

    changed = json.loads(json.dumps(bundle))
    record = changed["entries"][0]["record"]
    record["ts"] = record["ts"].replace("2026-10", "2026-09")
    code, out = _verify(env, token, changed, "changed")
    assert code == 1 and f"FAIL  entry {bundle['entries'][0]['index']}: leaf hash" in out

    wrong_index = json.loads(json.dumps(bundle))
    wrong_index["entries"][1]["index"] += 1
    code, out = _verify(env, token, wrong_index, "wrong-index")
    assert code == 1 and "FAIL  sample indices" in out

    swapped = json.loads(json.dumps(bundle))
    e0, e1 = swapped["entries"][0], swapped["entries"][1]
    e0["salt"], e1["salt"] = e1["salt"], e0["salt"]
    code, out = _verify(env, token, swapped, "swapped")
    assert code == 1 and out.count(": leaf hash: ") == 2 and "NOT SOUND" in out

    # B is repaid: release lifts the lien; the overlapping range can then be pledged.
    dpl(env, "pledge", "release", str(token), "--key", "dev3")
    assert _show(env, token)["status"] == "released"
    code, out = _verify(env, token, bundle, "after-release")
    assert code == 1 and "FAIL  pledge holds its lien: status released" in out
    second = _issue(env, c_overlap)
    assert _show(env, second)["status"] == "live"

    # Maturity, default, extension and lapse, on the chain's clock.
    c3 = _consent(env, "three", 2000, 3000, lender="dev3", maturity=maturity, lien_end=lien_end)
    third = _issue(env, c3, key="dev3")
    # the holder extends alone up to the bound the factory signed, not a second beyond
    err = _refused(env, "pledge", "extend", str(second), "--lien-end", str(lien_end + 60 * DAY + 1), "--key", "dev2",
                   error="needs the factory's signed extension")
    assert "max lien end" in err
    dpl(env, "pledge", "extend", str(second), "--lien-end", str(lien_end + 60 * DAY), "--key", "dev2")
    # beyond it: the factory signs an extension (checked on chain first), the holder uses it once
    target = lien_end + 65 * DAY
    ext = env["tmp"] / "ext.json"
    _refused(env, "pledge", "extension", "--token", str(second), "--lien-end", str(target), "--key", "dev2",
             "--out", str(ext), error="not of the signer")
    _refused(env, "pledge", "extension", "--token", str(second), "--lien-end", str(lien_end + 60 * DAY), "--key", "dev1",
             "--out", str(ext), error="is not after the pledge's lien end")
    _refused(env, "pledge", "extension", "--token", str(second), "--lien-end", str(target), "--deadline", str(now - 1),
             "--key", "dev1", "--out", str(ext), error="deadline: ")
    _refused(env, "pledge", "extension", "--token", str(token), "--lien-end", str(target), "--key", "dev1",
             "--out", str(ext), error="is released: only a live pledge's lien end can move")
    assert not ext.exists()
    dpl(env, "pledge", "extension", "--token", str(second), "--lien-end", str(target), "--key", "dev1", "--out", str(ext))
    doc = json.loads(ext.read_text())
    assert doc["format"] == "dpl-extension/1" and doc["token_id"] == second and doc["lien_end"] == target
    assert doc["typed_data"]["message"]["newLienEnd"] == str(target) and int(doc["nonce"]) < 2**256
    _refused(env, "pledge", "extend", str(second), "--lien-end", str(target + 1), "--consent", str(ext), "--key", "dev2",
             error="the factory's extension moves the lien end to")
    _refused(env, "pledge", "extend", str(third), "--consent", str(ext), "--key", "dev3",
             error=f"the extension is for pledge {second}, not {third}")
    dpl(env, "pledge", "extend", str(second), "--consent", str(ext), "--key", "dev2")
    shown = _show(env, second)["terms"]
    assert shown["lien_end"] == target and shown["max_lien_end"] == target
    _refused(env, "pledge", "extend", str(second), "--consent", str(ext), "--key", "dev2", error="used already")
    _travel(env, 31 * DAY)  # past maturity
    _refused(env, "pledge", "issue", str(expiring), "--key", "dev2", error="PledgeConsentExpired")
    dpl(env, "pledge", "default", str(third), "--key", "dev3")
    assert _show(env, third)["status"] == "defaulted"
    _refused(env, "pledge", "extend", str(third), "--lien-end", str(lien_end + 90 * DAY), "--key", "dev3",
             error="PledgeWrongStatus")
    _travel(env, 40 * DAY)  # past the original lien end: extended and defaulted pledges keep their liens
    assert _show(env, second)["status"] == "live" and _show(env, third)["status"] == "defaulted"
    far = now + 400 * DAY
    c4 = _consent(env, "four", 2500, 2600, maturity=far - DAY, lien_end=far, extra=("--deadline", str(far)))
    _refused(env, "pledge", "issue", str(c4), "--key", "dev2", error=f"PledgeRangeOverlaps({third})")
    _travel(env, 60 * DAY)  # past the extended lien end: the second pledge lapses
    assert _show(env, second)["status"] == "lapsed"
    c5 = _consent(env, "five", 900, 1200, maturity=far - DAY, lien_end=far, extra=("--deadline", str(far)))
    fifth = _issue(env, c5)
    listed = {p["token_id"]: p["status"] for p in json.loads(dpl(env, "pledge", "list", "--json")[1])}
    assert listed == {token: "released", second: "lapsed", third: "defaulted", fifth: "live"}

    # The mirror is only a cache of the chain: wiped, it is rebuilt from the events.
    with sqlite3.connect(env["home"] / "ledger.db") as db:
        db.execute("DELETE FROM pledges")
        db.execute("DELETE FROM pledge_sync")
    _, out, _ = dpl(env, "pledge", "sync")
    assert "rebuilt from the chain" in out
    rebuilt = json.loads(dpl(env, "pledge", "list", "--log", STREAM, "--json")[1])
    assert {p["token_id"]: p["status"] for p in rebuilt} == listed
    assert {p["token_id"]: p["holder"] for p in rebuilt}[token] is None


def test_pledge_commands_say_so_when_the_node_is_down(env):
    _setup(env)
    dpl(env, "anchor")
    node.down(env["home"])
    time.sleep(0.2)
    _, _, err = dpl(env, "pledge", "show", "1", ok=False)
    assert "not answering" in err


def test_audit_checks_pledges_against_the_chain_and_the_records(env):
    _setup(env)
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    now = _now(env)
    token = _issue(env, _consent(env, "one", 100, 900, maturity=now + DAY, lien_end=now + 2 * DAY))
    _, out, _ = dpl(env, "audit", "--json")
    report = json.loads(out)
    assert report["clean"] and report["pledges"] == 1

    with sqlite3.connect(env["home"] / "ledger.db") as db:
        db.execute("UPDATE pledges SET holder = ? WHERE token_id = ?", ("0x" + "00" * 20, token))
        db.execute("UPDATE records SET leaf_hash = ? WHERE idx = 500", (b"\x11" * 32,))
    code, out, _ = dpl(env, "audit", ok=False)
    assert f"pledge {token}: holder is 0x{'00' * 20} in our database" in out
    assert f"pledge {token} covers [100, 900) of checkpoint 3495, which our records cannot describe" in out


def test_the_factory_directory_through_the_cli(env):
    """The registry admin lists who a factory address is; anyone reads it; only the admin changes it."""
    _setup(env)
    factory = json.loads(dpl(env, "keys", "list", "--json")[1])[1]["address"]  # dev1
    _, out, _ = dpl(env, "factories", "show", "dev1")
    assert out.strip() == f"factory {factory} (not in the directory)"
    _refused(env, "factories", "set", "dev1", "--name", "Rival Co.", "--registration", "X1", "--key", "dev1",
             error="AccessControlUnauthorizedAccount")
    dpl(env, "factories", "set", "dev1", "--name", "ACME Precision Co.", "--registration", "91310000MA1FL0000X")
    before = _block(env)  # the same listing again sends nothing (as the API: a retry is safe)
    _, out, _ = dpl(env, "factories", "set", "dev1", "--name", "ACME Precision Co.", "--registration", "9131-0000ma1fl0000x")
    assert out.strip() == f"{factory} is already listed as 'ACME Precision Co.'" and _block(env) == before
    _, out, _ = dpl(env, "factories", "show", "dev1", "--registration", "9131 0000 ma1f l0000x")
    assert out.splitlines() == [f"factory {factory} (registered as ACME Precision Co.)",
                                "the registration number matches the listing"]
    code, out, _ = dpl(env, "factories", "show", "dev1", "--registration", "91310000MA1FL0000Y", ok=False)
    assert code == 1 and "does NOT match" in out
    listed = json.loads(dpl(env, "factories", "list", "--json")[1])
    assert [(f["address"], f["name"]) for f in listed] == [(factory, "ACME Precision Co.")]
    _refused(env, "factories", "set", "dev1", "--name", "x" * 129, "--registration", "X1",
             error="at most 128 bytes")
    dpl(env, "factories", "remove", "dev1")
    assert json.loads(dpl(env, "factories", "list", "--json")[1]) == []
    before = _block(env)  # before: a transaction the registry refused (DirectoryNotListed); the API sent nothing
    _, out, _ = dpl(env, "factories", "remove", "dev1")
    assert out.strip() == f"{factory} is not in the directory" and _block(env) == before
