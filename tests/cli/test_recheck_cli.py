"""dpl monitor recheck end to end on a real anvil: the factory's records of a 50 % output drop are
ingested and anchored, `dpl disclose` writes the disclosure of the warning's week, and the lender
re-checks the warning with the consent's covenants and pledged profile against the chain: it
stands (exit 0); a forged value or a disclosure of another range does not (exit 1); bad input is
one line on stderr, exit 1.

The warning is the monitor's own evaluation (``ledger.covenants.evaluate``) of the anchored
records; the consent document carries only what the re-check reads (its covenants, their digest
and the dpl-asset/2 manifest's profile): issuing a pledge is tested elsewhere."""

from __future__ import annotations

import json

import pytest

from ledger.bundles import to_hex
from ledger.covenants import covenants_digest, evaluate
from tests.integration.test_anchoring import STREAM, dpl, env  # noqa: F401 (fixture)
from tests.ledger.covenant_evidence_cases import COVENANTS, drop_log

pytestmark = [pytest.mark.cli, pytest.mark.anvil]


def _write(env, name, doc):
    path = env["tmp"] / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_a_lender_rechecks_a_warning_from_a_disclosure_made_by_the_service(env):
    log, end = drop_log()
    records = env["tmp"] / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in log.records))
    dpl(env, "keys", "import-dev")
    dpl(env, "deploy")
    dpl(env, "log", "create", STREAM)
    dpl(env, "ingest", "--log", STREAM, str(records))
    dpl(env, "anchor")
    tmp = env["tmp"]
    dpl(env, "profile", "build", "--log", STREAM, "--from", "0", "--to", str(end), "--tz", "+08:00",
        "--out", str(tmp / "p.json"))
    profile = json.loads((tmp / "p.json").read_text())
    dpl(env, "disclose", "--log", STREAM, "--from", str(end), "--to", str(len(log.records)), "--out", str(tmp / "all.json"))
    cp = json.loads((tmp / "all.json").read_text())["checkpoint"]
    ev = evaluate(COVENANTS, pledged_profile=profile,
                  records_after=[(i, log.records[i]) for i in range(end, len(log.records))],
                  checkpoint={**cp, "anchored_at": 1}, chain_now=2)
    [drop] = [{**w.with_token(1).as_json(), "key": w.key} for w in ev.warnings if w.code == "output_floor"]
    f, t = drop["window"]["from"], drop["window"]["to"]
    dpl(env, "disclose", "--log", STREAM, "--from", str(f), "--to", str(t + 1), "--out", str(tmp / "d.json"))
    consent = _write(env, "consent.json", {"covenants": COVENANTS, "covenants_digest": to_hex(covenants_digest(COVENANTS)),
                                           "manifest": {"format": "dpl-asset/2", "profile": profile}})
    w = _write(env, "w.json", drop)

    _, out, _ = dpl(env, "monitor", "recheck", "--warning", w, "--disclosure", str(tmp / "d.json"),
                    "--consent", consent, "--rpc", env["rpc"])
    assert "PASS  figure: recomputed from 357 disclosed record(s): value 240.000000, threshold 336.000000" in out
    assert "PASS  anchor: anchored on chain 31337" in out
    assert out.rstrip().endswith("warning STANDS")
    _, out, _ = dpl(env, "monitor", "recheck", "--warning", w, "--disclosure", str(tmp / "d.json"), "--consent", consent,
                    "--json")
    verdict = json.loads(out)
    assert verdict["stands"] is True and verdict["chain_checked"] is False
    assert [c["name"] for c in verdict["checks"]][-1] == "figure"

    forged = _write(env, "forged.json", {**drop, "value": "100.000000"})
    code, out, _ = dpl(env, "monitor", "recheck", "--warning", forged, "--disclosure", str(tmp / "d.json"),
                       "--consent", consent, "--rpc", env["rpc"], ok=False)
    assert code == 1 and "the warning says value 100.000000, the records give value 240.000000" in out
    assert out.rstrip().endswith("warning DOES NOT STAND")
    _, out, _ = dpl(env, "monitor", "recheck", "--warning", w, "--disclosure", str(tmp / "all.json"),
                    "--consent", consent)  # a disclosure holding more than the window is as good
    assert "PASS  window: the disclosure holds the whole window" in out and out.rstrip().endswith("warning STANDS")
    dpl(env, "disclose", "--log", STREAM, "--from", str(t + 1), "--to", str(t + 50), "--out", str(tmp / "o.json"))
    code, out, _ = dpl(env, "monitor", "recheck", "--warning", w, "--disclosure", str(tmp / "o.json"),
                       "--consent", consent, ok=False)
    assert code == 1 and "FAIL  window: the disclosure holds records" in out

    for args, words in ((("--warning", w, "--disclosure", str(tmp / "d.json")), "--consent FILE is required"),
                        (("7", "--warning", w, "--disclosure", "d.json", "--consent", consent), "one of them"),
                        (("--warning", w, "--disclosure", "nowhere.json", "--consent", consent), "nowhere.json"),
                        (("--warning", w, "--disclosure", "d.json", "--consent", w), "carries no covenants"),
                        (("--warning", _write(env, "list.json", [drop]), "--disclosure", "d.json", "--consent", consent),
                         "holds a list of 1 warning(s)"),
                        (("1", "--disclosure", "d.json", "--consent", consent), "no warning #1 in this service's store")):
        code, out, err = dpl(env, "monitor", "recheck", *args, ok=False)
        assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and words in err, err
