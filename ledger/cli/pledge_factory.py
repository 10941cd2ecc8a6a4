"""The factory's side of a pledge: ``dpl pledge consent``, ``extension`` and ``bundle``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.bundles import to_hex
from ledger.cli.common import Token, account_for, address_of, key_option
from ledger.cli.context import context, settings_and_chain
from ledger.cli.output import RpcOption, write_output
from ledger.limits import MAX_INDEX


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
    from ledger.pledge.asset import describe_asset
    from ledger.pledge.chain import chain_time
    from ledger.pledge.consent import make_consent
    from ledger.pledge.terms import DEFAULT_VALIDITY, Terms, consent_dates, loan_ref_digest

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
    from ledger.pledge.consent import make_extension
    from ledger.pledge.terms import parse_time

    new_end = parse_time(lien_end, "--lien-end")
    valid_until = parse_time(deadline, "--deadline") if deadline else None
    settings, chain = settings_and_chain(rpc)
    factory = account_for(chain, key or settings.factory_key)
    doc = make_extension(chain, factory, token, new_end, valid_until)
    write_output(doc, out)
    typer.echo(f"factory {factory.address} agrees that pledge {token}'s lien may end at {doc['lien_end_utc']}; "
               f"the holder may use this until {doc['deadline_utc']}", err=True)


def pledge_bundle(token: Token, out: Annotated[str, typer.Option("--out", help="Write the collateral bundle here.")],
                  rpc: RpcOption = None) -> None:
    """(Factory) Write the collateral bundle of a pledge: its manifest and the sampled records
    with salts and inclusion proofs (this discloses those k records to the lender)."""
    from ledger.pledge.collateral_chain import build_bundle

    _, chain = settings_and_chain(rpc)
    doc = build_bundle(context().store, chain, token)
    write_output(doc, out)
    typer.echo(f"pledge {token}: {len(doc['entries'])} sampled record(s) with proofs", err=True)
