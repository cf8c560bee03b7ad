"""The ``Registry`` service object: one engine from one URL, migrations, sessions for an acting user.

Usage::

    registry = Registry.create("sqlite:///oncoreg-data/registry.sqlite")   # runs the migrations
    with registry.session(user="kari", purpose="coding review", channel="web") as reg:
        person = reg.add_person(person=PersonCreate(...), reason="population register feed")
        reg.person(person.person_id)            # logged in access_log with purpose and channel
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from oncoreg.config import Settings
from oncoreg.errors import PermissionDenied
from oncoreg.registry import audit_tables, migrate, screening_tables
from oncoreg.registry.schemas import Channel
from oncoreg.registry.session import RegistrySession
from oncoreg.registry.tables import Base

# importing these modules registers their tables on Base.metadata
_REGISTERED = (audit_tables.History, screening_tables.ScreeningProgramme)
CHANNELS = ("cli", "web", "api", "batch")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Registry:
    """The operational store. Every read and write of registry data goes through a :meth:`session`."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.url = url
        self.clock = clock or _utc_now
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _on_sqlite_connect)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Registry:
        """The registry at ``settings.store_url`` (SQLite in the data directory unless configured)."""
        return cls(settings.store_url, clock=clock)

    @classmethod
    def create(
        cls,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Registry:
        """Open the registry at ``url`` (default: the settings' store) and migrate it to the newest schema."""
        if url is None:
            from oncoreg.config import get_settings

            url = (settings or get_settings()).store_url
        registry = cls(url, clock=clock)
        registry.upgrade()
        return registry

    def upgrade(self, *, revision: str = "head") -> None:
        """Run the Alembic migrations up to ``revision``."""
        migrate.upgrade(self.url, revision=revision, engine=self.engine)

    def session(self, *, user: str, purpose: str | None = None, channel: Channel = "api") -> RegistrySession:
        """Work as ``user`` for ``purpose`` through ``channel``; reads of persons need a purpose."""
        if not user.strip():
            raise PermissionDenied("registry session refused: no acting user given")
        if channel not in CHANNELS:
            raise PermissionDenied(f"registry session refused: channel {channel!r} is not one of {CHANNELS}")
        return RegistrySession(
            engine=self.engine, clock=self.clock, user=user, purpose=(purpose or "").strip(), channel=channel
        )

    def summary(self) -> dict[str, int]:
        """Row counts per registry table (for ``oncoreg demo`` and status pages)."""
        tables = [Base.metadata.tables[name] for name in sorted(Base.metadata.tables)]
        with self.engine.connect() as connection:
            return {
                table.name: int(
                    connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
                for table in tables
            }

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.dispose()
