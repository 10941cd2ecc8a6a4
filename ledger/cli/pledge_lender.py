"""The lender's side of a pledge: ``dpl pledge issue``, the holder's moves (``transfer``,
``release``, ``default``, ``extend``) and ``verify`` (a collateral bundle against the chain)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.common import Token, address_of, key_option, read_json
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, print_json, say  # say: text from outside, escaped

HolderKey = Annotated[str, typer.Option("--key", help="Key (from dpl keys) of the pledge's holder.")]


def pledge_issue(consent: Annotated[str, typer.Argument(help="The factory's signed consent (dpl-consent/2).")],
                 key: key_option(None, "lender the consent names") = None,
                 rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Issue the pledge a consent allows; the lender (--key) becomes its holder."""
    from ledger.pledge.service import Actor, Pledges
    from ledger.pledge.terms import read_consent

    if not key:
        raise typer.BadParameter("give the lender's key: --key LENDER_KEY")
    doc = read_consent(read_json(consent, "consent"))  # bad input fails before any chain call
    issued = Pledges(context().use_rpc(rpc)).issue(Actor.of_key(key), doc)
    _mirror_warning(issued.mirror_error)
    if json:
        print_json(issued.as_json())
    else:
        typer.echo(f"issued pledge {issued.token_id} to {issued.lender} in block {issued.block_number} "
                   f"(tx {issued.tx_hash})")


def _mirror_warning(error: str | None) -> None:
    if error is not None:
        say(f"warning: the pledge mirror was not updated ({error}); run: dpl pledge sync", err=True)


def _holder_action(token: int, key: str, rpc: str | None, move, done: str) -> None:
    """Run ``move(pledges, actor)`` with the holder's keyring key; print the tx hash."""
    from ledger.pledge.service import Actor, Pledges

    moved = move(Pledges(context().use_rpc(rpc)), Actor.of_key(key))
    _mirror_warning(moved.mirror_error)
    typer.echo(f"pledge {token}: {done} (tx {moved.tx_hash})")


def pledge_transfer(token: Token, to: Annotated[str, typer.Option("--to", help="Address or key name of an approved lender.")],
                    key: HolderKey, rpc: RpcOption = None) -> None:
    """Transfer a pledge to another approved lender."""
    target = address_of(to)
    _holder_action(token, key, rpc, lambda p, a: p.transfer(a, token, target), f"transferred to {target}")


def pledge_release(token: Token, key: HolderKey, rpc: RpcOption = None) -> None:
    """Release a pledge (the loan is repaid): the lien is lifted and the token burned."""
    _holder_action(token, key, rpc, lambda p, a: p.release(a, token), "released")


def pledge_default(token: Token, key: HolderKey, rpc: RpcOption = None) -> None:
    """Declare the loan in default (from maturity on); the lien stays."""
    _holder_action(token, key, rpc, lambda p, a: p.declare_default(a, token), "declared in default")


def pledge_extend(token: Token, key: HolderKey,
                  lien_end: Annotated[Optional[str], typer.Option(
                      "--lien-end", help="The new lien end (with --consent: the one the factory signed).")] = None,
                  consent: Annotated[Optional[str], typer.Option(
                      "--consent", help="The factory's signed extension (dpl-extension/1), to go past the max lien end.")] = None,
                  rpc: RpcOption = None) -> None:
    """Move a live pledge's lien end later, before it lapses: alone up to the max lien end the
    factory signed, beyond it with the factory's signed extension (--consent)."""
    from ledger.pledge.terms import parse_time, read_extension, utc_text

    if lien_end is None and consent is None:
        raise typer.BadParameter("give the new lien end (--lien-end DATE) or the factory's extension (--consent FILE)")
    new_end = parse_time(lien_end, "--lien-end") if lien_end is not None else None
    extension = read_extension(read_json(consent, "extension")) if consent else None  # before any chain call
    target = new_end if new_end is not None else extension.lien_end
    _holder_action(token, key, rpc, lambda p, a: p.extend(a, token, new_end, extension),
                   f"lien extended to {utc_text(target)}" + (" with the factory's extension" if extension else ""))


def pledge_verify(token: Token, bundle: Annotated[str, typer.Option("--bundle", help="The collateral bundle (or -).")],
                  rpc: RpcOption = None, json: JsonFlag = False,
                  registry: Annotated[Optional[str], typer.Option(
                      "--registry", help="The registry address to trust (default: the deployment record pinned "
                                         "for the chain; never the address the bundle names).")] = None,
                  factory: Annotated[Optional[str], typer.Option(
                      "--factory", help="The factory address you expect; a pledge over another factory's log "
                                        "is not sound.")] = None,
                  disclosure: Annotated[Optional[str], typer.Option(
                      "--disclosure", help="The factory's full disclosure of the pledged range (dpl disclose): the "
                                           "profile's figures are recomputed from it instead of sampled.")] = None,
                  ) -> None:
    """(Lender) Check a collateral bundle against the chain: exit 0 when every check passes.
    A pledge of a production profile lists its headline figures: declared by the factory and
    spot-checked by the samples, or (--disclosure) recomputed from every record of the range."""
    from ledger.pledge.service import Pledges

    doc = read_json(bundle, "collateral bundle")
    full = read_json(disclosure, "disclosure") if disclosure is not None else None
    report = Pledges(context().use_rpc(rpc)).verify_bundle(doc, token, registry, factory, full)
    if json:
        print_json(report.as_json())
    else:
        entries = [c for c in report.checks if c.name.startswith("entry ")]
        for check in report.checks:
            if not check.name.startswith("entry ") or not check.ok:
                say(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if entries:  # k entries x 3 (or 4) checks: summarise the passes, show every failure above
            passed = sum(c.ok for c in entries)
            kinds = "leaf hash, inclusion, agrees with manifest" + (
                ", agrees with its day's figures" if any(c.name.endswith("day's figures") for c in entries) else "")
            say(f"{'PASS' if passed == len(entries) else 'FAIL'}  sampled records: {passed} of "
                f"{len(entries)} entry checks pass ({kinds})")
        say(f"pledge {token}: collateral {'SOUND' if report.sound else 'NOT SOUND'}")
    if not report.sound:
        raise typer.Exit(1)
