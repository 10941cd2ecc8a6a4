"""Dependency direction: pure modules import no storage; ledger never imports api; routers
never import each other; no import cycles in ledger/ and api/."""

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PURE = ["ledger.merkle", "ledger.canonical", "ledger.records", "ledger.bundles", "ledger.tiles",
        "ledger.assets", "ledger.sampling", "ledger.pledge.collateral", "ledger.pledge.terms",
        "ledger.profile", "ledger.exact", "ledger.disclosure", "ledger.profile_verify", "ledger.checks",
        "ledger.covenants", "ledger.covenant_evidence",
        "ledger.webhooks", "ledger.grants", "ledger.applications", "ledger.record2", "ledger.leaves",
        "ledger.grant_read", "ledger.tlog"]


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


@cache
def _modules() -> dict[str, Path]:
    """Every module of ``ledger/`` and ``api/`` by dotted name (a package by its own name)."""
    out = {}
    for top in ("ledger", "api"):
        for p in (ROOT / top).rglob("*.py"):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = p
    return out


@cache
def _imports(name: str) -> frozenset[str]:
    """The project modules ``name`` imports, anywhere in its file (a lazy import inside a
    function is a dependency too): ``from a import b`` is ``a.b`` when that is a module."""
    mods = _modules()
    path = mods[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:
                named.add(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base)
    found = set()
    for m in named:
        while m and m not in mods:
            m = m.rpartition(".")[0]
        if m and m != name:
            found.add(m)
    return frozenset(found)


ROUTERS = {m for m in _modules() if m.startswith("api.routes_")} | {"api.web.routes"}


def test_the_module_graph_sees_what_it_must():
    """The rules below are only as good as the graph: check it on imports we know."""
    assert {"api.routes_logs", "api.routes_pledges", "api.routes_admin", "api.routes_directory"} <= ROUTERS
    assert "api.routes_logs" in _imports("api.app")  # from api import routes_logs
    assert "ledger.store.logstore" in _imports("ledger.anchoring")
    assert "api.auth" in _imports("api.web.routes")  # from api.auth import …


def test_ledger_never_imports_api():
    offenders = {m: sorted(i for i in _imports(m) if i.split(".")[0] == "api")
                 for m in _modules() if m.split(".")[0] == "ledger"}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_router_imports_another():
    """A router imports ``api.deps``, ``api.errors``, ``api.auth`` and the ledger: what two
    routers share lives there (or in a ledger use case), never in one of them."""
    offenders = {r: sorted(_imports(r) & (ROUTERS - {r})) for r in ROUTERS}
    assert {r: i for r, i in offenders.items() if i} == {}


#: What a router may import of ``api/``: its dependencies, answers, problems and services
#: (the anchoring worker's run is one); the web pages also read the session (``api.auth``).
ROUTER_MAY_IMPORT = {"api", "api.deps", "api.schemas", "api.errors", "api.services", "api.background"}


def test_routers_import_only_deps_schemas_errors_and_services():
    offenders = {}
    for r in ROUTERS:
        allowed = ROUTER_MAY_IMPORT | ({"api.auth"} if r == "api.web.routes" else set())
        extra = sorted(m for m in _imports(r) if m.split(".")[0] == "api" and m not in allowed)
        if extra:
            offenders[r] = extra
    assert offenders == {}


def test_workers_raise_ledger_errors_not_http_problems():
    """The anchoring worker (``api.background``) runs outside any request: it raises the
    ledger's errors, which ``api.errors`` maps; it imports nothing of the HTTP layer."""
    assert sorted(m for m in _imports("api.background") if m.split(".")[0] == "api") == []


def _cycles() -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph = {m: _imports(m) for m in _modules()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    """Before: ``ledger/cli.py`` and ``ledger/cli_pledge.py`` imported each other through
    private helpers; now the command line is the ``ledger/cli/`` package, and nothing cycles."""
    assert _cycles() == []


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


def test_one_pledge_terms_type():
    """``ledger.pledge.terms.Terms`` is the only class that carries a pledge's terms."""
    import re

    found = [(str(p.relative_to(ROOT)), m.group(1)) for p in (ROOT / "ledger").rglob("*.py")
             for m in re.finditer(r"^class (\w*Terms)\b", p.read_text(), re.M)]
    assert found == [("ledger/pledge/terms.py", "Terms")]


def test_each_pledge_registry_call_is_encoded_in_one_module():
    """Issue and the holder's moves are encoded in ``ledger/pledge/chain.py`` only (the CLI and
    the API each encoded them before), and no other pledge module reads the registry itself."""
    import re

    moves = re.compile(r"\.functions\.(issue|safeTransferFrom|release|declareDefault|extend|extendWithConsent)\(")
    files = [*(ROOT / "ledger").rglob("*.py"), *(ROOT / "api").rglob("*.py")]
    assert sorted({str(p.relative_to(ROOT)) for p in files if moves.search(p.read_text())}) == ["ledger/pledge/chain.py"]
    readers = [p.name for p in (ROOT / "ledger" / "pledge").glob("*.py") if ".functions." in p.read_text()]
    assert readers == ["chain.py"]
