"""``dpl asset``, ``dpl lenders`` and ``dpl pledge``: data assets pledged as loan collateral.

Factory side: ``asset create``, ``pledge consent``, ``pledge extension``, ``pledge bundle``.
Lender side: ``pledge issue|transfer|release|default|extend|verify``. Admin: ``lenders add|remove``. Anyone:
``pledge show|list|sync``. A refusal by the contract prints its error name and meaning and
exits 1; nothing is sent (the gas estimate fails first).
"""

from __future__ import annotations

from typing import Annotated, Optional

import orjson
import typer

from ledger.bundles import to_hex
from ledger.errors import InvalidArgumentError, LedgerError, NotFoundError
from ledger.limits import MAX_INDEX

asset_app = typer.Typer(help="Data assets: ranges of an anchored log, described by a manifest.",
                        no_args_is_help=True)
lenders_app = typer.Typer(help="The registry's approved lenders (admin).", no_args_is_help=True)
factories_app = typer.Typer(help="The registry's factory directory: who an address is (kept by the admin).",
                            no_args_is_help=True)
pledge_app = typer.Typer(help="Pledges of data assets to lenders (ERC-721 tokens on the registry).",
                         no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Rpc = Annotated[Optional[str], typer.Option("--rpc", help="JSON-RPC URL (default: DPL_RPC_URL).")]
Token = Annotated[int, typer.Argument(help="The pledge's token id.", min=1, max=2**64 - 1)]


def _base():
    """ledger.cli, imported when first needed (it imports this module to add the commands)."""
    import ledger.cli

    return ledger.cli


def _key_option(default: str | None, who: str):
    return Annotated[Optional[str] if default is None else str,
                     typer.Option("--key", help=f"Key (from dpl keys) of the {who}" +
                                  (f" (default {default})." if default else "."))]


def _address(value: str) -> str:
    """An 0x address, or the address of a key name from ``dpl keys``."""
    from eth_utils import is_address, to_checksum_address

    if is_address(value):
        return to_checksum_address(value)
    if value.startswith("0x"):
        raise InvalidArgumentError(f"{value!r} is not an Ethereum address")
    return _base()._keyring().info(value).address


def _account(chain, key: str):
    return _base()._keyring().account(key, chain.chain_id)


def _read_json(path: str, what: str) -> object:
    from ledger import jsonio

    try:  # size-capped, depth-checked before any parser recurses, duplicate keys refused
        return jsonio.load_file(path, what=what)
    except jsonio.JsonInputError as e:
        raise InvalidArgumentError(f"{path} is not a JSON {what}: {e.reason}"
                                   + (f" (at {e.path})" if e.path else "")) from None


def _deployment_block(chain) -> int:
    from ledger.chain.deploy import load_deployment
    from ledger.settings import Settings

    return load_deployment(Settings().home, chain.chain_id).get("block_number", 0)


def _sync(chain, store, quiet: bool = True):
    """Bring the local pledge mirror up to date after a change (the chain stays the truth)."""
    from ledger.pledge.mirror import sync

    try:
        return sync(chain, store.engine, _deployment_block(chain))
    except LedgerError as e:
        if not quiet:
            raise
        typer.echo(f"warning: the pledge mirror was not updated ({e}); run: dpl pledge sync", err=True)
        return None


# --------------------------------------------------------------------------- assets


@asset_app.command("create")
def asset_create(
    log: Annotated[str, typer.Option("--log", help="Stream name of the log.")],
    start: Annotated[int, typer.Option("--from", help="First record index (inclusive).", min=0, max=MAX_INDEX)],
    end: Annotated[int, typer.Option("--to", help="End of the range (exclusive).", min=1, max=MAX_INDEX)],
    checkpoint: Annotated[Optional[int], typer.Option(
        "--checkpoint", help="Size of the anchored checkpoint that commits the range (default: the newest).", min=1, max=MAX_INDEX)] = None,
    rpc: Rpc = None, json: Json = False,
) -> None:
    """Print the manifest of records [FROM, TO) of a log and its SHA-256 (the asset digest)."""
    _, chain = _base()._chain(rpc)
    from ledger.pledge.asset import describe_asset

    _, manifest, digest = describe_asset(_base()._store(), chain, log, start, end, checkpoint)
    if json:
        _base()._print_json({"asset_digest": to_hex(digest), "manifest": manifest})
        return
    typer.echo(orjson.dumps(manifest, option=orjson.OPT_INDENT_2).decode())
    typer.echo(f"asset digest {to_hex(digest)}")


# -------------------------------------------------------------------------- lenders


@lenders_app.command("add")
def lenders_add(address: Annotated[str, typer.Argument(help="Address or key name of the lender.")],
                key: _key_option("dev0", "registry admin") = "dev0", rpc: Rpc = None) -> None:
    """Approve a lender: it may then issue and receive pledges."""
    from ledger.pledge.chain import set_lender

    _, chain = _base()._chain(rpc)
    who = _address(address)
    tx = set_lender(chain, _account(chain, key), who, True)
    typer.echo(f"approved lender {who} (tx {tx})" if tx else f"{who} is already an approved lender")


@lenders_app.command("remove")
def lenders_remove(address: Annotated[str, typer.Argument(help="Address or key name of the lender.")],
                   key: _key_option("dev0", "registry admin") = "dev0", rpc: Rpc = None) -> None:
    """Withdraw a lender's approval: it keeps the pledges it holds, but can take no new ones."""
    from ledger.pledge.chain import set_lender

    _, chain = _base()._chain(rpc)
    who = _address(address)
    tx = set_lender(chain, _account(chain, key), who, False)
    typer.echo(f"removed lender {who} (tx {tx})" if tx else f"{who} is not an approved lender")


@lenders_app.command("list")
def lenders_list(rpc: Rpc = None, json: Json = False) -> None:
    """The approved lenders now (from the registry's role events, checked with hasRole)."""
    from ledger.pledge.chain import approved_lenders

    _, chain = _base()._chain(rpc)
    lenders = approved_lenders(chain, _deployment_block(chain))
    if json:
        _base()._print_json(lenders)
    elif not lenders:
        typer.echo("no approved lenders (add one: dpl lenders add ADDRESS)")
    else:
        for a in lenders:
            typer.echo(a)


# ------------------------------------------------------------------------ factories


@factories_app.command("set")
def factories_set(address: Annotated[str, typer.Argument(help="Address or key name of the factory.")],
                  name: Annotated[str, typer.Option("--name", help="Its display name, e.g. 'ACME Precision Co.'.")],
                  registration: Annotated[str, typer.Option(
                      "--registration", help="Its business registration number (only its SHA-256 goes on chain).")],
                  key: _key_option("dev0", "registry admin") = "dev0", rpc: Rpc = None) -> None:
    """List a factory in the directory (or change its listing)."""
    from ledger.directory import list_factory

    _, chain = _base()._chain(rpc)
    who = _address(address)
    tx = list_factory(chain, _account(chain, key), who, name, registration)
    typer.echo(f"listed {who} as {name.strip()!r} (tx {tx})")


@factories_app.command("remove")
def factories_remove(address: Annotated[str, typer.Argument(help="Address or key name of the factory.")],
                     key: _key_option("dev0", "registry admin") = "dev0", rpc: Rpc = None) -> None:
    """Remove a factory's listing (its logs and pledges are untouched)."""
    from ledger.directory import delist_factory

    _, chain = _base()._chain(rpc)
    who = _address(address)
    typer.echo(f"removed {who} from the directory (tx {delist_factory(chain, _account(chain, key), who)})")


@factories_app.command("show")
def factories_show(address: Annotated[str, typer.Argument(help="Address or key name of the factory.")],
                   registration: Annotated[Optional[str], typer.Option(
                       "--registration", help="Check this registration number against the listing.")] = None,
                   rpc: Rpc = None, json: Json = False) -> None:
    """Who the directory says a factory address is (exit 1 when --registration does not match)."""
    from ledger.directory import describe_factory, listing_of, registration_digest

    _, chain = _base()._chain(rpc)
    who = _address(address)
    listing = listing_of(chain, who)
    matches = None
    if registration is not None:
        matches = listing is not None and registration_digest(registration) == listing.registration_digest
    if json:
        _base()._print_json({"address": who, "listed": listing is not None, "name": listing.name if listing else None,
                             "registration_digest": to_hex(listing.registration_digest) if listing else None,
                             "registration_matches": matches})
    else:
        typer.echo(describe_factory(who, listing))
        if matches is not None:
            typer.echo("the registration number matches the listing" if matches
                       else "the registration number does NOT match the listing")
    if matches is False:
        raise typer.Exit(1)


@factories_app.command("list")
def factories_list(rpc: Rpc = None, json: Json = False) -> None:
    """Every factory listed now."""
    from ledger.directory import listed_factories, shown_name

    _, chain = _base()._chain(rpc)
    listings = listed_factories(chain, _deployment_block(chain))
    if json:
        _base()._print_json([{"address": item.address, "name": item.name,
                              "registration_digest": to_hex(item.registration_digest)} for item in listings])
    elif not listings:
        typer.echo("no factories listed (add one: dpl factories set ADDRESS --name NAME --registration NUMBER)")
    else:
        for item in listings:
            typer.echo(f"{item.address}\t{shown_name(item.name)}")


# -------------------------------------------------------------------------- pledges


@pledge_app.command("consent")
def pledge_consent(
    log: Annotated[str, typer.Option("--log", help="Stream name of the log.")],
    start: Annotated[int, typer.Option("--from", help="First record index (inclusive).", min=0, max=MAX_INDEX)],
    end: Annotated[int, typer.Option("--to", help="End of the range (exclusive).", min=1, max=MAX_INDEX)],
    lender: Annotated[str, typer.Option("--lender", help="Address or key name of the lender.")],
    principal: Annotated[int, typer.Option("--principal", help="Loan principal in minor units (e.g. fen).", min=1, max=2**256 - 1)],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code, e.g. CNY.")],
    maturity: Annotated[str, typer.Option("--maturity", help="Loan maturity: YYYY-MM-DD (UTC), ISO date-time or unix seconds.")],
    lien_end: Annotated[str, typer.Option("--lien-end", help="The lien lapses then (after maturity).")],
    samples: Annotated[int, typer.Option("--samples", help="Records a collateral check samples (k), each disclosed to the lender.", min=1)],
    loan_ref: Annotated[str, typer.Option("--loan-ref", help="The lender's loan reference (only its SHA-256 goes on chain).")],
    out: Annotated[str, typer.Option("--out", help="Write the signed consent here.")],
    key: _key_option(None, "factory (default DPL_FACTORY_KEY)") = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="The consent must be used by then (default: 7 days).")] = None,
    checkpoint: Annotated[Optional[int], typer.Option("--checkpoint", help="Anchored checkpoint size (default: the newest).", min=1, max=MAX_INDEX)] = None,
    max_lien_end: Annotated[Optional[str], typer.Option(
        "--max-lien-end", help="The latest lien end the lender may extend to without asking you "
                               "(default: --lien-end, i.e. no extension without your signature).")] = None,
    rpc: Rpc = None,
) -> None:
    """The factory signs its consent to pledge records [FROM, TO) of a log to a lender."""
    from ledger.pledge.asset import describe_asset

    # Everything the user typed is checked before the chain or the store is touched.
    from ledger.pledge.chain import chain_time
    from ledger.pledge.consent import make_consent
    from ledger.pledge.terms import DEFAULT_VALIDITY, Terms, consent_dates, loan_ref_digest
    dates = consent_dates(maturity, lien_end, max_lien_end, deadline, name=lambda f: "--" + f.replace("_", "-"))
    ref_digest = loan_ref_digest(loan_ref)
    settings, chain = _base()._chain(rpc)
    store = _base()._store()
    info, manifest, digest = describe_asset(store, chain, log, start, end, checkpoint)
    factory = _account(chain, key or settings.factory_key)
    valid_until = dates.deadline if dates.deadline is not None else chain_time(chain) + DEFAULT_VALIDITY
    terms = Terms(info.log_id, start, end, manifest["checkpoint"]["size"], digest, principal, currency.upper(),
                  dates.maturity, dates.lien_end, dates.max_lien_end, samples, ref_digest, _address(lender))
    # make_consent refuses (check_consent) what the registry would refuse: dates passed, a lender that
    # is not approved, a log whose factory on chain is not this key
    doc = make_consent(chain, factory, stream=log, terms=terms, manifest=manifest, loan_ref=loan_ref,
                       deadline=valid_until)
    _base()._write_output(doc, out)
    typer.echo(f"factory {factory.address} consents to pledge {log} [{start}, {end}) (checkpoint "
               f"{terms.checkpoint_size}, asset {to_hex(digest)}) to {terms.lender}; valid until "
               f"{doc['deadline_utc']}", err=True)


@pledge_app.command("extension")
def pledge_extension(
    token: Annotated[int, typer.Option("--token", help="The pledge's token id.", min=1, max=2**64 - 1)],
    lien_end: Annotated[str, typer.Option("--lien-end", help="The new lien end you agree to: YYYY-MM-DD (UTC), "
                                                             "ISO date-time or unix seconds.")],
    out: Annotated[str, typer.Option("--out", help="Write the signed extension here.")],
    key: _key_option(None, "factory (default DPL_FACTORY_KEY)") = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="The holder must use it by then (default: 7 days).")] = None,
    rpc: Rpc = None,
) -> None:
    """(Factory) Sign your agreement that a live pledge's lien may end later than the max lien
    end you consented to (EIP-712 PledgeExtension); the holder passes it to dpl pledge extend."""
    from ledger.pledge.consent import make_extension
    from ledger.pledge.terms import parse_time

    new_end = parse_time(lien_end, "--lien-end")
    valid_until = parse_time(deadline, "--deadline") if deadline else None
    settings, chain = _base()._chain(rpc)
    factory = _account(chain, key or settings.factory_key)
    doc = make_extension(chain, factory, token, new_end, valid_until)
    _base()._write_output(doc, out)
    typer.echo(f"factory {factory.address} agrees that pledge {token}'s lien may end at {doc['lien_end_utc']}; "
               f"the holder may use this until {doc['deadline_utc']}", err=True)


@pledge_app.command("issue")
def pledge_issue(consent: Annotated[str, typer.Argument(help="The factory's signed consent (dpl-consent/2).")],
                 key: _key_option(None, "lender the consent names") = None,
                 rpc: Rpc = None, json: Json = False) -> None:
    """Issue the pledge a consent allows; the lender (--key) becomes its holder."""
    from ledger.pledge.chain import issue
    from ledger.pledge.terms import read_consent

    if not key:
        raise typer.BadParameter("give the lender's key: --key LENDER_KEY")
    doc = read_consent(_read_json(consent, "consent"))  # bad input fails before any chain call
    _, chain = _base()._chain(rpc)
    issued = issue(chain, _account(chain, key), doc)
    _sync(chain, _base()._store())
    if json:
        _base()._print_json({"token_id": issued.token_id, "tx_hash": issued.tx_hash, "block_number": issued.block_number})
    else:
        typer.echo(f"issued pledge {issued.token_id} to {doc.terms.lender} in block {issued.block_number} "
                   f"(tx {issued.tx_hash})")


def _holder_action(token: int, key: str, rpc: str | None, build, done: str) -> None:
    from ledger.pledge.chain import send

    _, chain = _base()._chain(rpc)
    account = _account(chain, key)
    tx = send(chain, account, build(chain, account))
    _sync(chain, _base()._store())
    typer.echo(f"pledge {token}: {done} (tx {tx})")


HolderKey = Annotated[str, typer.Option("--key", help="Key (from dpl keys) of the pledge's holder.")]


@pledge_app.command("transfer")
def pledge_transfer(token: Token, to: Annotated[str, typer.Option("--to", help="Address or key name of an approved lender.")],
                    key: HolderKey, rpc: Rpc = None) -> None:
    """Transfer a pledge to another approved lender."""
    from ledger.pledge.chain import transfer_call

    target = _address(to)
    _holder_action(token, key, rpc, lambda c, a: transfer_call(c, a.address, target, token),
                   f"transferred to {target}")


@pledge_app.command("release")
def pledge_release(token: Token, key: HolderKey, rpc: Rpc = None) -> None:
    """Release a pledge (the loan is repaid): the lien is lifted and the token burned."""
    from ledger.pledge.chain import release_call

    _holder_action(token, key, rpc, lambda c, a: release_call(c, token), "released")


@pledge_app.command("default")
def pledge_default(token: Token, key: HolderKey, rpc: Rpc = None) -> None:
    """Declare the loan in default (from maturity on); the lien stays."""
    from ledger.pledge.chain import default_call

    _holder_action(token, key, rpc, lambda c, a: default_call(c, token), "declared in default")


@pledge_app.command("extend")
def pledge_extend(token: Token, key: HolderKey,
                  lien_end: Annotated[Optional[str], typer.Option(
                      "--lien-end", help="The new lien end (with --consent: the one the factory signed).")] = None,
                  consent: Annotated[Optional[str], typer.Option(
                      "--consent", help="The factory's signed extension (dpl-extension/1), to go past the max lien end.")] = None,
                  rpc: Rpc = None) -> None:
    """Move a live pledge's lien end later, before it lapses: alone up to the max lien end the
    factory signed, beyond it with the factory's signed extension (--consent)."""
    from ledger.pledge.chain import extend_call, read_pledge
    from ledger.pledge.terms import parse_time, read_extension, utc_text

    if lien_end is None and consent is None:
        raise typer.BadParameter("give the new lien end (--lien-end DATE) or the factory's extension (--consent FILE)")
    new_end = parse_time(lien_end, "--lien-end") if lien_end is not None else None
    extension = read_extension(_read_json(consent, "extension")) if consent else None  # before any chain call
    target = new_end if new_end is not None else extension.lien_end
    _holder_action(token, key, rpc, lambda c, a: extend_call(c, read_pledge(c, token), new_end, extension),
                   f"lien extended to {utc_text(target)}" + (" with the factory's extension" if extension else ""))


@pledge_app.command("show")
def pledge_show(token: Token, rpc: Rpc = None, json: Json = False) -> None:
    """Show a pledge as the chain has it now: status, holder, range and terms."""
    from ledger.pledge.chain import read_pledge

    _, chain = _base()._chain(rpc)
    view = read_pledge(chain, token).as_json()
    if json:
        _base()._print_json(view)
        return
    t = view["terms"]
    typer.echo(f"pledge {token}: {view['status']}\nholder      {view['holder'] or '(none: released)'}\n"
               f"factory     {view['factory']}\nlog         {view['log_id']}\nrange       [{view['from']}, {view['to']}) "
               f"of checkpoint {t['checkpoint_size']}\nasset       {view['asset_digest']}\n"
               f"principal   {t['principal']} {t['currency']} (minor units)\nmaturity    {t['maturity_utc']}\n"
               f"lien end    {t['lien_end_utc']}\nmax lien end {t['max_lien_end_utc']} (later only with the factory's "
               f"signed extension)\nsamples     {t['samples']}\nissued in   block {view['issue_block']}")


@pledge_app.command("list")
def pledge_list(log: Annotated[Optional[str], typer.Option("--log", help="Only pledges over this log (stream name or 0x log id).")] = None,
                rpc: Rpc = None, json: Json = False) -> None:
    """List pledges (from the local mirror, synced from the chain first)."""
    from ledger.pledge.chain import chain_time
    from ledger.pledge.mirror import mirror_row_json
    from ledger.store.pledges import PledgeMirror

    _, chain = _base()._chain(rpc)
    store = _base()._store()
    _sync(chain, store, quiet=False)
    log_id = None
    if log:
        log_id = bytes.fromhex(log[2:]) if log.startswith("0x") and len(log) == 66 else store.get_log(log).log_id
        if log_id is None:
            raise NotFoundError(f"log {log} is not on chain yet, so it has no pledges")
    now = chain_time(chain)
    rows = PledgeMirror(store.engine, chain.chain_id, chain.registry.address).list(log_id=log_id)
    out = [mirror_row_json(r, now) for r in rows]
    if json:
        _base()._print_json(out)
    elif not out:
        typer.echo("no pledges")
    else:
        for p in out:
            typer.echo(f"{p['token_id']}\t{p['status']}\t[{p['from']}, {p['to']})\t{p['principal']} {p['currency']}\t"
                       f"holder {p['holder'] or '-'}")


@pledge_app.command("sync")
def pledge_sync(full: Annotated[bool, typer.Option("--full/--incremental", help="Rebuild from the deployment block (default) or read only new blocks.")] = True,
                rpc: Rpc = None) -> None:
    """Rebuild the local pledge mirror from the registry's events (the chain is the truth)."""
    from ledger.pledge.mirror import sync

    _, chain = _base()._chain(rpc)
    report = sync(chain, _base()._store().engine, _deployment_block(chain), full=full)
    verb = "rebuilt from the chain" if report.rebuilt else "updated"
    typer.echo(f"pledge mirror {verb}: {report.events} event(s), up to block {report.block_number}")


@pledge_app.command("bundle")
def pledge_bundle(token: Token, out: Annotated[str, typer.Option("--out", help="Write the collateral bundle here.")],
                  rpc: Rpc = None) -> None:
    """(Factory) Write the collateral bundle of a pledge: its manifest and the sampled records
    with salts and inclusion proofs (this discloses those k records to the lender)."""
    from ledger.pledge.collateral_chain import build_bundle

    _, chain = _base()._chain(rpc)
    doc = build_bundle(_base()._store(), chain, token)
    _base()._write_output(doc, out)
    typer.echo(f"pledge {token}: {len(doc['entries'])} sampled record(s) with proofs", err=True)


@pledge_app.command("verify")
def pledge_verify(token: Token, bundle: Annotated[str, typer.Option("--bundle", help="The collateral bundle (or -).")],
                  rpc: Rpc = None, json: Json = False,
                  registry: Annotated[Optional[str], typer.Option(
                      "--registry", help="The registry address to trust (default: the deployment record pinned "
                                         "for the chain; never the address the bundle names).")] = None,
                  factory: Annotated[Optional[str], typer.Option(
                      "--factory", help="The factory address you expect; a pledge over another factory's log "
                                        "is not sound.")] = None) -> None:
    """(Lender) Check a collateral bundle against the chain: exit 0 when every check passes."""
    from ledger.pledge.collateral_chain import verify_against_chain
    from ledger.settings import Settings

    report = verify_against_chain(_read_json(bundle, "collateral bundle"), token, rpc or Settings().rpc_url,
                                  Settings().home, registry, factory)
    if json:
        _base()._print_json(report.as_json())
    else:
        say = _base().say  # every line may quote the bundle or the chain: printed escaped
        entries = [c for c in report.checks if c.name.startswith("entry ")]
        for check in report.checks:
            if not check.name.startswith("entry ") or not check.ok:
                say(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if entries:  # k entries x 3 checks: summarise the passes, show every failure above
            passed = sum(c.ok for c in entries)
            say(f"{'PASS' if passed == len(entries) else 'FAIL'}  sampled records: {passed} of "
                f"{len(entries)} entry checks pass (leaf hash, inclusion, agrees with manifest)")
        say(f"pledge {token}: collateral {'SOUND' if report.sound else 'NOT SOUND'}")
    if not report.sound:
        raise typer.Exit(1)
