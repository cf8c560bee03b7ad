"""Schema migrations through Alembic, configured in code so they run from an installed package."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def alembic_config(url: str) -> Config:
    """The Alembic configuration for the store at ``url`` (scripts in ``oncoreg/registry/migrations``)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("oncoreg.registry") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, *, revision: str = "head", engine: sa.Engine | None = None) -> None:
    """Run ``alembic upgrade <revision>`` on the database at ``url`` (on ``engine`` when given)."""
    config = alembic_config(url)
    if engine is None:
        command.upgrade(config, revision)
        return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of oncoreg."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
