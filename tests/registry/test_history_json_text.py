"""The column-wise history text (``history.json_objects``) is exactly ``json.dumps`` of the same states,
and ``history.record_frame`` stores exactly the rows ``history.record`` stores."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoreg.registry import history
from oncoreg.registry.service import Registry

# every character a Polars (UTF-8) string can hold: no lone surrogates
characters = st.characters(exclude_categories=("Cs",))
tricky = st.sampled_from(
    ['"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "æ", "ø", "å", "é", "😀"]
)
texts = st.lists(characters | tricky, max_size=12).map("".join)
COLUMNS: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "name": (pl.String, texts),
    "count": (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
    "small": (pl.Int8, st.integers(-128, 127)),
    "flag": (pl.Boolean, st.booleans()),
    "day": (pl.Date, st.dates()),
}
rows = st.lists(
    st.fixed_dictionaries({name: st.none() | values for name, (_, values) in COLUMNS.items()}), max_size=20
)


def _dumps(frame: pl.DataFrame) -> list[str]:
    """The reference: ``json.dumps`` of each row's history state (dates as ISO text)."""
    return [json.dumps(history.json_state(row)) for row in frame.to_dicts()]


@settings(max_examples=300, deadline=None)
@given(rows=rows, order=st.permutations(list(COLUMNS)), width=st.integers(0, len(COLUMNS)))
def test_json_objects_equal_json_dumps(rows: list[dict[str, Any]], order: list[str], width: int) -> None:
    names = order[:width]
    frame = pl.DataFrame(
        [{name: row[name] for name in names} for row in rows],
        schema={name: COLUMNS[name][0] for name in names},
        orient="row",
    )
    texts = history.json_objects(frame)
    assert texts is not None
    assert texts.to_list() == _dumps(frame)


def test_json_objects_of_strings_needing_escapes() -> None:
    frame = pl.DataFrame(
        {
            "first_name": ["Æsa", 'Quo"te', "back\\slash", "tab\tline\nend\x01", "plain", None, "Zoë 😀"],
            "version": [1, 2, 3, 4, 5, 6, 2**62],
        }
    )
    texts = history.json_objects(frame)
    assert texts is not None
    assert texts.to_list() == _dumps(frame)
    assert texts[0] == '{"first_name": "\\u00c6sa", "version": 1}'


def test_json_objects_refuse_other_types() -> None:
    """Floats (and other types) are left to ``json.dumps`` row by row: no text is built."""
    assert history.json_objects(pl.DataFrame({"a": [1], "b": [0.1]})) is None
    assert history.json_objects(pl.DataFrame({"a": [datetime(2024, 1, 1)]})) is None


def _stored(registry: Registry) -> list[tuple[Any, ...]]:
    with registry.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.exec_driver_sql(
                "SELECT entity, entity_id, related_id, action, changed_at, changed_by, reason, "
                "typeof(before), before, typeof(after), after FROM history ORDER BY history_id"
            )
        ]


def test_record_frame_stores_what_record_stores(tmp_path: Path) -> None:
    now = datetime(2025, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
    states = pl.DataFrame(
        {
            "person_id": [1, 2, 3],
            "first_name": ["Åse", 'A "b" \\ c', None],
            "birth_date": [date(1950, 1, 2), None, date(2001, 12, 31)],
            "reserved_risk_factors": [True, False, None],
        }
    )
    dated = states.with_columns(pl.col("birth_date").dt.strftime("%Y-%m-%d"))
    old = Registry.create(f"sqlite:///{tmp_path / 'old.sqlite'}")
    new = Registry.create(f"sqlite:///{tmp_path / 'new.sqlite'}")
    with old.engine.begin() as connection:
        inserts = [(int(s["person_id"]), None, s) for s in dated.to_dicts()]
        deletes = [(int(s["person_id"]), s, None, 7) for s in dated.to_dicts()]
        for changes in (inserts, deletes):
            rows = history.change_rows(
                entity="person", changes=changes, changed_at=now, changed_by="u", reason="why"
            )
            history.record(connection, rows)
    with new.engine.begin() as connection:
        assert history.writes_json_text(connection)
        texts = history.json_objects(dated)
        assert texts is not None
        ids = states["person_id"]
        frames = [
            pl.DataFrame({"entity_id": ids, "action": "insert", "before": None, "after": texts}),
            pl.DataFrame(
                {"entity_id": ids, "related_id": 7, "action": "delete", "before": texts, "after": None}
            ),
        ]
        for frame in frames:
            history.record_frame(
                connection, entity="person", frame=frame, changed_at=now, changed_by="u", reason="why"
            )
    assert _stored(new) == _stored(old)
    assert len(_stored(new)) == 6
    with new.engine.connect() as connection:
        assert history.changes(connection, entity="person", entity_id=1)[0].after == dated.to_dicts()[0]


def test_record_frame_needs_a_reason(tmp_path: Path) -> None:
    registry = Registry.create(f"sqlite:///{tmp_path / 'r.sqlite'}")
    frame = pl.DataFrame({"entity_id": [1], "action": "insert", "before": None, "after": "{}"})
    with registry.engine.begin() as connection, pytest.raises(ValueError, match="reason"):
        history.record_frame(
            connection, entity="person", frame=frame, changed_at=datetime.now(UTC), changed_by="u", reason=" "
        )
