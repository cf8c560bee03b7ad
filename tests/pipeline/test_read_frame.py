"""``store.read_frame`` on SQLite: dates, booleans and nulls come back typed; other temporal types are
refused rather than read as nulls."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from oncoreg.pipeline import store


def _table(tmp_path: Path) -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.sqlite'}")
    table = sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date),
        sa.Column("flag", sa.Boolean),
        sa.Column("at", sa.DateTime),
        sa.Column("name", sa.String),
    )
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(table),
            [
                {"id": 1, "day": date(2024, 2, 29), "flag": True, "at": datetime(2024, 1, 1, 8), "name": "Å"},
                {"id": 2, "day": None, "flag": False, "at": None, "name": None},
            ],
        )
    return engine, table


def test_dates_booleans_and_nulls_are_typed(tmp_path: Path) -> None:
    engine, table = _table(tmp_path)
    schema = {"id": pl.Int64, "day": pl.Date, "flag": pl.Boolean, "name": pl.String}
    with engine.connect() as connection:
        query = sa.select(table.c.id, table.c.day, table.c.flag, table.c.name).order_by(table.c.id)
        frame = store.read_frame(connection, query, schema)
    assert frame.schema == pl.Schema(schema)
    assert frame.rows() == [(1, date(2024, 2, 29), True, "Å"), (2, None, False, None)]


def test_datetimes_are_refused_not_nulled(tmp_path: Path) -> None:
    engine, table = _table(tmp_path)
    with engine.connect() as connection, pytest.raises(TypeError, match="at"):
        store.read_frame(connection, sa.select(table.c.id, table.c.at), {"id": pl.Int64, "at": pl.Datetime})
