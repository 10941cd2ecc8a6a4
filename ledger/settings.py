"""Settings, built once by each entry point (CLI, app factory) and passed down.

Environment variables: ``DPL_HOME`` (default ``.dpl``), ``DPL_DATA_KEY`` and
``DATABASE_URL`` (default: SQLite file ``DPL_HOME/ledger.db``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DPL_", extra="ignore")

    home: Path = Path(".dpl")
    data_key: SecretStr | None = None
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DPL_DATABASE_URL")
    )

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
