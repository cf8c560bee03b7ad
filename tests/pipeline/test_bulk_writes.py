"""The pipeline's chunked bulk writes store what SQLAlchemy's ``update()`` and the row-wise states did."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from oncoreg.pipeline import store
from oncoreg.registry import bulk, history
from oncoreg.registry.service import Registry


def _person(person_id: int, birth: date | None) -> dict[str, object]:
    return {
        "person_id": person_id,
        "identifier": None,
        "identifier_type": "none",
        "identifier_scheme": None,
        "first_name": "Kari",
        "last_name": "Nordmann",
        "birth_date": birth,
        "sex": 2,
        "vital_status": "alive",
        "death_date": None,
        "emigration_date": None,
        "reserved_screening_results": False,
        "reserved_risk_factors": False,
        "version": 1,
        "updated_at": datetime(2024, 1, 1, tzinfo=UTC),
    }


def test_update_rows_stores_what_update_stores(tmp_path: Path) -> None:
    registry = Registry.create(f"sqlite:///{tmp_path / 'r.sqlite'}")
    table = store.PERSONS
    now = datetime(2025, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
    changes = [(i, date(1950, 1, 1 + i), i % 2 == 0, f"N{i}") for i in range(1, 7)]
    with registry.engine.begin() as connection:
        connection.execute(sa.insert(table), [_person(i, None) for i in range(1, 13)])
        # ids 1-6 by the bulk path, 7-12 by SQLAlchemy's update()
        bulk.update_rows(
            connection,
            table,
            "person_id",
            ["birth_date", "reserved_risk_factors", "last_name", "updated_at"],
            [(birth, flag, name, now, i) for i, birth, flag, name in changes],
        )
        statement = (
            sa.update(table)
            .where(table.c.person_id == sa.bindparam("b_id"))
            .values(
                birth_date=sa.bindparam("b_birth"),
                reserved_risk_factors=sa.bindparam("b_flag"),
                last_name=sa.bindparam("b_name"),
                updated_at=now,
            )
        )
        connection.execute(
            statement,
            [
                {"b_id": i + 6, "b_birth": birth, "b_flag": flag, "b_name": name}
                for i, birth, flag, name in changes
            ],
        )
        raw = connection.exec_driver_sql(
            "SELECT person_id, birth_date, reserved_risk_factors, last_name, updated_at FROM person "
            "ORDER BY person_id"
        ).all()
    bulk_rows, plain_rows = raw[:6], raw[6:]
    assert [r[1:] for r in bulk_rows] == [r[1:] for r in plain_rows]
    assert bulk_rows[0][1] == "1950-01-02"  # the update happened (raw ISO text on SQLite)


def test_states_equal_the_row_wise_json_states() -> None:
    frame = pl.DataFrame(
        {
            "person_id": [1, 2, 3],
            "birth_date": [date(1901, 2, 3), None, date(2020, 12, 31)],
            "sex": pl.Series([1, 2, 9], dtype=pl.Int8),
            "reserved_risk_factors": [True, False, None],
            "ignored": ["x", "y", "z"],
        }
    )
    fields = ("person_id", "birth_date", "sex", "reserved_risk_factors", "absent")
    expected = [
        history.json_state(row)
        for row in frame.select("person_id", "birth_date", "sex", "reserved_risk_factors").to_dicts()
    ]
    assert store._states(frame, fields) == expected
    assert list(store._states(frame, fields)[0]) == [
        "person_id",
        "birth_date",
        "sex",
        "reserved_risk_factors",
    ]
    assert store._states(frame, fields)[0]["birth_date"] == "1901-02-03"
