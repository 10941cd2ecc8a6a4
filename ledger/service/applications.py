"""Loan applications (``dpl-application/1``, docs/APPLICATIONS.md): one home for ``dpl apply``,
``dpl applications …`` and the API's application routes.

- ``apply``: a factory applies to a lender; the grant the application carries is created with
  ``Grants.create`` (its rules) and linked;
- ``list`` / ``get``: a factory sees its applications, a lender its inbox, an auditor all; each
  with its steps (``events``: when, who, which move, the state reached, the step's document);
- ``review`` / ``decide``: the lender marks an application under review, then approves it with
  proposed terms, asks for more data (a wider grant) or declines it with a reason code;
- ``more_data``: the factory answers a request for more data with a new grant (linked; the
  application is submitted again); ``withdraw``: the factory withdraws (its grants revoked);
- ``draft``: the consent draft of the approved terms, for the factory to review and sign with
  the existing consent flow (``POST /v1/pledges/consents``); ``consent``: the factory links the
  consent it gave (checked against the approved terms);
- ``profile``: the production profile of a range offered as collateral, for the lender to review
  with the granted records (``GET /v1/grants/{id}/records``), if the factory offered it.

An application moves to ``pledged`` on its own, when read (``list``/``get``), once the pledge
issued from its consent exists: issued through the service (``POST /v1/pledges {consent_id}``,
which records the token with the consent), or from the lender's own wallet (found in the pledge
mirror by the consent's log, range, asset digest and loan reference digest).

Who may move what from where is ``ledger.applications.MOVES``; a party that may not see an
application gets ``NotFoundError`` (404, as if absent), a role that never makes a move
``ForbiddenError`` (403), a move not allowed from the current state ``ConflictError`` (409).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import orjson

from ledger import applications as rules
from ledger.canonical import canonicalize
from ledger.errors import ConflictError, ForbiddenError, InvalidArgumentError, NotFoundError

__all__ = ["ApplicationView", "Applications"]


@dataclass(frozen=True)
class ApplicationView:
    """An application as its parties (and auditors) see it."""

    id: int
    factory: str
    lender: str
    lender_party: str | None
    state: str
    application: dict
    digest: bytes
    grant_ids: list[int]
    decision: dict | None
    consent_id: int | None
    token_id: int | None
    created_at: datetime
    updated_at: datetime
    events: list[dict]

    def as_json(self) -> dict:
        return {"id": self.id, "factory": self.factory, "lender": self.lender, "lender_party": self.lender_party,
                "state": self.state, "application": self.application, "digest": "0x" + self.digest.hex(),
                "grant_ids": self.grant_ids, "decision": self.decision, "consent_id": self.consent_id,
                "token_id": str(self.token_id) if self.token_id is not None else None,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
                "events": self.events}


class Applications:
    """Application use cases over one ``Context``."""

    def __init__(self, ctx):
        self.ctx = ctx

    def _store(self):
        from ledger.store.applications import ApplicationStore

        return ApplicationStore(self.ctx.store.engine, self.ctx.store.key)

    def _grants(self):
        from ledger.service.grants import Grants

        return Grants(self.ctx)

    def _row(self, party, application_id: int):
        """The application ``party`` may see, else ``NotFoundError`` (absent and not theirs: one
        answer, so ids do not reveal other parties' applications)."""
        row = self._store().get(application_id)
        if row is None or not (party.role == "auditor"
                               or (party.role == "factory" and row.factory_party == party.id)
                               or (party.role == "lender" and party.address and row.lender == party.address)):
            raise NotFoundError(f"no application {application_id}")
        return row

    def _view(self, row) -> ApplicationView:
        names = {p.id: p for p in self.ctx.parties.list()}
        lender = next((p.name for p in names.values() if p.role == "lender" and p.address == row.lender), None)
        events, grant_ids, decision = [], [row.grant_id], None
        for e in self._store().events(row.id):
            detail = orjson.loads(e.document)
            who = names.get(e.party)
            events.append({"at": e.at.isoformat(), "party": who.name if who else None,
                           "role": who.role if who else None, "action": e.action, "state": e.state,
                           "detail": detail})
            if e.action == "more-data":
                grant_ids.append(detail["grant_id"])
            if e.action in ("approve", "request-more", "decline"):
                decision = detail
        return ApplicationView(row.id, names[row.factory_party].name, row.lender, lender, row.state,
                               orjson.loads(row.document), row.digest, grant_ids, decision, row.consent_id,
                               row.token_id, row.created_at, row.updated_at, events)

    def _move(self, party, row, action: str, detail: dict, **links) -> None:
        """Make ``action`` on ``row`` as ``party`` (its rule checked) and record the step."""
        state = rules.move(row.state, action, party.role)
        if not self._store().move(row.id, row.state, state, party.id, action, canonicalize(detail), **links):
            raise ConflictError(f"application {row.id} changed while this {action} was made: read it again")

    # --- the factory's side ------------------------------------------------------------

    def apply(self, party, document) -> ApplicationView:
        """``party`` (a factory) applies to the lender ``document`` names. The application is
        checked whole (``check_application``), the lender must be a lender party of this service
        and each collateral range inside a log of the factory's; then the grant is created
        (``Grants.create``: its own checks) and the application kept, linked to it."""
        if party.role != "factory":
            raise ForbiddenError("only a factory applies for a loan")
        doc = rules.check_application(document)
        if not any(p.role == "lender" and p.address == doc["lender"] for p in self.ctx.parties.list()):
            raise InvalidArgumentError(f"application.lender: {doc['lender']} is not a lender party of this service")
        mine = self.ctx.parties.logs_of(party.id)
        for i, c in enumerate(doc["collateral"]):
            info = self.ctx.store.find_by_log_id(bytes.fromhex(c["log_id"][2:]))
            if info is None or info.pk not in mine:
                raise InvalidArgumentError(f"application.collateral[{i}].log_id: {c['log_id']} is not a log of yours")
            if c["to"] > info.size:
                raise InvalidArgumentError(f"application.collateral[{i}]: the range [{c['from']}, {c['to']}) goes "
                                           f"past the end of the log, which has {info.size} records")
        grants = self._grants()
        grant = grants.create(party, doc["grant"])
        body = canonicalize(doc)
        try:
            app_id = self._store().add(party.id, doc["lender"], body, hashlib.sha256(body).digest(), grant.id,
                                       canonicalize({"grant_id": grant.id, "grant_digest": "0x" + grant.digest.hex()}))
        except BaseException:
            grants.revoke(party, grant.id)  # no grant is left live for an application that was not kept
            raise
        return self.get(party, app_id)

    def more_data(self, party, application_id: int, grant_obj) -> ApplicationView:
        """The factory answers a request for more data with a new grant (``dpl-grant/1``, naming
        the same lender; created with ``Grants.create``); the application is submitted again."""
        from ledger.grants import check_grant

        row = self._row(party, application_id)
        rules.move(row.state, "more-data", party.role)
        grant_doc = check_grant(grant_obj)
        if grant_doc["lender"] != row.lender:
            raise InvalidArgumentError("grant lender: the grant must name the lender applied to")
        grants = self._grants()
        grant = grants.create(party, grant_doc)
        try:
            self._move(party, row, "more-data", {"grant_id": grant.id, "grant_digest": "0x" + grant.digest.hex()})
        except BaseException:
            grants.revoke(party, grant.id)
            raise
        return self.get(party, application_id)

    def withdraw(self, party, application_id: int) -> ApplicationView:
        """The factory withdraws its application; the grants it carries are revoked at once."""
        row = self._row(party, application_id)
        self._move(party, row, "withdraw", {})
        grants = self._grants()
        for grant_id in self._view(row).grant_ids:
            grants.revoke(party, grant_id)
        return self.get(party, application_id)

    def draft(self, party, application_id: int) -> dict:
        """The consent draft of the approved terms (the factory only; the application approved):
        ``{"terms"}`` — the body of ``POST /v1/pledges/consents/draft`` and, as ``{"terms": …}``,
        of ``POST /v1/pledges/consents`` (custodial), with the draft's nonce and deadline so the
        service signs exactly what the draft shows — ``"typed_data"`` (EIP-712, to sign in a
        wallet) and ``"consent"`` (the unsigned ``dpl-consent/2``). Checked as the consent flow
        checks it (``Pledges.draft_consent``): the chain's refusals come now."""
        row = self._row(party, application_id)
        if party.role != "factory":
            raise ForbiddenError("only the factory that applied signs the consent: the draft is its")
        if row.state != "approved":
            raise ConflictError(f"the application is {row.state}: a consent draft exists only for approved terms")
        t = self._view(row).decision["terms"]
        draft = self._draft(row, t, party.address)
        terms = {"log_id": t["log_id"], "from": t["from"], "to": t["to"], "lender": row.lender,
                 "principal": int(t["principal"]), "currency": t["currency"], "maturity": t["maturity"],
                 "lien_end": t["lien_end"], "samples": t["samples"], "loan_ref": t["loan_ref"],
                 "nonce": str(draft.nonce), "deadline": str(draft.deadline)}
        for k in ("max_lien_end", "profile", "covenants"):
            if t.get(k) is not None:
                terms[k] = t[k]
        return {"application_id": row.id, "terms": terms, "typed_data": draft.typed_data,
                "consent": draft.document()}

    def _draft(self, row, terms: dict, factory: str | None, name=lambda f: f):
        """The ``ConsentDraft`` of approved ``terms`` for the application's factory (its address),
        with every check of the consent flow (``Pledges.draft_consent``: the store's and the
        chain's)."""
        from ledger.pledge.service import ConsentRequest, Pledges

        t = terms
        info = self.ctx.store.find_by_log_id(bytes.fromhex(t["log_id"][2:]))
        request = ConsentRequest(info.stream, t["from"], t["to"], row.lender, int(t["principal"]), t["currency"],
                                 t["maturity"], t["lien_end"], t["samples"], t["loan_ref"],
                                 max_lien_end=t.get("max_lien_end"), profile_params=t.get("profile"),
                                 covenants=t.get("covenants"))
        return Pledges(self.ctx).draft_consent(factory or "", request, lambda v: v, name)

    def consent(self, party, application_id: int, consent_id: int) -> ApplicationView:
        """Link the consent the factory gave (kept by the service) to its approved application:
        the consent must carry the approved terms (range, principal, currency, dates, samples,
        loan reference, lender, covenants), else ``InvalidArgumentError`` naming what differs."""
        from ledger.pledge.service import Pledges
        from ledger.pledge.terms import consent_dates

        row = self._row(party, application_id)
        rules.move(row.state, "consent", party.role)
        kept = Pledges(self.ctx).kept_consent(party.id, consent_id)
        if kept is None:
            raise NotFoundError(f"no consent {consent_id}")
        if any(r.consent_id == consent_id for r in self._store().list(factory_party=party.id)):
            raise ConflictError(f"consent {consent_id} is already linked to an application")
        doc = orjson.loads(kept.document)
        t = self._view(row).decision["terms"]
        dates = consent_dates(t["maturity"], t["lien_end"], t.get("max_lien_end"))
        given = doc["terms"]
        expected = {"log_id": t["log_id"], "from": t["from"], "to": t["to"], "principal": t["principal"],
                    "currency": t["currency"], "maturity": dates.maturity, "lien_end": dates.lien_end,
                    "max_lien_end": dates.max_lien_end, "samples": t["samples"], "lender": row.lender.lower()}
        actual = {**{k: given.get(k) for k in expected}, "lender": str(given.get("lender", "")).lower()}
        differ = [k for k in expected if expected[k] != actual[k]]
        if doc.get("loan_ref") != t["loan_ref"]:
            differ.append("loan_ref")
        if doc.get("covenants") != t.get("covenants"):
            differ.append("covenants")
        if ("profile" in t) != (doc.get("manifest", {}).get("format") == "dpl-asset/2"):
            differ.append("profile")
        if differ:
            raise InvalidArgumentError(f"consent_id: consent {consent_id} does not carry the approved terms: "
                                       f"{', '.join(differ)} differ")
        self._move(party, row, "consent", {"consent_id": consent_id}, consent_id=consent_id)
        return self.get(party, application_id)

    # --- the lender's side -------------------------------------------------------------

    def review(self, party, application_id: int) -> ApplicationView:
        """The lender marks the application under review (both sides see it)."""
        self._move(party, self._row(party, application_id), "review", {})
        return self.get(party, application_id)

    def decide(self, party, application_id: int, decision) -> ApplicationView:
        """The lender's ``dpl-decision/1``: approve (with terms), request-more (a wider grant) or
        decline (a reason code). Approved terms are checked as the factory's consent draft will
        be (the store's and the chain's checks: the lender approved on the registry, the range
        anchored and not pledged, the dates ahead of the chain's time), so an approval is one the
        factory can sign."""
        row = self._row(party, application_id)
        kind = decision.get("decision") if isinstance(decision, dict) else None
        if kind in ("approve", "request-more", "decline"):
            rules.move(row.state, kind, party.role)  # who and when before what
        checked = rules.check_decision(decision, orjson.loads(row.document))
        if checked["decision"] == "approve":
            # terms the factory could not sign (the chain would refuse them) are refused now, not at its draft
            self._draft(row, checked["terms"], self.ctx.parties.by_id(row.factory_party).address,
                        lambda f: f"decision.terms.{f}")
        self._move(party, row, checked["decision"], checked)
        return self.get(party, application_id)

    def profile(self, party, application_id: int, index: int = 0) -> dict:
        """The ``dpl-profile/1`` of collateral range ``index`` of the application (figures, never
        records), with the parameters the application's ``profile`` gives, at the newest anchored
        checkpoint covering it. The lender reads it only if the factory offered it (the
        application has ``profile``: the figures aggregate fields the grant may hide) and while
        the application is not declined or withdrawn; the factory and auditors always."""
        from ledger.profile import ProfileParams
        from ledger.service.profiles import Profiles

        row = self._row(party, application_id)
        doc = orjson.loads(row.document)
        if party.role == "lender":
            if "profile" not in doc:
                raise ForbiddenError(f"application {row.id} does not offer the production profile of its collateral "
                                     "(the factory applies with \"profile\" to show it)")
            if row.state in ("declined", "withdrawn"):
                raise ForbiddenError(f"application {row.id} is {row.state}: its collateral's profile is no longer "
                                     "yours to read")
        collateral = doc["collateral"]
        if not 0 <= index < len(collateral):
            raise InvalidArgumentError(f"collateral: the application offers {len(collateral)} range(s): "
                                       f"0 to {len(collateral) - 1}")
        c, p = collateral[index], doc.get("profile", {})
        info = self.ctx.store.find_by_log_id(bytes.fromhex(c["log_id"][2:]))
        return Profiles(self.ctx).build(info.stream, c["from"], c["to"],
                                        ProfileParams.checked(p.get("tz"), p.get("mapping"), p.get("thresholds")))

    # --- seeing ------------------------------------------------------------------------

    def _pledged(self, row):
        """``row``, moved to ``pledged`` if it is consented and the pledge issued from its
        consent exists (the token the consent was issued as)."""
        if row.state != "consented" or row.consent_id is None:
            return row
        from ledger.pledge.service import Pledges

        kept = Pledges(self.ctx).kept_consent(row.factory_party, row.consent_id)
        if kept is None:
            return row
        token = kept.token_id if kept.token_id is not None else self._mirrored(orjson.loads(kept.document))
        if token is None:
            return row
        lender = self.ctx.parties.by_address(row.lender)
        if lender is None:
            return row
        self._store().move(row.id, "consented", "pledged", lender.id, "pledge", canonicalize({"token_id": str(token)}),
                           token_id=token)  # False: another reader moved it first
        return self._store().get(row.id)

    def _mirrored(self, consent: dict) -> int | None:
        """The token of the pledge the chain holds for ``consent`` (issued from the lender's own
        wallet, so the service never recorded it): the pledge mirror's row of the same log,
        range, asset digest, loan reference digest and lender; None if there is none yet or the
        chain cannot be asked now (the next read tries again)."""
        from ledger.errors import LedgerError
        from ledger.pledge.service import Pledges

        t = consent["terms"]
        key = (t["log_id"], t["from"], t["to"], t["asset_digest"], t["loan_ref_digest"])
        try:
            pledges = Pledges(self.ctx).list()
        except LedgerError:
            return None
        return next((p["token_id"] for p in pledges
                     if (p["log_id"], p["from"], p["to"], p["asset_digest"], p["loan_ref_digest"]) == key), None)

    def list(self, party) -> list[ApplicationView]:
        """A factory's applications, a lender's inbox, every application for an auditor; none
        for other roles."""
        from ledger.service.scope import rows_for

        return [self._view(self._pledged(r)) for r in rows_for(party, self._store().list)]

    def get(self, party, application_id: int) -> ApplicationView:
        return self._view(self._pledged(self._row(party, application_id)))
