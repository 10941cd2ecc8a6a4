"""The monitor's judging and its warnings table (``ledger.service.monitor``, ``ledger.store.warnings``),
on SQLite and on PostgreSQL, with synthetic weeks of known figures appended to a real log.

The chain's part (which pledges are live, their anchored checkpoints and block times, the
consent that carries the covenants) runs on anvil in ``tests/integration/test_monitor.py``; here
``Monitor.judge`` is handed the pledges to judge, exactly as ``run_once`` hands them over."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ledger.errors import ConflictError, InvalidArgumentError, NotFoundError
from ledger.pledge.service import with_covenants
from ledger.service.context import Context
from ledger.service.monitor import RAISED, RESOLVED_EVENT, Monitor, Watched, event_key, webhook_hook
from ledger.store.models import CovenantEvaluation, CovenantWarningRow
from ledger.store.warnings import WarningStore
from tests.ledger.test_covenants import EXAMPLE, factory, pledged, split

CHAIN, REGISTRY = 31337, "0x" + "5f" * 20
STREAM = "line/a"
COVENANTS = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
    {"code": "anchoring_cadence", "max_hours": 48},
    {"code": "output_floor", "min_percent": 70},
    {"code": "cross_source_mismatch", "max_ratio": "0.100000"}]}
ANCHORED = 2_000_000_000


@pytest.fixture
def ctx(backend):
    c = Context(backend)
    yield c
    c.close()


def weeks(rate=lambda day: 10, days=36, **kw):
    """Monday 2026-10-05 (W41) on: 14 pledged days (W41, W42), then W43.. after the range."""
    return factory(days, rate=rate, **kw)


class Log:
    """A real log of synthetic records, appended in steps, and the pledge judged over it."""

    def __init__(self, ctx, records, pledged_days=14, token_id=7, covenants=COVENANTS, stream=STREAM):
        self.ctx, self.records, self.stream, self.token_id, self.covenants = ctx, records, stream, token_id, covenants
        self.end = split(records, pledged_days)
        ctx.store.create_log(stream)
        self.size = 0
        self.profile = pledged(records, self.end)

    def grow(self, upto: int) -> None:
        self.ctx.store.append(self.stream, [(i, self.records[i]) for i in range(self.size, upto)])
        self.size = upto

    def watched(self, anchored_at=ANCHORED, parties=(1, 2)) -> Watched:
        root = self.ctx.store.root_at(self.stream, self.size)
        return Watched(self.token_id, self.stream, self.end, self.covenants, self.profile,
                       {"size": self.size, "root": root, "anchored_at": anchored_at}, b"\x0a" * 32, parties)


def judge(ctx, *watched, now=ANCHORED + 3600, monitor=None):
    return (monitor or Monitor(ctx)).judge(list(watched), now, CHAIN, REGISTRY)


def stored(ctx, token_id=7):
    return {w.key: w for w in WarningStore(ctx.store.engine, CHAIN, REGISTRY).list(token_ids=[token_id])}


def count_rows(ctx) -> int:
    with ctx.store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(CovenantWarningRow)).scalar()


def test_a_50_percent_drop_raises_output_floor_in_its_week_and_resolves_when_output_recovers(ctx):
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)  # W43 at half the output
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)  # W43 and the first record of W44: W43 is closed
    report = judge(ctx, log.watched())
    assert report.raised == [(7, "output_floor/2026-W43")] and report.judged == 1
    w = stored(ctx)["output_floor/2026-W43"]
    assert w.state == "open" and w.week == "2026-W43" and w.window == (log.end, split(records, 21))
    assert (w.value, w.threshold) == ("240.000000", "336.000000")  # 2 machines x 24 h x 5 a day vs 70 % of 480
    assert w.checkpoint_size == log.size and w.anchor_tx == b"\x0a" * 32
    assert w.as_json()["checkpoint"]["root"] == "0x" + ctx.store.root_at(STREAM, log.size).hex()

    log.grow(split(records, 28) + 1)  # W44 at full output, closed
    report = judge(ctx, log.watched())
    assert report.raised == [] and report.resolved == [(7, "output_floor/2026-W43")]
    w = stored(ctx)["output_floor/2026-W43"]
    assert w.state == "resolved" and w.resolved_at is not None
    assert w.evidence == {"code": "output_floor", "window": {"from": split(records, 21), "to": split(records, 28)},
                          "week": "2026-W44", "machine": None}
    assert list(stored(ctx)) == ["output_floor/2026-W43"]  # W44 met: nothing else raised


def test_an_over_reporting_mes_raises_cross_source_mismatch(ctx):
    records = weeks()
    w43 = (split(records, 14), split(records, 21))
    for i in range(*w43):  # MES reports 50 % more good output than the machines counted in W43
        if records[i]["type"] == "mes.work_order":
            records[i]["data"]["qty_good"] = records[i]["data"]["qty_good"] * 3 // 2
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    report = judge(ctx, log.watched())
    assert report.raised == [(7, "cross_source_mismatch/2026-W43")]
    w = stored(ctx)["cross_source_mismatch/2026-W43"]
    # about 1/3 (IoT counts increments between a machine's readings: a few parts fewer than MES)
    assert w.threshold == "0.100000" and 0.33 < float(w.value) < 0.34 and "MES reported" in w.message


def test_judging_again_on_the_same_checkpoint_raises_nothing_twice(ctx):
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    first = judge(ctx, log.watched())
    again = judge(ctx, log.watched())
    assert len(first.raised) == 1 and again.raised == [] and again.resolved == []
    assert (again.judged, again.cadence_only) == (0, 1)  # the checkpoint did not move: the cadence alone
    assert count_rows(ctx) == 1


def test_the_cadence_is_judged_by_the_chain_clock_without_a_new_checkpoint_once_per_stale_checkpoint(ctx):
    records = weeks()
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    assert judge(ctx, log.watched()).raised == []
    late = ANCHORED + 48 * 3600 + 1
    report = judge(ctx, log.watched(), now=late)
    assert report.raised == [(7, f"anchoring_cadence/{log.size}")]
    assert stored(ctx)[f"anchoring_cadence/{log.size}"].value == str(48 * 3600 + 1)
    assert judge(ctx, log.watched(), now=late + 3600).raised == []  # the same stale checkpoint: one warning
    stale = log.size
    log.grow(split(records, 28) + 1)  # a new checkpoint, anchored now
    report = judge(ctx, log.watched(anchored_at=late + 3600), now=late + 7200)
    assert report.resolved == [(7, f"anchoring_cadence/{stale}")]


class Crash(Exception):
    pass


def test_a_crash_before_the_commit_loses_nothing_and_a_rerun_duplicates_nothing(ctx):
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)
    log = Log(ctx, records)
    other = Log(ctx, records, token_id=8, stream="line/b")
    for lg in (log, other):
        lg.grow(split(records, 21) + 1)
    monitor = Monitor(ctx)
    calls = []

    def crash_on_second():
        calls.append(1)
        if len(calls) == 2:
            raise Crash()

    monitor.before_commit = crash_on_second
    with pytest.raises(Crash):
        judge(ctx, log.watched(), other.watched(), monitor=monitor)
    # the first pledge committed, the second rolled back whole: no warning and no evaluation point
    assert list(stored(ctx, 7)) == ["output_floor/2026-W43"] and stored(ctx, 8) == {}
    assert WarningStore(ctx.store.engine, CHAIN, REGISTRY).evaluation_points() == {7: log.size}
    monitor.before_commit = None
    report = judge(ctx, log.watched(), other.watched(), monitor=monitor)
    assert report.raised == [(8, "output_floor/2026-W43")]  # what the crash lost, raised now
    assert list(stored(ctx, 8)) == list(stored(ctx, 7)) and count_rows(ctx) == 2
    with ctx.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CovenantEvaluation)).scalar() == 2


def test_pledges_of_one_group_share_the_figures_and_each_gets_its_own_warnings(ctx, monkeypatch):
    from ledger import covenants

    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    builds = []
    real = covenants.WeeklyFigures.build.__func__
    monkeypatch.setattr(covenants.WeeklyFigures, "build",
                        classmethod(lambda cls, *a, **kw: builds.append(1) or real(cls, *a, **kw)))
    strict = {**COVENANTS, "covenants": [{"code": "output_floor", "min_percent": 40}]}  # 50 % is above 40 %
    second = Watched(9, STREAM, log.end, strict, log.profile, log.watched().checkpoint)
    report = judge(ctx, log.watched(), second)
    assert len(builds) == 1 and report.judged == 2
    assert report.raised == [(7, "output_floor/2026-W43")] and stored(ctx, 9) == {}


def test_the_hook_is_told_of_each_raised_and_resolved_warning_once_and_again_after_it_failed(ctx):
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    told = []
    fail = [True]

    def hook(parties, event, payload, key):
        if fail[0]:
            raise RuntimeError("receiver store down")
        told.append((parties, event, payload["key"], payload["state"], key))

    monitor = Monitor(ctx, on_event=hook)
    judge(ctx, log.watched(), monitor=monitor)
    report = monitor.notify(CHAIN, REGISTRY, {7: (1, 2)})
    assert told == [] and report.errors and "receiver store down" in report.errors[0]
    fail[0] = False
    monitor.notify(CHAIN, REGISTRY, {7: (1, 2)})
    assert told == [([1, 2], RAISED, "output_floor/2026-W43", "open",
                     f"warning/{CHAIN}/{REGISTRY}/7/output_floor/2026-W43/open")]
    monitor.notify(CHAIN, REGISTRY, {7: (1, 2)})
    assert len(told) == 1  # told once
    log.grow(split(records, 28) + 1)
    judge(ctx, log.watched(), monitor=monitor)
    monitor.notify(CHAIN, REGISTRY, {7: (1, 2)})
    assert told[1][1:4] == (RESOLVED_EVENT, "output_floor/2026-W43", "resolved")
    assert len(told) == 2


def test_the_holder_acknowledges_an_open_warning_once_and_a_resolved_one_not_at_all(ctx):
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    judge(ctx, log.watched())
    store = WarningStore(ctx.store.engine, CHAIN, REGISTRY)
    w = stored(ctx)["output_floor/2026-W43"]
    lender = "0x" + "33" * 20
    acked = store.acknowledge(w.id, lender)
    assert acked.state == "acknowledged" and acked.acknowledged_by == lender
    assert store.acknowledge(w.id, lender).acknowledged_at == acked.acknowledged_at  # a retry changes nothing
    log.grow(split(records, 28) + 1)
    assert judge(ctx, log.watched()).resolved == [(7, "output_floor/2026-W43")]  # acknowledged ones resolve too
    with pytest.raises(ConflictError, match="resolved already"):
        store.acknowledge(w.id, lender)
    with pytest.raises(NotFoundError):
        store.acknowledge(w.id + 100, lender)
    assert WarningStore(ctx.store.engine, CHAIN, "0x" + "66" * 20).get(w.id) is None  # another registry's


def test_a_consent_keeps_the_checked_covenants_and_their_digest():
    from ledger.covenants import covenants_digest

    doc = with_covenants({"format": "dpl-consent/2"}, {**EXAMPLE, "covenants": list(reversed(EXAMPLE["covenants"]))})
    assert doc["covenants"]["covenants"][0]["code"] == "customer_concentration"
    assert doc["covenants_digest"] == "0x" + covenants_digest(doc["covenants"]).hex()
    assert with_covenants({"a": 1}, None) == {"a": 1}
    with pytest.raises(InvalidArgumentError, match=r"^--covenants: covenants\[0\].max_hours"):
        with_covenants({}, {**EXAMPLE, "covenants": [{"code": "stoppage", "max_hours": 0}]},
                       lambda f: "--" + f)


def test_event_keys_fit_a_webhook_event_key_whatever_the_machine_name():
    short = event_key(CHAIN, REGISTRY, 7, "output_floor/2026-W43", "open")
    assert short == f"warning/{CHAIN}/{REGISTRY}/7/output_floor/2026-W43/open"
    long = event_key(CHAIN, REGISTRY, 7, "stoppage/" + "m" * 300 + "/12", "open")
    assert len(long) == 8 + 64 and long != event_key(CHAIN, REGISTRY, 7, "stoppage/" + "m" * 300 + "/12", "resolved")


def test_the_webhooks_get_each_warning_once_for_the_holder_and_the_factory(ctx):
    from ledger.service.webhooks import Webhooks

    hooks = Webhooks(ctx)
    acme = ctx.parties.create("acme", "factory", "0x" + "11" * 20)
    bank = ctx.parties.create("bank-a", "lender", "0x" + "22" * 20)
    other = ctx.parties.create("bank-b", "lender", "0x" + "44" * 20)
    for p in (acme, bank, other):
        hooks.register(p, "https://93.184.216.34/hook")  # a public address: the SSRF guard lets it be
    records = weeks(rate=lambda day: 5 if 14 <= day < 21 else 10)
    log = Log(ctx, records)
    log.grow(split(records, 21) + 1)
    monitor = Monitor(ctx, on_event=webhook_hook(ctx))
    for _ in range(2):  # judged and told twice: delivered once
        judge(ctx, log.watched(parties=(acme.id, bank.id)), monitor=monitor)
        monitor.notify(CHAIN, REGISTRY, {7: (acme.id, bank.id)})
    for p in (acme, bank):
        [d] = hooks.deliveries(p)
        assert d.event_type == RAISED and d.event_key.endswith("/7/output_floor/2026-W43/open")
    assert hooks.deliveries(other) == []


def test_a_pledge_gets_the_covenants_of_the_consent_it_was_issued_from_and_only_if_their_digest_holds(ctx):
    from ledger.assets import asset_digest
    from ledger.pledge.service import Pledges

    factory_address, lender = "0x" + "11" * 20, "0x" + "22" * 20
    acme = ctx.parties.create("acme", "factory", factory_address)
    manifest = {"format": "dpl-asset/2", "profile": {"range": {"from": 0, "to": 5}}}
    pledges = Pledges(ctx)

    def keep(nonce, **change):
        doc = with_covenants({"factory": factory_address, "nonce": str(nonce), "terms": {"lender": lender},
                              "manifest": manifest}, COVENANTS)
        pledges.keep_consent(acme, {**doc, **change})

    def pledge(nonce, **change):
        return {"factory": factory_address, "nonce": str(nonce), "lender": lender,
                "asset_digest": asset_digest(manifest), **change}

    keep(1)
    keep(2, covenants={**COVENANTS, "covenants": COVENANTS["covenants"][:1]})  # not the set its digest names
    keep(3, terms={"lender": "0x" + "33" * 20})
    assert pledges.covenants_of(pledge(1)) == (COVENANTS, manifest["profile"])
    assert pledges.covenants_of(pledge(2)) is None
    assert pledges.covenants_of(pledge(3)) is None  # the consent named another lender
    assert pledges.covenants_of(pledge(1, asset_digest=b"\x00" * 32)) is None
    assert pledges.covenants_of(pledge(4)) is None  # no consent kept with that nonce


def test_many_warnings_of_one_evaluation_are_kept_in_batches_in_order_and_once(ctx):
    from ledger.covenants import CovenantWarning

    store = WarningStore(ctx.store.engine, CHAIN, REGISTRY)
    many = [CovenantWarning(f"stoppage/m{i:03d}/range", "stoppage", (10, 20 + i), None, (500, "0x" + "cd" * 32),
                            str(40_000 + i), "28800", f"machine m{i:03d} was silent") for i in range(123)]
    assert store.record_evaluation(7, 500, many, []).raised == [w.key for w in many]
    assert store.record_evaluation(7, 500, list(reversed(many)), []).raised == []
    kept = store.list(token_ids=[7])
    assert len(kept) == 123 and {w.key: w.window for w in kept}["stoppage/m122/range"] == (10, 142)


def test_a_10_hour_silence_of_one_machine_raises_stoppage_once_and_it_resolves_when_it_reports_again(ctx):
    stoppage = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [{"code": "stoppage", "max_hours": 8}]}
    silent_from = 15 * 24 + 6  # m1 sends nothing from day 15, 06:00 for 10 hours
    records = weeks(days=17, silence=("m1", silent_from, 10))
    log = Log(ctx, records, covenants=stoppage)
    during = next(i for i, r in enumerate(records) if r["ts"] >= "2026-10-20T15:00")  # day 15, 15:00 (+08:00)
    log.grow(during)  # m1 silent since its 05:00 reading; the newest record (m2) at 14:30: 9.5 hours
    [(token, key)] = judge(ctx, log.watched()).raised
    assert token == 7 and key.startswith("stoppage/m1/")
    w = stored(ctx)[key]
    assert w.state == "open" and w.value == str(95 * 360) and w.threshold == str(8 * 3600)
    assert judge(ctx, log.watched()).raised == []
    log.grow(len(records))  # m1 reports again from 16:00: the same silence, ended, resolved
    report = judge(ctx, log.watched())
    assert report.raised == [] and report.resolved == [(7, key)]
    assert stored(ctx)[key].evidence["machine"] == "m1"
