"""Warnings raised by the monitor's evaluation on synthetic weeks of known figures, disclosures of
their windows, and alterations of both: the corpus of ``tests/ledger/test_covenant_evidence.py``,
also run through ``verify/covenant_evidence.js`` by ``tests/web/test_js_verifier.py``."""

from __future__ import annotations

import copy
import hashlib
from functools import lru_cache

import orjson

from ledger import merkle
from ledger.covenants import COVENANTS_FORMAT, evaluate
from ledger.disclosure import disclosure_chunks
from ledger.profile import build_profile
from ledger.records import prepare_record
from tests.ledger.test_covenants import factory, split

LOG_ID = bytes(range(32))
STREAM = "line/a"
ANCHOR = {"chain_id": 31337, "registry": "0x" + "ab" * 20, "tx_hash": "0x" + "cd" * 32, "block_number": 9}
COVENANTS = {"format": COVENANTS_FORMAT, "tz": "+08:00", "covenants": [
    {"code": "anchoring_cadence", "max_hours": 48},
    {"code": "output_floor", "min_percent": 70},
    {"code": "stoppage", "max_hours": 8},
    {"code": "scrap_ceiling", "max_ratio": "0.050000"}]}


class Log:
    """A log of ``records`` with deterministic salts: its leaves, root, and disclosures."""

    def __init__(self, records: list[dict], seed: str):
        self.records = records
        self.salts = [hashlib.sha256(f"salt/{seed}/{i}".encode()).digest() for i in range(len(records))]
        self.canon = [prepare_record(r, i).canonical for i, r in enumerate(records)]
        self.leaves = [merkle.leaf_hash(s + c) for s, c in zip(self.salts, self.canon)]
        self.root = merkle.root(self.leaves)

    def disclosure(self, start: int, end: int, size: int | None = None) -> dict:
        size = len(self.records) if size is None else size
        leaves = self.leaves[:size]
        left, right = merkle.range_proof(leaves, start, end)
        text = b"".join(disclosure_chunks(
            log_id=LOG_ID, stream=STREAM, start=start, end=end, size=size, root=merkle.root(leaves),
            anchor=ANCHOR, left=left, right=right,
            entries=((i, self.salts[i], self.canon[i]) for i in range(start, end))))
        return orjson.loads(text)

    def profile(self, end: int) -> dict:
        return build_profile(enumerate(self.records[:end]), log_id=LOG_ID, stream=STREAM, start=0, end=end,
                             checkpoint_size=end, checkpoint_root=merkle.root(self.leaves[:end]), tz="+08:00")

    def warnings(self, end: int, size: int | None = None) -> list[dict]:
        """The monitor's warnings (DESIGN.md §9's JSON plus ``key``) at checkpoint ``size``."""
        size = len(self.records) if size is None else size
        root = "0x" + merkle.root(self.leaves[:size]).hex()
        ev = evaluate(COVENANTS, pledged_profile=self.profile(end),
                      records_after=[(i, self.records[i]) for i in range(end, size)],
                      checkpoint={"size": size, "root": root, "anchored_at": 1_000_000}, chain_now=2_000_000)
        return [{**w.with_token(7).as_json(), "key": w.key} for w in ev.warnings]


@lru_cache(maxsize=None)
def drop_log() -> tuple[Log, int]:
    """Weeks W41, W42 pledged; W43 normal, W44 at half rate (a 50 % output drop), W45 normal,
    W46's Monday closes W45."""
    records = factory(36, rate=lambda day: 5 if 21 <= day < 28 else 10)
    return Log(records, "drop"), split(records, 14)


@lru_cache(maxsize=None)
def silence_log() -> tuple[Log, int]:
    """m2 silent 10 hours on day 16 (11 hours between its readings)."""
    records = factory(22, silence=("m2", 16 * 24 + 3, 10))
    return Log(records, "silence"), split(records, 14)


def _flip(h: str) -> str:
    return h[:-1] + ("0" if h[-1] != "0" else "1")


def cases() -> list[tuple[str, dict, object, dict, dict]]:
    """(name, warning, disclosure, covenants, pledged profile): good and altered."""
    log, end = drop_log()
    profile = log.profile(end)
    found = log.warnings(end)
    by_code = {w["code"]: w for w in found}
    drop = by_code["output_floor"]
    cadence = by_code["anchoring_cadence"]
    f, t = drop["window"]["from"], drop["window"]["to"]
    good = log.disclosure(f, t + 1)
    out = [("output floor stands", drop, good, COVENANTS, profile),
           ("output floor, a wider disclosure", drop, log.disclosure(f - 5, t + 30), COVENANTS, profile),
           ("output floor, window only (week not shown closed)", drop, log.disclosure(f, t), COVENANTS, profile),
           ("output floor, part of the window", drop, log.disclosure(f + 1, t + 1), COVENANTS, profile),
           ("output floor, another range", drop, log.disclosure(t + 1, t + 200), COVENANTS, profile),
           ("anchoring cadence", cadence, good, COVENANTS, profile)]

    tampered = copy.deepcopy(good)
    tampered["records"][3]["record"]["data"]["qty_good"] = 9999 if "qty_good" in tampered["records"][3]["record"]["data"] \
        else tampered["records"][3]["record"]["data"].get("parts_total", 0) + 1
    out.append(("tampered record", drop, tampered, COVENANTS, profile))
    for name, change in (("forged value", {"value": "100.000000"}), ("forged threshold", {"threshold": "300.000000"}),
                         ("forged message", {"message": drop["message"].replace("240", "120")}),
                         ("forged window", {"window": {"from": f, "to": t - 1}}),
                         ("another week", {"week": "2026-W43", "key": "output_floor/2026-W43"}),
                         ("another root", {"checkpoint": {"size": drop["checkpoint"]["size"],
                                                          "root": _flip(drop["checkpoint"]["root"])}}),
                         ("a code not in the set", {"code": "customer_concentration",
                                                    "key": "customer_concentration/2026-W44"}),
                         ("not a warning", {"window": {"from": 5}})):
        out.append((name, {**drop, **change}, good, COVENANTS, profile))
    w46 = split(log.records, 35)
    out.append(("a met week called a warning", {**drop, "week": "2026-W45", "key": "output_floor/2026-W45",
                                                "window": {"from": t, "to": w46}},
                log.disclosure(t, w46 + 1), COVENANTS, profile))
    other = copy.deepcopy(good)
    other["stream"] = "line/b"
    out.append(("disclosure of another log", drop, other, COVENANTS, profile))
    # at an earlier checkpoint than the warning's (W45 closed at the later one only)
    out.append(("an earlier checkpoint", drop, log.disclosure(f, t + 1, size=t + 1), COVENANTS, profile))
    # at a later checkpoint: the warning was raised when the log held 30 days, the disclosure is of 36
    early = next(w for w in log.warnings(end, size=split(log.records, 30)) if w["code"] == "output_floor")
    out.append(("a later checkpoint", early, good, COVENANTS, profile))

    slog, send = silence_log()
    sprofile = slog.profile(send)
    stop = next(w for w in slog.warnings(send) if w["code"] == "stoppage")
    sf, st = stop["window"]["from"], stop["window"]["to"]
    out += [("stoppage stands", stop, slog.disclosure(sf, st), COVENANTS, sprofile),
            ("stoppage, forged length", {**stop, "value": str(int(stop["value"]) + 3600)},
             slog.disclosure(sf, st), COVENANTS, sprofile),
            ("stoppage, another machine", {**stop, "key": stop["key"].replace("/m2/", "/m1/")},
             slog.disclosure(sf, st), COVENANTS, sprofile),
            ("stoppage without key", {k: v for k, v in stop.items() if k != "key"},
             slog.disclosure(sf, st), COVENANTS, sprofile)]
    for name, records in (("stoppage going on", factory(22, silence=("m1", 20 * 24, 48))),
                          ("stoppage from the range", factory(17, silence=("m2", 14 * 24, 72)))):
        other, oend = Log(records, name), split(records, 14)
        warning = next(w for w in other.warnings(oend) if w["code"] == "stoppage")
        wf, wt = warning["window"]["from"], warning["window"]["to"]
        out.append((name, warning, other.disclosure(wf, wt), COVENANTS, other.profile(oend)))
    scrap = Log(factory(22, scrap=24), "scrap")  # 24 of 240 units a day: 0.100000 > 0.050000
    send = split(scrap.records, 14)
    warning = next(w for w in scrap.warnings(send) if w["code"] == "scrap_ceiling")
    wf, wt = warning["window"]["from"], warning["window"]["to"]
    out += [("scrap ceiling stands", warning, scrap.disclosure(wf, wt + 1), COVENANTS, scrap.profile(send)),
            ("scrap ceiling, forged value", {**warning, "value": "0.200000"}, scrap.disclosure(wf, wt + 1), COVENANTS,
             scrap.profile(send))]
    return out
