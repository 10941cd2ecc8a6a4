"""Settings, built once by each entry point (CLI, app factory) and passed down.

Environment variables: ``DPL_HOME`` (default ``.dpl``), ``DPL_DATA_KEY``, ``DATABASE_URL``
(default: SQLite file ``DPL_HOME/ledger.db``), ``DPL_RPC_URL``, ``DPL_RELAYER_KEY``,
``DPL_FACTORY_KEY``, ``DPL_CONFIRMATIONS``, ``DPL_ANCHOR_INTERVAL``, ``DPL_STUCK_AFTER_BLOCKS``,
``DPL_KEY_PASSPHRASE``, ``DPL_SQLITE_BUSY_TIMEOUT``, ``DPL_WEBHOOKS_INTERVAL``,
``DPL_WEBHOOKS_ALLOW_PRIVATE``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DPL_", extra="ignore")

    home: Path = Path(".dpl")
    data_key: SecretStr | None = None
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DPL_DATABASE_URL")
    )
    #: JSON-RPC endpoint of the chain everything anchors to and reads from.
    rpc_url: str = "http://127.0.0.1:8545"
    #: Key (name in DPL_HOME/keys) that pays gas for relayed transactions.
    relayer_key: str = "dev0"
    #: Key a log is bound to at its first anchor when it was created without --factory.
    factory_key: str = "dev1"
    #: Blocks on top of an anchor's block before it counts as final.
    confirmations: int = Field(default=2, ge=0)
    #: Seconds between the service's anchoring runs (0: the service does not anchor).
    anchor_interval: float = Field(default=30.0, ge=0)
    #: Seconds between the service's covenant monitor runs (0, the default: the service does not monitor).
    monitor_interval: float = Field(default=0.0, ge=0)
    #: An anchor pending for more blocks than this is reported stuck (dpl anchor, audit, /health).
    stuck_after_blocks: int = Field(default=20, ge=1)
    #: JSON-RPC URL the web UI offers browsers for their own chain reads (default: rpc_url).
    browser_rpc_url: str | None = None
    #: Block explorer for transaction links in the web UI, e.g. https://sepolia.etherscan.io
    explorer_url: str | None = None
    #: Seconds a SQLite writer waits for another one (an ingest in progress) before giving up.
    sqlite_busy_timeout: float = Field(default=60.0, gt=0)
    #: Publish each log's newest anchored checkpoint and its tiles here after every anchoring round
    #: of the service or ``dpl anchor --every`` (``dpl publish``, docs/TILES.md); unset: not published.
    publish_dir: Path | None = None
    #: Passphrase of the keystores under ``DPL_HOME/keys`` (the only place it is read from the
    #: environment; the command line asks for it on a terminal when it is not set).
    key_passphrase: SecretStr | None = None
    #: Seconds between the service's webhook delivery passes (0: the service does not deliver;
    #: ``dpl webhooks deliver`` does).
    webhooks_interval: float = Field(default=10.0, ge=0)
    #: Let webhooks name hosts that resolve to loopback, private or link-local addresses
    #: (tests, a receiver on the same network); off, such URLs are refused (an SSRF guard).
    webhooks_allow_private: bool = False

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: ``DATABASE_URL`` when given, else SQLite under ``home``."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.home / 'ledger.db').resolve()}"


def normalize_database_url(url: str) -> str:
    """Accept libpq-style ``postgres://`` / ``postgresql://`` URLs; use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redact_url(url: str) -> str:
    """``url`` safe to show anyone: scheme, host and port; credentials, path and query (where
    RPC providers put API keys) become an ellipsis."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<an unparseable URL>"
    if not parts.scheme or not parts.hostname:
        return "<an unparseable URL>"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    hidden = bool(parts.username or parts.password or parts.path.strip("/") or parts.query or parts.fragment)
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}" + ("/…" if hidden else "")


def browser_rpc_url(settings: Settings) -> str | None:
    """The JSON-RPC URL the web UI offers browsers: ``DPL_BROWSER_RPC_URL``, else the service's
    own when it carries no secret (no credentials, path or query), else none (users type one)."""
    if settings.browser_rpc_url:
        return settings.browser_rpc_url
    if "…" in redact_url(settings.rpc_url) or redact_url(settings.rpc_url).startswith("<"):
        return None
    return settings.rpc_url
