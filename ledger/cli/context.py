"""The command line's ``Context``: built once per invocation by the root callback (``app.py``,
which also keeps it in typer's context object and closes it after the command); commands reach
it with ``context()``."""

from __future__ import annotations

import sys

import typer

from ledger.errors import LedgerError
from ledger.service.context import Context
from ledger.settings import Settings


def ask_passphrase(confirm: bool) -> str:
    """The keystores' passphrase typed on a terminal (``DPL_KEY_PASSPHRASE`` was not set)."""
    if not sys.stdin.isatty():
        raise LedgerError("set DPL_KEY_PASSPHRASE (no terminal to ask for the key passphrase)")
    value = typer.prompt("key passphrase", hide_input=True, confirmation_prompt=confirm)
    if not value:
        raise LedgerError("the key passphrase must not be empty")
    return value


_current: Context | None = None


def new_context() -> Context:
    """A fresh Context for this invocation (the root callback's job); ``context()`` returns it."""
    global _current
    _current = Context(Settings(), ask_passphrase=ask_passphrase)
    return _current


def context() -> Context:
    """This invocation's Context (built by the root callback, or now when a command runs alone)."""
    return _current if _current is not None else new_context()
