"""Alembic migrations of the registry store (run them through :func:`oncoreg.registry.migrate.upgrade`)."""
