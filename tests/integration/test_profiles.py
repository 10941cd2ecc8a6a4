"""The production profile story on a real anvil, through the dpl command line: the factory builds
the profile of an anchored range and discloses the range in full; the lender recomputes every
figure against the chain (the registry it trusts) and gets SOUND; a profile with one figure
inflated, a disclosure with one record altered or dropped, or a lookalike registry are NOT SOUND,
each naming what differs."""

from __future__ import annotations

import json
import subprocess

from tests.integration.test_anchoring import DPL, STREAM, _setup, dpl, env  # noqa: F401 (fixture)


def _verify(env, profile, disclosure, *extra) -> tuple[int, str, str]:
    proc = subprocess.run([DPL, "profile", "verify", str(profile), "--disclosure", str(disclosure), *extra],
                          env=env["env"], capture_output=True, timeout=180, cwd=env["tmp"])
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def _write(env, name: str, doc: dict):
    path = env["tmp"] / name
    path.write_text(json.dumps(doc))
    return path


def test_profile_build_disclose_and_verify_against_the_chain(env):
    _setup(env)
    dpl(env, "anchor")
    tmp = env["tmp"]
    dpl(env, "profile", "build", "--log", STREAM, "--from", "0", "--to", "3495", "--tz", "+08:00",
        "--out", str(tmp / "p.json"))
    profile = json.loads((tmp / "p.json").read_text())
    assert profile["format"] == "dpl-profile/1" and profile["tz"] == "+08:00"
    assert profile["coverage"]["records"] == 3495 and profile["checkpoint"]["size"] == 3495
    assert profile["mes"]["orders"] > 0 and profile["iot"]["readings"] > 0 and profile["sales"]["orders"] > 0
    assert sum(d["mes_good"] for d in profile["daily"]) == profile["mes"]["qty_good"]

    dpl(env, "disclose", "--log", STREAM, "--from", "0", "--to", "3495", "--out", str(tmp / "d.json"))
    disclosure = json.loads((tmp / "d.json").read_text())
    assert disclosure["format"] == "dpl-disclosure/1" and len(disclosure["records"]) == 3495
    assert (tmp / "d.json").stat().st_mode & 0o077 == 0  # records in clear: the owner's only

    code, out, _ = _verify(env, tmp / "p.json", tmp / "d.json", "--rpc", env["rpc"])
    assert code == 0, out
    assert "PASS  figures: all " in out and "PASS  anchor: anchored on chain 31337" in out
    assert out.rstrip().endswith("profile SOUND")
    code, out, _ = _verify(env, tmp / "p.json", tmp / "d.json", "--rpc", env["rpc"], "--json")
    verdict = json.loads(out)
    assert code == 0 and verdict["sound"] is True and verdict["chain_checked"] is True
    assert [c["name"] for c in verdict["checks"]][:4] == ["profile", "disclosure", "same range", "figures"]

    # an inflated figure: NOT SOUND, naming it with both values
    inflated = json.loads(json.dumps(profile))
    inflated["mes"]["qty_good"] += 1000
    code, out, _ = _verify(env, _write(env, "inflated.json", inflated), tmp / "d.json")
    assert code == 1 and "mes.qty_good: claimed" in out and out.rstrip().endswith("profile NOT SOUND")

    # more than 20 figures differ: the figures line names 20, one line each for the rest, in the same
    # words ("(absent)" and JSON, not Python's MISSING and repr)
    many = json.loads(json.dumps(profile))
    for day in many["daily"][:25]:
        day["records"] += 1
    del many["daily"][-1]["mes_scrap"]
    code, out, _ = _verify(env, _write(env, "many.json", many), tmp / "d.json")
    assert code == 1 and "(and 6 more)" in out
    assert f"FAIL  figure daily[{len(many['daily']) - 1}].mes_scrap: claimed (absent), recomputed " in out, out
    assert "MISSING" not in out

    # a disclosure of a log not yet bound (log_id null): the profile is of another log, not a traceback
    unbound = json.loads(json.dumps(disclosure))
    unbound["log_id"] = None
    code, out, _ = _verify(env, tmp / "p.json", _write(env, "unbound.json", unbound))
    assert code == 1 and "FAIL  same range: the profile and the disclosure differ in log_id" in out

    # a record altered, or dropped: the disclosure itself fails (an altered record breaks the range proof)
    altered = json.loads(json.dumps(disclosure))
    altered["records"][10]["record"]["data"]["machine"] = "cnc-99"
    code, out, _ = _verify(env, tmp / "p.json", _write(env, "altered.json", altered))
    assert code == 1 and "FAIL  disclosure: range proof does not lead to the checkpoint root" in out
    dropped = json.loads(json.dumps(disclosure))
    del dropped["records"][5]
    code, out, _ = _verify(env, tmp / "p.json", _write(env, "dropped.json", dropped))
    assert code == 1 and "FAIL  disclosure:" in out

    # a registry this verifier does not trust the code of: refused on chain
    code, out, _ = _verify(env, tmp / "p.json", tmp / "d.json", "--rpc", env["rpc"], "--registry",
                           "0x" + "11" * 20)
    assert code == 1 and "FAIL  registry:" in out

    # a bad --tz is named before anything is read
    _, _, err = dpl(env, "profile", "build", "--log", STREAM, "--from", "0", "--to", "10", "--tz", "+25:00",
                    ok=False)
    assert "tz" in err and "Traceback" not in err
