"""A pledge that carries its production profile, on a real anvil through the dpl command line:
the factory builds the profile of the range, cannot pledge an inflated copy of it, pledges the
true one (dpl-asset/2); the lender's check lists each headline figure as declared and spot-checked
by the 20 samples, with what sampling can and cannot detect, then recomputes every figure from
the factory's full disclosure of the range.
"""

from __future__ import annotations

import json
import subprocess

from tests.integration.test_anchoring import DPL, STREAM, _setup, dpl, env  # noqa: F401 (fixture)
from tests.integration.test_pledges import DAY, _consent, _issue, _now


def _verify(env, token, *extra) -> tuple[int, str]:
    proc = subprocess.run([DPL, "pledge", "verify", str(token), "--rpc", env["rpc"], *extra], env=env["env"],
                          capture_output=True, timeout=300, cwd=env["tmp"])
    assert "Traceback" not in proc.stderr.decode()
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


def test_a_pledge_with_its_profile_declared_then_recomputed(env):
    _setup(env)
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    now = _now(env)
    maturity, lien_end = now + 30 * DAY, now + 60 * DAY
    tmp = env["tmp"]
    dpl(env, "profile", "build", "--log", STREAM, "--from", "0", "--to", "1000", "--tz", "+08:00",
        "--out", str(tmp / "profile.json"))
    profile = json.loads((tmp / "profile.json").read_text())
    assert profile["mes"]["qty_good"] > 0 and profile["range"] == {"from": 0, "to": 1000}

    # an inflated copy is refused, naming the figure; nothing is signed or written
    inflated = json.loads(json.dumps(profile))
    inflated["mes"]["qty_good"] += 1000
    (tmp / "inflated.json").write_text(json.dumps(inflated))
    _, _, err = dpl(env, "pledge", "consent", "--log", STREAM, "--from", "0", "--to", "1000", "--lender", "dev2",
                    "--principal", "5", "--currency", "CNY", "--maturity", str(maturity), "--lien-end",
                    str(lien_end), "--samples", "20", "--loan-ref", "L", "--profile", "inflated.json",
                    "--out", "lie.json", ok=False)
    good = profile["mes"]["qty_good"]
    assert f"mes.qty_good: claimed {good + 1000}, recomputed {good}" in err and "cannot be pledged" in err
    assert not (tmp / "lie.json").exists()

    consent = _consent(env, "withprofile", 0, 1000, maturity=maturity, lien_end=lien_end, samples=20,
                       extra=("--profile", str(tmp / "profile.json")))
    manifest = json.loads(consent.read_text())["manifest"]
    assert manifest["format"] == "dpl-asset/2" and manifest["profile"] == profile
    token = _issue(env, consent)

    # the consent was signed on the command line, not kept by a service: the bundle needs it
    _, _, err = dpl(env, "pledge", "bundle", str(token), "--out", "b.json", ok=False)
    assert "--consent" in err and not (tmp / "b.json").exists()
    dpl(env, "pledge", "bundle", str(token), "--consent", str(consent), "--out", "bundle.json")
    bundle = json.loads((tmp / "bundle.json").read_text())
    assert bundle["manifest"] == manifest and len(bundle["entries"]) == 20

    code, out = _verify(env, token, "--bundle", "bundle.json")
    assert code == 0 and "collateral SOUND" in out and "FAIL" not in out, out
    assert f"PASS  figure mes.qty_good: {good}: declared by the factory; 20 sampled records agree with it" in out
    assert "PASS  sampling: if at least 5 % of the range's records disagreed with their day's figures, 20 samples " \
           "would miss every one of them with probability at most 36 %" in out
    assert "agrees with its day's figures)" in out  # the entry summary names the fourth check

    # the full disclosure: every figure recomputed from the 1,000 records
    dpl(env, "disclose", "--log", STREAM, "--from", "0", "--to", "1000", "--out", "disclosure.json")
    code, out = _verify(env, token, "--bundle", "bundle.json", "--disclosure", "disclosure.json")
    assert code == 0 and "collateral SOUND" in out, out
    assert f"PASS  figure mes.qty_good: {good}: recomputed from 1000 disclosed records" in out
    assert "PASS  disclosure range" in out and "sampling:" not in out
    proc = subprocess.run([DPL, "pledge", "verify", str(token), "--rpc", env["rpc"], "--bundle", "bundle.json",
                           "--disclosure", "disclosure.json", "--json"], env=env["env"], capture_output=True,
                          timeout=300, cwd=tmp)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["sound"] is True
    figures = [c for c in report["checks"] if c["name"].startswith("figure ")]
    assert len(figures) >= 8 and all("recomputed from 1000 disclosed records" in c["detail"] for c in figures)

    # a disclosure of another range does not stand for the pledge's
    dpl(env, "disclose", "--log", STREAM, "--from", "0", "--to", "999", "--out", "short.json")
    code, out = _verify(env, token, "--bundle", "bundle.json", "--disclosure", "short.json")
    assert code == 1 and "FAIL  disclosure range: range [0, 999) is not the pledge's [0, 1000)" in out, out
