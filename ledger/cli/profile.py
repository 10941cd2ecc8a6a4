"""``dpl profile build|verify`` and ``dpl disclose``: a range's production profile, its full
disclosure, and a lender's check of one against the other (``docs/PROFILE.md``)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ledger.cli.common import read_json
from ledger.cli.context import context
from ledger.cli.output import JsonFlag, LogOption, RpcOption, print_json, progress, say, whole_file, write_output
from ledger.limits import MAX_INDEX

profile_app = typer.Typer(help="Production profiles (docs/PROFILE.md): what a range of a log says, "
                               "recomputed by a lender from a full disclosure.", no_args_is_help=True)

From = Annotated[int, typer.Option("--from", help="First record index (inclusive).", min=0, max=MAX_INDEX)]
To = Annotated[int, typer.Option("--to", help="End of the range (exclusive).", min=1, max=MAX_INDEX)]
Checkpoint = Annotated[Optional[int], typer.Option(
    "--checkpoint", help="Size of the anchored checkpoint that commits the range (default: the newest).",
    min=1, max=MAX_INDEX)]
Out = Annotated[Optional[str], typer.Option("--out", help="Write to this file (default: standard output).")]


def _params(tz: str | None, mapping: str | None, thresholds: str | None):
    from ledger.service.profiles import ProfileParams

    return ProfileParams.checked(tz, read_json(mapping, "mapping") if mapping else None,
                                 read_json(thresholds, "thresholds") if thresholds else None)


@profile_app.command("build")
def profile_build(
    log: LogOption, start: From, end: To,
    tz: Annotated[Optional[str], typer.Option("--tz", help="Offset that names days and weeks, e.g. +08:00 "
                                                           "(default +00:00).")] = None,
    mapping: Annotated[Optional[str], typer.Option(
        "--mapping", help="A dpl-mapping/1 file, for records whose types or fields are named otherwise.")] = None,
    thresholds: Annotated[Optional[str], typer.Option(
        "--thresholds", help="A JSON object of flag thresholds overriding the defaults (docs/PROFILE.md).")] = None,
    checkpoint: Checkpoint = None, out: Out = None, rpc: RpcOption = None,
) -> None:
    """(Factory) The dpl-profile/1 of records [FROM, TO) of a log, at the newest anchored checkpoint
    covering them: coverage, MES output, machines, sales, cross-source checks, trend and flags."""
    from ledger.service.profiles import Profiles

    params = _params(tz, mapping, thresholds)
    with progress(end - start, sys.stderr.isatty(), unit="records", label="profile") as (advance, _):
        done = [0]

        def on_progress(n: int) -> None:
            advance(n - done[0])
            done[0] = n

        profile = Profiles(context().use_rpc(rpc)).build(log, start, end, params, checkpoint, on_progress)
    write_output(profile, out)


@profile_app.command("verify")
def profile_verify(
    profile: Annotated[str, typer.Argument(help="The dpl-profile/1 file.")],
    disclosure: Annotated[str, typer.Option("--disclosure", help="The dpl-disclosure/1 file of the same range.")],
    rpc: Annotated[Optional[str], typer.Option(
        "--rpc", help="Also check the disclosure's checkpoint against the chain at this JSON-RPC URL.")] = None,
    registry: Annotated[Optional[str], typer.Option(
        "--registry", help="With --rpc: the registry address to trust (default: the deployment record pinned "
                           "for the chain; never an address the files name).")] = None,
    factory: Annotated[Optional[str], typer.Option(
        "--factory", help="With --rpc: the factory address you expect.")] = None,
    json: JsonFlag = False,
) -> None:
    """(Lender) Recompute every figure of a profile from a full disclosure: exit 0 when SOUND (every
    figure identical, the range proof reaches the root and, with --rpc, the root is anchored in the
    registry you trust), exit 1 naming each differing figure otherwise."""
    from ledger.service.profiles import verify

    if (registry or factory) and not rpc:
        raise typer.BadParameter(f"{'--registry' if registry else '--factory'} is for checks against the chain: "
                                 "give --rpc too")
    verdict = verify(read_json(profile, "profile"), read_json(disclosure, "disclosure"), rpc_url=rpc,
                     home=context().settings.home, registry=registry, factory=factory)
    if json:
        print_json(verdict.as_json() | {"chain_checked": rpc is not None})
    else:
        for check in verdict.checks:
            say(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        from ledger.profile_verify import SHOWN_DIFFERENCES, figure_text

        for path, claimed, recomputed in verdict.differences[SHOWN_DIFFERENCES:]:  # the figures line names the first
            say(f"FAIL  figure {path}: claimed {figure_text(claimed)}, recomputed {figure_text(recomputed)}")
        if rpc is None and verdict.sound:
            say("note  anchor: not checked (offline); give --rpc to check the root against the chain")
        say(f"profile {'SOUND' if verdict.sound else 'NOT SOUND'}")
    if not verdict.sound:
        raise typer.Exit(1)


def disclose(
    log: LogOption, start: From, end: To, checkpoint: Checkpoint = None,
    out: Annotated[str, typer.Option("--out", help="The disclosure file to write (- for standard output).")] = "-",
    rpc: RpcOption = None,
) -> None:
    """(Factory) Write the dpl-disclosure/1 of records [FROM, TO): every record with its salt and the
    range proof to the newest anchored checkpoint covering them. Give it only to the lender it is for:
    it holds the records in clear."""
    from ledger.service.profiles import Profiles

    chunks = Profiles(context().use_rpc(rpc)).disclosure_chunks(log, start, end, checkpoint)
    if out == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return
    written = 0
    # records in clear: the owner's only
    with whole_file(out, 0o600) as f, progress(end - start, sys.stderr.isatty(), unit="records",
                                                label="disclose") as (advance, _):
        for chunk in chunks:
            f.write(chunk)
            written += len(chunk)
            advance(chunk.count(b"\n"))
    typer.echo(f"wrote {out} ({written} bytes, {end - start} records)", err=True)
