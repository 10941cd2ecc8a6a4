"""Compile ``contracts/`` into committed artifacts, and read those artifacts back.

Reading (``load_artifact``) needs only the JSON files shipped in ``ledger/chain/artifacts/``.
Compiling (``compile_contracts``, ``build``, ``python -m ledger.chain.build``) needs a source
checkout and a compiler:

- by default solcjs (npm ``solc``, pinned in ``package.json``) through ``contracts/solc-shim.js``,
  so ``node`` on PATH and ``node_modules`` from ``npm ci``;
- or a native ``solc`` of the same version named by the environment variable ``DPL_SOLC``.

Both get the same self-contained Standard JSON input: every source, OpenZeppelin's included,
is passed as ``content`` under a relative source unit name (``contracts/...``,
``@openzeppelin/contracts/...``). The compiler reads no files, so the bytecode (whose metadata
hash covers the source unit names and contents) is the same on every machine.

Outputs, one JSON file per deployable contract (``dpl-artifact/1``): ``abi``, ``bytecode``,
``deployedBytecode``, ``immutableReferences`` (byte ranges of ``deployedBytecode`` that the
constructor fills in: mask them when comparing code on chain with this build), ``compiler``
(version and settings), ``sources_sha256`` (``sources_digest()`` at build time, so a test can
tell stale artifacts), the npm ``dependencies`` versions and the solc ``metadata`` (for
source verification). Artifacts of test-only contracts go to ``artifacts/test/``, which is
not package data.

    python -m ledger.chain.build           # regenerate the artifacts
    python -m ledger.chain.build --check   # exit 1 if the committed artifacts are stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import re
import shutil
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.errors import LedgerError, NotFoundError

__all__ = [
    "ARTIFACT_FORMAT",
    "SHIPPED_CONTRACTS",
    "TEST_CONTRACTS",
    "COMPILER_SETTINGS",
    "ContractBuildError",
    "load_artifact",
    "sources_digest",
    "standard_json_input",
    "compile_contracts",
    "compiler_warnings",
    "build",
    "write_artifacts",
    "stale_artifacts",
    "main",
]

ARTIFACT_FORMAT = "dpl-artifact/1"

#: Contract name -> source unit that defines it. Shipped as package data.
SHIPPED_CONTRACTS = {
    "DataPledgeRegistry": "contracts/DataPledgeRegistry.sol",
}
#: Test-only contracts: built into ``artifacts/test/``, never deployed by the service.
TEST_CONTRACTS = {
    "MerkleProofsHarness": "contracts/test/MerkleProofsHarness.sol",
    "TestWallet1271": "contracts/test/TestWallet1271.sol",
}

SOLC_VERSION = "0.8.28"
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
}
_OUTPUTS = ["abi", "metadata", "evm.bytecode.object", "evm.bytecode.linkReferences",
            "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"]

#: The source checkout this module sits in (``<root>/ledger/chain/build.py``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
_NPM_PACKAGES = ("@openzeppelin/contracts",)

# `import "x";`, `import {A} from "x";`, `import * as A from "x";`, `import "x" as A;`
_IMPORT = re.compile(r"""\bimport\s+(?:[^;"']*?\bfrom\s+)?["']([^"']+)["'][^;]*;""")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


class ContractBuildError(LedgerError, RuntimeError):
    """The contracts cannot be compiled here (no checkout, no node_modules, no compiler) or
    do not compile."""


# --------------------------------------------------------------------------- reading


def load_artifact(name: str) -> dict[str, Any]:
    """The committed build output of contract ``name`` (e.g. ``"DataPledgeRegistry"``).

    Looks in ``ledger/chain/artifacts/`` first, then ``artifacts/test/`` (test-only contracts,
    present in a source checkout). Raises ``NotFoundError`` if there is no such artifact and
    ``ContractBuildError`` if the file is not a ``dpl-artifact/1`` artifact.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise NotFoundError(f"not a contract name: {name!r}")
    base = resources.files("ledger.chain") / "artifacts"
    for candidate in (base / f"{name}.json", base / "test" / f"{name}.json"):
        if candidate.is_file():
            artifact = json.loads(candidate.read_text(encoding="utf-8"))
            _validate_artifact(artifact, name)
            return artifact
    raise NotFoundError(
        f"no build artifact for contract {name!r} (run `python -m ledger.chain.build`)")


def _validate_artifact(artifact: Any, name: str) -> None:
    if not isinstance(artifact, dict) or artifact.get("format") != ARTIFACT_FORMAT:
        raise ContractBuildError(f"artifact {name!r} is not in format {ARTIFACT_FORMAT}")
    missing = {"contractName", "abi", "bytecode", "deployedBytecode", "compiler",
               "sources_sha256"} - artifact.keys()
    if missing or artifact["contractName"] != name:
        raise ContractBuildError(f"artifact {name!r} is malformed (missing {sorted(missing)})")


# ----------------------------------------------------------------------- the sources


def _contracts_dir(root: Path) -> Path:
    path = root / "contracts"
    if not path.is_dir():
        raise ContractBuildError(
            f"{path} does not exist: compiling needs a source checkout of data-pledge-ledger"
        )
    return path


def _project_sources(root: Path) -> list[str]:
    """Source unit names (``contracts/...``) of every ``.sol`` file under ``contracts/``, sorted."""
    base = _contracts_dir(root)
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.sol"))


def sources_digest(root: Path | None = None) -> str:
    """SHA-256 (hex) over the project's contract sources, test contracts included.

    The files under ``contracts/`` ending in ``.sol``, sorted by path relative to the project
    root; for each, ``path + "\\n" + str(len(content)) + "\\n" + content`` (UTF-8 path, raw
    bytes). Dependencies from npm are not part of it: their versions are recorded separately
    and any change in them shows in the bytecode.
    """
    root = root or PROJECT_ROOT
    h = hashlib.sha256()
    for unit in _project_sources(root):
        content = (root / unit).read_bytes()
        h.update(f"{unit}\n{len(content)}\n".encode())
        h.update(content)
    return h.hexdigest()


def _node_modules(root: Path) -> Path:
    path = root / "node_modules"
    missing = [pkg for pkg in ("solc", *_NPM_PACKAGES)
               if not (path / pkg / "package.json").is_file()]
    if missing:
        raise ContractBuildError(
            f"{', '.join(missing)} missing from {path}: run `npm ci` in {root} "
            "(node_modules holds solc and OpenZeppelin Contracts at the versions "
            "package-lock.json pins)"
        )
    return path


def _resolve_import(importer: str, path: str) -> str:
    """Solidity's source unit name for ``import path`` in unit ``importer``."""
    if path.startswith(("./", "../")):
        path = posixpath.normpath(posixpath.join(posixpath.dirname(importer), path))
        if path.startswith("../"):
            raise ContractBuildError(f"{importer} imports {path}, outside the source tree")
    return path


def _read_unit(root: Path, node_modules: Path, unit: str) -> str:
    file = root / unit if unit.startswith("contracts/") else node_modules / unit
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractBuildError(f"cannot find source {unit} (looked for {file})") from None


def standard_json_input(
    root: Path | None = None, units: Iterable[str] | None = None
) -> dict[str, Any]:
    """The self-contained Standard JSON input for ``units`` (default: every project source)
    and everything they import, transitively."""
    root = root or PROJECT_ROOT
    node_modules = _node_modules(root)
    todo = list(units if units is not None else _project_sources(root))
    sources: dict[str, str] = {}
    while todo:
        unit = todo.pop()
        if unit in sources:
            continue
        content = _read_unit(root, node_modules, unit)
        sources[unit] = content
        for imported in _IMPORT.findall(_COMMENT.sub("", content)):
            todo.append(_resolve_import(unit, imported))
    return {
        "language": "Solidity",
        "sources": {unit: {"content": sources[unit]} for unit in sorted(sources)},
        "settings": {
            **COMPILER_SETTINGS,
            "outputSelection": {"*": {"*": list(_OUTPUTS)}},
        },
    }


# ------------------------------------------------------------------------- compiling


def _solc_binary(root: Path) -> Path:
    native = os.environ.get("DPL_SOLC")
    if native:
        path = Path(native)
        if not path.is_file():
            raise ContractBuildError(f"DPL_SOLC names {native}, which is not a file")
        return path
    if shutil.which("node") is None:
        raise ContractBuildError(
            "node is not on PATH: compiling uses solcjs through contracts/solc-shim.js "
            "(or set DPL_SOLC to a native solc " + SOLC_VERSION + ")"
        )
    _node_modules(root)
    return _contracts_dir(root) / "solc-shim.js"


def compile_contracts(root: Path | None = None) -> dict[str, Any]:
    """Compile every contract under ``contracts/``; returns the solc Standard JSON output.

    Raises ``ContractBuildError`` if the toolchain is missing, the compiler is not solc
    ``SOLC_VERSION``, or the sources do not compile.
    """
    import solcx  # only compiling needs py-solc-x
    from solcx.exceptions import SolcError
    from solcx.wrapper import get_solc_version

    root = root or PROJECT_ROOT
    solc = _solc_binary(root)
    version = str(get_solc_version(solc))
    if version != SOLC_VERSION:
        raise ContractBuildError(
            f"{solc} is solc {version}; the artifacts are built with {SOLC_VERSION}")
    input_data = standard_json_input(root)
    try:
        output = solcx.compile_standard(input_data, solc_binary=solc)
    except SolcError as exc:
        raise ContractBuildError(f"the contracts do not compile:\n{exc.message}") from exc
    return output


def _npm_versions(root: Path) -> dict[str, str]:
    node_modules = _node_modules(root)
    return {pkg: json.loads((node_modules / pkg / "package.json").read_text())["version"]
            for pkg in _NPM_PACKAGES}


def compiler_warnings(output: dict[str, Any]) -> list[str]:
    """The compiler's warnings and notes, formatted (errors raise in ``compile_contracts``)."""
    return [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] != "error"]


def build(
    root: Path | None = None, output: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Compile (or take ``output`` of ``compile_contracts``) and return the artifacts, not
    written: ``{"DataPledgeRegistry": {...}, "test/MerkleProofsHarness": {...}, ...}``, keyed by
    path under ``artifacts/`` without ``.json``."""
    root = root or PROJECT_ROOT
    output = output if output is not None else compile_contracts(root)
    digest = sources_digest(root)
    dependencies = _npm_versions(root)
    artifacts: dict[str, dict[str, Any]] = {}
    for prefix, contracts in (("", SHIPPED_CONTRACTS), ("test/", TEST_CONTRACTS)):
        for name, unit in contracts.items():
            try:
                compiled = output["contracts"][unit][name]
            except KeyError:
                raise ContractBuildError(f"the compiler output has no {name} in {unit}") from None
            if compiled["evm"]["bytecode"]["linkReferences"]:
                raise ContractBuildError(
                    f"{name} needs linked libraries; artifacts do not support that")
            metadata = json.loads(compiled["metadata"])
            artifacts[prefix + name] = {
                "format": ARTIFACT_FORMAT,
                "contractName": name,
                "sourceName": unit,
                "abi": compiled["abi"],
                "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
                # Byte ranges the constructor fills in (chain id, own address...): masked when
                # comparing deployed code with this build.
                "immutableReferences":
                    compiled["evm"]["deployedBytecode"].get("immutableReferences", {}),
                "compiler": {"version": metadata["compiler"]["version"], **COMPILER_SETTINGS},
                "sources_sha256": digest,
                "dependencies": dependencies,
                "metadata": compiled["metadata"],
            }
    return artifacts


def _dump(artifact: dict[str, Any]) -> str:
    return json.dumps(artifact, indent=2, ensure_ascii=False) + "\n"


def write_artifacts(
    artifacts: dict[str, dict[str, Any]], directory: Path | None = None
) -> list[Path]:
    """Write ``build()``'s result as JSON files under ``directory`` (default: the package's
    ``artifacts/``); returns the paths written."""
    directory = directory or ARTIFACTS_DIR
    written = []
    for key, artifact in artifacts.items():
        path = directory / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(artifact), encoding="utf-8")
        written.append(path)
    return written


def stale_artifacts(
    artifacts: dict[str, dict[str, Any]], directory: Path | None = None
) -> list[str]:
    """Keys of ``build()``'s result whose committed file is missing or differs."""
    directory = directory or ARTIFACTS_DIR
    stale = []
    for key, artifact in artifacts.items():
        path = directory / f"{key}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != _dump(artifact):
            stale.append(key)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.chain.build",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the committed artifacts are stale")
    args = parser.parse_args(argv)
    try:
        output = compile_contracts()
        for message in compiler_warnings(output):
            print(message, file=sys.stderr)
        artifacts = build(output=output)
    except ContractBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_artifacts(artifacts)
        for key in stale:
            print(f"stale: {ARTIFACTS_DIR / key}.json", file=sys.stderr)
        if not stale:
            print(f"artifacts are up to date (sources {sources_digest()[:16]}…)")
        return 1 if stale else 0
    for path in write_artifacts(artifacts):
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
