"""Text from outside (a bundle, a name on chain, a key in a JSON document), safe to show.

A verifier prints what it was given: a stream name, a key, a record's field, a registry
address. On a terminal, an escape sequence, a carriage return or a newline in that text
could erase or rewrite the verdict (``\\x1b[2K\\rvalid: all good``), and a bidi control
(U+202E) could reorder it. ``shown`` is the one rule every output path applies (the
command line's lines and error line, the browser verifier's page in ``verify/pyfmt.js``):
each non-printable character is written as the escape Python's ``unicode_escape`` gives it.

"Printable" is ``str.isprintable``: not a control (Cc), format (Cf: the bidi controls, zero
width characters), separator other than the space (Zl, Zp, Zs), surrogate, private-use or
unassigned code point. Which code points are assigned follows the runtime's Unicode tables
(Python 3.11: Unicode 14); the browser's follow its own, usually newer ones (README, "What a
verifier trusts").
"""

from __future__ import annotations


def shown(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\n``, ``\\r``,
    ``\\u202e``, ``\\U000e0001``); printable text comes back unchanged, so escaping twice
    changes nothing. Never raises (a lone surrogate is escaped too)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
