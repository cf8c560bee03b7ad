"""``store.sync_rows``: a desired multiset equal to the stored one (in any order, with duplicates and nulls)
writes nothing; any difference (a value, a null, one copy more or less of a duplicated row) is written as
the minimal deletes and inserts the row-numbering algorithm finds, exactly as before the fast exit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from oncoreg.pipeline import store

SCHEMA = {"person_id": pl.Int64, "municipality": pl.String, "valid_from": pl.Date}
ROWS = [
    (1, "0301", date(2001, 1, 1)),
    (1, "0301", date(2001, 1, 1)),  # a duplicate row
    (2, None, date(2002, 2, 2)),
    (3, "1103", None),
    (4, None, None),
]


def _table(tmp_path: Path, float_column: bool = False) -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    extra = [sa.Column("weight", sa.Float)] if float_column else []
    table = sa.Table(
        "t",
        sa.MetaData(),
        sa.Column("row_id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer),
        sa.Column("municipality", sa.String),
        sa.Column("valid_from", sa.Date),
        *extra,
    )
    table.metadata.create_all(engine)
    names = ["person_id", "municipality", "valid_from", *(["weight"] if float_column else [])]
    with engine.begin() as connection:
        rows = [(*row, 0.5) if float_column else row for row in ROWS]
        connection.execute(sa.insert(table), [dict(zip(names, row, strict=True)) for row in rows])
    return engine, table


def _stored(engine: sa.Engine, table: sa.Table) -> list[tuple]:  # type: ignore[type-arg]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(table).order_by(table.c.row_id))]


def _sync(engine: sa.Engine, table: sa.Table, desired: pl.DataFrame) -> tuple[int, int]:
    with engine.begin() as connection:
        return store.sync_rows(connection, table, key="row_id", desired=desired, scope=None)


def test_same_rows_in_another_order_write_nothing(tmp_path: Path) -> None:
    engine, table = _table(tmp_path)
    before = _stored(engine, table)
    desired = pl.DataFrame(list(reversed(ROWS)), schema=SCHEMA, orient="row")
    assert _sync(engine, table, desired) == (0, 0)
    assert _stored(engine, table) == before


@pytest.mark.parametrize(
    ("desired_rows", "counts", "inserted"),
    [
        # one copy of the duplicate fewer: the second stored copy goes
        (ROWS[1:], (1, 0), []),
        # one copy more: one inserted, nothing deleted
        ([*ROWS, ROWS[0]], (0, 1), [ROWS[0]]),
        # a null becomes a value (same height: the fast exit must not take it)
        ([*ROWS[:2], (2, "0301", date(2002, 2, 2)), *ROWS[3:]], (1, 1), [(2, "0301", date(2002, 2, 2))]),
        # a duplicate traded for a distinct row (same height, same hash multiset size)
        ([*ROWS[:1], (1, "0301", date(2001, 1, 2)), *ROWS[2:]], (1, 1), [(1, "0301", date(2001, 1, 2))]),
    ],
)
def test_differences_are_written(
    tmp_path: Path,
    desired_rows: list[tuple],  # type: ignore[type-arg]
    counts: tuple[int, int],
    inserted: list[tuple],  # type: ignore[type-arg]
) -> None:
    engine, table = _table(tmp_path)
    before = _stored(engine, table)
    desired = pl.DataFrame(desired_rows, schema=SCHEMA, orient="row")
    assert _sync(engine, table, desired) == counts
    after = _stored(engine, table)
    assert sorted(map(repr, (row[1:] for row in after))) == sorted(map(repr, desired_rows))
    kept = [row for row in before if row in after]
    assert len(kept) == len(before) - counts[0]  # unchanged rows keep their keys
    assert [row[1:] for row in after if row not in before] == inserted


def test_float_columns_still_compare(tmp_path: Path) -> None:
    engine, table = _table(tmp_path, float_column=True)
    before = _stored(engine, table)
    desired = pl.DataFrame(
        [(*row, 0.5) for row in ROWS], schema={**SCHEMA, "weight": pl.Float64}, orient="row"
    )
    assert _sync(engine, table, desired) == (0, 0)
    assert _stored(engine, table) == before
