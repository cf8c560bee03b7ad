"""The pipeline's column-wise history rows (SQLite: notification moves and entity inserts built in Polars)
store exactly what the row-by-row path (state dicts, ``json.dumps``) stores."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from oncoreg.pipeline import store
from oncoreg.registry import history
from oncoreg.registry.service import Registry

NOW = datetime(2025, 2, 3, 4, 5, 6, 789, tzinfo=UTC)


def _history(registry: Registry) -> list[tuple[Any, ...]]:
    with registry.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT history_id, entity, entity_id, related_id, action, changed_at, changed_by, reason, "
                "typeof(before), before, typeof(after), after FROM history ORDER BY history_id"
            )
        ]


def _both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Any
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``write(connection)`` on a store by the column-wise path and on one by the row-by-row path."""
    new = Registry.create(f"sqlite:///{tmp_path / 'new.sqlite'}")
    with new.engine.begin() as connection:
        assert history.writes_json_text(connection)
        write(connection)
    old = Registry.create(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with monkeypatch.context() as patch:
        patch.setattr(history, "writes_json_text", lambda connection: False)
        with old.engine.begin() as connection:
            write(connection)
    return _history(new), _history(old)


def test_notification_moves_store_the_row_by_row_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # first links (from no person), moves, a notification that stays with its person, a big id
    moves = pl.DataFrame(
        {
            "notification_id": [1, 2, 3, 4, 5],
            "person_id": [None, 7, 9, 9, 2**40],
            "to_person_id": [5, 8, 9, None, 3],
            "version": [1, 4, 2, 1, 2**33],
        },
        schema=dict.fromkeys(["notification_id", "person_id", "to_person_id", "version"], pl.Int64),
    )
    monkeypatch.setattr(store, "WRITE_CHUNK", 2)  # several chunks

    def write(connection: Any) -> None:
        store.record_notification_moves(connection, moves=moves, now=NOW, user="u", reason="linkage")

    new, old = _both_paths(tmp_path, monkeypatch, write)
    assert new == old
    assert len(new) == 5
    assert new[0][9:] == ('{"person_id": null, "version": 1}', "text", '{"person_id": 5, "version": 2}')
    assert new[2][9:] == ('{"version": 2}', "text", '{"version": 3}')


def test_person_inserts_store_the_row_by_row_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["Åse", "Bjørn", 'O"Neil', "back\\slash", "Zoë", None, "tab\tname", "Ærlig"]
    inserts = pl.DataFrame(
        {
            "person_id": list(range(1, 9)),
            "identifier": [f"{i:011d}" if i % 3 else None for i in range(1, 9)],
            "identifier_type": ["national"] * 8,
            "identifier_scheme": [None] * 8,
            "first_name": names,
            "last_name": list(reversed(names)),
            "birth_date": [date(1900 + i, 1 + i, 2 * i) if i % 4 else None for i in range(1, 9)],
            "sex": [1, 2, 9, 1, 2, 1, 2, 9],
            "vital_status": ["alive"] * 7 + ["dead"],
            "death_date": [None] * 7 + [date(2020, 2, 29)],
            "emigration_date": [None] * 8,
            "reserved_screening_results": [False, True] * 4,
            "reserved_risk_factors": [False, True, True, False] * 2,
        },
        schema_overrides={"sex": pl.Int8, "identifier_scheme": pl.String, "emigration_date": pl.Date},
    )
    monkeypatch.setattr(store, "WRITE_CHUNK", 3)
    changes = store.EntityChanges(inserts=inserts, updates=inserts.clear(), deletes=[], before={})

    def write(connection: Any) -> None:
        store.apply_entity_changes(
            connection,
            entity="person",
            table=store.PERSONS,
            key="person_id",
            state_fields=store.PERSON_STATE_FIELDS,
            changes=changes,
            now=NOW,
            user="u",
            reason="derived",
        )

    new, old = _both_paths(tmp_path, monkeypatch, write)
    assert new == old
    assert len(new) == 8
    assert '"first_name": "\\u00c5se"' in new[0][11]
