"""``dpl apply`` and ``dpl applications list|show|review|decide|more-data|withdraw|draft|consent``:
loan applications (docs/APPLICATIONS.md) on the local store.

Each command acts as the party whose API key is in ``DPL_API_KEY`` (as ``dpl grants``): a factory
applies, answers a request for more data, withdraws, takes the consent draft of approved terms
and links the consent it gave; a lender reviews and decides; an auditor lists every
application. The rules are the service's (``ledger.service.applications``), as over HTTP."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.common import read_json
from ledger.cli.context import context
from ledger.cli.grants import ApiKey, _party
from ledger.cli.output import JsonFlag, print_json, say
from ledger.errors import InvalidArgumentError

applications_app = typer.Typer(help="Loan applications (docs/APPLICATIONS.md): apply, review, decide, consent.",
                               no_args_is_help=True)
ApplicationId = Annotated[int, typer.Argument(help="The application's id.", min=1, max=2**53 - 1)]


def _applications():
    from ledger.service.applications import Applications

    return Applications(context())


def _line(view) -> str:
    a = view.application
    ranges = ", ".join(f"{c['log_id'][:10]}…[{c['from']}, {c['to']})" for c in a["collateral"])
    return (f"application {view.id}  {view.state}  factory {view.factory}  lender {view.lender_party or view.lender}  "
            f"{a['amount']} {a['currency']} (minor units)  collateral {ranges}  grants {view.grant_ids}")


def _show(view, json: bool) -> None:
    if json:
        print_json(view.as_json())
        return
    say(_line(view))
    for e in view.events:
        say(f"  {e['at']}  {e['party']} ({e['role']})  {e['action']} -> {e['state']}")


def _log_id(log: str) -> str:
    if log.startswith(("0x", "0X")):
        return log.lower()
    info = context().store.get_log(log)
    if info.log_id is None:
        raise InvalidArgumentError(f"log {log!r} has no on-chain id yet, so no grant names it")
    return "0x" + info.log_id.hex()


def _collateral(value: str) -> dict:
    log, _, rest = value.rpartition(":")
    log, _, start = log.rpartition(":")
    if not log or not start.isdigit() or not rest.isdigit():
        raise InvalidArgumentError(f"--collateral: {value[:80]!r} is not LOG:FROM:TO (a log id or stream, two "
                                   "record indices)")
    return {"log_id": _log_id(log), "from": int(start), "to": int(rest)}


def _lender(value: str) -> str:
    if value.startswith("0x"):
        return value
    party = context().parties.get(value)
    if party.role != "lender" or not party.address:
        raise InvalidArgumentError(f"--lender: {value!r} is not a lender party with an address")
    return party.address


def apply(
    api_key: ApiKey,
    lender: Annotated[str, typer.Option("--lender", help="The lender: its address or party name.")],
    amount: Annotated[str, typer.Option("--amount", help="The amount in minor units (a whole number).")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 (three capital letters).")],
    purpose: Annotated[str, typer.Option("--purpose", help="What the loan is for (1-500 characters).")],
    collateral: Annotated[list[str], typer.Option("--collateral", help="LOG:FROM:TO offered as collateral (a log "
                                                                       "id or stream; repeat for more ranges).")],
    grant: Annotated[str, typer.Option("--grant", help="The dpl-grant/1 JSON file: what the lender may read.")],
    profile: Annotated[Optional[str], typer.Option("--profile", help="Let the lender read the collateral's production "
                                                                     "profile, computed with these parameters (JSON "
                                                                     "file {tz, mapping, thresholds}; {} for the "
                                                                     "defaults). Its figures aggregate every record "
                                                                     "of the range, hidden fields too.")] = None,
    json: JsonFlag = False,
) -> None:
    """(Factory) Apply to a lender for a loan; the grant is created and linked to the application."""
    party, _ = _party(api_key)
    document = {"format": "dpl-application/1", "lender": _lender(lender), "amount": amount, "currency": currency,
                "purpose": purpose, "collateral": [_collateral(c) for c in collateral],
                "grant": read_json(grant, "grant")}
    if profile is not None:
        document["profile"] = read_json(profile, "profile parameters")
    _show(_applications().apply(party, document), json)


@applications_app.command("list")
def applications_list(api_key: ApiKey, json: JsonFlag = False) -> None:
    """Applications you made (factory), your inbox (lender), or all of them (auditor)."""
    party, _ = _party(api_key)
    views = _applications().list(party)
    if json:
        print_json([v.as_json() for v in views])
        return
    for v in views:
        say(_line(v))
    if not views:
        typer.echo("no applications", err=True)


@applications_app.command("show")
def applications_show(application_id: ApplicationId, api_key: ApiKey, json: JsonFlag = False) -> None:
    """One application and every step of it (when, who, which move)."""
    party, _ = _party(api_key)
    _show(_applications().get(party, application_id), json)


@applications_app.command("review")
def applications_review(application_id: ApplicationId, api_key: ApiKey, json: JsonFlag = False) -> None:
    """(Lender) Mark the application under review."""
    party, _ = _party(api_key)
    _show(_applications().review(party, application_id), json)


@applications_app.command("decide")
def applications_decide(
    application_id: ApplicationId, api_key: ApiKey,
    approve: Annotated[bool, typer.Option("--approve", help="Approve with the terms of --terms.")] = False,
    decline: Annotated[bool, typer.Option("--decline", help="Decline with --reason and --text.")] = False,
    request_more: Annotated[bool, typer.Option("--request-more", help="Ask for the wider grant of --grant, "
                                                                     "saying why in --text.")] = False,
    terms: Annotated[Optional[str], typer.Option("--terms", help="The approved terms (JSON file: log_id, from, to, "
                                                                 "principal, currency, maturity, lien_end, samples, "
                                                                 "loan_ref, …).")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="The reason code of a decline "
                                                                   "(docs/APPLICATIONS.md).")] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="What the factory reads.")] = None,
    grant: Annotated[Optional[str], typer.Option("--grant", help="The wider dpl-grant/1 asked for (JSON file).")] = None,
    json: JsonFlag = False,
) -> None:
    """(Lender) Decide: --approve --terms FILE | --decline --reason CODE --text … | --request-more --grant FILE --text …"""
    party, _ = _party(api_key)
    if approve + decline + request_more != 1:
        raise InvalidArgumentError("give one of --approve, --decline, --request-more")
    decision: dict = {"format": "dpl-decision/1"}
    if approve:
        if terms is None:
            raise InvalidArgumentError("--approve needs --terms FILE")
        decision |= {"decision": "approve", "terms": read_json(terms, "terms")}
        if text is not None:
            decision["text"] = text
    elif decline:
        decision |= {"decision": "decline", "reason": reason, "text": text}
    else:
        if grant is None:
            raise InvalidArgumentError("--request-more needs --grant FILE")
        decision |= {"decision": "request-more", "grant": read_json(grant, "grant"), "text": text}
    _show(_applications().decide(party, application_id, {k: v for k, v in decision.items() if v is not None}), json)


@applications_app.command("more-data")
def applications_more_data(
    application_id: ApplicationId, api_key: ApiKey,
    grant: Annotated[str, typer.Option("--grant", help="The new dpl-grant/1 (JSON file).")],
    json: JsonFlag = False,
) -> None:
    """(Factory) Answer a request for more data with a new grant; the application is submitted again."""
    party, _ = _party(api_key)
    _show(_applications().more_data(party, application_id, read_json(grant, "grant")), json)


@applications_app.command("withdraw")
def applications_withdraw(application_id: ApplicationId, api_key: ApiKey, json: JsonFlag = False) -> None:
    """(Factory) Withdraw the application; its grants are revoked at once."""
    party, _ = _party(api_key)
    _show(_applications().withdraw(party, application_id), json)


@applications_app.command("draft")
def applications_draft(application_id: ApplicationId, api_key: ApiKey) -> None:
    """(Factory) The consent draft of the approved terms (JSON: terms, typed_data, consent), to review and sign."""
    party, _ = _party(api_key)
    print_json(_applications().draft(party, application_id))


@applications_app.command("consent")
def applications_consent(
    application_id: ApplicationId, api_key: ApiKey,
    consent_id: Annotated[int, typer.Option("--consent-id", min=1, help="The consent you gave for the approved terms.")],
    json: JsonFlag = False,
) -> None:
    """(Factory) Link the consent you gave for the approved terms."""
    party, _ = _party(api_key)
    _show(_applications().consent(party, application_id, consent_id), json)


@applications_app.command("profile")
def applications_profile(
    application_id: ApplicationId, api_key: ApiKey,
    collateral: Annotated[int, typer.Option("--collateral", min=0, max=15, help="Which collateral range (0-based).")] = 0,
) -> None:
    """The production profile (dpl-profile/1) of a collateral range: the lender, if the application offers it."""
    party, _ = _party(api_key)
    print_json(_applications().profile(party, application_id, collateral))
