"""Consolidation's person facts (and the report's totals) come from the persons stage's frames, not from a
second read of the person table: they must equal what that read gives once the stage's changes are written."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pipeline_support import YEARS, year_directory

from oncoreg.pipeline import run_pipeline, store
from oncoreg.registry.service import Registry

AS_OF = date(2026, 1, 1)


def _persons(rows: list[tuple[int, int, date | None, date | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"person_id": pl.Int64, "sex": pl.Int8, "birth_date": pl.Date, "death_date": pl.Date},
        orient="row",
    ).with_columns(pl.lit("x").alias("first_name"))


def test_facts_after_hand_worked_changes() -> None:
    stored = _persons(
        [
            (30, 2, date(1950, 1, 1), None),
            (10, 1, date(1940, 5, 5), None),
            (20, 2, date(1960, 2, 2), date(2020, 1, 1)),
        ]
    )
    changes = store.EntityChanges(
        inserts=_persons([(15, 9, None, None)]),
        updates=_persons([(10, 1, date(1940, 5, 5), date(2023, 3, 3))]).with_columns(
            pl.lit(2, pl.Int64).alias("version")
        ),
        deletes=[20],  # applied after consolidation: still a fact here
        before={},
    )
    facts = store.person_facts_after(stored, changes)
    assert facts.rows() == [
        (10, 1, date(1940, 5, 5), date(2023, 3, 3)),
        (15, 9, None, None),
        (20, 2, date(1960, 2, 2), date(2020, 1, 1)),
        (30, 2, date(1950, 1, 1), None),
    ]
    assert facts.schema == pl.Schema(
        {"person_id": pl.Int64, "sex": pl.Int8, "birth_date": pl.Date, "death_date": pl.Date}
    )


def test_facts_handed_to_consolidation_equal_the_person_table(
    tiny_country: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Year by year (new persons, register events updating stored ones), then a rebuild: the facts each
    run computed equal the person table as the run left it (no run here retires a person)."""
    captured: list[pl.DataFrame] = []
    original = store.person_facts_after

    def spy(*args: Any, **kwargs: Any) -> pl.DataFrame:
        facts = original(*args, **kwargs)
        captured.append(facts)
        return facts

    monkeypatch.setattr(store, "person_facts_after", spy)
    registry = Registry.create(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        updated = 0
        for year in [*YEARS, None]:
            directory = None if year is None else year_directory(tiny_country, year, tmp_path / str(year))
            report = run_pipeline(
                registry=registry, directory=directory, user="t", rebuild=year is None, as_of=AS_OF
            )
            updated += report.persons_updated
            assert report.persons_deleted == 0
            with registry.engine.connect() as connection:
                table = store.read_persons(connection).select(captured[-1].columns).sort("person_id")
                tumours = store.read_tumours(connection).height
            assert captured[-1].equals(table), year
            # the report's totals are counted from the same frames
            assert (report.persons_total, report.tumours_total) == (table.height, tumours)
        assert updated > 0  # stored persons did change (deaths, names), so the updates were exercised
        assert len(captured) == len(YEARS) + 1
    finally:
        registry.dispose()
