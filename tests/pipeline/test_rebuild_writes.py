"""A rebuild writes differences only, and can move identifiers between persons (issue #4)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from oncoreg.pipeline import PipelineReport, run_pipeline
from oncoreg.registry.service import Registry

DAY = date(2026, 1, 1)


def _rows(registry: Registry, sql: str) -> list[tuple[object, ...]]:
    with registry.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def _rebuild(registry: Registry) -> PipelineReport:
    return run_pipeline(registry=registry, directory=None, user="t", rebuild=True, as_of=DAY)


def test_a_rebuild_swaps_identifiers_back_and_keeps_unchanged_rows(
    tiny_country: Path, tmp_path: Path
) -> None:
    registry = Registry.create(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    try:
        run_pipeline(registry=registry, directory=tiny_country, user="t", as_of=DAY)
        residence = _rows(registry, "SELECT * FROM residence ORDER BY residence_id")
        deaths = _rows(registry, "SELECT * FROM death ORDER BY death_id")
        (first, x), (second, y) = _rows(
            registry,
            "SELECT person_id, identifier FROM person WHERE identifier IS NOT NULL "
            "AND person_id IN (SELECT person_id FROM notification) ORDER BY person_id LIMIT 2",
        )
        # swap the two persons' identifiers behind the rules' back (person.identifier is unique)
        with registry.engine.begin() as connection:
            for person, value in ((first, None), (second, x), (first, y)):
                connection.execute(
                    sa.text("UPDATE person SET identifier = :v WHERE person_id = :p"),
                    {"v": value, "p": person},
                )
        rebuilt = _rebuild(registry)
        assert rebuilt.persons_updated == 2
        restored = _rows(
            registry, f"SELECT person_id, identifier FROM person WHERE person_id IN ({first}, {second})"
        )
        assert sorted(restored) == [(first, x), (second, y)]
        # residence and deaths were derived unchanged: not deleted and re-inserted (same ids)
        assert _rows(registry, "SELECT * FROM residence ORDER BY residence_id") == residence
        assert _rows(registry, "SELECT * FROM death ORDER BY death_id") == deaths
        assert not _rebuild(registry).changed
    finally:
        registry.dispose()
