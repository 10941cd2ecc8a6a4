"""Pledge liens under random operation sequences, against a Python model (hypothesis).

Two logs, ranges in [0, 40), two approved lenders and one that is not. The machine issues
(with the issueHint hint, hint 0 or a random id), transfers, releases, declares default,
extends and travels in time; the model predicts, for every operation, success or the exact
custom error, and after every step the chain must agree with it:

* pledges that hold a lien (per the contract's pledgeStatus: live and not lapsed, or
  defaulted) never overlap on a log;
* liensOf(log) is the model's lien holders, sorted by range start;
* pledgeStatus is the model's, and so is issueHint wherever an issue asks it.

A predicted revert is checked with a call at the next block (the time and number a
transaction would have), a predicted success is sent as a transaction. The invariant reads
the chain only after a step that mined a block (a step of reverts changes nothing).
Run with ``--hypothesis-seed=N`` to replay a run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from eth_tester.exceptions import TransactionFailed
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger import merkle
from ledger.chain.client import PLEDGE_TERMS_FIELDS
from tests.contracts.evm import (
    checkpoint_message,
    decode_error,
    emitted,
    next_timestamp,
    pledge_consent_message,
    pledge_extension_message,
    raw_call,
    revert_data,
    sign,
    travel_to,
)

LIVE, RELEASED, DEFAULTED, LAPSED = 1, 2, 3, 4
SIZE = 40  # the checkpoint both logs anchor; ranges are drawn in [0, SIZE)
LEAVES = [merkle.leaf_hash(f"record/{i}".encode()) for i in range(SIZE)]
UINT64_MAX = 2**64 - 1
GAS = 3_000_000
BOUND = 2000  # the factory lets the holder extend a lien by this many seconds without asking

pytestmark = pytest.mark.usefixtures("fresh_state")


# ------------------------------------------------------------------------------- world


@dataclass
class World:
    w3: object
    registry: object
    factory: object
    lenders: list  # [A, B] approved, [C] not
    stranger: object
    logs: list[bytes]


@pytest.fixture(scope="module")
def world(chain) -> World:
    admin, factory, a, b, c, stranger = chain.accounts[:6]
    registry = chain.deploy("DataPledgeRegistry", sender=admin)
    role = registry.functions.LENDER_ROLE().call()
    for lender in (a, b):
        chain.transact(registry.functions.grantRole(role, lender.address), admin)
    root = merkle.root(LEAVES)
    logs = []
    for stream in ("line-a", "line-b"):
        chain.transact(registry.functions.registerLog(factory.address, stream, b""), factory)
        log = registry.functions.logIdOf(factory.address, stream).call()
        signature = sign(factory, checkpoint_message(registry, log, SIZE, root))
        chain.transact(registry.functions.anchor(log, SIZE, root, [], signature), factory)
        logs.append(log)
    travel_to(chain.w3, next_timestamp(chain.w3) + 30 * 86400)  # leave the wall clock behind
    return World(chain.w3, registry, factory, [a, b, c], stranger, logs)


# ------------------------------------------------------------------------------- model


@dataclass
class Pledge:
    token: int
    log: int  # index into World.logs
    start: int
    end: int
    maturity: int
    lien_end: int
    max_lien_end: int
    holder: str | None  # None once burned
    stored: int = LIVE  # LIVE, RELEASED or DEFAULTED, as the contract stores it
    linked: bool = True  # in its log's lien list

    def status(self, now: int) -> int:
        if self.stored == LIVE and now >= self.lien_end:
            return LAPSED
        return self.stored

    def holds_lien(self, now: int) -> bool:
        return self.status(now) in (LIVE, DEFAULTED)

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


@dataclass
class Model:
    factory: str
    approved: set[str]
    pledges: dict[int, Pledge] = field(default_factory=dict)
    used_nonces: set[int] = field(default_factory=set)

    def linked(self, log: int) -> list[Pledge]:
        """The pledges in the log's lien list (an implementation detail issueHint shows)."""
        return sorted((p for p in self.pledges.values() if p.log == log and p.linked), key=lambda p: p.start)

    def liens(self, log: int, now: int) -> list[Pledge]:
        """The pledges that hold a lien on the log (whether listed or not), by range start."""
        return sorted((p for p in self.pledges.values() if p.log == log and p.holds_lien(now)), key=lambda p: p.start)

    def hint(self, log: int, start: int) -> int:
        """What issueHint returns: the last listed pledge ending at or before ``start``."""
        previous = 0
        for p in self.linked(log):
            if p.end > start:
                break
            previous = p.token
        return previous

    def issue_error(self, now, sender, lender, log, start, end, maturity, lien_end, max_lien_end, nonce, deadline,
                    hint):
        """The error ``issue`` must revert with, as (name, args), or None."""
        if now > deadline:
            return "PledgeConsentExpired", (deadline,)
        if sender != lender:
            return "PledgeWrongLender", (sender, lender)
        if lender not in self.approved:
            return "PledgeLenderNotApproved", (lender,)
        if nonce in self.used_nonces:
            return "PledgeConsentReplayed", (self.factory, nonce)
        if not (start < end <= SIZE):
            return "PledgeInvalidRange", (start, end, SIZE)
        if lien_end <= now:
            return "PledgeInvalidTerms", ("lienEnd has passed",)
        if maturity >= lien_end:
            return "PledgeInvalidTerms", ("maturity must be before lienEnd",)
        if max_lien_end < lien_end:
            return "PledgeInvalidTerms", ("maxLienEnd must not be before lienEnd",)
        if hint != 0:
            before = self.pledges.get(hint)
            if hint > UINT64_MAX or before is None or not before.linked or before.log != log or before.end > start:
                return "PledgeInvalidHint", (hint,)
        for p in self.liens(log, now):
            if p.overlaps(start, end):
                return "PledgeRangeOverlaps", (p.token,)  # the first in the list
        return None

    def holder_error(self, token: int, sender: str):
        """``_requireHolder``'s error, or None."""
        p = self.pledges.get(token)
        if p is None:
            return "PledgeUnknown", (token,)
        if p.holder is None:
            return "PledgeWrongStatus", (token, p.stored)
        if p.holder != sender:
            return "PledgeNotHolder", (token, sender)
        return None


# ----------------------------------------------------------------------------- machine


def pick(options, index: int):
    return options[index % len(options)]


class PledgeMachine(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self):
        super().__init__()
        world = self.world
        self.w3, self.registry, self.factory = world.w3, world.registry, world.factory
        self.snapshot = self.w3.testing.snapshot()
        self.model = Model(self.factory.address, {a.address for a in world.lenders[:2]})
        self.nonces = itertools.count(1)
        self.seen: dict[int, int] = {}  # last status the chain reported for each pledge
        self.checked_block = -1  # the latest block when the invariant last ran
        self.accounts = [*world.lenders, world.stranger]

    def teardown(self):
        self.w3.testing.revert(self.snapshot)

    # --- chain plumbing -----------------------------------------------------------------

    def now(self) -> int:
        """block.timestamp of the next transaction (and of calls at "pending")."""
        return next_timestamp(self.w3)

    def view(self, fn):
        """``fn`` called at the latest block (whose timestamp is a second before ``now()``)."""
        return raw_call(fn, self.factory.address)

    def attempt(self, fn, sender: str, expected_error):
        """Check ``fn`` from ``sender`` against the model: a predicted error (name, args) must
        be exactly the revert of a call at the next block (same time and number as a
        transaction); a predicted success (None) is sent as a transaction, which must succeed.
        Returns the receipt, or None after a revert."""
        if expected_error is not None:
            try:
                raw_call(fn, sender, "pending")
            except TransactionFailed as exc:
                got = decode_error(self.registry.abi, revert_data(exc))
                event(f"{fn.fn_name}: {got[0]}")  # shown by pytest --hypothesis-show-statistics
                assert got == expected_error, f"{fn.fn_name} reverted with {got}, the model expected {expected_error}"
                return None
            raise AssertionError(f"{fn.fn_name} succeeded, the model expected {expected_error}")
        event(f"{fn.fn_name}: ok")
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": GAS}))
        if receipt.status != 1:
            try:  # the transaction changed nothing: the same call tells why
                raw_call(fn, sender)
            except TransactionFailed as exc:
                raise AssertionError(f"{fn.fn_name} reverted with "
                                     f"{decode_error(self.registry.abi, revert_data(exc))}, the model expected success")
            raise AssertionError(f"{fn.fn_name} failed, the model expected success")
        return receipt

    def pledge_ids(self) -> list[int]:
        return sorted(self.model.pledges)

    def token(self, index: int, unknown: bool) -> int:
        """An issued token, or (``unknown``) the next id, not yet issued."""
        if unknown or not self.model.pledges:
            return len(self.model.pledges) + 1
        return pick(self.pledge_ids(), index)

    def sender(self, p: Pledge | None, who: int) -> str:
        """The holder (who 0-3), or another account."""
        if p is not None and p.holder is not None and who < 4:
            return p.holder
        others = [a.address for a in self.accounts if p is None or a.address != p.holder]
        return pick(others, who)

    # --- rules --------------------------------------------------------------------------

    # Issue: well-formed terms three times in four (so pledges pile up and overlap), else one fault.
    FAULTS = ["expired", "wrong sender", "unapproved lender", "replayed nonce", "empty range",
              "past the checkpoint", "lien end passed", "matures at lien end", "bound before lien end"]
    ISSUE_ARGS = dict(log=st.integers(0, 1), start=st.integers(0, SIZE - 1), length=st.integers(1, 12),
                      lender=st.integers(0, 1), lien=st.sampled_from([1, 2, 300, 1000, 2500, 5000]),
                      gap=st.sampled_from([1, 500, 1500, 3000, 6000]),
                      fault=st.integers(0, 3).flatmap(lambda n: st.sampled_from(PledgeMachine.FAULTS) if n == 3
                                                      else st.none()))

    @initialize(ranges=st.lists(st.tuples(st.integers(0, 1), st.integers(0, SIZE - 1), st.integers(1, 12),
                                          st.sampled_from([1500, 6000])), max_size=4))
    def some_pledges(self, ranges):
        """A few pledges to start from (a gap of 6000 s: matured already)."""
        for log, start, length, gap in ranges:
            self.issue(log, start, length, lender=start % 2, lien=5000, gap=gap, fault=None, hint=0)

    @rule(**ISSUE_ARGS)
    def issue_with_the_hint(self, log, start, length, lender, lien, gap, fault):
        (hint,) = self.view(self.registry.functions.issueHint(self.world.logs[log], start))
        assert hint == self.model.hint(log, start)
        self.issue(log, start, length, lender, lien, gap, fault, hint)

    @rule(**ISSUE_ARGS, hint=st.sampled_from([0, "stale", "unlisted", "any", 2**64]), index=st.integers(0, 100))
    def issue_with_another_hint(self, log, start, length, lender, lien, gap, fault, hint, index):
        """Hint 0, an earlier listed pledge (stale but valid), an earlier pledge no longer
        listed (released or lapsed and unlinked: invalid), any pledge (mostly invalid), or > uint64."""
        if hint == "stale":
            earlier = [p.token for p in self.model.linked(log) if p.end <= start]
            hint = pick(earlier, index) if earlier else 0
        elif hint == "unlisted":  # and the range starts after it; lapsed ones first, then released
            unlisted = sorted((p for p in self.model.pledges.values() if p.log == log and not p.linked
                               and p.end < SIZE), key=lambda p: p.stored == RELEASED)
            if unlisted:
                p = pick(unlisted[:1] if unlisted[0].stored != RELEASED else unlisted, index)
                hint, start = p.token, min(p.end + start % 4, SIZE - 1)
            else:
                hint = 0
        elif hint == "any":
            hint = self.token(index, False) if self.model.pledges else 1
        self.issue(log, start, length, lender, lien, gap, fault, hint)

    def issue(self, log, start, length, lender, lien, gap, fault, hint):
        now = self.now()
        end = min(start + length, SIZE)
        lender = self.world.lenders[lender].address
        sender = lender
        lien_end, deadline = now + lien, now + 600
        max_lien_end = lien_end - 1 if fault == "bound before lien end" else lien_end + BOUND
        nonce = next(self.nonces)
        if fault == "expired":
            deadline = now - 1
        elif fault == "wrong sender":
            sender = pick([a.address for a in self.accounts if a.address != lender], start)
        elif fault == "unapproved lender":
            lender = sender = self.world.lenders[2].address
        elif fault == "replayed nonce" and self.model.used_nonces:
            nonce = pick(sorted(self.model.used_nonces), start)
        elif fault == "empty range":
            end = start
        elif fault == "past the checkpoint":
            end = SIZE + length
        elif fault == "lien end passed":
            lien_end = now - (lien % 2)  # now or just before
        maturity = lien_end if fault == "matures at lien end" else lien_end - gap

        terms, fn = self.consented_issue(log, start, end, lender, maturity, lien_end, max_lien_end, nonce, deadline,
                                         hint)
        error = self.model.issue_error(now, sender, lender, log, start, end, maturity, lien_end, max_lien_end, nonce,
                                       deadline, hint)
        receipt = self.attempt(fn, sender, error)
        if receipt is None:
            return
        token = len(self.model.pledges) + 1
        issued = [args for name, args in emitted(self.registry, receipt) if name == "PledgeIssued"]
        assert issued == [{"tokenId": token, "logId": terms["logId"], "lender": lender,
                           "factory": self.factory.address, "terms": terms, "nonce": nonce}]
        unlinked = [p for p in self.model.linked(log) if p.overlaps(start, end)]
        for p in unlinked:  # lapsed (else the issue failed): unlinked on the way
            assert not p.holds_lien(now)
            p.linked = False
            event("issue: unlinked a lapsed pledge")
        self.model.pledges[token] = Pledge(token, log, start, end, maturity, lien_end, max_lien_end, lender)
        self.model.used_nonces.add(nonce)
        for p in unlinked:
            self.check_unlisted(p)

    def consented_issue(self, log, start, end, lender, maturity, lien_end, max_lien_end, nonce, deadline, hint):
        """The terms and the bound ``issue`` call, with the factory's signature."""
        terms = {
            "logId": self.world.logs[log], "start": start, "end": end, "checkpointSize": SIZE,
            "assetDigest": b"\x5a" * 32, "principal": 1000, "currency": b"CNY",
            "maturity": maturity, "lienEnd": lien_end, "maxLienEnd": max_lien_end, "samples": 4,
            "loanRefDigest": b"\x17" * 32, "lender": lender, "covenantsDigest": b"\x00" * 32,
        }
        signature = sign(self.factory, pledge_consent_message(self.registry, terms, nonce, deadline))
        fn = self.registry.functions.issue(tuple(terms[f["name"]] for f in PLEDGE_TERMS_FIELDS),
                                           nonce, deadline, signature, hint)
        return terms, fn

    def check_unlisted(self, p: Pledge):
        """A pledge out of the lien list is no hint any more, even for a range right after it."""
        if p.end < SIZE:
            now, lender = self.now(), self.world.lenders[0].address
            _, fn = self.consented_issue(p.log, p.end, p.end + 1, lender, now, now + 100, now + 100,
                                         next(self.nonces), now + 100, p.token)
            self.attempt(fn, lender, ("PledgeInvalidHint", (p.token,)))

    @precondition(lambda self: self.model.pledges)
    @rule(index=st.integers(0, 100), to=st.integers(0, 2), who=st.integers(0, 5), safe=st.booleans())
    def transfer(self, index, to, who, safe):
        token = self.token(index, False)
        p = self.model.pledges[token]
        sender = self.sender(p, who)
        to = self.world.lenders[to].address
        owner = p.holder or sender
        if p.holder is None:
            error = ("ERC721NonexistentToken", (token,))
        elif sender != p.holder:
            error = ("ERC721InsufficientApproval", (sender, token))
        elif to not in self.model.approved:
            error = ("PledgeLenderNotApproved", (to,))
        else:
            error = None
        fn = (self.registry.get_function_by_signature("safeTransferFrom(address,address,uint256)")(owner, to, token)
              if safe else self.registry.functions.transferFrom(owner, to, token))
        if self.attempt(fn, sender, error) is not None:
            p.holder = to
            assert self.view(self.registry.functions.ownerOf(token)) == (to,)

    @precondition(lambda self: self.model.pledges)
    @rule(index=st.integers(0, 100), who=st.integers(0, 5), unknown=st.integers(0, 19))
    def release(self, index, who, unknown):
        token = self.token(index, unknown == 0)
        self.release_as(token, self.sender(self.model.pledges.get(token), who))

    @precondition(lambda self: self.model.pledges)
    @rule(index=st.integers(0, 100), who=st.integers(0, 5), unknown=st.integers(0, 19))
    def declare_default(self, index, who, unknown):
        token = self.token(index, unknown == 0)
        self.declare_default_as(token, self.sender(self.model.pledges.get(token), who))

    @precondition(lambda self: self.model.pledges)
    @rule(index=st.integers(0, 100), who=st.integers(0, 5), unknown=st.integers(0, 19),
          delta=st.sampled_from([-1, 0, 1, 500, 3000]))
    def extend(self, index, who, unknown, delta):
        token = self.token(index, unknown == 0)
        p = self.model.pledges.get(token)
        self.extend_as(token, self.sender(p, who), max((p.lien_end if p else self.now()) + delta, 0))

    @precondition(lambda self: self.model.pledges)
    @rule(index=st.integers(0, 100), who=st.integers(0, 5), unknown=st.integers(0, 19),
          delta=st.sampled_from([0, 1, 3000, 10**6]), replay=st.integers(0, 3), late=st.integers(0, 5))
    def extend_with_consent(self, index, who, unknown, delta, replay, late):
        """Past the bound with the factory's signed extension (its nonce from the consents' set)."""
        token = self.token(index, unknown == 0)
        p = self.model.pledges.get(token)
        sender = self.sender(p, who)
        now = self.now()
        new = max((p.lien_end if p else now) + delta, 0)
        used = self.model.used_nonces
        nonce = pick(sorted(used), index) if replay == 0 and used else next(self.nonces)
        deadline = now - 1 if late == 0 else now + 600
        error = ("PledgeConsentExpired", (deadline,)) if now > deadline else self.holder_check(token, sender, now)
        if error is None and new <= p.lien_end:
            error = ("PledgeInvalidLienEnd", (p.lien_end, new))
        if error is None and nonce in used:
            error = ("PledgeConsentReplayed", (self.factory.address, nonce))
        signature = sign(self.factory, pledge_extension_message(self.registry, token, new, nonce, deadline))
        fn = self.registry.functions.extendWithConsent(token, new, nonce, deadline, signature)
        if self.attempt(fn, sender, error) is not None:
            p.lien_end, p.max_lien_end = new, max(p.max_lien_end, new)
            used.add(nonce)
            self.seen.pop(token, None)
            self.check_lien_ends(p)

    @rule(seconds=st.sampled_from([1, 2, 100, 700, 2000, 4000]))
    def wait(self, seconds):
        travel_to(self.w3, self.now() + seconds)

    @precondition(lambda self: self.model.pledges)
    @rule(index=st.integers(0, 100), lien_end=st.booleans(), before=st.booleans(),
          then=st.sampled_from(["default", "extend", "release", "overlap"]))
    def at_a_deadline(self, index, lien_end, before, then):
        """At a pledge's maturity or lien end, where its status and lien change: act on it in
        that very second, and (``before``) in the second before too (its holder defaults,
        extends or releases it, or a lender pledges its range again)."""
        now = self.now()
        ahead = [p for p in self.model.pledges.values() if (p.lien_end if lien_end else p.maturity) > now]
        p = pick(ahead or list(self.model.pledges.values()), index)  # one whose deadline is ahead, if any
        deadline = p.lien_end if lien_end else p.maturity
        for moment in (deadline - 1, deadline) if before else (deadline,):
            if moment > self.now():
                travel_to(self.w3, moment)
            sender = self.sender(p, 0)
            if then == "default":
                self.declare_default_as(p.token, sender)
            elif then == "extend":
                self.extend_as(p.token, sender, p.lien_end + 100)
            elif then == "release":
                self.release_as(p.token, sender)
            else:
                (hint,) = self.view(self.registry.functions.issueHint(self.world.logs[p.log], p.start))
                self.issue(p.log, p.start, p.end - p.start, 1, 1000, 1, None, hint)

    # --- holder actions -------------------------------------------------------------------

    def holder_check(self, token: int, sender: str, now: int):
        """The error of ``_requireHolder`` then of the live-status check, or None."""
        error = self.model.holder_error(token, sender)
        if error is None:
            status = self.model.pledges[token].status(now)
            if status != LIVE:
                return "PledgeWrongStatus", (token, status)
        return error

    def release_as(self, token: int, sender: str):
        p = self.model.pledges.get(token)
        error = self.model.holder_error(token, sender)  # any status will do
        if self.attempt(self.registry.functions.release(token), sender, error) is not None:
            p.stored, p.holder, p.linked = RELEASED, None, False
            self.seen.pop(token, None)

    def declare_default_as(self, token: int, sender: str):
        p = self.model.pledges.get(token)
        now = self.now()
        error = self.holder_check(token, sender, now)
        if error is None and now < p.maturity:
            error = ("PledgeNotMatured", (token, p.maturity))
        if self.attempt(self.registry.functions.declareDefault(token), sender, error) is not None:
            p.stored = DEFAULTED
            self.seen.pop(token, None)

    def extend_as(self, token: int, sender: str, new_lien_end: int):
        p = self.model.pledges.get(token)
        error = self.holder_check(token, sender, self.now())
        if error is None and new_lien_end <= p.lien_end:
            error = ("PledgeInvalidLienEnd", (p.lien_end, new_lien_end))
        if error is None and new_lien_end > p.max_lien_end:  # the factory's bound (no signature here)
            error = ("PledgeExtensionNotConsented", (token, p.max_lien_end, new_lien_end))
        if self.attempt(self.registry.functions.extend(token, new_lien_end), sender, error) is not None:
            p.lien_end = new_lien_end
            self.seen.pop(token, None)
            self.check_lien_ends(p)

    def check_lien_ends(self, p: Pledge):
        """The chain's lienEnd and maxLienEnd of ``p`` are the model's."""
        terms = self.view(self.registry.functions.pledge(p.token))[0]
        assert (terms[8], terms[9]) == (p.lien_end, p.max_lien_end)

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def chain_agrees_with_the_model(self):
        latest = self.w3.eth.get_block("latest")
        if latest["number"] == self.checked_block:
            return  # no block since the last check (the step only had reverts): nothing changed
        self.checked_block, now = latest["number"], latest["timestamp"]
        status = self.registry.functions.pledgeStatus
        for token, p in self.model.pledges.items():
            # A status the chain reported that time cannot change (released, defaulted, lapsed)
            # is not asked again until an operation on that pledge.
            if self.seen.get(token) in (None, LIVE):
                (self.seen[token],) = self.view(status(token))
            assert self.seen[token] == p.status(now), f"pledge {token}: chain {self.seen[token]}, model {p.status(now)}"
        for log, log_id in enumerate(self.world.logs):
            holders = sorted((p for p in self.model.pledges.values()
                              if p.log == log and self.seen[p.token] in (LIVE, DEFAULTED)), key=lambda p: p.start)
            if any(p.stored == DEFAULTED and p.lien_end <= now for p in holders):
                event("a defaulted pledge holds its lien past its lien end")
            for a, b in zip(holders, holders[1:]):
                assert a.end <= b.start, f"pledges {a.token} and {b.token} both hold a lien on log {log}"
            (liens,) = self.view(self.registry.functions.liensOf(log_id))
            assert list(liens) == [p.token for p in self.model.liens(log, now)] == [p.token for p in holders]


def test_liens_never_overlap_and_every_operation_matches_the_model(world):
    PledgeMachine.world = world
    run_state_machine_as_test(PledgeMachine, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
