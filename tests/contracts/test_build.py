"""ledger/chain/build.py: the committed artifacts are what the sources compile to.

Recompiling needs node and node_modules (``npm ci``), or a native solc named by DPL_SOLC.
Without them the freshness test fails, saying what to run; it never skips.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ledger.chain import build
from ledger.errors import NotFoundError


@pytest.fixture(scope="module")
def compiled():
    """solc's output for the current sources (compiled once for this module)."""
    try:
        return build.compile_contracts()
    except build.ContractBuildError as exc:
        pytest.fail(f"cannot recompile the contracts to check the committed artifacts: {exc}")


def test_committed_source_hash_is_current():
    # Fast and compiler-free: someone edited contracts/ without `python -m ledger.chain.build`?
    for name in [*build.SHIPPED_CONTRACTS, *build.TEST_CONTRACTS]:
        assert build.load_artifact(name)["sources_sha256"] == build.sources_digest(), (
            f"{name}: artifacts are stale; run `python -m ledger.chain.build`")


def test_committed_artifacts_equal_a_fresh_build(compiled):
    fresh = build.build(output=compiled)
    assert set(fresh) == {"DataPledgeRegistry", "test/MerkleProofsHarness", "test/TestWallet1271"}
    for key, artifact in fresh.items():
        committed = build.load_artifact(key.rpartition("/")[2])
        for field in ("bytecode", "deployedBytecode", "immutableReferences", "abi",
                      "sources_sha256", "compiler", "dependencies"):
            assert committed[field] == artifact[field], (
                f"{key}.{field} is stale; run `python -m ledger.chain.build`")
    assert build.stale_artifacts(fresh) == []


def test_our_sources_compile_without_warnings(compiled):
    assert build.compiler_warnings(compiled) == []


def test_artifact_contents():
    registry = build.load_artifact("DataPledgeRegistry")
    assert registry["format"] == "dpl-artifact/1"
    assert registry["sourceName"] == "contracts/DataPledgeRegistry.sol"
    assert registry["compiler"] == {"version": "0.8.28+commit.7893614a",
                                    "optimizer": {"enabled": True, "runs": 200},
                                    "evmVersion": "cancun"}
    assert registry["dependencies"]["@openzeppelin/contracts"].startswith("5.")
    for field in ("bytecode", "deployedBytecode"):
        code = registry[field]
        assert code.startswith("0x") and bytes.fromhex(code[2:])
        assert code.endswith("64736f6c634300081c0033")  # CBOR metadata: {"solc": 0.8.28}
    metadata = json.loads(registry["metadata"])
    assert metadata["settings"]["compilationTarget"] == {
        "contracts/DataPledgeRegistry.sol": "DataPledgeRegistry"}
    # EIP712 keeps its domain in immutables, which the constructor writes into the code.
    assert registry["immutableReferences"]
    names = {item.get("name") for item in registry["abi"]}
    assert {"registerLog", "anchor", "verifyInclusion", "CheckpointAnchored", "LogRegistered",
            "RegistryStaleCheckpoint", "RegistryInconsistentCheckpoint"} <= names


def test_unknown_artifacts_are_not_found():
    with pytest.raises(NotFoundError):
        build.load_artifact("NoSuchContract")
    with pytest.raises(NotFoundError):
        build.load_artifact("../DataPledgeRegistry")


def test_input_is_self_contained_with_relative_names():
    data = build.standard_json_input()
    names = set(data["sources"])
    assert "contracts/DataPledgeRegistry.sol" in names
    assert "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol" in names
    assert all(not n.startswith("/") and ".." not in n for n in names)
    assert all("content" in s for s in data["sources"].values())
    assert data["settings"]["evmVersion"] == "cancun"


def test_sources_digest_covers_every_contract_file(tmp_path):
    (tmp_path / "contracts" / "test").mkdir(parents=True)
    (tmp_path / "contracts" / "A.sol").write_text("contract A {}")
    (tmp_path / "contracts" / "test" / "B.sol").write_text("contract B {}")
    before = build.sources_digest(tmp_path)
    (tmp_path / "contracts" / "test" / "B.sol").write_text("contract B { }")
    assert build.sources_digest(tmp_path) != before
    (tmp_path / "contracts" / "notes.md").write_text("not a source")
    assert build.sources_digest(tmp_path) == build.sources_digest(tmp_path)


def test_compiling_without_node_modules_says_to_run_npm_ci(tmp_path):
    (tmp_path / "contracts").mkdir()
    with pytest.raises(build.ContractBuildError, match="npm ci"):
        build.standard_json_input(tmp_path)


def test_reading_artifacts_needs_no_node_and_no_compiler():
    code = (
        "import sys\n"
        "from ledger.chain.build import load_artifact\n"
        "a = load_artifact('DataPledgeRegistry')\n"
        "assert a['bytecode'].startswith('0x')\n"
        "print(','.join(sorted(m for m in sys.modules\n"
        "                      if m.startswith(('solcx', 'web3', 'ledger.store')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "/nonexistent"}, check=True)
    assert out.stdout.strip() == ""


def test_shim_resolves_imports_itself_to_the_same_bytecode():
    """The shim's import callback (the route slither uses: sources as `urls`, imports read
    from the project and node_modules) compiles the registry to the committed bytecode."""
    shim = build.PROJECT_ROOT / "contracts" / "solc-shim.js"
    version = subprocess.run([str(shim), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(
        "solc, the solidity compiler commandline interface\nVersion: 0.8.28+commit.7893614a")
    unit = build.SHIPPED_CONTRACTS["DataPledgeRegistry"]
    request = {
        "language": "Solidity",
        "sources": {unit: {"urls": [unit]}},
        "settings": {**build.COMPILER_SETTINGS,
                     "outputSelection": {"*": {"*": ["evm.deployedBytecode.object"]}}},
    }
    out = subprocess.run([str(shim), "--standard-json", "--allow-paths", str(build.PROJECT_ROOT)],
                         input=json.dumps(request), capture_output=True, text=True, check=True)
    compiled = json.loads(out.stdout)
    assert not [e for e in compiled.get("errors", []) if e["severity"] == "error"]
    code = compiled["contracts"][unit]["DataPledgeRegistry"]["evm"]["deployedBytecode"]["object"]
    assert "0x" + code == build.load_artifact("DataPledgeRegistry")["deployedBytecode"]


def test_dpl_solc_must_name_a_file(monkeypatch):
    monkeypatch.setenv("DPL_SOLC", "/nonexistent/solc")
    with pytest.raises(build.ContractBuildError, match="DPL_SOLC"):
        build.compile_contracts()
