"""``dpl``: the command line of data-pledge-ledger.

Every command honours ``DPL_HOME`` (default ``.dpl``), ``DPL_DATA_KEY`` and ``DATABASE_URL``.
Errors print one line to stderr and exit 1; ``dpl verify`` exits 1 when a bundle does not
verify. A command is parse → use case (``ledger.service``, ``ledger.pledge``) → print: one
module per command group, ``app.py`` lists them all, ``output.py`` prints, ``context.py`` holds
the invocation's ``Context``.
"""

from ledger.cli.app import app, main

__all__ = ["app", "main"]
