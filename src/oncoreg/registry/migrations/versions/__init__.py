"""Alembic revision files, applied in order by ``alembic upgrade head``."""
