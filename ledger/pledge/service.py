"""The pledge use cases, one home for the command line (``dpl asset``, ``dpl pledge``) and the
API (``api/routes_pledges.py``): each edge parses its input, calls a method of ``Pledges``
and prints or answers what it returns.

Who acts is an *actor*: anything with ``address`` and ``key_name`` (a party of the service,
or ``Actor.of_key`` for a keyring key the command line names). With a key the service signs
and sends; without one, signing is refused (``NotCustodial``: the edge hands out the draft)
and a transaction comes back unsigned (``UnsignedTransaction``) for the actor's own wallet.
A *party* (``PartyInfo``) also limits what is seen: lookups that fail authorisation are
``NotFoundError("no such …")``, exactly like missing ones.

Everything a caller typed is checked before the chain or the store is asked, and what the
registry would refuse is refused before anything is signed, kept or sent. After a move the
pledge mirror is synced; the move has happened by then, so a mirror that could not follow is
reported (``mirror_error``), never turned into a failure of the move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from eth_utils import to_checksum_address

from ledger.bundles import to_hex
from ledger.errors import ConflictError, InvalidArgumentError, LedgerError, NotFoundError
from ledger.pledge.terms import Consent, Extension, Terms, check_pledged_covenants


class NotCustodial(ConflictError):
    """The service holds no key for the actor: it signs elsewhere (the edge says how)."""


@dataclass(frozen=True)
class Actor:
    """Who signs: a chain address and the keyring key the service signs with (None: none)."""

    address: str | None
    key_name: str | None

    @classmethod
    def of_key(cls, key_name: str) -> Actor:
        return cls(None, key_name)


@dataclass(frozen=True)
class UnsignedTransaction:
    """A registry call for the actor to sign and send from its own wallet."""

    to: str
    data: str
    chain_id: int
    sender: str | None

    def as_json(self) -> dict:
        return {"to": self.to, "data": self.data, "chainId": self.chain_id, "from": self.sender}


@dataclass(frozen=True)
class Issued:
    token_id: int
    tx_hash: str
    block_number: int
    lender: str
    mirror_error: str | None = None

    def as_json(self) -> dict:
        return {"token_id": self.token_id, "tx_hash": self.tx_hash, "block_number": self.block_number}


@dataclass(frozen=True)
class Moved:
    token_id: int
    tx_hash: str
    mirror_error: str | None = None

    def as_json(self) -> dict:
        return {"token_id": self.token_id, "tx_hash": self.tx_hash}


@dataclass(frozen=True)
class Asset:
    info: object  # the log (``LogInfo``)
    manifest: dict
    digest: bytes

    def as_json(self) -> dict:
        return {"asset_digest": to_hex(self.digest), "manifest": self.manifest}


@dataclass(frozen=True)
class ConsentRequest:
    """The terms a factory types for a consent, as typed (dates and nonce as text); the lender
    is resolved by the edge's ``lender`` callable (a key name, a party name, an address)."""

    stream: str
    start: int
    end: int
    lender: str
    principal: int
    currency: str
    maturity: str
    lien_end: str
    samples: int
    loan_ref: str
    checkpoint: int | None = None
    max_lien_end: str | None = None
    deadline: str | None = None
    nonce: str | None = None
    #: Pledge the range's production profile (a ``dpl-asset/2`` manifest), computed from the
    #: store with these parameters (``{"tz", "mapping", "thresholds"}``, each optional) ...
    profile_params: dict | None = None
    #: ... or with those of this ``dpl-profile/1`` (``dpl profile build``), which must then be
    #: identical, figure by figure, to the profile the store gives (else refused, naming each).
    claimed_profile: object | None = None
    #: The ``dpl-covenants/1`` set agreed with the consent (``docs/COVENANTS.md``), as read; it is
    #: checked, its digest is the signed terms' ``covenantsDigest`` (on chain once issued), and the
    #: set is kept in the consent document with that digest.
    covenants: object | None = None


def with_covenants(document: dict, covenants: object, name: Callable[[str], str] = lambda f: f) -> dict:
    """``document`` with the checked ``covenants`` and their ``covenants_digest`` (0x hex) added;
    unchanged for None. A bad set is refused naming the field."""
    from ledger.covenants import check_covenants, covenants_digest

    if covenants is None:
        return document
    try:
        checked = check_covenants(covenants)
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"{name('covenants')}: {e}") from None
    return {**document, "covenants": checked, "covenants_digest": to_hex(covenants_digest(checked))}


@dataclass(frozen=True)
class ConsentDraft:
    """Terms checked against the chain, ready to sign: what the factory will sign, exactly."""

    chain_id: int
    registry: str
    stream: str
    factory: str
    terms: Terms
    manifest: dict
    nonce: int
    deadline: int
    loan_ref: str
    typed_data: dict = field(repr=False)
    covenants: object | None = None

    def document(self) -> dict:
        """The unsigned ``dpl-consent/2`` document a draft shows."""
        from ledger.pledge.terms import CONSENT_FORMAT

        return with_covenants(
            {"format": CONSENT_FORMAT, "chain_id": self.chain_id, "registry": self.registry,
             "factory": self.factory, "stream": self.stream, "terms": self.terms.as_json(),
             "nonce": str(self.nonce), "deadline": self.deadline, "signature": None, "loan_ref": self.loan_ref,
             "manifest": self.manifest}, self.covenants)


_ZERO_ADDRESS = "0x" + "00" * 20


def _field(name: str) -> str:
    return name



def _held_json(period: dict | None) -> dict:
    """Whether the caller holds a listed pledge; if no longer, how its holding ended (a
    ``transferred`` to ``ended_to``, or ``released``) in which block and transaction."""
    if period is None:
        return {"held": True, "ended": None, "ended_to": None, "ended_block": None, "ended_tx": None}
    tx = period["until_tx"]
    return {"held": False, "ended": period["ended"], "ended_to": period["ended_to"],
            "ended_block": period["until_block"], "ended_tx": "0x" + bytes(tx).hex() if tx is not None else None}

class Pledges:
    """The pledge use cases over one ``Context`` (see the module docstring)."""

    def __init__(self, ctx):
        self.ctx = ctx

    @property
    def chain(self):
        return self.ctx.chain()

    # --- assets ------------------------------------------------------------------------

    def asset(self, stream: str, start: int, end: int, checkpoint: int | None = None, params=None) -> Asset:
        """Records ``[start, end)`` of ``stream`` at the newest anchored checkpoint covering them
        (exactly ``checkpoint`` if given): the manifest and its digest; with ``params``
        (``ProfileParams``) the ``dpl-asset/2`` manifest carrying the range's profile."""
        from ledger.pledge.asset import describe_asset

        info, manifest, digest = describe_asset(self.ctx.store, self.chain, stream, start, end, checkpoint, params)
        return Asset(info, manifest, digest)

    def _claimed(self, r: ConsentRequest, name: Callable[[str], str]):
        """(profile parameters, checkpoint) for a request: from its claimed profile (checked,
        of the request's range; its checkpoint unless the request names one) or as given."""
        from ledger.profile import ProfileParams

        if r.claimed_profile is None:
            if r.profile_params is None:
                return None, r.checkpoint
            p = r.profile_params
            return ProfileParams.checked(p.get("tz"), p.get("mapping"), p.get("thresholds")), r.checkpoint
        from ledger.errors import BundleError
        from ledger.profile import check_profile

        if r.profile_params is not None:
            raise InvalidArgumentError(f"{name('profile')}: give a profile or its parameters, not both")
        try:
            p = check_profile(r.claimed_profile)
        except BundleError as e:
            raise InvalidArgumentError(f"{name('profile')}: not a production profile: {e}") from None
        if (p["range"]["from"], p["range"]["to"]) != (r.start, r.end):
            raise InvalidArgumentError(f"{name('profile')}: the profile is of records [{p['range']['from']}, "
                                       f"{p['range']['to']}), not of the pledged [{r.start}, {r.end})")
        size = p["checkpoint"]["size"]
        if r.checkpoint is not None and r.checkpoint != size:
            raise InvalidArgumentError(f"{name('profile')}: the profile is at checkpoint {size}, not at the "
                                       f"requested {r.checkpoint}")
        return ProfileParams.checked(p["tz"], p["mapping"], p["thresholds"]), size

    @staticmethod
    def _same_profile(claimed: dict, manifest: dict, name: Callable[[str], str]) -> None:
        """Refuse a claimed profile that is not, figure by figure, the one the records give."""
        from ledger.profile import compare_profiles
        from ledger.profile_verify import figure_text

        differences = compare_profiles(claimed, manifest["profile"])
        if differences:
            shown = "; ".join(f"{path}: claimed {figure_text(c)}, recomputed {figure_text(v)}"
                              for path, c, v in differences[:20])
            more = f" (and {len(differences) - 20} more)" if len(differences) > 20 else ""
            raise InvalidArgumentError(f"{name('profile')}: {len(differences)} figure(s) differ from the records of "
                                       f"the range, so they cannot be pledged: {shown}{more}")

    # --- consents ----------------------------------------------------------------------

    def draft_consent(self, factory: str, request: ConsentRequest, lender: Callable[[str], str],
                      name: Callable[[str], str] = _field) -> ConsentDraft:
        """The consent ``factory`` (an address) would sign for ``request``, checked as
        ``sign_consent`` checks it; nothing is signed or kept."""
        return self._draft(request, lender, name, lambda: factory, check=True)

    def _draft(self, request: ConsentRequest, lender: Callable[[str], str], name: Callable[[str], str],
               factory: Callable[[], str], check: bool) -> ConsentDraft:
        """What the caller typed is checked first (nonce, dates, loan reference; ``name`` says how
        the caller calls a field), then the asset is described from the store, then (``check``)
        everything the registry would refuse at issue (``check_consent``) for the ``factory()``."""
        from ledger.pledge.chain import chain_time, typed_data
        from ledger.pledge.consent import check_consent
        from ledger.pledge.terms import (DEFAULT_VALIDITY, check_terms, consent_dates, covenants_digest_of,
                                         loan_ref_digest, parse_nonce)

        r = request
        nonce = parse_nonce(r.nonce)
        with_covenants({}, r.covenants, name)  # a bad set is refused before the store or the chain is asked
        if r.covenants is not None and r.claimed_profile is None and r.profile_params is None:
            raise InvalidArgumentError(f"{name('covenants')}: covenants are judged against the pledged production "
                                       f"profile: pledge it too ({name('profile')})")
        dates = consent_dates(r.maturity, r.lien_end, r.max_lien_end, r.deadline, name=name)
        ref_digest = loan_ref_digest(r.loan_ref)
        # principal, currency and samples by the rules of Terms and check_terms (their one home),
        # before the store or the chain is asked: the terms with placeholders for what those add
        check_terms(Terms(bytes(32), 0, 1, 1, b"\xff" * 32, r.principal, r.currency.upper(), dates.maturity,
                          dates.lien_end, dates.max_lien_end, r.samples, ref_digest, _ZERO_ADDRESS))
        params, checkpoint = self._claimed(r, name)
        asset = self.asset(r.stream, r.start, r.end, checkpoint, params)
        if r.claimed_profile is not None:
            self._same_profile(r.claimed_profile, asset.manifest, name)
        signer = factory()
        terms = Terms(asset.info.log_id, r.start, r.end, asset.manifest["checkpoint"]["size"], asset.digest,
                      r.principal, r.currency.upper(), dates.maturity, dates.lien_end, dates.max_lien_end, r.samples,
                      ref_digest, lender(r.lender), covenants_digest_of(r.covenants))
        check_terms(terms)
        chain = self.chain
        now = chain_time(chain)
        deadline = dates.deadline if dates.deadline is not None else now + DEFAULT_VALIDITY
        if check:
            check_consent(chain, terms, signer or "", deadline, now)
        return ConsentDraft(chain.chain_id, chain.registry.address, asset.info.stream, signer, terms, asset.manifest,
                            nonce, deadline, r.loan_ref, typed_data(chain, terms, nonce, deadline), r.covenants)

    def sign_consent(self, actor, request: ConsentRequest, lender: Callable[[str], str],
                     name: Callable[[str], str] = _field) -> dict:
        """The factory's signed ``dpl-consent/2`` document (custodial: its keyring key signs),
        after every check of ``draft_consent``; nothing is kept (``keep_consent`` keeps). The
        same terms and nonce give the same document, whichever edge asked."""
        from ledger.pledge.consent import make_consent

        if not actor.key_name:
            raise NotCustodial("the service holds no key for this factory")
        account = None

        def signer() -> str:
            nonlocal account
            account = self._account(actor, "factory")
            return account.address

        draft = self._draft(request, lender, name, signer, check=False)
        # make_consent refuses (check_consent) what the registry would refuse, before signing
        doc = make_consent(self.chain, account, stream=draft.stream, terms=draft.terms, manifest=draft.manifest,
                           loan_ref=draft.loan_ref, deadline=draft.deadline, nonce=draft.nonce)
        return with_covenants(doc, request.covenants, name)

    def accept_consent(self, party, document: object, stream_of: Callable[[bytes], str]) -> dict:
        """The document to keep for a consent ``party`` signed elsewhere (its wallet): rebuilt
        from what the signature covers (``ledger.pledge.consent.accept_consent``).
        ``stream_of`` finds the stream of the terms' log that ``party`` may use."""
        from ledger.pledge.asset import profile_params_of
        from ledger.pledge.consent import accept_consent
        from ledger.pledge.terms import read_consent

        consent = read_consent(document)
        # read_consent refused covenants other than those the signed terms commit to
        # (covenantsDigest; zero: none): a set swapped in beside a signature
        covenants = document.get("covenants")
        with_covenants({}, covenants)
        stream = stream_of(consent.terms.log_id)
        loan_ref = document.get("loan_ref") if isinstance(document, dict) else None
        # a dpl-asset/2 draft: its profile recomputed with the parameters it shows (the digest decides)
        params = profile_params_of(document.get("manifest")) if isinstance(document, dict) else None
        if covenants is not None and params is None:
            raise InvalidArgumentError("covenants: covenants are judged against the pledged production profile: "
                                       "the consent must pledge a dpl-asset/2 manifest")
        return with_covenants(accept_consent(self.ctx.store, self.chain, consent, party.address or "", stream,
                                             loan_ref, params), covenants)

    def keep_consent(self, party, document: dict) -> int:
        """Keep a consent ``party`` (a factory) gave; its id."""
        from ledger.store.consents import ConsentStore

        return ConsentStore(self.ctx.store.engine, self.ctx.store.key).add(
            party.id, to_checksum_address(document["terms"]["lender"]), orjson.dumps(document))

    def _consent_rows(self, party):
        from ledger.store.consents import ConsentStore

        consents = ConsentStore(self.ctx.store.engine, self.ctx.store.key)
        if party.role == "factory":
            return consents.list(factory_party=party.id)
        if party.role == "lender":
            return consents.list(lender=party.address or "")
        return consents.list()

    def kept_consent(self, factory_party_id: int, consent_id: int):
        """The consent ``consent_id`` a factory party gave and the service keeps (a
        ``StoredConsent``: its document, and the token it was issued as), or None."""
        from ledger.store.consents import ConsentStore

        rows = ConsentStore(self.ctx.store.engine, self.ctx.store.key).list(factory_party=factory_party_id)
        return next((r for r in rows if r.id == consent_id), None)

    def consents(self, party) -> list[dict]:
        """Consents a factory gave, those naming a lender, or all (an auditor)."""
        names = self.party_names()
        return [{"consent_id": r.id, "token_id": r.token_id, "lender_party": names.get(r.lender),
                 "consent": orjson.loads(r.document)} for r in self._consent_rows(party)]

    def party_names(self) -> dict[str, str]:
        """Address -> party name, for lists that show counterparties (who a factory pledged to,
        who holds a pledge): the caller has dealt with them, their names are no secret to it."""
        return {p.address: p.name for p in self.ctx.parties.list() if p.address}

    # --- issue ---------------------------------------------------------------------------

    def issue(self, actor, consent: Consent) -> Issued | UnsignedTransaction:
        """Issue the pledge ``consent`` allows, as the lender it names: with the actor's key, or
        the transaction for its wallet. A refusal of the registry raises from the gas estimate,
        before anything is sent; the mirror is synced after."""
        from ledger.pledge.chain import check_same_registry, issue, issue_call

        chain = self.chain
        if not actor.key_name:
            check_same_registry(chain, consent.chain_id, consent.registry, "consent")
            return self._unsigned(actor, issue_call(chain, consent))
        done = issue(chain, self._account(actor, "lender"), consent)
        return Issued(done.token_id, done.tx_hash, done.block_number, consent.terms.lender, self.sync_after())

    def issue_kept(self, party, consent_id: int) -> Issued | UnsignedTransaction:
        """Issue a consent the service keeps that names ``party`` (a lender); records the token."""
        from ledger.pledge.terms import read_consent
        from ledger.store.consents import ConsentStore

        rows = [r for r in self._consent_rows(party) if r.id == consent_id]
        if not rows:
            raise NotFoundError("no such consent")
        result = self.issue(party, read_consent(orjson.loads(rows[0].document)))
        if isinstance(result, Issued):
            ConsentStore(self.ctx.store.engine, self.ctx.store.key).set_token(consent_id, result.token_id)
        return result

    # --- reading pledges -----------------------------------------------------------------

    def show(self, token_id: int, party=None):
        """The pledge as the chain has it now (``PledgeView``). With ``party``: only if it may
        see it (its holder, the log's factory, an auditor), else ``NotFoundError``."""
        from ledger.pledge.chain import read_pledge

        try:
            view = read_pledge(self.chain, token_id)
        except NotFoundError:
            if party is None:
                raise
            raise NotFoundError("no such pledge") from None
        if party is None or party.role == "auditor":
            return view
        if party.role == "lender" and party.address and view.holder == party.address:
            return view
        if party.role == "factory" and view.factory == party.address:
            return view
        raise NotFoundError("no such pledge")

    def _held(self, party, token_id: int):
        view = self.show(token_id, party)
        if party.role != "lender" or view.holder != party.address:
            raise NotFoundError("no such pledge")
        return view

    def _over_own_log(self, party, token_id: int):
        view = self.show(token_id, party)
        if party.role != "factory":
            raise NotFoundError("no such pledge")
        return view

    def sync(self, full: bool = False):
        """Bring the pledge mirror up to the chain (``full``: rebuilt from the deployment block)."""
        from ledger.pledge.mirror import sync

        return sync(self.chain, self.ctx.store.engine, self.ctx.deployment_block, full=full)

    def sync_after(self) -> str | None:
        """Sync the mirror after a move that happened; None, or why it could not follow."""
        try:
            self.sync()
        except LedgerError as e:
            return str(e) or type(e).__name__
        return None

    def list(self, party=None, log_id: bytes | None = None, named: bool = False) -> list[dict]:
        """Pledges from the mirror (synced first), status by the one lapse rule at the chain's
        time: all, or those ``party`` may see (the lender's held and, marked ``held: false`` with
        how and when its holding ended, those it held before; the factory's own logs; all for an
        auditor); ``named`` adds the stream and the parties' names."""
        from ledger.pledge.chain import chain_time
        from ledger.pledge.mirror import mirror_row_json
        from ledger.store.pledges import PledgeMirror

        chain = self.chain
        self.sync()
        mirror = PledgeMirror(self.ctx.store.engine, chain.chain_id, chain.registry.address)
        rows = mirror.list(log_id=log_id)
        ended: dict[int, dict] | None = None  # a lender's: the pledges it held before, by token
        if party is not None and party.role == "lender":
            held = {r["token_id"] for r in rows if r["holder"] == party.address}
            # the lender's last period of each pledge it held before and holds no longer
            ended = {h["token_id"]: h for h in mirror.holdings(holder=party.address)
                     if h["ended"] is not None and h["token_id"] not in held}
            rows = [r for r in rows if r["token_id"] in held or r["token_id"] in ended]
        elif party is not None and party.role == "factory":
            rows = [r for r in rows if r["factory"] == party.address]
        now = chain_time(chain)
        out = [mirror_row_json(r, now) for r in rows]
        if ended is not None:
            out = [{**o, **_held_json(ended.get(o["token_id"]))} for o in out]
        if not named:
            return out
        # the stream's name is in the consent every party here has seen; None for a log of another service
        streams = {info.log_id: info.stream for info in self.ctx.store.list_logs() if info.log_id}
        names = self.party_names()
        return [{**o, "stream": streams.get(bytes(r["log_id"])), "holder_party": names.get(r["holder"]),
                 "factory_party": names.get(r["factory"]),
                 **({"ended_to_party": names.get(o["ended_to"])} if ended is not None else {})}
                for o, r in zip(out, rows)]

    def log_id_of(self, log: str) -> bytes:
        """The on-chain id of a log named by stream or ``0x`` id."""
        if log.startswith("0x") and len(log) == 66:
            try:
                return bytes.fromhex(log[2:])
            except ValueError:
                pass
        log_id = self.ctx.store.get_log(log).log_id
        if log_id is None:
            raise NotFoundError(f"log {log} is not on chain yet, so it has no pledges")
        return log_id

    # --- the holder's moves ----------------------------------------------------------------

    def transfer(self, actor, token_id: int, to: str, *, party=None) -> Moved | UnsignedTransaction:
        """Transfer pledge ``token_id`` to the approved lender ``to`` (an address)."""
        from ledger.pledge.chain import transfer_call

        return self._move(actor, token_id, lambda c, holder: transfer_call(c, holder, to, token_id), party)

    def release(self, actor, token_id: int, *, party=None) -> Moved | UnsignedTransaction:
        """Release pledge ``token_id`` (the loan is repaid): the lien is lifted, the token burned."""
        from ledger.pledge.chain import release_call

        return self._move(actor, token_id, lambda c, holder: release_call(c, token_id), party)

    def declare_default(self, actor, token_id: int, *, party=None) -> Moved | UnsignedTransaction:
        """Declare pledge ``token_id``'s loan in default (from maturity on); the lien stays."""
        from ledger.pledge.chain import default_call

        return self._move(actor, token_id, lambda c, holder: default_call(c, token_id), party)

    def extend(self, actor, token_id: int, lien_end: int | None = None, extension: Extension | None = None,
               extension_id: int | None = None, *, party=None) -> Moved | UnsignedTransaction:
        """Move pledge ``token_id``'s lien end later: alone up to the max lien end the factory
        signed, beyond it with the factory's ``extension`` (or one the service keeps,
        ``extension_id``). Refused before anything is built or sent: ``extend_call``."""
        from ledger.pledge.chain import extend_call, read_pledge
        from ledger.pledge.terms import read_extension

        if extension_id is not None and extension is not None:
            raise InvalidArgumentError("give the factory's extension once: extension_id or extension, not both")
        if lien_end is None and extension is None and extension_id is None:
            raise InvalidArgumentError("lien_end: give the new lien end (or the factory's extension)")
        view = self._held(party, token_id) if party is not None else None
        if extension_id is not None:
            kept = self._extensions().get(extension_id)
            if kept is None or kept.token_id != token_id:
                raise NotFoundError("no such extension")
            extension = read_extension(kept.document)
        chain = self.chain
        fn = extend_call(chain, view or read_pledge(chain, token_id), lien_end, extension)
        return self._move(actor, token_id, lambda c, holder: fn, party, view)

    def _move(self, actor, token_id: int, build, party=None, view=None) -> Moved | UnsignedTransaction:
        from ledger.pledge.chain import send

        if party is not None and view is None:
            self._held(party, token_id)
        chain = self.chain
        if not actor.key_name:
            return self._unsigned(actor, build(chain, actor.address))
        account = self._account(actor, "lender")
        tx = send(chain, account, build(chain, account.address))
        return Moved(token_id, tx, self.sync_after())

    # --- extensions ------------------------------------------------------------------------

    def _extensions(self):
        from ledger.store.extensions import PledgeExtensions

        chain = self.chain
        return PledgeExtensions(self.ctx.store.engine, chain.chain_id, chain.registry.address)

    def _extension_dates(self, lien_end: str, deadline: str | None, name) -> tuple[int, int, int]:
        from ledger.pledge.chain import chain_time
        from ledger.pledge.terms import DEFAULT_VALIDITY, parse_time

        new_end = parse_time(lien_end, name("lien_end"))
        until = parse_time(deadline, name("deadline")) if deadline else None
        now = chain_time(self.chain)
        return new_end, (now + DEFAULT_VALIDITY if until is None else until), now

    def draft_extension(self, party, token_id: int, lien_end: str, deadline: str | None = None,
                        nonce: str | None = None) -> dict:
        """The ``dpl-extension/1`` draft (unsigned) a factory would sign to let pledge
        ``token_id``'s lien end at ``lien_end``, after every check (``check_extension``)."""
        from ledger.pledge.consent import check_extension, extension_document
        from ledger.pledge.terms import parse_nonce

        number = parse_nonce(nonce)
        new_end, until, now = self._extension_dates(lien_end, deadline, _field)
        view = self._over_own_log(party, token_id)
        check_extension(self.chain, view, party.address or "", new_end, until, now)
        return extension_document(self.chain, factory=party.address, token_id=token_id, lien_end=new_end,
                                  nonce=number, deadline=until, signature=None)

    def sign_extension(self, actor, token_id: int, lien_end: str, deadline: str | None = None,
                       nonce: str | None = None, *, party=None, name: Callable[[str], str] = _field) -> dict:
        """The factory's signed ``dpl-extension/1`` (custodial), after ``check_extension``."""
        from ledger.pledge.consent import make_extension
        from ledger.pledge.terms import parse_nonce

        number = parse_nonce(nonce)
        new_end, until, _ = self._extension_dates(lien_end, deadline, name)
        if party is not None:
            self._over_own_log(party, token_id)
        return make_extension(self.chain, self._account(actor, "factory"), token_id, new_end, until, number)

    def accept_extension(self, party, token_id: int, document: object) -> dict:
        """The document to keep for an extension ``party`` signed elsewhere: rebuilt from the
        signed fields (``ledger.pledge.consent.accept_extension``)."""
        from ledger.pledge.consent import accept_extension
        from ledger.pledge.terms import read_extension

        ext = read_extension(document)
        if ext.token_id != token_id:
            raise InvalidArgumentError(f"token_id: the extension is for pledge {ext.token_id}, not {token_id}")
        self._over_own_log(party, token_id)
        return accept_extension(self.chain, ext, party.address or "")

    def keep_extension(self, party, document: dict):
        """Keep an extension (a retry of the same document answers the row kept)."""
        return self._extensions().put(party.id, document)

    def extensions(self, party) -> list[dict]:
        """Extensions a factory signed, of the pledges a lender holds, or all (an auditor), with
        whether the registry used each and whether it expired."""
        from ledger.pledge.chain import chain_time, extension_used
        from ledger.pledge.terms import read_extension

        chain, store = self.chain, self._extensions()
        if party.role == "factory":
            kept = store.list(factory_party=party.id)
        elif party.role == "lender":
            held = {r["token_id"] for r in self.list(party)}
            kept = store.list(token_ids=held)
        else:
            kept = store.list()
        now = chain_time(chain)
        out = []
        for k in kept:
            ext = read_extension(k.document)
            out.append({"extension_id": k.id, "token_id": k.token_id, "used": extension_used(chain, ext),
                        "expired": ext.deadline < now, "extension": k.document})
        return out

    # --- collateral ---------------------------------------------------------------------

    def bundle(self, token_id: int, party=None, consent: object = None) -> dict:
        """The ``dpl-collateral/1`` bundle of pledge ``token_id`` from this store (with ``party``:
        only if it may see the pledge). A pledge of a ``dpl-asset/2`` manifest needs the
        profile's parameters: from ``consent`` (the consent document, as ``dpl pledge consent``
        wrote it) or a consent this service keeps with the pledge's asset digest."""
        from ledger.pledge.collateral_chain import build_bundle

        if party is not None:
            self.show(token_id, party)
        return build_bundle(self.ctx.store, self.chain, token_id,
                            lambda terms: self._kept_manifests(consent, terms.lender),
                            lambda terms: self._kept_covenant_sets(consent, terms.lender))

    def _kept_manifests(self, consent: object, lender: str):
        """Manifests a pledge whose consent named ``lender`` may have committed to: the given
        consent's, then those of the consents kept that name that lender."""
        from ledger.store.consents import ConsentStore

        if type(consent) is dict:
            yield consent.get("manifest")
        for row in ConsentStore(self.ctx.store.engine, self.ctx.store.key).list(lender=to_checksum_address(lender)):
            yield orjson.loads(row.document).get("manifest")

    def _kept_covenant_sets(self, consent: object, lender: str):
        """Covenant sets a pledge whose consent named ``lender`` may have committed to: the given
        consent's, then those of the consents kept that name that lender (``build_bundle`` takes
        the one that hashes to the pledge's ``covenantsDigest``)."""
        from ledger.store.consents import ConsentStore

        if type(consent) is dict and type(consent.get("covenants")) is dict:
            yield consent["covenants"]
        for row in ConsentStore(self.ctx.store.engine, self.ctx.store.key).list(lender=to_checksum_address(lender)):
            covenants = orjson.loads(row.document).get("covenants")
            if type(covenants) is dict:
                yield covenants

    def kept_covenants(self) -> dict[tuple[str, str], list[dict]]:
        """The kept consent documents that carry covenants, by (factory address lowercased, nonce):
        read and opened once, for ``covenants_of`` over many pledges."""
        from ledger.store.consents import ConsentStore

        found: dict[tuple[str, str], list[dict]] = {}
        for row in ConsentStore(self.ctx.store.engine, self.ctx.store.key).list():
            doc = orjson.loads(row.document)
            if doc.get("covenants") is not None:
                found.setdefault((str(doc.get("factory", "")).lower(), str(doc.get("nonce"))), []).append(doc)
        return found

    def covenants_of(self, pledge: dict, kept: dict | None = None) -> tuple[dict, dict] | None:
        """(covenants, pledged profile) of a mirrored pledge (a ``PledgeMirror`` row): from the
        consent this service keeps that it was issued from (same factory and nonce: the registry
        uses a factory's nonce once; same lender and asset digest), if that consent carries
        covenants (its ``covenants_digest`` re-checked) and a ``dpl-asset/2`` manifest; else None.
        ``kept``: ``kept_covenants()`` read once for many pledges."""
        from ledger.assets import ASSET_FORMAT_V2, asset_digest
        from ledger.covenants import covenants_digest

        kept = self.kept_covenants() if kept is None else kept
        for doc in kept.get((pledge["factory"].lower(), str(pledge["nonce"])), []):
            manifest = doc.get("manifest")
            if (str((doc.get("terms") or {}).get("lender", "")).lower() != pledge["lender"].lower()
                    or type(manifest) is not dict or manifest.get("format") != ASSET_FORMAT_V2
                    or asset_digest(manifest) != bytes(pledge["asset_digest"])):
                continue
            if doc.get("covenants_digest") != to_hex(covenants_digest(doc["covenants"])):
                continue  # not the set its digest names: judge nothing rather than the wrong set
            return doc["covenants"], manifest["profile"]
        return None

    def check_covenants_pledged(self, token_id: int, covenants: dict) -> None:
        """Refuse (``CovenantsNotPledged``) ``covenants`` (a kept consent's) unless they hash to
        the ``covenantsDigest`` of pledge ``token_id``'s terms on chain: only the set the
        factory signed and the registry holds is judged."""
        from ledger.pledge.chain import read_pledge

        pledged = read_pledge(self.chain, token_id).terms.covenants_digest
        check_pledged_covenants(covenants, pledged, "the kept consent")

    def kept_manifests(self):
        """The manifests of every consent this service keeps (for the audit)."""
        from ledger.store.consents import ConsentStore

        for row in ConsentStore(self.ctx.store.engine, self.ctx.store.key).list():
            yield orjson.loads(row.document).get("manifest")

    def profile(self, token_id: int, party) -> dict:
        """The ``dpl-profile/1`` pledge ``token_id`` committed to (its ``dpl-asset/2`` manifest's,
        as kept in the consent the pledge was issued from; its digest checked against the
        chain's asset digest), for its holder, the log's factory or an auditor (figures,
        never records). ``NotFoundError`` for a pledge without a profile."""
        from ledger.assets import ASSET_FORMAT_V2, asset_digest

        view = self.show(token_id, party)
        for manifest in self._kept_manifests(None, view.terms.lender):
            if (type(manifest) is dict and manifest.get("format") == ASSET_FORMAT_V2
                    and asset_digest(manifest) == view.terms.asset_digest):
                return manifest["profile"]
        raise NotFoundError(f"pledge {token_id} carries no production profile this service knows (a dpl-asset/1 "
                            "manifest, or a consent given elsewhere)")

    def verify_bundle(self, bundle: object, token_id: int, registry: str | None = None,
                      factory: str | None = None, disclosure: object = None):
        """Every check of a collateral bundle against the configured node, through the registry
        this verifier trusts (``registry``, else the pinned deployment record): a report; with
        ``disclosure`` (``dpl-disclosure/1`` of the pledged range) the figures recomputed."""
        from ledger.pledge.collateral_chain import verify_against_chain

        settings = self.ctx.settings
        return verify_against_chain(bundle, token_id, settings.rpc_url, settings.home, registry, factory, disclosure)

    # --- keys ----------------------------------------------------------------------------

    def _account(self, actor, who: str):
        if not actor.key_name:
            raise NotCustodial(f"the service holds no key for this {who}")
        return self.ctx.keyring.account(actor.key_name, self.chain.chain_id)

    def _unsigned(self, actor, fn) -> UnsignedTransaction:
        chain = self.chain
        return UnsignedTransaction(chain.registry.address, fn._encode_transaction_data(), chain.chain_id,
                                   actor.address)
