"""``dpl pledge``: pledges of data assets to lenders (ERC-721 tokens on the registry).

Factory side: ``consent``, ``extension``, ``bundle``. Lender side: ``issue|transfer|release|
default|extend|verify``. Anyone: ``show|list|sync``. A refusal by the contract prints its error
name and meaning and exits 1; nothing is sent (the gas estimate fails first).
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.bundles import to_hex
from ledger.cli.common import Token, account_for, address_of, key_option, read_json, sync_mirror
from ledger.cli.context import context, settings_and_chain
from ledger.cli.output import JsonFlag, RpcOption, print_json, say, write_output  # say: lines that may quote input, escaped
from ledger.errors import NotFoundError
from ledger.limits import MAX_INDEX

pledge_app = typer.Typer(help="Pledges of data assets to lenders (ERC-721 tokens on the registry).",
                         no_args_is_help=True)


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
    key: key_option(None, "factory (default DPL_FACTORY_KEY)") = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="The consent must be used by then (default: 7 days).")] = None,
    checkpoint: Annotated[Optional[int], typer.Option("--checkpoint", help="Anchored checkpoint size (default: the newest).", min=1, max=MAX_INDEX)] = None,
    max_lien_end: Annotated[Optional[str], typer.Option(
        "--max-lien-end", help="The latest lien end the lender may extend to without asking you "
                               "(default: --lien-end, i.e. no extension without your signature).")] = None,
    rpc: RpcOption = None,
) -> None:
    """The factory signs its consent to pledge records [FROM, TO) of a log to a lender."""
    from ledger.pledges import DEFAULT_VALIDITY, Terms, chain_time, consent_dates, describe_asset, loan_ref_digest, make_consent

    # Everything the user typed is checked before the chain or the store is touched.
    dates = consent_dates(maturity, lien_end, max_lien_end, deadline, name=lambda f: "--" + f.replace("_", "-"))
    ref_digest = loan_ref_digest(loan_ref)
    settings, chain = settings_and_chain(rpc)
    store = context().store
    info, manifest, digest = describe_asset(store, chain, log, start, end, checkpoint)
    factory = account_for(chain, key or settings.factory_key)
    valid_until = dates.deadline if dates.deadline is not None else chain_time(chain) + DEFAULT_VALIDITY
    terms = Terms(info.log_id, start, end, manifest["checkpoint"]["size"], digest, principal, currency.upper(),
                  dates.maturity, dates.lien_end, dates.max_lien_end, samples, ref_digest, address_of(lender))
    # make_consent refuses (check_consent) what the registry would refuse: dates passed, a lender that
    # is not approved, a log whose factory on chain is not this key
    doc = make_consent(chain, factory, stream=log, terms=terms, manifest=manifest, loan_ref=loan_ref,
                       deadline=valid_until)
    write_output(doc, out)
    typer.echo(f"factory {factory.address} consents to pledge {log} [{start}, {end}) (checkpoint "
               f"{terms.checkpoint_size}, asset {to_hex(digest)}) to {terms.lender}; valid until "
               f"{doc['deadline_utc']}", err=True)


@pledge_app.command("extension")
def pledge_extension(
    token: Annotated[int, typer.Option("--token", help="The pledge's token id.", min=1, max=2**64 - 1)],
    lien_end: Annotated[str, typer.Option("--lien-end", help="The new lien end you agree to: YYYY-MM-DD (UTC), "
                                                             "ISO date-time or unix seconds.")],
    out: Annotated[str, typer.Option("--out", help="Write the signed extension here.")],
    key: key_option(None, "factory (default DPL_FACTORY_KEY)") = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="The holder must use it by then (default: 7 days).")] = None,
    rpc: RpcOption = None,
) -> None:
    """(Factory) Sign your agreement that a live pledge's lien may end later than the max lien
    end you consented to (EIP-712 PledgeExtension); the holder passes it to dpl pledge extend."""
    from ledger.pledges import make_extension, parse_time

    new_end = parse_time(lien_end, "--lien-end")
    valid_until = parse_time(deadline, "--deadline") if deadline else None
    settings, chain = settings_and_chain(rpc)
    factory = account_for(chain, key or settings.factory_key)
    doc = make_extension(chain, factory, token, new_end, valid_until)
    write_output(doc, out)
    typer.echo(f"factory {factory.address} agrees that pledge {token}'s lien may end at {doc['lien_end_utc']}; "
               f"the holder may use this until {doc['deadline_utc']}", err=True)


@pledge_app.command("issue")
def pledge_issue(consent: Annotated[str, typer.Argument(help="The factory's signed consent (dpl-consent/2).")],
                 key: key_option(None, "lender the consent names") = None,
                 rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Issue the pledge a consent allows; the lender (--key) becomes its holder."""
    from ledger.pledges import issue, read_consent

    if not key:
        raise typer.BadParameter("give the lender's key: --key LENDER_KEY")
    doc = read_consent(read_json(consent, "consent"))  # bad input fails before any chain call
    _, chain = settings_and_chain(rpc)
    issued = issue(chain, account_for(chain, key), doc)
    sync_mirror(chain, context().store)
    if json:
        print_json({"token_id": issued.token_id, "tx_hash": issued.tx_hash, "block_number": issued.block_number})
    else:
        typer.echo(f"issued pledge {issued.token_id} to {doc.terms.lender} in block {issued.block_number} "
                   f"(tx {issued.tx_hash})")


def _holder_action(token: int, key: str, rpc: str | None, build, done: str) -> None:
    from ledger.pledges import send

    _, chain = settings_and_chain(rpc)
    account = account_for(chain, key)
    tx = send(chain, account, build(chain, account))
    sync_mirror(chain, context().store)
    typer.echo(f"pledge {token}: {done} (tx {tx})")


HolderKey = Annotated[str, typer.Option("--key", help="Key (from dpl keys) of the pledge's holder.")]


@pledge_app.command("transfer")
def pledge_transfer(token: Token, to: Annotated[str, typer.Option("--to", help="Address or key name of an approved lender.")],
                    key: HolderKey, rpc: RpcOption = None) -> None:
    """Transfer a pledge to another approved lender."""
    target = address_of(to)
    _holder_action(token, key, rpc, lambda c, a: c.registry.functions.safeTransferFrom(a.address, target, token),
                   f"transferred to {target}")


@pledge_app.command("release")
def pledge_release(token: Token, key: HolderKey, rpc: RpcOption = None) -> None:
    """Release a pledge (the loan is repaid): the lien is lifted and the token burned."""
    _holder_action(token, key, rpc, lambda c, a: c.registry.functions.release(token), "released")


@pledge_app.command("default")
def pledge_default(token: Token, key: HolderKey, rpc: RpcOption = None) -> None:
    """Declare the loan in default (from maturity on); the lien stays."""
    _holder_action(token, key, rpc, lambda c, a: c.registry.functions.declareDefault(token), "declared in default")


@pledge_app.command("extend")
def pledge_extend(token: Token, key: HolderKey,
                  lien_end: Annotated[Optional[str], typer.Option(
                      "--lien-end", help="The new lien end (with --consent: the one the factory signed).")] = None,
                  consent: Annotated[Optional[str], typer.Option(
                      "--consent", help="The factory's signed extension (dpl-extension/1), to go past the max lien end.")] = None,
                  rpc: RpcOption = None) -> None:
    """Move a live pledge's lien end later, before it lapses: alone up to the max lien end the
    factory signed, beyond it with the factory's signed extension (--consent)."""
    from ledger.pledges import extend_call, parse_time, read_extension, read_pledge, utc_text

    if lien_end is None and consent is None:
        raise typer.BadParameter("give the new lien end (--lien-end DATE) or the factory's extension (--consent FILE)")
    new_end = parse_time(lien_end, "--lien-end") if lien_end is not None else None
    extension = read_extension(read_json(consent, "extension")) if consent else None  # before any chain call
    target = new_end if new_end is not None else extension.lien_end
    _holder_action(token, key, rpc, lambda c, a: extend_call(c, read_pledge(c, token), new_end, extension),
                   f"lien extended to {utc_text(target)}" + (" with the factory's extension" if extension else ""))


@pledge_app.command("show")
def pledge_show(token: Token, rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Show a pledge as the chain has it now: status, holder, range and terms."""
    from ledger.pledges import read_pledge

    _, chain = settings_and_chain(rpc)
    view = read_pledge(chain, token).as_json()
    if json:
        print_json(view)
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
                rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """List pledges (from the local mirror, synced from the chain first)."""
    from ledger.pledges import chain_time, mirror_row_json
    from ledger.store.pledges import PledgeMirror

    _, chain = settings_and_chain(rpc)
    store = context().store
    sync_mirror(chain, store, quiet=False)
    log_id = None
    if log:
        log_id = bytes.fromhex(log[2:]) if log.startswith("0x") and len(log) == 66 else store.get_log(log).log_id
        if log_id is None:
            raise NotFoundError(f"log {log} is not on chain yet, so it has no pledges")
    now = chain_time(chain)
    rows = PledgeMirror(store.engine, chain.chain_id, chain.registry.address).list(log_id=log_id)
    out = [mirror_row_json(r, now) for r in rows]
    if json:
        print_json(out)
    elif not out:
        typer.echo("no pledges")
    else:
        for p in out:
            typer.echo(f"{p['token_id']}\t{p['status']}\t[{p['from']}, {p['to']})\t{p['principal']} {p['currency']}\t"
                       f"holder {p['holder'] or '-'}")


@pledge_app.command("sync")
def pledgesync_mirror(full: Annotated[bool, typer.Option("--full/--incremental", help="Rebuild from the deployment block (default) or read only new blocks.")] = True,
                rpc: RpcOption = None) -> None:
    """Rebuild the local pledge mirror from the registry's events (the chain is the truth)."""
    from ledger.pledges import sync

    _, chain = settings_and_chain(rpc)
    report = sync(chain, context().store.engine, context().deployment_block, full=full)
    verb = "rebuilt from the chain" if report.rebuilt else "updated"
    typer.echo(f"pledge mirror {verb}: {report.events} event(s), up to block {report.block_number}")


@pledge_app.command("bundle")
def pledge_bundle(token: Token, out: Annotated[str, typer.Option("--out", help="Write the collateral bundle here.")],
                  rpc: RpcOption = None) -> None:
    """(Factory) Write the collateral bundle of a pledge: its manifest and the sampled records
    with salts and inclusion proofs (this discloses those k records to the lender)."""
    from ledger.pledge_collateral import build_bundle

    _, chain = settings_and_chain(rpc)
    doc = build_bundle(context().store, chain, token)
    write_output(doc, out)
    typer.echo(f"pledge {token}: {len(doc['entries'])} sampled record(s) with proofs", err=True)


@pledge_app.command("verify")
def pledge_verify(token: Token, bundle: Annotated[str, typer.Option("--bundle", help="The collateral bundle (or -).")],
                  rpc: RpcOption = None, json: JsonFlag = False,
                  registry: Annotated[Optional[str], typer.Option(
                      "--registry", help="The registry address to trust (default: the deployment record pinned "
                                         "for the chain; never the address the bundle names).")] = None,
                  factory: Annotated[Optional[str], typer.Option(
                      "--factory", help="The factory address you expect; a pledge over another factory's log "
                                        "is not sound.")] = None) -> None:
    """(Lender) Check a collateral bundle against the chain: exit 0 when every check passes."""
    from ledger.pledge_collateral import verify_against_chain
    report = verify_against_chain(read_json(bundle, "collateral bundle"), token, rpc or context().settings.rpc_url,
                                  context().settings.home, registry, factory)
    if json:
        print_json(report.as_json())
    else:
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
