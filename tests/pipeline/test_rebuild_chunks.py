"""A rebuild consolidates range of persons by range of persons (bounded memory) with the same result."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from oncoreg.pipeline import PipelineReport, run_pipeline
from oncoreg.pipeline import run as pipeline_run
from oncoreg.registry.service import Registry

DAY = date(2026, 1, 1)
DERIVED = {
    "tumour": "SELECT * FROM tumour ORDER BY tumour_id",
    "tumour_notification": "SELECT tumour_id, notification_id FROM tumour_notification ORDER BY 1, 2",
    "death": "SELECT * FROM death ORDER BY death_id",
    "review_task": "SELECT * FROM review_task ORDER BY task_id",
    "check_result": "SELECT * FROM check_result ORDER BY check_result_id",
    "treatment": "SELECT * FROM treatment ORDER BY treatment_id",
}


def _rows(registry: Registry, sql: str) -> list[tuple[object, ...]]:
    with registry.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def _rebuild(registry: Registry) -> PipelineReport:
    return run_pipeline(registry=registry, directory=None, user="t", rebuild=True, as_of=DAY)


def test_person_ranges_cover_every_person_and_count_no_register_links() -> None:
    links = pl.DataFrame(
        {
            "notification_id": list(range(1, 13)),
            "person_id": [5, 5, 5, 9, 9, 12, 12, 12, 12, 20, 20, 30],
            "method": ["register", *["deterministic"] * 10, "new"],
        }
    )
    ranges = pipeline_run._person_ranges(links, 3)
    assert ranges[0][0] is None
    assert ranges[-1][1] is None
    assert all(a[1] == b[0] for a, b in pairwise(ranges))
    assert len(ranges) > 2
    # every person falls in exactly one range
    for person in (5, 9, 12, 20, 30, -1, 10**9):
        hits = [r for r in ranges if (r[0] is None or person >= r[0]) and (r[1] is None or person < r[1])]
        assert len(hits) == 1, person
    # one range for everything when the size is never reached
    assert pipeline_run._person_ranges(links, 100) == [(None, None)]


def test_a_rebuild_in_small_person_ranges_equals_the_stored_result(
    tiny_country: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.create(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        run_pipeline(registry=registry, directory=tiny_country, user="t", as_of=DAY)
        before = {name: _rows(registry, sql) for name, sql in DERIVED.items()}
        assert len(before["tumour"]) > 50
        monkeypatch.setattr(pipeline_run, "CONSOLIDATION_CHUNK", 7)
        import oncoreg.consolidation

        ranges: list[int] = []
        original = oncoreg.consolidation.consolidate_incremental

        def counted(*args: Any, **kwargs: Any) -> Any:
            ranges.append(kwargs["new_notifications"].height)
            return original(*args, **kwargs)

        monkeypatch.setattr(oncoreg.consolidation, "consolidate_incremental", counted)
        rebuilt = _rebuild(registry)
        assert len(ranges) > 10  # many ranges were consolidated one by one
        assert 0 < max(ranges) < sum(ranges)
        assert not rebuilt.changed
        assert {name: _rows(registry, sql) for name, sql in DERIVED.items()} == before
        # a tumour changed behind the rules' back is re-derived by the ranged consolidation
        tumour_id, topography = (
            before["tumour"][0][0],
            _rows(registry, "SELECT topography FROM tumour ORDER BY tumour_id LIMIT 1")[0][0],
        )
        with registry.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE tumour SET topography = 'C809' WHERE tumour_id = :t"), {"t": tumour_id}
            )
        repaired = _rebuild(registry)
        assert repaired.tumours_updated == 1
        assert _rows(registry, f"SELECT topography FROM tumour WHERE tumour_id = {tumour_id}") == [
            (topography,)
        ]
    finally:
        registry.dispose()
