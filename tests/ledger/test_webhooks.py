"""ledger.webhooks: signing and the receiver's reference check, the retry schedule, the URL and
address rules of the SSRF guard."""

import base64
import hashlib
import hmac
import json
import re
import subprocess
from pathlib import Path

import pytest

from ledger import webhooks as wh
from ledger.errors import InvalidArgumentError

SECRET = "s" * 32
BODY = b'{"id":"dlv_1","type":"covenant.warning","data":{"code":"MIN_OUTPUT"}}'
T = 1_700_000_000


def headers(secret=SECRET, t=T, body=BODY, delivery="dlv_1"):
    return wh.delivery_headers(secret, t, body, delivery, "covenant.warning")


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert wh.sign(SECRET, T, BODY) == expected
    assert headers()["DPL-Signature"] == f"t={T},v1={expected}"
    assert headers()["DPL-Delivery-Id"] == "dlv_1" and headers()["DPL-Event"] == "covenant.warning"


def test_a_genuine_delivery_verifies_once_and_its_replay_is_refused():
    seen = set()
    assert wh.verify_delivery(SECRET, headers(), BODY, now=T + 10, seen=seen) == "dlv_1"
    assert seen == {"dlv_1"}
    with pytest.raises(wh.SignatureError, match="replay"):
        wh.verify_delivery(SECRET, headers(), BODY, now=T + 20, seen=seen)
    # header names are case-insensitive (HTTP servers lower-case them)
    lower = {k.lower(): v for k, v in headers(delivery="dlv_2").items()}
    assert wh.verify_delivery(SECRET, lower, BODY, now=T, seen=seen) == "dlv_2"


@pytest.mark.parametrize("case", ["tampered body", "wrong secret", "stale", "future", "tampered timestamp",
                                  "no signature", "no id", "garbage header"])
def test_a_bad_delivery_is_refused_and_burns_no_id(case):
    h, body, now = headers(), BODY, T
    if case == "tampered body":
        body = BODY.replace(b"MIN_OUTPUT", b"MIN_OUTPUS")
    elif case == "wrong secret":
        h = headers(secret="x" * 32)
    elif case == "stale":
        now = T + wh.TOLERANCE + 1
    elif case == "future":
        now = T - wh.TOLERANCE - 1
    elif case == "tampered timestamp":
        h["DPL-Signature"] = h["DPL-Signature"].replace(f"t={T}", f"t={T + 1}")
    elif case == "no signature":
        del h["DPL-Signature"]
    elif case == "no id":
        del h["DPL-Delivery-Id"]
    else:
        h["DPL-Signature"] = "sha256=abc"
    seen = set()
    with pytest.raises(wh.SignatureError):
        wh.verify_delivery(SECRET, h, body, now=now, seen=seen)
    assert seen == set()


def test_within_the_tolerance_window_is_accepted():
    for now in (T - wh.TOLERANCE, T + wh.TOLERANCE):
        assert wh.verify_delivery(SECRET, headers(), BODY, now=now, seen=set())


def test_any_of_several_v1_signatures_may_match_during_a_rotation():
    h = headers()
    h["DPL-Signature"] = f"t={T},v1={wh.sign('o' * 32, T, BODY)},v1={wh.sign(SECRET, T, BODY)}"
    assert wh.verify_delivery(SECRET, h, BODY, now=T, seen=set())


def test_retry_delays_double_up_to_the_cap_less_at_most_the_jitter():
    assert [wh.retry_delay(n, 0.0) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert wh.retry_delay(50, 0.0) == wh.retry_delay(8, 0.0) == wh.BACKOFF_CAP
    assert wh.retry_delay(3, 0.999) == pytest.approx(120 * (1 - wh.JITTER * 0.999))
    with pytest.raises(InvalidArgumentError):
        wh.retry_delay(0, 0.5)


def test_the_schedule_keeps_trying_for_a_day_then_stops():
    offsets = wh.schedule([0.0] * 100)
    assert offsets[:4] == [0, 30, 90, 210]
    assert offsets[-1] <= wh.GIVE_UP_AFTER < offsets[-1] + wh.BACKOFF_CAP
    assert 25 <= len(offsets) <= 35  # about hourly once capped
    jittered = wh.schedule([0.999] * 100)
    assert jittered[-1] <= wh.GIVE_UP_AFTER and len(jittered) >= len(offsets)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "example.com/x",
                                 "https://user:pw@example.com/", "https:///nohost", "https://example.com/#frag",
                                 "https://exa mple.com/", "https://example.com:99999/", "https://e.com/\x00",
                                 "https://example.com/" + "a" * 2048])
def test_bad_urls_are_refused(url):
    with pytest.raises(InvalidArgumentError):
        wh.check_url(url)


def test_good_urls_give_scheme_host_and_port():
    assert wh.check_url("https://hooks.example.com/dpl?x=1") == ("https", "hooks.example.com", 443)
    assert wh.check_url("http://[2001:db8::1]:8080/") == ("http", "2001:db8::1", 8080)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1",
                                     "::ffff:127.0.0.1", "::ffff:169.254.169.254", "240.0.0.1", "not-an-ip"])
def test_private_and_special_addresses_are_not_allowed(address):
    assert not wh.address_allowed(address)
    with pytest.raises(InvalidArgumentError, match="DPL_WEBHOOKS_ALLOW_PRIVATE|resolve"):
        wh.check_addresses("h", ["93.184.216.34", address], allow_private=False)
    assert wh.check_addresses("h", [address], allow_private=True) == [address]


def test_public_addresses_are_allowed_and_an_unresolved_host_is_not():
    assert wh.address_allowed("93.184.216.34") and wh.address_allowed("2606:4700:4700::1111")
    with pytest.raises(InvalidArgumentError, match="does not resolve"):
        wh.check_addresses("nowhere.invalid", [], allow_private=True)


# --- the receiver snippets of docs/WEBHOOKS.md give the reference's verdicts ----------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


def _snippet(lang: str) -> str:
    """The receiver snippet in ``lang`` (the first block of it: §3)."""
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)[0]


ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _cases() -> list[tuple[str, dict, bytes, int]]:
    good = headers()
    sig = good["DPL-Signature"]
    v1 = sig.split("v1=")[1]
    out = [
        ("genuine", good, BODY, T),
        ("lower-case names", {k.lower(): v for k, v in good.items()}, BODY, T + 299),
        ("tampered body", good, BODY + b" ", T),
        ("wrong secret", headers(secret="w" * 32), BODY, T),
        ("stale", good, BODY, T + 301),
        ("future", good, BODY, T - 301),
        ("no signature", {k: v for k, v in good.items() if k != "DPL-Signature"}, BODY, T),
        ("no id", {k: v for k, v in good.items() if k != "DPL-Delivery-Id"}, BODY, T),
        ("empty id", {**good, "DPL-Delivery-Id": ""}, BODY, T),
        ("garbage", {**good, "DPL-Signature": "garbage"}, BODY, T),
        ("upper-case hex", {**good, "DPL-Signature": f"t={T},v1={v1.upper()}"}, BODY, T),
        ("short hex", {**good, "DPL-Signature": f"t={T},v1={v1[:-2]}"}, BODY, T),
        ("non-ascii digits", {**good, "DPL-Signature": f"t={str(T).translate(ARABIC_DIGITS)},v1={v1}"}, BODY, T),
        ("spaces", {**good, "DPL-Signature": f" t = {T} , v1 = {v1} "}, BODY, T),
        ("two v1", {**good, "DPL-Signature": f"t={T},v1={'0' * 64},v1={v1}"}, BODY, T),
        ("v1 first", {**good, "DPL-Signature": f"v1={v1},t={T}"}, BODY, T),
    ]
    # an id per case (the signature does not cover it), so each is judged on its own
    out = [(n, {k: (f"dlv_{n}" if k.lower() == "dpl-delivery-id" and v else v) for k, v in h.items()}, b, now)
           for n, h, b, now in out]
    return out + [("replay", {**good, "DPL-Delivery-Id": "dlv_genuine"}, BODY, T + 1)]


def _verdicts(verify) -> list:
    out, seen = [], set()
    for name, h, body, now in _cases():
        try:
            out.append((name, verify(SECRET, h, body, seen, now)))
        except ValueError:
            out.append((name, "refused"))
    return out


def test_the_python_snippet_and_the_reference_agree():
    scope = {}
    exec(compile(_snippet("python"), str(DOC), "exec"), scope)  # noqa: S102 (our own documentation)
    reference = _verdicts(lambda s, h, b, seen, now: wh.verify_delivery(s, h, b, now=now, seen=seen))
    assert _verdicts(scope["verify_delivery"]) == reference
    accepted = [name for name, verdict in reference if verdict != "refused"]
    assert accepted == ["genuine", "lower-case names", "spaces", "two v1", "v1 first"]


def test_the_node_snippet_and_the_reference_agree(tmp_path):
    harness = _snippet("js") + """
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const seen = new Set(), out = [];
for (const [name, headers, body, now] of cases) {
  try { out.push([name, verifyDelivery(%s, headers, Buffer.from(body, "base64"), seen, now)]); }
  catch (e) { out.push([name, "refused"]); }
}
console.log(JSON.stringify(out));
""" % json.dumps(SECRET)
    script = tmp_path / "verify.js"
    script.write_text(harness)
    cases = [[n, h, base64.b64encode(b).decode(), now] for n, h, b, now in _cases()]
    out = subprocess.run(["node", str(script)], input=json.dumps(cases), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    reference = _verdicts(lambda s, h, b, seen, now: wh.verify_delivery(s, h, b, now=now, seen=seen))
    assert [tuple(v) for v in json.loads(out.stdout)] == reference
