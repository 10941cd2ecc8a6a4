"""``dpl covenants check FILE``: validate a ``dpl-covenants/1`` set (``docs/COVENANTS.md``) and
print it in words with the digest a consent commits to."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.common import read_json
from ledger.cli.output import JsonFlag, print_json, say

covenants_app = typer.Typer(help="Covenants (docs/COVENANTS.md): what a borrower promises about its "
                                 "production after the loan.", no_args_is_help=True)


@covenants_app.command("check")
def covenants_check(
    file: Annotated[str, typer.Argument(help="The dpl-covenants/1 file.")],
    json: JsonFlag = False,
) -> None:
    """Validate a covenant set: print each covenant in words and the set's digest (SHA-256 of its
    RFC 8785 bytes, what a consent commits to); exit 1 naming the first problem."""
    from ledger.covenants import check_covenants, covenants_digest, describe

    checked = check_covenants(read_json(file, "covenant set"))
    digest = "0x" + covenants_digest(checked).hex()
    if json:
        print_json({"covenants": checked, "digest": digest})
        return
    say(f"{checked['format']}, weeks at {checked['tz']}:")
    for c in checked["covenants"]:
        say(f"  {c['code']}: {describe(c)}")
    say(f"digest: {digest}")
