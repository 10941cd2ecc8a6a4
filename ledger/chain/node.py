"""The local chain: start and stop anvil with its state kept under DPL_HOME.

``up`` returns once the node answers JSON-RPC; it reuses a node already answering on the
port. anvil writes its state on SIGTERM and every few seconds, so ``down`` and even a
killed node keep the chain (and our deployments on it) for the next ``up``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import LedgerError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 8545


class ChainNodeError(LedgerError):
    """The local chain node cannot be found, started or reached."""


@dataclass(frozen=True)
class NodeInfo:
    rpc_url: str
    chain_id: int
    block_number: int
    pid: int | None
    started: bool


def rpc_call(rpc_url: str, method: str, params: list | None = None, timeout: float = 2.0):
    """One JSON-RPC call with the standard library (no web3 needed to ask 'are you up?')."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(rpc_url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            reply = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ChainNodeError(f"no Ethereum node answers at {rpc_url} ({getattr(e, 'reason', e)})") from None
    if "error" in reply:
        raise ChainNodeError(f"{method} failed at {rpc_url}: {reply['error'].get('message')}")
    return reply["result"]


def anvil_binary() -> str:
    """The anvil executable: DPL_ANVIL, then npm's native binary, then PATH."""
    if os.environ.get("DPL_ANVIL"):
        return os.environ["DPL_ANVIL"]
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    for root in (Path.cwd(), PROJECT_ROOT):
        # The real binary, not the npm wrapper: killing the wrapper leaves the node running.
        native = root / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
        if native.exists():
            return str(native)
    found = shutil.which("anvil")
    if found:
        return found
    raise ChainNodeError("anvil not found: run `npm ci` in the project (or set DPL_ANVIL)")


def _chain_dir(home: Path) -> Path:
    d = home / "chain"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # private when we make it
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    return d


def _answers(rpc_url: str) -> NodeInfo | None:
    try:
        chain_id = int(rpc_call(rpc_url, "eth_chainId", timeout=1.0), 16)
        block = int(rpc_call(rpc_url, "eth_blockNumber", timeout=1.0), 16)
    except ChainNodeError:
        return None
    return NodeInfo(rpc_url, chain_id, block, None, False)


def up(home: Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1", timeout: float = 30.0) -> NodeInfo:
    """Start anvil on ``host:port`` with state in ``home/chain`` (or reuse a running node)."""
    rpc_url = f"http://{host}:{port}"
    running = _answers(rpc_url)
    if running:
        return running
    d = _chain_dir(home)
    state = d / "anvil-state.json"
    cmd = [anvil_binary(), "--host", host, "--port", str(port), "--state", str(state),
           "--state-interval", "2", "--preserve-historical-states"]
    log = open(d / "anvil.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    log.close()
    (d / "anvil.pid").write_text(f"{proc.pid} {port}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ChainNodeError(f"anvil exited with status {proc.returncode}; see {d / 'anvil.log'}")
        info = _answers(rpc_url)
        if info:
            return NodeInfo(rpc_url, info.chain_id, info.block_number, proc.pid, True)
        time.sleep(0.1)
    proc.terminate()
    raise ChainNodeError(f"anvil did not answer on {rpc_url} within {timeout:.0f} s")


def down(home: Path, timeout: float = 15.0) -> bool:
    """Stop the anvil that ``up`` started (SIGTERM, so it saves its state). False if none."""
    pid_file = home / "chain" / "anvil.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Our own child (up() in this process) stays a zombie until reaped; kill(pid, 0)
            # would keep succeeding on it.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            pass  # not our child: its parent reaps it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True
