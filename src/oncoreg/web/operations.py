"""Operational checks of a running installation."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from oncoreg.registry import Registry, migrate
from oncoreg.web.schemas import Ready

logger = logging.getLogger("oncoreg.web")


def readiness(registry: Registry) -> Ready:
    """Whether the store answers and is migrated to the newest revision shipped with this code."""
    expected = migrate.head_revision()
    try:
        with registry.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        revision = migrate.current_revision(registry.engine)
    except sa.exc.SQLAlchemyError as exc:
        logger.warning("store not reachable", extra={"error": type(exc).__name__})
        return Ready(status="not ready", database=False, revision=None, expected_revision=expected)
    status = "ready" if revision == expected else "not ready"
    return Ready(status=status, database=True, revision=revision, expected_revision=expected)
