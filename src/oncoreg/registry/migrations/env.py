"""Alembic environment: migrates the connection handed over in ``config.attributes`` or the configured URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

import oncoreg.registry.audit_tables  # noqa: F401  (registers the audit tables on the metadata)
from oncoreg.registry.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run the migrations online, on a given connection or on a new engine from ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
