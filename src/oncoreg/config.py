"""One validated settings object for the whole system.

Values come, in increasing priority, from the defaults below, an optional TOML file (``oncoreg.toml`` in
the working directory or the path in ``ONCOREG_CONFIG``) and ``ONCOREG_*`` environment variables
(``ONCOREG_DATA_DIR``, ``ONCOREG_DATABASE_URL``, ``ONCOREG_SECRET_KEY``, ...).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from oncoreg.errors import ConfigError

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # refused outside development


def _config_file() -> Path:
    return Path(os.environ.get("ONCOREG_CONFIG", "oncoreg.toml"))


class Settings(BaseSettings):
    """Settings of an oncoreg installation. Every field can be set as ``ONCOREG_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ONCOREG_", extra="forbid", validate_default=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", description="Deployment kind; 'production' refuses development defaults."
    )
    data_dir: Path = Field(
        Path("oncoreg-data"),
        description="Directory for the SQLite file, stored messages, snapshots and reports.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the registry store. Default: SQLite file registry.sqlite in data_dir. "
            "PostgreSQL: postgresql+psycopg://user@host:port/db"
        ),
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET),
        description="Key for session cookies and keyed pseudonyms; must be set outside development.",
    )
    log_level: str = Field("INFO", description="Logging level of the oncoreg loggers.")
    dco_traceback_days: int = Field(
        180,
        ge=0,
        description="Days a death certificate without other notification waits for trace-back before DCO.",
    )
    linkage_match_threshold: float = Field(
        0.99, gt=0, lt=1, description="Probabilistic linkage: match probability accepted automatically."
    )
    linkage_review_threshold: float = Field(
        0.5, gt=0, lt=1, description="Probabilistic linkage: probability above which a pair goes to review."
    )
    small_count_threshold: int = Field(
        5, ge=0, description="Disclosure control: counts below this are suppressed in released tables."
    )
    oidc_issuer: str | None = Field(
        None, description="OIDC sign-in: the provider's issuer URL (unset: OIDC sign-in is off)."
    )
    oidc_client_id: str | None = Field(None, description="OIDC sign-in: this registry's client id.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="OIDC sign-in: the client secret (unset: a public client using PKCE only)."
    )
    oidc_username_claim: str = Field(
        "preferred_username", description="OIDC sign-in: the ID token claim naming the local user."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml, file_secret_settings)

    @model_validator(mode="after")
    def _refuse_development_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError(
                f"secret_key is the development default but environment is {self.environment!r}; "
                "set ONCOREG_SECRET_KEY"
            )
        if self.linkage_review_threshold >= self.linkage_match_threshold:
            raise ValueError("linkage_review_threshold must be below linkage_match_threshold")
        return self

    @property
    def store_url(self) -> str:
        """The database URL in effect (the SQLite default resolved inside data_dir)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; a bad setting raises :class:`ConfigError` with one line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
