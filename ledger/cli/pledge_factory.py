"""The factory's side of a pledge: ``dpl pledge consent``, ``extension`` and ``bundle``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.common import Token, address_of, key_option
from ledger.cli.context import context
from ledger.cli.output import RpcOption, write_output
from ledger.limits import MAX_INDEX


def pledge_consent(
    log: Annotated[str, typer.Option("--log", help="Stream name of the log.")],
    start: Annotated[int, typer.Option("--from", help="First record index (inclusive).", min=0, max=MAX_INDEX)],
    end: Annotated[int, typer.Option("--to", help="End of the range (exclusive).", min=1, max=MAX_INDEX)],
    lender: Annotated[str, typer.Option("--lender", help="Address or key name of the lender.")],
    principal: Annotated[int, typer.Option("--principal", help="Loan principal in minor units (e.g. fen).")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code, e.g. CNY.")],
    maturity: Annotated[str, typer.Option("--maturity", help="Loan maturity: YYYY-MM-DD (UTC), ISO date-time or unix seconds.")],
    lien_end: Annotated[str, typer.Option("--lien-end", help="The lien lapses then (after maturity).")],
    samples: Annotated[int, typer.Option("--samples", help="Records a collateral check samples (k), each disclosed to the lender.")],
    loan_ref: Annotated[str, typer.Option("--loan-ref", help="The lender's loan reference (only its SHA-256 goes on chain).")],
    out: Annotated[str, typer.Option("--out", help="Write the signed consent here.")],
    key: key_option(None, "factory (default DPL_FACTORY_KEY)") = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="The consent must be used by then (default: 7 days).")] = None,
    checkpoint: Annotated[Optional[int], typer.Option("--checkpoint", help="Anchored checkpoint size (default: the newest).", min=1, max=MAX_INDEX)] = None,
    max_lien_end: Annotated[Optional[str], typer.Option(
        "--max-lien-end", help="The latest lien end the lender may extend to without asking you "
                               "(default: --lien-end, i.e. no extension without your signature).")] = None,
    nonce: Annotated[Optional[str], typer.Option(
        "--nonce", help="Decimal nonce to sign (a draft's; default: a fresh random one).")] = None,
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="Pledge this production profile of the range too (dpl profile build); it is recomputed "
                          "from the records and refused unless every figure is identical.")] = None,
    rpc: RpcOption = None,
) -> None:
    """The factory signs its consent to pledge records [FROM, TO) of a log to a lender."""
    from ledger.cli.common import read_json
    from ledger.pledge.service import Actor, ConsentRequest, Pledges

    claimed = read_json(profile, "profile") if profile is not None else None  # bad input fails first
    ctx = context().use_rpc(rpc)
    request = ConsentRequest(log, start, end, lender, principal, currency, maturity, lien_end, samples, loan_ref,
                             checkpoint, max_lien_end, deadline, nonce, claimed_profile=claimed)
    # everything typed is checked before the chain or the store is touched, and what the registry
    # would refuse (dates passed, a lender not approved, a log of another factory) before signing
    doc = Pledges(ctx).sign_consent(Actor.of_key(key or ctx.settings.factory_key), request, address_of,
                                    name=lambda f: "--" + f.replace("_", "-"))
    write_output(doc, out)
    t = doc["terms"]
    with_profile = " with its production profile" if doc["manifest"]["format"] == "dpl-asset/2" else ""
    typer.echo(f"factory {doc['factory']} consents to pledge {log} [{start}, {end}){with_profile} (checkpoint "
               f"{t['checkpoint_size']}, asset {t['asset_digest']}) to {t['lender']}; valid until "
               f"{doc['deadline_utc']}", err=True)


def pledge_extension(
    token: Annotated[int, typer.Option("--token", help="The pledge's token id.", min=1, max=2**64 - 1)],
    lien_end: Annotated[str, typer.Option("--lien-end", help="The new lien end you agree to: YYYY-MM-DD (UTC), "
                                                             "ISO date-time or unix seconds.")],
    out: Annotated[str, typer.Option("--out", help="Write the signed extension here.")],
    key: key_option(None, "factory (default DPL_FACTORY_KEY)") = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="The holder must use it by then (default: 7 days).")] = None,
    nonce: Annotated[Optional[str], typer.Option(
        "--nonce", help="Decimal nonce to sign (a draft's; default: a fresh random one).")] = None,
    rpc: RpcOption = None,
) -> None:
    """(Factory) Sign your agreement that a live pledge's lien may end later than the max lien
    end you consented to (EIP-712 PledgeExtension); the holder passes it to dpl pledge extend."""
    from ledger.pledge.service import Actor, Pledges

    ctx = context().use_rpc(rpc)
    doc = Pledges(ctx).sign_extension(Actor.of_key(key or ctx.settings.factory_key), token, lien_end, deadline,
                                      nonce, name=lambda f: "--" + f.replace("_", "-"))
    write_output(doc, out)
    typer.echo(f"factory {doc['factory']} agrees that pledge {token}'s lien may end at {doc['lien_end_utc']}; "
               f"the holder may use this until {doc['deadline_utc']}", err=True)


def pledge_bundle(token: Token, out: Annotated[str, typer.Option("--out", help="Write the collateral bundle here.")],
                  consent: Annotated[Optional[str], typer.Option(
                      "--consent", help="The consent the pledge was issued from (needed when it pledged a production "
                                        "profile and this service does not keep the consent).")] = None,
                  rpc: RpcOption = None) -> None:
    """(Factory) Write the collateral bundle of a pledge: its manifest and the sampled records
    with salts and inclusion proofs (this discloses those k records to the lender)."""
    from ledger.cli.common import read_json
    from ledger.pledge.service import Pledges

    document = read_json(consent, "consent") if consent is not None else None
    doc = Pledges(context().use_rpc(rpc)).bundle(token, consent=document)
    write_output(doc, out)
    typer.echo(f"pledge {token}: {len(doc['entries'])} sampled record(s) with proofs", err=True)
