"""Dependency direction: pure modules import no storage; ledger never imports api."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ["ledger.merkle", "ledger.canonical", "ledger.records", "ledger.bundles", "ledger.tiles",
        "ledger.assets", "ledger.sampling", "ledger.collateral"]


def test_pure_modules_import_no_storage_or_settings():
    code = (
        "import sys\n"
        f"for m in {PURE!r}: __import__(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'alembic', 'psycopg', 'pydantic_settings', 'api') "
        "or m.startswith('ledger.store') or m == 'ledger.settings')\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_ledger_never_imports_api():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "ledger").rglob("*.py")
        if any(line.strip().startswith(("import api", "from api")) for line in p.read_text().splitlines())
    ]
    assert offenders == []


def _imported_by(modules: list[str]) -> set[str]:
    code = (
        "import sys\n"
        f"for m in {modules!r}: __import__(m)\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('ledger.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(out.stdout.strip().split(","))


def test_storage_and_chain_adapters_never_import_each_other():
    """The nonce manager (``ledger.transactions``) joins them; neither reaches into the other."""
    chain = [f"ledger.chain.{p.stem}" for p in (ROOT / "ledger" / "chain").glob("*.py") if p.stem != "__init__"]
    store = [f"ledger.store.{p.stem}" for p in (ROOT / "ledger" / "store").glob("*.py") if p.stem != "__init__"]
    assert "ledger.chain.client" in chain and "ledger.store.transactions" in store
    assert {m for m in _imported_by(chain) if m.startswith("ledger.store") or m == "ledger.transactions"} == set()
    assert {m for m in _imported_by(store) if m.startswith("ledger.chain") or m == "ledger.transactions"} == set()


def _module_imports(path: Path) -> set[str]:
    """The ``ledger.*`` / ``api.*`` modules a file imports (at any depth of its code)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in ("ledger", "api")}


def _graph() -> dict[str, set[str]]:
    files = {}
    for top in ("ledger", "api"):
        for p in (ROOT / top).rglob("*.py"):
            if "migrations" in p.parts:
                continue
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = p
    return {name: {m for m in _module_imports(p) if m in files and m != name} for name, p in files.items()}


def test_no_import_cycle_anywhere():
    """Before: ``ledger.cli`` and ``ledger.cli_pledge`` imported each other through private
    helpers. A package imports its own modules from ``__init__`` (that edge is not a cycle)."""
    graph = _graph()
    cycles = []

    def visit(node, path, seen):
        for nxt in graph[node]:
            if nxt == path[0]:
                cycles.append(path + [nxt])
            elif nxt not in seen and nxt > path[0]:  # each cycle once, from its smallest module
                seen.add(nxt)
                visit(nxt, path + [nxt], seen)

    for start in sorted(graph):
        visit(start, [start], {start})
    real = [c for c in cycles if not (len(c) == 3 and (c[1].startswith(c[0] + ".") or c[0].startswith(c[1] + ".")))]
    assert real == []


def test_settings_are_built_once_per_entry_point_and_the_passphrase_read_only_by_them():
    """Before: ``Settings()`` was built nine times and ``DPL_KEY_PASSPHRASE`` read from the
    environment in five places. Now the command line's root callback, the app factory and the
    demo script build the settings; everything else is handed them (``ledger.service.Context``)."""
    builders, readers = set(), set()
    for top in ("ledger", "api"):
        for p in (ROOT / top).rglob("*.py"):
            text = p.read_text()
            name = str(p.relative_to(ROOT))
            if "Settings()" in text.replace("Settings() ", "Settings()"):
                builders.add(name)
            if any(s in text for s in ('environ.get("DPL_KEY_PASSPHRASE"', 'environ["DPL_KEY_PASSPHRASE"',
                                       'getenv("DPL_KEY_PASSPHRASE"')):
                readers.add(name)
    assert builders == {"ledger/cli/context.py", "api/app.py", "api/demo.py"}
    assert readers == set()
