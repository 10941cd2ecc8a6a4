"""ledger.pledge.collateral: a sound bundle passes every check; each tamper fails exactly its check."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import assets, bundles
from ledger.canonical import canonicalize
from ledger.pledge.collateral import (
    CollateralReport,
    make_collateral_bundle,
    verify_collateral,
)
from ledger.pledge.terms import Terms
from ledger.sampling import sample_indices, sample_seed
from ledger.settings import Settings
from ledger.store.logstore import LogStore
from ledger.synthetic import telemetry

STREAM = "line-a/telemetry"
LOG_ID = bytes.fromhex("22" * 32)
FACTORY = "0x" + "11" * 20
REGISTRY = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
BLOCK_HASH = bytes.fromhex("c0ffee" * 10 + "beef")
TOKEN_ID = 7
ISSUE_BLOCK = 1234
START, END, SIZE, K = 40, 240, 260, 12


@pytest.fixture
def sqlite_store(home):
    """A real LogStore on SQLite (as the ``store`` fixture, without the PostgreSQL twin)."""
    s = LogStore.open(Settings(home=home, database_url=None))
    yield s
    s.close()


@dataclass
class Pledge:
    store: LogStore
    manifest: dict
    terms: Terms
    root: bytes
    bundle: dict

    def entry(self, index):
        r = self.store.record_at(STREAM, index)
        p = self.store.inclusion_proof(STREAM, index, self.terms.checkpoint_size)
        return bundles.make_entry(index, r.record, r.salt, r.leaf_hash, p.proof)

    def verify(self, bundle="own", terms=None, anchored_root="chain", issue_block_hash="chain"):
        return verify_collateral(
            self.bundle if bundle == "own" else bundle,
            token_id=TOKEN_ID, terms=terms or self.terms, issue_block=ISSUE_BLOCK,
            anchored_root=self.root if anchored_root == "chain" else anchored_root,
            issue_block_hash=BLOCK_HASH if issue_block_hash == "chain" else issue_block_hash,
        )


def _pledge(store, k=K, n=300, start=START, end=END, size=SIZE):
    store.create_log(STREAM)
    store.append(STREAM, enumerate(telemetry(n)))
    store.bind_log(STREAM, FACTORY, LOG_ID)
    root = store.root_at(STREAM, size)
    manifest = assets.build_manifest(store, STREAM, start, end, size, root)
    terms = Terms(LOG_ID, start, end, size, assets.asset_digest(manifest), principal=5_000_000, currency="EUR",
                  maturity=1_800_000_000, lien_end=1_900_000_000, max_lien_end=1_900_000_000, samples=k,
                  loan_ref_digest=b"\x11" * 32, lender=FACTORY)
    p = Pledge(store, manifest, terms, root, {})
    indices = sample_indices(sample_seed(BLOCK_HASH, TOKEN_ID), start, end, k)
    bundle = make_collateral_bundle(
        token_id=TOKEN_ID, chain_id=31337, registry=REGISTRY, issue_block_number=ISSUE_BLOCK,
        issue_block_hash=BLOCK_HASH, manifest=manifest, entries=[p.entry(i) for i in indices])
    p.bundle = json.loads(json.dumps(bundle))  # as a lender reads it from a file
    return p


@pytest.fixture
def pledge(sqlite_store):
    return _pledge(sqlite_store)


def _failed(report: CollateralReport) -> set[str]:
    failed = {c.name for c in report.checks if not c.ok}
    assert all(c.detail for c in report.checks if not c.ok)  # every failure says why
    return failed


def _detail(report, name):
    return next(c.detail for c in report.checks if c.name == name)


COVENANTS = {"format": "dpl-covenants/1", "tz": "+08:00",
             "covenants": [{"code": "anchoring_cadence", "max_hours": 48}, {"code": "output_floor", "min_percent": 70}]}


def _covenanted(pledge, covenants=COVENANTS):
    """The pledge's terms committing to ``COVENANTS`` and a bundle carrying ``covenants``."""
    from ledger.covenants import covenants_digest

    terms = replace(pledge.terms, covenants_digest=covenants_digest(COVENANTS))
    return terms, {**pledge.bundle, "covenants": covenants}


def test_the_covenants_check_holds_the_bundles_set_to_the_pledged_digest(pledge):
    from ledger.covenants import covenants_digest

    digest = "0x" + covenants_digest(COVENANTS).hex()
    assert _detail(pledge.verify(), "covenants") == "the pledge commits to no covenants"
    terms, bundle = _covenanted(pledge)
    report = pledge.verify(bundle, terms)
    assert report.sound and _detail(report, "covenants") == f"sha256 {digest} is the pledge's covenants digest"
    # the same set in another key order is the same set (RFC 8785)
    reordered = {"covenants": COVENANTS["covenants"], "tz": "+08:00", "format": "dpl-covenants/1"}
    assert pledge.verify({**bundle, "covenants": reordered}, terms).sound
    # a forged set (a looser floor) fails, and so do a missing set and a set the pledge never agreed to
    forged = copy.deepcopy(COVENANTS)
    forged["covenants"][1]["min_percent"] = 10
    report = pledge.verify({**bundle, "covenants": forged}, terms)
    assert _failed(report) == {"covenants"} and "edited or are another loan's" in _detail(report, "covenants")
    report = pledge.verify(pledge.bundle, terms)
    assert _failed(report) == {"covenants"} and "the bundle carries none" in _detail(report, "covenants")
    report = pledge.verify(bundle)
    assert _failed(report) == {"covenants"} and "never agreed on chain" in _detail(report, "covenants")
    assert _failed(pledge.verify({**bundle, "covenants": [1]}, terms)) == {"format"}


def test_the_bundle_format(pledge):
    b = pledge.bundle
    assert set(b) == {"format", "token_id", "chain_id", "registry", "issue", "seed", "manifest", "entries"}
    assert b["format"] == "dpl-collateral/1" and b["token_id"] == TOKEN_ID and b["chain_id"] == 31337
    assert b["registry"] == "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # EIP-55
    assert b["issue"] == {"block_number": ISSUE_BLOCK, "block_hash": "0x" + BLOCK_HASH.hex()}
    assert b["seed"] == "0x" + sample_seed(BLOCK_HASH, TOKEN_ID).hex()
    assert b["manifest"] == pledge.manifest
    assert set(b["entries"][0]) == {"index", "record", "salt", "leaf_hash", "proof"}
    assert [e["index"] for e in b["entries"]] == sample_indices(sample_seed(BLOCK_HASH, TOKEN_ID), START, END, K)


def test_a_sound_bundle_passes_every_check_in_order(pledge):
    report = pledge.verify()
    assert report.sound and _failed(report) == set()
    indices = [e["index"] for e in pledge.bundle["entries"]]
    expected = ["format", "manifest digest", "manifest terms", "covenants", "anchored root", "seed", "sample indices"]
    for i in indices:
        expected += [f"entry {i}: leaf hash", f"entry {i}: inclusion", f"entry {i}: agrees with manifest"]
    assert [c.name for c in report.checks] == expected
    doc = report.as_json()
    assert json.loads(json.dumps(doc)) == doc
    assert doc["token_id"] == TOKEN_ID and doc["sound"] is True and len(doc["checks"]) == len(expected)
    assert doc["checks"][0] == {"name": "format", "ok": True, "detail": report.checks[0].detail}


def _first_two(b):
    return b["entries"][0]["index"], b["entries"][1]["index"]


def _change_value(p, b):
    e = b["entries"][0]
    fig = p.manifest["types"]["iot.telemetry"]["fields"]["parts_total"]
    old = e["record"]["data"]["parts_total"]
    e["record"]["data"]["parts_total"] = fig["min"] if old != fig["min"] else fig["max"]  # still in range
    return {f"entry {e['index']}: leaf hash"}, "record or salt was altered"


def _other_record(p, b):
    # The factory swaps in a record it prefers, with a genuine proof for that index.
    taken = {e["index"] for e in b["entries"]}
    other = next(i for i in range(START, END) if i not in taken)
    b["entries"][0] = p.entry(other)
    b["entries"].sort(key=lambda e: e["index"])
    return {"sample indices"}, f"indices {other} were not sampled"


def _relabelled_index(p, b):
    i, j = _first_two(b)
    b["entries"][0]["index"] = i + 1 if i + 1 != j else i - 1
    return {"sample indices", f"entry {b['entries'][0]['index']}: inclusion"}, "not sampled"


def _swapped_salts(p, b):
    e0, e1 = b["entries"][0], b["entries"][1]
    e0["salt"], e1["salt"] = e1["salt"], e0["salt"]
    i, j = _first_two(b)
    return {f"entry {i}: leaf hash", f"entry {j}: leaf hash"}, "record or salt was altered"


def _edited_manifest(p, b):
    b["manifest"]["types"]["iot.telemetry"]["fields"]["temp_c"]["sum"] += 1000
    return {"manifest digest"}, "the manifest was edited"


def _bundle_block_hash(p, b):
    fake = bytes.fromhex("aa" * 32)
    b["issue"]["block_hash"] = "0x" + fake.hex()
    b["seed"] = "0x" + sample_seed(fake, TOKEN_ID).hex()  # consistent with itself, not with the chain
    return {"seed"}, "is not the chain's"


def _bundle_seed(p, b):
    b["seed"] = "0x" + "00" * 32
    return {"seed"}, "seed 0x00"


def _missing_entry(p, b):
    dropped = b["entries"].pop(3)["index"]
    return {"sample indices"}, f"missing sampled indices {dropped}"


def _other_token(p, b):
    b["token_id"] = TOKEN_ID + 1
    return {"seed"}, "the bundle is for token 8"


def _other_issue_block(p, b):
    b["issue"]["block_number"] = ISSUE_BLOCK - 1
    return {"seed"}, "issue block 1233 is not the pledge's 1234"


def _unsorted(p, b):
    b["entries"][0], b["entries"][1] = b["entries"][1], b["entries"][0]
    return {"sample indices"}, "out of order"


@pytest.mark.parametrize("tamper", [
    _change_value, _other_record, _relabelled_index, _swapped_salts, _edited_manifest,
    _bundle_block_hash, _bundle_seed, _missing_entry, _other_token, _other_issue_block, _unsorted,
])
def test_each_tamper_fails_exactly_its_check(pledge, tamper):
    assert pledge.verify().sound
    bad = copy.deepcopy(pledge.bundle)
    expected, reason = tamper(pledge, bad)
    report = pledge.verify(bad)
    assert not report.sound
    assert _failed(report) == expected
    assert any(reason in c.detail for c in report.checks if not c.ok), [c for c in report.checks if not c.ok]


def test_root_not_anchored_fails_only_the_anchored_root(pledge):
    report = pledge.verify(anchored_root=None)
    assert _failed(report) == {"anchored root"}
    assert "no root is anchored for this log at size 260" in _detail(report, "anchored root")
    first = pledge.bundle["entries"][0]["index"]
    assert "manifest's root (none anchored)" in _detail(report, f"entry {first}: inclusion")


def test_another_anchored_root_fails_the_root_and_every_proof(pledge):
    report = pledge.verify(anchored_root=pledge.store.root_at(STREAM, SIZE - 1))
    indices = [e["index"] for e in pledge.bundle["entries"]]
    assert _failed(report) == {"anchored root"} | {f"entry {i}: inclusion" for i in indices}


def test_another_chain_block_hash_fails_seed_and_indices(pledge):
    report = pledge.verify(issue_block_hash=bytes.fromhex("bb" * 32))
    assert _failed(report) == {"seed", "sample indices"}
    report = pledge.verify(issue_block_hash=None)
    assert _failed(report) == {"seed", "sample indices"}
    assert "the chain gave no hash for block 1234" in _detail(report, "seed")


def test_terms_of_another_pledge_fail_the_terms(pledge):
    report = pledge.verify(terms=replace(pledge.terms, start=START + 1))
    assert _failed(report) == {"manifest terms", "sample indices"}
    assert "range [40, 240) is not the pledge's [41, 240)" in _detail(report, "manifest terms")
    report = pledge.verify(terms=replace(pledge.terms, log_id=bytes(32), checkpoint_size=SIZE + 1))
    assert "manifest terms" in _failed(report)
    assert "log_id" in _detail(report, "manifest terms") and "checkpoint size 260" in _detail(report, "manifest terms")
    report = pledge.verify(terms=replace(pledge.terms, samples=K + 1))
    assert _failed(report) == {"sample indices"}


def test_a_lying_manifest_is_caught_by_the_samples(pledge):
    # The factory inflates the minimum temperature and the pledge commits to that manifest.
    lie = copy.deepcopy(pledge.manifest)
    entries = pledge.bundle["entries"]
    temps = sorted(e["record"]["data"]["temp_c"] for e in entries)
    lie["types"]["iot.telemetry"]["fields"]["temp_c"]["min"] = temps[2] + 0.001
    bad = copy.deepcopy(pledge.bundle)
    bad["manifest"] = lie
    terms = replace(pledge.terms, asset_digest=assets.asset_digest(lie))
    report = pledge.verify(bad, terms=terms)
    below = {e["index"] for e in entries if e["record"]["data"]["temp_c"] < temps[2] + 0.001}
    assert len(below) >= 3
    assert _failed(report) == {f"entry {i}: agrees with manifest" for i in below}
    assert "data.temp_c" in _detail(report, f"entry {min(below)}: agrees with manifest")


@pytest.mark.parametrize("tamper, reason", [
    (lambda b: b.clear(), "format is None"),
    (lambda b: b.update(format="dpl-proof/1"), "format is 'dpl-proof/1'"),
    (lambda b: b.update(token_id=-1), "token_id"),
    (lambda b: b.update(registry="0x1234"), "registry"),
    (lambda b: b.update(registry="0x5FBDB2315678afecb367f032d93F642f64180aa3"), "registry"),  # bad checksum
    (lambda b: b["issue"].update(block_hash="0x" + "AA" * 32), "issue.block_hash"),
    (lambda b: b.pop("seed"), "seed must be"),
    (lambda b: b.pop("manifest"), "manifest: the manifest must be a JSON object"),
    (lambda b: b["manifest"].update(records=1), "manifest: records is 1"),
    (lambda b: b.update(entries=[]), "entries must be a non-empty list"),
    (lambda b: b["entries"][2].pop("record"), r"entries[2] (index"),
    (lambda b: b["entries"][0].update(salt="0x12"), ".salt must be"),
    (lambda b: b["entries"][0].update(proof="0x12"), ".proof must be a list"),
    (lambda b: b["entries"][0]["proof"].append(5), ".proof["),
    (lambda b: b["entries"][0].update(index=True), "entries[0].index"),
])
def test_a_malformed_bundle_gives_one_failed_format_check(pledge, tamper, reason):
    bad = copy.deepcopy(pledge.bundle)
    tamper(bad)
    report = pledge.verify(bad)
    assert [(c.name, c.ok) for c in report.checks] == [("format", False)]
    assert reason in report.checks[0].detail
    assert not report.sound


@pytest.mark.parametrize("value", [None, [], "{}", 7, {"format": "dpl-collateral/1"}])
def test_not_a_bundle_at_all(pledge, value):
    report = pledge.verify(value)
    assert [(c.name, c.ok) for c in report.checks] == [("format", False)]


def test_an_invalid_record_fails_its_leaf_hash_with_the_reason(pledge):
    bad = copy.deepcopy(pledge.bundle)
    e = bad["entries"][0]
    del e["record"]["ts"]
    report = pledge.verify(bad)
    assert f"entry {e['index']}: leaf hash" in _failed(report)
    assert "not a valid record: missing field" in _detail(report, f"entry {e['index']}: leaf hash")


def test_many_samples(sqlite_store):
    p = _pledge(sqlite_store, k=150, n=700, start=0, end=600, size=650)
    report = p.verify()
    assert report.sound and len(report.checks) == 7 + 3 * 150


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(["1e999999999999999999999", "-0.5", "9007199254740993", "2026-10-01T08:00:00Z",
                       "0x" + "00" * 32, 2**64, -(2**53)]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


def _json_bytes(value):
    try:
        return canonicalize(value)
    except ValueError:
        return None if value is None else repr(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_never_raises_and_any_change_is_unsound(pledge, data):
    paths = [p for p in _paths(pledge.bundle) if p]
    path = data.draw(st.sampled_from(paths))
    bad = copy.deepcopy(pledge.bundle)
    parent = bad
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
        changed = True
    else:
        new = data.draw(_json)
        parent[path[-1]] = new
        changed = _json_bytes(new) != _json_bytes(old)
    report = pledge.verify(bad)  # must not raise
    assert isinstance(report, CollateralReport) and report.checks
    # chain_id and registry name where to look; the caller checks it asked that chain.
    if changed and path[0] not in ("chain_id", "registry"):
        assert not report.sound, (path, old)


# --- dpl-asset/2: sampled records against their day's figures; the figures' lines ----------

V2_STREAM = "plant/month"
V2_K = 40


def _pledge_v2(store, k=V2_K, days=10, lie=None, stream=V2_STREAM):
    """A pledge over a month-like log of all three record types, its manifest dpl-asset/2 (the
    profile in +08:00); ``lie(profile)`` edits the profile before the pledge commits to it."""
    from ledger.profile import build_profile
    from ledger.synthetic import factory_month

    store.create_log(stream)
    store.append(stream, enumerate(factory_month(days=days)))
    store.bind_log(stream, FACTORY, LOG_ID)
    n = store.get_log(stream).size
    start, end, size = 3, n - 3, n - 1
    root = store.root_at(stream, size)
    profile = build_profile(((s.index, s.record) for s in store.iter_records(stream, start, end)),
                            log_id=LOG_ID, stream=stream, start=start, end=end, checkpoint_size=size,
                            checkpoint_root=root, tz="+08:00")
    if lie is not None:
        lie(profile)
    manifest = assets.build_manifest(store, stream, start, end, size, root, profile=profile)
    terms = Terms(LOG_ID, start, end, size, assets.asset_digest(manifest), principal=5_000_000, currency="EUR",
                  maturity=1_800_000_000, lien_end=1_900_000_000, max_lien_end=1_900_000_000, samples=k,
                  loan_ref_digest=b"\x11" * 32, lender=FACTORY)
    indices = sample_indices(sample_seed(BLOCK_HASH, TOKEN_ID), start, end, k)
    entries = []
    for i in indices:
        r = store.record_at(stream, i)
        entries.append(bundles.make_entry(i, r.record, r.salt, r.leaf_hash,
                                          store.inclusion_proof(stream, i, size).proof))
    bundle = make_collateral_bundle(token_id=TOKEN_ID, chain_id=31337, registry=REGISTRY, issue_block_number=ISSUE_BLOCK,
                                    issue_block_hash=BLOCK_HASH, manifest=manifest, entries=entries)
    return Pledge(store, manifest, terms, root, json.loads(json.dumps(bundle)))


@pytest.fixture
def pledge_v2(sqlite_store):
    return _pledge_v2(sqlite_store)


def test_a_sound_v2_bundle_lists_each_headline_figure_as_declared(pledge_v2):
    from ledger.pledge.collateral import headline_figures

    report = pledge_v2.verify()
    assert report.sound, [c for c in report.checks if not c.ok]
    names = [c.name for c in report.checks]
    indices = [e["index"] for e in pledge_v2.bundle["entries"]]
    expected = ["format", "manifest digest", "manifest terms", "covenants", "anchored root", "seed", "sample indices"]
    for i in indices:
        expected += [f"entry {i}: leaf hash", f"entry {i}: inclusion", f"entry {i}: agrees with manifest",
                     f"entry {i}: agrees with its day's figures"]
    profile = pledge_v2.manifest["profile"]
    figures = headline_figures(profile)
    expected += [f"figure {path}" for path, _ in figures] + ["sampling"]
    assert names == expected
    paths = [p for p, _ in figures]
    assert paths[:6] == ["coverage.records", "coverage.days", "mes.qty_good", "mes.qty_scrap", "mes.scrap_rate",
                         "mes.plan_attainment"]
    currency = sorted(profile["sales"]["by_currency"])[0]
    assert "cross_source.mismatch" in paths and f"sales.by_currency.{currency}.top1_share" in paths
    machine = sorted(profile["iot"]["machines"])[0]
    assert f"iot.machines.{machine}.utilization" in paths
    assert _detail(report, "figure mes.qty_good") == \
        f"{profile['mes']['qty_good']}: declared by the factory; {V2_K} sampled records agree with it"
    assert _detail(report, "figure mes.scrap_rate").startswith(profile["mes"]["scrap_rate"] + ": declared")
    assert _detail(report, "sampling").startswith(
        f"if at least 5 % of the range's records disagreed with their day's figures, {V2_K} samples would miss "
        "every one of them with probability at most 13 %")  # 0.95^40 = 0.1285
    assert "records left out of the log" in _detail(report, "sampling")


def test_a_v1_bundle_gets_no_day_checks_and_no_figure_lines(pledge):
    names = [c.name for c in pledge.verify().checks]
    assert not [n for n in names if n.endswith("day's figures") or n.startswith("figure ") or n == "sampling"]


def test_a_bundle_whose_profile_was_altered_fails_the_digest(pledge_v2):
    bad = copy.deepcopy(pledge_v2.bundle)
    bad["manifest"]["profile"]["mes"]["qty_good"] += 1000
    report = pledge_v2.verify(bad)
    assert _failed(report) == {"manifest digest"}
    assert "the manifest was edited" in _detail(report, "manifest digest")


def _sampled(p, type_):
    return [e for e in p.bundle["entries"] if e["record"]["type"] == type_]


def test_a_sampled_work_order_above_its_days_output_is_named(sqlite_store):
    # The factory pledges a profile in which one day's good output is lower than a sampled
    # work order of that day reports (a figure the records do not give), and commits to it.
    probe = _pledge_v2(sqlite_store)
    order = _sampled(probe, "mes.work_order")[0]
    day = order["record"]["ts"][:10]  # the records' offset is the profile's +08:00
    good = order["record"]["data"]["qty_good"]

    def lie(profile):
        for d in profile["daily"]:
            if d["day"] == day:
                d["mes_good"] = good - 1

    # the same records (factory_month is seeded), in a second log
    p = _pledge_v2(sqlite_store, lie=lie, stream="plant/lying")
    report = p.verify()
    same_day = {e["index"] for e in _sampled(p, "mes.work_order")
                if e["record"]["ts"][:10] == day and e["record"]["data"]["qty_good"] > good - 1}
    assert order["index"] in same_day
    day_failures = {f"entry {i}: agrees with its day's figures" for i in same_day}
    figure_lines = {c.name for c in report.checks if c.name.startswith("figure ")}
    assert _failed(report) == day_failures | figure_lines  # nothing else: digest, terms, proofs hold
    assert (f"work order {order['index']} has qty_good {good}, more than the {good - 1} good units of {day}"
            in _detail(report, f"entry {order['index']}: agrees with its day's figures"))
    agreeing = V2_K - len(same_day)
    assert _detail(report, "figure mes.qty_good").endswith(
        f"declared by the factory; only {agreeing} of {V2_K} sampled records agree with their day's figures")


def test_a_sampled_reading_of_an_unlisted_machine_is_named(sqlite_store):
    def lie(profile):
        machines = profile["iot"]["machines"]
        name = sorted(machines)[0]
        machines["zz-" + name] = machines.pop(name)

    p = _pledge_v2(sqlite_store, lie=lie)
    report = p.verify()
    machine = sorted(p.manifest["profile"]["iot"]["machines"])[-1][3:]
    readings = [e["index"] for e in _sampled(p, "iot.telemetry") if e["record"]["data"]["machine"] == machine]
    assert readings
    assert {f"entry {i}: agrees with its day's figures" for i in readings} <= _failed(report)
    assert f"reading {readings[0]} is from machine {machine}, which the profile does not list" in \
        _detail(report, f"entry {readings[0]}: agrees with its day's figures")


@pytest.mark.parametrize("k, percent", [(1, "95"), (2, "91"), (14, "49"), (20, "36"), (45, "10"), (100, "0.60"),
                                        (300, "0.000021")])
def test_the_sampling_statement_is_exact(k, percent):
    from fractions import Fraction

    from ledger.pledge.collateral import ceil_percent, miss_probability, sampling_statement

    p = miss_probability(k)
    assert p == Fraction(19, 20) ** k
    assert ceil_percent(p) == percent
    # two significant digits, rounded up: the stated bound is above the exact value, by less than one unit
    stated = Fraction(percent) if "." not in percent else Fraction(percent)
    unit = Fraction(1, 10 ** (len(percent.split(".")[1]) if "." in percent else 0))
    assert stated - unit < 100 * p <= stated
    assert f"{k} sample{'s' if k > 1 else ''} would miss every one of them with probability at most {percent} %" \
        in sampling_statement(k)


def test_ceil_percent_at_the_edges():
    from fractions import Fraction

    from ledger.pledge.collateral import ceil_percent

    assert ceil_percent(Fraction(1)) == "100"
    assert ceil_percent(Fraction(99, 1000)) == "9.9"
    assert ceil_percent(Fraction(9941, 100000)) == "10"  # 9.941 % rounds up to 10, not 9.95
    assert ceil_percent(Fraction(1, 10**9)) == "0.00000010"


# --- with a full disclosure of the pledged range: the figures recomputed -------------------------


def _disclosure(store, stream, start, end, size, log_id=LOG_ID):
    from ledger import jsonio
    from ledger.disclosure import disclosure_chunks

    left, right = store.range_proof(stream, start, end, size)
    chunks = disclosure_chunks(log_id=log_id, stream=stream, start=start, end=end, size=size,
                               root=store.root_at(stream, size), anchor=None, left=left, right=right,
                               entries=((s.index, s.salt, s.canonical) for s in store.iter_records(stream, start, end)))
    return jsonio.loads(b"".join(chunks), what="the disclosure")


def _with_disclosure(p, disclosure, bundle=None, terms=None):
    from ledger.pledge.collateral import figures_from_disclosure

    bundle = p.bundle if bundle is None else bundle
    return figures_from_disclosure(p.verify(bundle, terms=terms), bundle, disclosure, terms or p.terms)


def test_a_full_disclosure_recomputes_every_headline_figure(pledge_v2):
    t = pledge_v2.terms
    d = _disclosure(pledge_v2.store, V2_STREAM, t.start, t.end, t.checkpoint_size)
    report = _with_disclosure(pledge_v2, d)
    assert report.sound, [c for c in report.checks if not c.ok]
    names = [c.name for c in report.checks]
    assert "sampling" not in names
    n = t.end - t.start
    tail = [c for c in report.checks if c.name.startswith("figure ")]
    assert tail and all(c.detail.endswith(f": recomputed from {n} disclosed records") for c in tail)
    assert _detail(report, "figure mes.qty_good") == \
        f"{pledge_v2.manifest['profile']['mes']['qty_good']}: recomputed from {n} disclosed records"
    for name in ("disclosure: profile", "disclosure: disclosure", "disclosure: same range", "disclosure: figures",
                 "disclosure range"):
        assert name in names, name
    # the sampled records are still checked: the samples' checks come first, unchanged
    assert names[:7] == ["format", "manifest digest", "manifest terms", "covenants", "anchored root", "seed", "sample indices"]


def test_a_disclosure_names_the_figures_the_records_do_not_give(sqlite_store):
    # A total no sampled record can contradict: the samples pass, the disclosure does not.
    def lie(profile):
        profile["mes"]["qty_good"] += 777

    p = _pledge_v2(sqlite_store, lie=lie)
    declared = p.verify()
    assert declared.sound  # sampling cannot see it (the statement says so)
    assert "totals inflated" in _detail(declared, "sampling")
    t = p.terms
    report = _with_disclosure(p, _disclosure(sqlite_store, V2_STREAM, t.start, t.end, t.checkpoint_size))
    assert _failed(report) == {"disclosure: figures", "figure mes.qty_good"}
    good = p.manifest["profile"]["mes"]["qty_good"]
    assert f"mes.qty_good: claimed {good}, recomputed {good - 777}" in _detail(report, "disclosure: figures")
    assert _detail(report, "figure mes.qty_good").endswith("disclosed records: it differs from the records")


def test_a_disclosure_of_another_range_or_a_v1_pledge(sqlite_store):
    p = _pledge_v2(sqlite_store)
    t = p.terms
    other = _disclosure(sqlite_store, V2_STREAM, t.start + 1, t.end, t.checkpoint_size)
    report = _with_disclosure(p, other)
    assert {"disclosure: same range", "disclosure range"} <= _failed(report)
    assert f"range [{t.start + 1}, {t.end}) is not the pledge's [{t.start}, {t.end})" in _detail(report, "disclosure range")
    assert not [c for c in report.checks if c.name.startswith("figure ")]
    broken = copy.deepcopy(_disclosure(sqlite_store, V2_STREAM, t.start, t.end, t.checkpoint_size))
    broken["records"][5]["record"]["data"]["qty_good"] = 1
    assert "disclosure: disclosure" in _failed(_with_disclosure(p, broken))
    v1 = _pledge(sqlite_store)
    report = _with_disclosure(v1, other)
    assert _failed(report) == {"disclosure"}
    assert "dpl-asset/1: it declares no profile" in _detail(report, "disclosure")
