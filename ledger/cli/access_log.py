"""``dpl access-log list|verify|check-receipt``: the access logs of reads through grants
(``docs/ACCESS.md``): list them, prove them against the chain, and check a lender's receipt."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ledger.cli.context import context
from ledger.cli.output import JsonFlag, RpcOption, print_json, say
from ledger.errors import BundleError, LedgerError

access_log_app = typer.Typer(help="Access logs (docs/ACCESS.md): every read through a grant, anchored.",
                             no_args_is_help=True)

FactoryOption = Annotated[Optional[str], typer.Option(
    "--factory", help="The factory (party name or 0x address); default: every access log.")]
RegistryOption = Annotated[Optional[str], typer.Option(
    "--registry", help="The registry address to trust (default: the deployment record pinned for the chain).")]


def _access():
    from ledger.service.access_log import AccessLog

    return AccessLog(context())


def _describe(e: dict) -> str:
    records = e["records"]
    which = (f"records [{records['from']}, {records['to']})" if "from" in records
             else f"{records['count']} records (indices sha256 {records['indices_sha256']})")
    fields = ", ".join(f"{t}: {'*' if f == '*' else ','.join(f)}" for t, f in e["fields"].items()) or "no fields"
    outcome = "read" if e["outcome"] == "read" else f"REFUSED ({e['reason']})"
    return (f"{e['index']:>6}  {e['ts']}  {e['party']} ({e['role']}, key {e['key_prefix']})  grant {e['grant_id']}  "
            f"{outcome}  log {e['log_id']}  {which}  [{fields}]")


@access_log_app.command("list")
def access_log_list(factory: FactoryOption = None,
                    start: Annotated[int, typer.Option("--start", min=0, help="The first entry.")] = 0,
                    json: JsonFlag = False) -> None:
    """List a factory's access log (its entries), or every access log (stream, id, size)."""
    from ledger.bundles import to_hex

    access = _access()
    if factory is None:
        logs = [{"stream": i.stream, "access_log": to_hex(i.log_id) if i.log_id else None, "size": i.size}
                for i in access.streams()]
        if json:
            print_json(logs)
            return
        for log in logs:
            say(f"{log['stream']}  {log['access_log']}  {log['size']} entries")
        if not logs:
            say("no access logs (nothing was read through a grant yet)")
        return
    address = access.factory(factory)
    entries = []
    while True:  # every page
        page = access.entries(address, start + len(entries))
        entries += page
        if not page:
            break
    if json:
        print_json(entries)
        return
    for e in entries:
        say(_describe(e))
    if not entries:
        say("no entries")


@access_log_app.command("verify")
def access_log_verify(rpc: RpcOption = None, registry: RegistryOption = None, factory: FactoryOption = None,
                      json: JsonFlag = False) -> None:
    """Prove the access logs against the chain: the registry holds our code and names the
    service's key as each log's owner; every anchored checkpoint's root is ours and consistent
    with the one before; every entry below the newest anchored size is included under it."""
    access = _access()
    reports = access.verify(rpc, registry, access.factory(factory) if factory else None)
    if json:
        print_json([r.as_json() for r in reports])
    else:
        for r in reports:
            say(f"{r.stream}: {r.included} of {r.size} entries proven included, {r.unanchored} not anchored yet; "
                f"{r.checkpoints} anchored checkpoints, {r.consistent} consistency proofs; owner {r.owner}"
                + (f"; {len(r.failures)} problems" if r.failures else ""))
            for problem in r.failures:
                say(f"  problem: {problem}")
        if not reports:
            say("no access logs to verify")
    failed = [p for r in reports for p in r.failures]
    if failed:
        raise LedgerError(f"{len(failed)} problem(s) in the access logs; the first: {failed[0]}")


@access_log_app.command("check-receipt")
def access_log_check_receipt(
        receipt: Annotated[str, typer.Argument(help="The receipt (JSON: access_log, index, leaf_hash), or an answer "
                                                    "holding it under \"receipt\".")],
        proof: Annotated[str, typer.Argument(help="The entry's dpl-proof/1 from GET /v1/access-log/{index}/proof.")],
        rpc: RpcOption = None, registry: RegistryOption = None,
        service: Annotated[Optional[str], typer.Option(
            "--service", help="The service's address you expect as the access log's owner on chain.")] = None,
        json: JsonFlag = False) -> None:
    """Check a receipt: its entry is in the proof, the proof verifies, and (against the chain) the
    trusted registry holds the anchored root of the service's access log."""
    from ledger import bundles, jsonio
    from ledger.chain.check import verify_on_chain
    from ledger.service.access_log import check_receipt

    docs = []
    for path, what in ((receipt, "receipt"), (proof, "proof")):
        try:
            docs.append(jsonio.load_file(path, what=what))
        except jsonio.JsonInputError as e:
            raise BundleError(f"{path} is not JSON: {e.reason}" + (f" (at {e.path})" if e.path else "")) from None
    held, bundle = docs
    if isinstance(held, dict) and isinstance(held.get("receipt"), dict):
        held = held["receipt"]
    verified = bundles.verify(bundle)
    record = check_receipt(held, bundle)
    ctx = context()
    checks = verify_on_chain(verified, rpc or ctx.settings.rpc_url, ctx.settings.home, registry, service)
    data = record["data"]
    if json:
        print_json({"valid": True, "entry": record, "index": bundle["entries"][0]["index"],
                    "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]})
        return
    say(f"valid: entry {bundle['entries'][0]['index']} of access log {bundle['log_id']}: {data['party']} "
        f"{'read' if data['outcome'] == 'read' else 'was refused'} log {data['log_id']} at {record['ts']}")
    for check in checks:
        say(f"  {check.name}: {check.detail}")
