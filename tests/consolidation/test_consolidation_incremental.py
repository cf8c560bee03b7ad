"""Rebuild = incremental: any split of the notifications into batches gives the rebuild (DESIGN §2)."""

from __future__ import annotations

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_consolidation_cases import AS_OF, _notifications, _persons

from oncoreg.consolidation import TUMOUR_FIELDS, consolidate, consolidate_incremental

NOTES = _notifications().drop("case")
PERSONS = _persons(_notifications())


def _apply(
    stored: pl.DataFrame, batch: pl.DataFrame, tumours: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    result = consolidate_incremental(
        new_notifications=batch,
        stored_notifications=stored,
        persons=PERSONS,
        existing_tumours=tumours,
        as_of=AS_OF,
    )
    touched = result.changes["person_id"].unique().implode()
    kept = tumours.filter(~pl.col("person_id").is_in(touched))
    refreshed = result.tumours.filter(pl.col("person_id").is_in(touched))
    return pl.concat([stored, batch], how="diagonal_relaxed"), pl.concat([kept, refreshed])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=NOTES.height, max_size=NOTES.height))
def test_batches_in_any_split_equal_the_rebuild(assignment: list[int]) -> None:
    rebuild = consolidate(notifications=NOTES, persons=PERSONS, as_of=AS_OF).tumours
    stored = NOTES.clear()
    tumours = pl.DataFrame(schema=TUMOUR_FIELDS)
    batches = NOTES.with_columns(pl.Series("_batch", assignment))
    for number in range(4):
        batch = batches.filter(pl.col("_batch") == number).drop("_batch")
        stored, tumours = _apply(stored, batch, tumours)
    assert tumours.sort("tumour_id").equals(rebuild.sort("tumour_id"))


def test_rebuild_is_deterministic_and_order_free() -> None:
    first = consolidate(notifications=NOTES, persons=PERSONS, as_of=AS_OF)
    shuffled = consolidate(
        notifications=NOTES.sample(fraction=1.0, shuffle=True, seed=7), persons=PERSONS, as_of=AS_OF
    )
    assert first.tumours.equals(shuffled.tumours)
    assert first.provenance.equals(shuffled.provenance)
    assert first.review_tasks.equals(shuffled.review_tasks)


def test_changes_report_an_update_when_a_notification_arrives() -> None:
    early = NOTES.filter(pl.col("notification_id") == 401)
    before = consolidate(notifications=early, persons=PERSONS, as_of=date(2016, 1, 1)).tumours
    later = consolidate_incremental(
        new_notifications=NOTES.filter(pl.col("notification_id") == 402),
        stored_notifications=early,
        persons=PERSONS,
        existing_tumours=before,
        as_of=AS_OF,
    )
    assert later.changes.select("tumour_id", "change", "fields").to_dicts() == [
        {"tumour_id": 401, "change": "updated", "fields": "grade"}
    ]
