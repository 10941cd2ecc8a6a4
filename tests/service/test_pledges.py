"""The pledge use cases have one home (``ledger/pledge/service.py``): the edges that offer them
(``api/routes_pledges.py``, ``dpl pledge``, ``dpl asset``) parse, call ``Pledges`` and answer.

Before, each edge assembled them itself: the routes wrote the consents table
(``ConsentStore``), both edges read the pledge mirror and its store class, built registry calls
from ``chain.registry`` and synced the mirror their own way. These tests fail on that tree."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EDGES = ["api/routes_pledges.py", "ledger/cli/pledge.py", "ledger/cli/pledge_factory.py",
         "ledger/cli/pledge_lender.py", "ledger/cli/assets.py"]
#: What an edge may import of the ledger: the use cases, the pure parsing of what a caller
#: typed (terms, dates, documents), errors, limits, hex, and the command line's own helpers.
EDGE_MAY_IMPORT = ("ledger.pledge.service", "ledger.pledge.terms", "ledger.errors", "ledger.limits",
                   "ledger.bundles", "ledger.cli.", "ledger.store.parties")


def _tree(path: str) -> ast.AST:
    return ast.parse((ROOT / path).read_text(), path)


def _ledger_imports(path: str) -> set[str]:
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ledger"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ledger"))
    return found


def test_the_pledge_edges_import_only_the_use_cases_and_parsing():
    offenders = {p: sorted(m for m in _ledger_imports(p)
                           if not any(m == a or (a.endswith(".") and m.startswith(a)) for a in EDGE_MAY_IMPORT))
                 for p in EDGES}
    assert {p: m for p, m in offenders.items() if m} == {}


def test_the_pledge_edges_never_touch_the_registry_or_a_store():
    """No ``….registry`` (a contract), no ``….store`` / ``….engine`` (tables): the use case does."""
    offenders = {}
    for p in EDGES:
        attrs = sorted({n.attr for n in ast.walk(_tree(p))
                        if isinstance(n, ast.Attribute) and n.attr in ("registry", "engine", "functions", "store")})
        if attrs:
            offenders[p] = attrs
    assert offenders == {}


def test_the_consents_and_extensions_tables_are_written_only_by_the_use_case():
    """Their store classes are used by ``Pledges`` alone (``ledger/store/`` is where they live)."""
    users = set()
    for top in ("ledger", "api"):
        for p in (ROOT / top).rglob("*.py"):
            if p.parent == ROOT / "ledger" / "store":
                continue
            text = p.read_text()
            if "ledger.store.consents" in text or "ledger.store.extensions" in text:
                users.add(str(p.relative_to(ROOT)))
    assert users == {"ledger/pledge/service.py"}
