"""``dpl``: the command line of data-pledge-ledger.

Every command honours ``DPL_HOME`` (default ``.dpl``), ``DPL_DATA_KEY`` and
``DATABASE_URL``. Errors print one line to stderr and exit 1; ``dpl verify`` exits 1
when a bundle does not verify.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from sqlalchemy.exc import SQLAlchemyError

from ledger import bundles
from ledger.errors import BundleError, LedgerError
from ledger.limits import MAX_INDEX
from ledger.settings import Settings
from ledger.sources import FORMATS, READERS, detect_format
from ledger.text import shown

app = typer.Typer(
    help="Verifiable production logs: ingest records, prove them, verify proofs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log_app = typer.Typer(help="Create and inspect logs (one per data stream).", no_args_is_help=True)
app.add_typer(log_app, name="log")
keys_app = typer.Typer(help="Signing keys: encrypted keystores under DPL_HOME/keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
chain_app = typer.Typer(help="The local chain (anvil), state kept under DPL_HOME/chain.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
RpcOption = Annotated[Optional[str], typer.Option("--rpc", help="JSON-RPC URL (default: DPL_RPC_URL).")]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LogOption = Annotated[str, typer.Option("--log", help="Stream name of the log, e.g. line-a/telemetry.")]


def _store():
    from ledger.store.logstore import LogStore

    return LogStore.open(Settings())


def _print_json(value: object) -> None:
    sys.stdout.write(json_text(value) + "\n")


def json_text(value: object) -> str:
    """``value`` as indented JSON that is safe on a terminal: orjson escapes the C0 controls;
    every other non-printable character (DEL, C1 controls, bidi and zero-width characters,
    line separators: ``ledger.text``) is written as a ``\\uXXXX`` escape too, which JSON
    reads back as the same character. Such characters only occur inside strings."""
    text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    if all(line.isprintable() for line in text.split("\n")):
        return text
    return "".join(c if c == "\n" or c.isprintable() else _json_escape(c) for c in text)


def _json_escape(c: str) -> str:
    code = ord(c)
    if code > 0xFFFF:  # a UTF-16 surrogate pair, as JSON writes code points beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def say(line: str, err: bool = False) -> None:
    """Print one line that may hold text from outside (a bundle, the chain, an error naming
    them), escaped so that it cannot move the cursor, erase or reorder what is on the
    terminal (``ledger.text.shown``)."""
    typer.echo(shown(line), err=err)


def _log_json(info) -> dict:
    return {
        "stream": info.stream,
        "log_id": bundles.to_hex(info.log_id) if info.log_id else None,
        "size": info.size,
        "root": bundles.to_hex(info.root),
    }


# --- logs -----------------------------------------------------------------------------


@log_app.command("create")
def log_create(stream: Annotated[str, typer.Argument(help="Stream name, e.g. line-a/telemetry.")],
               factory: Annotated[Optional[str], typer.Option(
                   "--factory", help="Key (from dpl keys) of the factory that owns the log; "
                                     "default: bound at its first anchor to DPL_FACTORY_KEY.")] = None,
               json: JsonFlag = False) -> None:
    """Create an empty log for STREAM."""
    address = log_id = None
    if factory:
        from ledger.chain.client import log_id_of

        address = _keyring().info(factory).address
        log_id = log_id_of(address, stream)
    info = _store().create_log(stream, address, log_id)
    if json:
        _print_json(_log_json(info))
    else:
        typer.echo(f"created log {info.stream} (size 0)")


@log_app.command("show")
def log_show(stream: str, json: JsonFlag = False) -> None:
    """Show a log's id, size and root."""
    info = _store().get_log(stream)
    if json:
        _print_json(_log_json(info))
    else:
        d = _log_json(info)
        typer.echo(f"stream  {d['stream']}\nlog id  {d['log_id'] or '(not bound on chain yet)'}\n"
                   f"size    {d['size']}\nroot    {d['root']}")


@log_app.command("list")
def log_list(json: JsonFlag = False) -> None:
    """List every log."""
    logs = [_log_json(i) for i in _store().list_logs()]
    if json:
        _print_json(logs)
    elif not logs:
        typer.echo("no logs yet (create one with: dpl log create STREAM)")
    else:
        for d in logs:
            typer.echo(f"{d['stream']}\tsize {d['size']}\troot {d['root']}")


# --- keys -----------------------------------------------------------------------------


def _passphrase_source(confirm: bool):
    """DPL_KEY_PASSPHRASE, else a prompt on a terminal; asked once, when first needed."""
    cache: list[str] = []

    def get() -> str:
        if cache:
            return cache[0]
        value = os.environ.get("DPL_KEY_PASSPHRASE")
        if not value:
            if not sys.stdin.isatty():
                raise LedgerError("set DPL_KEY_PASSPHRASE (no terminal to ask for the key passphrase)")
            value = typer.prompt("key passphrase", hide_input=True, confirmation_prompt=confirm)
        if not value:
            raise LedgerError("the key passphrase must not be empty")
        cache.append(value)
        return value

    return get


def _keyring(confirm: bool = False):
    from ledger.keys import Keyring

    return Keyring(Settings().home, _passphrase_source(confirm))


def _key_json(k) -> dict:
    return {"name": k.name, "address": k.address, "dev_only": k.dev_only}


@keys_app.command("new")
def keys_new(name: Annotated[str, typer.Option("--name", help="Name of the new key.")],
             json: JsonFlag = False) -> None:
    """Create a key, encrypted with DPL_KEY_PASSPHRASE (or a passphrase you type)."""
    k = _keyring(confirm=True).new(name)
    if json:
        _print_json(_key_json(k))
    else:
        typer.echo(f"created key {k.name}: {k.address}")


@keys_app.command("list")
def keys_list(json: JsonFlag = False) -> None:
    """List keys: name, address, and whether it is a dev-only key."""
    keys = [_key_json(k) for k in _keyring().list()]
    if json:
        _print_json(keys)
    elif not keys:
        typer.echo("no keys yet (dpl keys new --name NAME, or dpl keys import-dev for the local chain)")
    else:
        for k in keys:
            typer.echo(f"{k['name']}\t{k['address']}" + ("\tdev-only (local chain 31337)" if k["dev_only"] else ""))


@keys_app.command("import-dev")
def keys_import_dev(json: JsonFlag = False) -> None:
    """Import anvil's ten well-known accounts as dev0..dev9 (local chain only)."""
    keys = [_key_json(k) for k in _keyring().import_dev()]
    if json:
        _print_json(keys)
    else:
        for k in keys:
            typer.echo(f"{k['name']}\t{k['address']}\tdev-only")


@keys_app.command("api")
def keys_api(role: Annotated[str, typer.Option("--role", help="factory, lender, auditor or admin.")],
             party: Annotated[str, typer.Option("--party", help="The party's name (created when new).")],
             address: Annotated[Optional[str], typer.Option("--address", help="Its chain address (new party).")] = None,
             key: Annotated[Optional[str], typer.Option("--key", help="A keyring key the service signs with for it "
                                                                        "(custody; sets the address).")] = None,
             json: JsonFlag = False) -> None:
    """Make an API key for a party of the service (shown once; only its hash is stored)."""
    from ledger.errors import NotFoundError
    from ledger.store.parties import PartyStore

    parties = PartyStore(_store().engine)
    try:
        found = parties.get(party)
        if found.role != role:
            raise LedgerError(f"party {party} exists with role {found.role}, not {role}")
    except NotFoundError:
        if key:
            address = _keyring().info(key).address
        parties.create(party, role, address, key)
    api_key = parties.new_key(party)
    if json:
        _print_json({"party": party, "role": role, "key": api_key})
    else:
        typer.echo(f"API key for {party} ({role}), shown once:\n{api_key}")


@keys_app.command("api-revoke")
def keys_api_revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix (the 8 hex digits after dpl_).")]) -> None:
    """Revoke an API key."""
    from ledger.store.parties import PartyStore

    PartyStore(_store().engine).revoke(prefix)
    typer.echo(f"revoked API key {prefix}")


# --- chain ----------------------------------------------------------------------------


@chain_app.command("up")
def chain_up(port: Annotated[int, typer.Option("--port", help="Port for JSON-RPC.", min=1, max=65535)] = 8545) -> None:
    """Start anvil (state persisted under DPL_HOME/chain); returns when it answers."""
    from ledger.chain import node

    info = node.up(Settings().home, port=port)
    verb = "started" if info.started else "already running"
    typer.echo(f"chain {verb}: {info.rpc_url} (chain id {info.chain_id}, block {info.block_number})")


@chain_app.command("down")
def chain_down() -> None:
    """Stop the anvil that `dpl chain up` started (it saves its state first)."""
    from ledger.chain import node

    typer.echo("chain stopped" if node.down(Settings().home) else "no chain started by dpl is running")


def _chain(rpc: str | None, deployed: bool = True):
    """(settings, chain): the chain at --rpc / DPL_RPC_URL, with our registry on it. Every
    transaction it sends goes through the nonce manager (recorded in the database first)."""
    from ledger.chain.client import Chain
    from ledger.chain.deploy import load_deployment, runtime_matches
    from ledger.transactions import Transactions

    settings = Settings()
    url = rpc or settings.rpc_url
    chain = Chain(url)
    if not deployed:
        return settings, Transactions(_store().engine).attach(chain)
    record = load_deployment(settings.home, chain.chain_id)
    if record.get("chain_id") != chain.chain_id:
        raise LedgerError(f"the deployment record is for chain {record.get('chain_id')}, "
                          f"but {url} is chain {chain.chain_id}")
    if not runtime_matches(chain, record["address"]):
        raise LedgerError(f"no registry with the expected code at {record['address']} on chain "
                          f"{chain.chain_id} (was the chain reset?); run: dpl deploy")
    return settings, Transactions(_store().engine).attach(Chain(url, record["address"]))


@app.command()
def deploy(rpc: RpcOption = None,
           key: Annotated[str, typer.Option("--key", help="Key that deploys and pays (default dev0).")] = "dev0",
           json: JsonFlag = False) -> None:
    """Deploy the registry (a no-op when the recorded address already holds it)."""
    from ledger.chain.deploy import deploy_registry, deployment_path

    settings, chain = _chain(rpc, deployed=False)
    account = _keyring().account(key, chain.chain_id)
    record, new = deploy_registry(chain, settings.home, account)
    if json:
        _print_json(record | {"new": new})
        return
    verb = "deployed" if new else "already deployed"
    typer.echo(f"registry {verb} at {record['address']} on chain {record['chain_id']} "
               f"(block {record['block_number']}); record: {deployment_path(settings.home, chain.chain_id)}")


@app.command()
def anchor(log: Annotated[Optional[str], typer.Option("--log", help="Only this log (default: all).")] = None,
           every: Annotated[Optional[float], typer.Option("--every", help="Keep going: anchor every SECONDS.")] = None,
           rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Sign and anchor each log's newest checkpoint, with its consistency proof (crash-safe).

    With --every, a node or database that is down is said on stderr and retried next round
    (like the service's loop); Ctrl-C stops it."""
    try:
        _anchor_rounds(log, every, rpc, json)
    except KeyboardInterrupt:  # Ctrl-C: a run in flight is safe to redo (crash-safe anchoring)
        typer.echo("stopped (Ctrl-C)", err=True)
        raise typer.Exit(130) from None


def _anchor_rounds(log: str | None, every: float | None, rpc: str | None, json: bool) -> None:
    from ledger.anchoring import Anchorer
    from ledger.store.locks import anchoring_lock

    anchorer = None
    while True:
        try:
            if anchorer is None:
                settings, chain = _chain(rpc)
                anchorer = Anchorer(_store(), chain, _keyring(), relayer_key=settings.relayer_key,
                                    factory_key=settings.factory_key, confirmations=settings.confirmations,
                                    stuck_after=settings.stuck_after_blocks)
            with anchoring_lock(anchorer.store.engine, settings.home) as held:
                busy = "another process (the service or a dpl anchor) is anchoring now"
                if not held and every is None:
                    raise LedgerError(f"{busy}; retry in a moment")
                reports = anchorer.run(log) if held else []
                if not held:
                    typer.echo(f"{busy}: skipping this round", err=True)
        except (LedgerError, SQLAlchemyError) as e:
            if every is None:
                raise
            typer.echo(f"anchoring failed: {_one_line(e)}; retrying in {every:g} s", err=True)
        else:
            _print_anchor_reports(reports, json)
        if every is None:
            return
        time.sleep(every)


def _print_anchor_reports(reports, json: bool) -> None:
    if json:
        _print_json([r.__dict__ for r in reports])
        return
    for r in reports:
        where = f" in block {r.block_number}" if r.block_number is not None else ""
        tx = f" tx {r.tx_hash}" if r.tx_hash else ""
        typer.echo(f"{r.stream} size {r.size}: {r.state}{where}{tx}" + (f" ({r.note})" if r.note else ""))
    sys.stdout.flush()


def _one_line(e: Exception) -> str:
    """An error as ``main`` prints it, on one line."""
    if isinstance(e, SQLAlchemyError):
        return f"database: {str(getattr(e, 'orig', None) or e).splitlines()[0]}"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


@app.command()
def audit(rpc: RpcOption = None, json: JsonFlag = False) -> None:
    """Check every anchor and every stored record against the chain; exit 1 on any finding."""
    from ledger.audit import run_audit
    from ledger.chain.deploy import load_deployment

    settings, chain = _chain(rpc, deployed=False)
    deployment = load_deployment(settings.home, chain.chain_id)
    from ledger.chain.client import Chain

    chain = Chain(chain.rpc_url, deployment["address"])
    store = _store()
    total = sum(log.size for log in store.list_logs())
    with _progress(total, sys.stderr.isatty() and not json, unit="records") as (on_done, _):
        report = run_audit(store, chain, deployment, on_record=on_done, stuck_after=settings.stuck_after_blocks)
    if json:
        _print_json(report.as_json())
    else:
        typer.echo(f"audited {report.logs} log(s), {report.records} record(s), {report.events} anchor "
                   f"event(s), {report.pledges} pledge(s) on chain {report.chain_id}, registry {report.registry}")
        for finding in report.findings:
            typer.echo(f"FINDING: {finding}")
        typer.echo("clean" if report.clean else f"{len(report.findings)} finding(s)")
    if not report.clean:
        raise typer.Exit(1)


# --- ingest ---------------------------------------------------------------------------


@contextmanager
def few_gc_pauses():
    """Collect cycles rarely during a bulk ingest: parsed records hold no cycles, and the
    collector otherwise rescans the batch's short-lived objects (about 7% of ingest time)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def _progress(total: int | None, enabled: bool, unit: str = "bytes"):
    """A progress bar on a terminal (of bytes read, or of records done); no-op elsewhere."""
    if not enabled:
        yield (lambda n: None), (lambda n: None)
        return
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    if unit == "bytes":
        columns = [TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TextColumn("{task.fields[records]} records"), TimeRemainingColumn()]
    else:
        columns = [TextColumn("audit"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                   TimeRemainingColumn()]
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(unit, total=total, records=0)
        yield (lambda n: bar.advance(task, n)), (lambda n: bar.update(task, records=n))


@app.command()
def ingest(
    file: Annotated[str, typer.Argument(help="A .jsonl or .csv file, or - for stdin (JSONL).")],
    log: LogOption,
    fmt: Annotated[Optional[str], typer.Option("--format", help="jsonl or csv (default: from the file name).")] = None,
    json: JsonFlag = False,
) -> None:
    """Append records from FILE to a log, all or nothing, idempotent by record id."""
    fmt = fmt or detect_format(file)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    store = _store()
    store.get_log(log)  # fail fast on an unknown log, before reading the input
    if file == "-":
        source, total = sys.stdin.buffer, None
    else:
        path = Path(file)
        try:
            source, total = path.open("rb"), path.stat().st_size
        except OSError as e:
            raise LedgerError(f"cannot read {file}: {e.strerror}") from None
    shown = []

    def on_duplicate(position: int, record_id: str, index: int) -> None:
        if len(shown) < 5:
            shown.append(f"record {position} (id {record_id!r}) is already at index {index}")

    with source, few_gc_pauses(), _progress(total, sys.stderr.isatty() and not json) as (on_bytes, on_records):
        result = store.append(log, READERS[fmt](source, on_bytes),
                              on_duplicate=on_duplicate, on_progress=on_records)
    if json:
        _print_json({"appended": result.appended, "duplicates": result.duplicates,
                     "size": result.size, "root": bundles.to_hex(result.root)})
        return
    for line in shown:
        typer.echo(line, err=True)
    if result.duplicates > len(shown):
        typer.echo(f"... and {result.duplicates - len(shown)} more already stored", err=True)
    typer.echo(f"appended {result.appended}, already stored {result.duplicates}; "
               f"{log} is now size {result.size}, root {bundles.to_hex(result.root)}")


# --- proofs -----------------------------------------------------------------------------


def _write_output(document: dict, out: str | None) -> None:
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = Path(out + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)  # never leave a half-written bundle behind
    except OSError as e:
        raise LedgerError(f"cannot write {out}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    typer.echo(f"wrote {out}", err=True)


@app.command()
def prove(
    log: LogOption,
    index: Annotated[Optional[int], typer.Option("--index", help="Index of the record.", min=0, max=MAX_INDEX)] = None,
    record_id: Annotated[Optional[str], typer.Option("--id", help="Id of the record.")] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Prove against this earlier size (default: current).", min=1, max=MAX_INDEX)] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle here (default: stdout).")] = None,
) -> None:
    """Write a dpl-proof/1 bundle: the record, its salt and its inclusion proof."""
    if (index is None) == (record_id is None):
        raise typer.BadParameter("give exactly one of --index or --id")
    store = _store()
    if record_id is not None:
        index = store.index_of(log, record_id)
    info = store.get_log(log)
    anchor_row = _anchored_checkpoint(store, info, index, size)
    if size is None and anchor_row is not None:
        size = anchor_row.size  # prove against what the chain holds, when it holds one
    proof = store.inclusion_proof(log, index, size)
    stored = store.record_at(log, index)
    entry = bundles.make_entry(index, stored.record, stored.salt, stored.leaf_hash, proof.proof)
    anchor_doc = None
    if anchor_row is not None and anchor_row.size == proof.size:
        anchor_doc = bundles.make_anchor(anchor_row.chain_id, anchor_row.registry, anchor_row.tx_hash,
                                         anchor_row.block_number)
    _write_output(bundles.make_proof_bundle(info.stream, info.log_id, proof.size, proof.root, [entry],
                                            anchor_doc), out)


def _anchored_checkpoint(store, info, index: int, size: int | None):
    """The newest included/final anchor of the log covering ``index`` (at ``size`` if given)."""
    from ledger.store.anchors import AnchorStore

    return AnchorStore(store.engine).newest_anchored(info.pk, above=index, size=size)


@app.command()
def consistency(
    log: LogOption,
    old: Annotated[int, typer.Option("--from", help="The earlier size.", min=1, max=MAX_INDEX)],
    new: Annotated[Optional[int], typer.Option("--to", help="The later size (default: current).", min=1, max=MAX_INDEX)] = None,
    out: Annotated[Optional[str], typer.Option("--out", help="Write the bundle to a file.")] = None,
    json: JsonFlag = False,
) -> None:
    """Prove that the log at --to extends the log at --from (a dpl-consistency/1 bundle)."""
    store = _store()
    info = store.get_log(log)
    p = store.consistency_proof(log, old, new)
    doc = bundles.make_consistency_bundle(info.stream, info.log_id, p.old_size, p.old_root,
                                          p.new_size, p.new_root, p.proof)
    if json or out:
        _write_output(doc, out)
    else:
        typer.echo(f"{log}: size {p.new_size} (root {doc['new']['root']}) extends size "
                   f"{p.old_size} (root {doc['old']['root']}); proof of {len(p.proof)} hashes:")
        for h in doc["proof"]:
            typer.echo(f"  {h}")


@app.command()
def verify(bundle: Annotated[str, typer.Argument(help="A dpl-proof/1 or dpl-consistency/1 file, or -.")],
           rpc: Annotated[Optional[str], typer.Option(
               "--rpc", help="Also check the bundle against the chain at this JSON-RPC URL.")] = None,
           registry: Annotated[Optional[str], typer.Option(
               "--registry", help="With --rpc: the registry address to trust (default: the deployment record "
                                  "pinned for the chain; never the address the bundle names).")] = None,
           factory: Annotated[Optional[str], typer.Option(
               "--factory", help="With --rpc: the factory address you expect; a log of any other factory "
                                 "does not verify.")] = None) -> None:
    """Verify a bundle: exit 0 and what was proven when valid, exit 1 with the reason when not.

    Offline by default (math only); with --rpc also against the chain: the registry this
    verifier trusts holds the bundle's root, the log is the named factory's stream (the factory
    you expect, with --factory), and the anchor transaction the bundle cites is real."""
    from ledger import jsonio

    try:  # size-capped, depth-checked before any parser recurses, duplicate keys refused
        document = jsonio.load_file(bundle, what="bundle")
    except jsonio.JsonInputError as e:
        raise BundleError(f"{bundle} is not JSON: {e.reason}" + (f" (at {e.path})" if e.path else "")) from None
    result = bundles.verify(document)
    if rpc:
        from ledger.chain.check import verify_on_chain

        checks = verify_on_chain(result, rpc, Settings().home, registry, factory)
        say(f"valid: {result.summary}")
        for check in checks:
            say(f"  {check.name}: {check.detail}")
        return
    if registry or factory:
        raise typer.BadParameter(f"{'--registry' if registry else '--factory'} is for checks against the chain: "
                                 "give --rpc too")
    say(f"valid: {result.summary}")


@app.command()
def serve(host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
          workers: Annotated[int, typer.Option("--workers", min=1)] = 1) -> None:
    """Serve the HTTP API (and landing page) with uvicorn."""
    import uvicorn

    from ledger.store.logstore import LogStore

    LogStore.open(Settings()).close()  # migrate once, and fail here (not in a worker) on a bad DB or key
    config = uvicorn.Config("api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                            log_level="info", access_log=False)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    from uvicorn.supervisors import Multiprocess

    from ledger.serve_socket import listening_socket

    try:
        sock = listening_socket(host, port)
    except OSError as e:
        raise LedgerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    typer.echo(f"serving http://{host}:{sock.getsockname()[1]} with {workers} workers (Ctrl-C stops)", err=True)
    Multiprocess(config, sockets=[sock]).run()


def _add_pledge_commands() -> None:
    from ledger.cli_pledge import asset_app, factories_app, lenders_app, pledge_app

    app.add_typer(asset_app, name="asset")
    app.add_typer(lenders_app, name="lenders")
    app.add_typer(factories_app, name="factories")
    app.add_typer(pledge_app, name="pledge")


_add_pledge_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C: a clean stop (an ingest in flight rolls back)
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BundleError as e:  # every message may quote the input: printed escaped (say)
        say(f"invalid: {e}", err=True)
        sys.exit(1)
    except LedgerError as e:
        say(f"error: {e}", err=True)
        sys.exit(1)
    except SQLAlchemyError as e:  # a database that is down, locked too long, or refused us
        say(f"error: {_one_line(e)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
