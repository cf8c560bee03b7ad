"""``run_pipeline`` end to end: simulate → run → snapshot → evaluate; idempotency; incremental = rebuild."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from pipeline_support import YEARS, year_directory

from oncoreg.evaluate import COUNT_TOLERANCE, PAIR_TARGET, evaluate_snapshot
from oncoreg.pipeline import PipelineReport, run_pipeline
from oncoreg.registry.schemas import ReviewTaskCreate
from oncoreg.registry.service import Registry
from oncoreg.snapshot import freeze

AS_OF = date(2026, 1, 1)
DERIVED = ("person", "notification", "tumour", "tumour_notification", "residence", "death", "review_task")


def _run(registry: Registry, directory: Path | None, *, rebuild: bool = False) -> PipelineReport:
    return run_pipeline(registry=registry, directory=directory, user="tester", rebuild=rebuild, as_of=AS_OF)


def _tumours(registry: Registry) -> pl.DataFrame:
    with registry.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM tumour ORDER BY tumour_id")).mappings().all()
    return pl.DataFrame([dict(r) for r in rows]).drop("version", "updated_at")


def _table(registry: Registry, name: str, order: str) -> list[tuple[object, ...]]:
    with registry.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(f"SELECT * FROM {name} ORDER BY {order}"))]


def _counts(registry: Registry) -> dict[str, int]:
    summary = registry.summary()
    return {name: summary[name] for name in (*DERIVED, "history", "check_result", "message", "quarantine")}


@pytest.fixture(scope="module")
def full_run(tiny_country: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, PipelineReport]:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'registry.sqlite'}"
    registry = Registry.create(url)
    return registry, _run(registry, tiny_country)


def test_simulated_country_meets_the_evaluation_targets(
    full_run: tuple[Registry, PipelineReport], tiny_country: Path, tmp_path: Path
) -> None:
    registry, report = full_run
    assert report.received == report.accepted + report.quarantined + report.duplicates
    assert report.tumours_total > 100
    freeze(registry=registry, out_dir=tmp_path / "snapshot")
    evaluation = evaluate_snapshot(simulation_dir=tiny_country, snapshot_dir=tmp_path / "snapshot")
    assert evaluation.linkage.precision >= PAIR_TARGET
    assert evaluation.linkage.recall >= PAIR_TARGET
    # The 0.5 % applies at scale >= 0.05 (measured there: -0.06 %, docs/pipeline.md). This country has
    # about 230 tumours, where 0.5 % is one tumour: allow the larger of 0.5 % and 3 tumours.
    allowed = max(COUNT_TOLERANCE * evaluation.tumours.truth, 3)
    assert abs(evaluation.tumours.snapshot - evaluation.tumours.truth) <= allowed, evaluation.tumours
    for field in ("topography", "morphology_group", "incidence_date"):
        assert evaluation.fields[field] >= 0.98, field
    assert evaluation.malformed.malformed > 0
    assert evaluation.malformed.quarantined == evaluation.malformed.malformed
    assert evaluation.malformed.became_notifications == 0


def test_running_the_same_directory_twice_changes_nothing(
    full_run: tuple[Registry, PipelineReport], tiny_country: Path
) -> None:
    registry, _ = full_run
    before = _counts(registry)
    tumours = _tumours(registry)
    again = _run(registry, tiny_country)
    assert again.duplicates == again.received
    assert not again.changed
    assert _counts(registry) == before
    assert _tumours(registry).equals(tumours)


def test_incremental_runs_equal_a_rebuild_and_rebuilding_twice_changes_nothing(
    tiny_country: Path, tmp_path: Path
) -> None:
    registry = Registry.create(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    for year in YEARS:
        report = _run(registry, year_directory(tiny_country, year, tmp_path / str(year)))
        assert report.notifications_processed > 0
    incremental = _tumours(registry)
    persons = _table(registry, "person", "person_id")
    rebuilt = _run(registry, None, rebuild=True)
    assert rebuilt.tumours_total == incremental.height
    assert _tumours(registry).equals(incremental)
    history = registry.summary()["history"]
    links = _table(registry, "tumour_notification", "tumour_id, notification_id")
    again = _run(registry, None, rebuild=True)
    assert not again.changed
    assert registry.summary()["history"] == history
    assert _tumours(registry).equals(incremental)
    assert _table(registry, "tumour_notification", "tumour_id, notification_id") == links
    assert len(_table(registry, "person", "person_id")) == len(persons)


def test_history_records_the_pipeline_writes(full_run: tuple[Registry, PipelineReport]) -> None:
    registry, _ = full_run
    with registry.session(user="auditor", purpose="test", channel="batch") as session:
        tumour_id = int(_tumours(registry)["tumour_id"][0])
        entries = session.history(entity="tumour", entity_id=tumour_id)
        assert entries[0].action == "insert"
        assert entries[0].changed_by == "tester"
        assert entries[-1].after is not None
        assert session.tumour(tumour_id).model_dump(mode="json") == entries[-1].after
        assert session.tumour_notifications(tumour_id) == session.tumour_notifications(
            tumour_id, as_of=registry.clock()
        )


def test_a_run_on_every_backend(database_url: str, tiny_country: Path, tmp_path: Path) -> None:
    registry = Registry.create(database_url)
    try:
        year = year_directory(tiny_country, YEARS[0], tmp_path / "first")
        first = _run(registry, year)
        assert first.tumours_total > 0
        assert first.persons_created == first.persons_total
        with registry.session(user="registrar", purpose="test", channel="batch") as session:
            foreign = session.add_review_task(
                task=ReviewTaskCreate(
                    kind="screening_followup", subject_type="person", subject_id=1, reason="x"
                )
            )
        rebuilt = _run(registry, None, rebuild=True)
        assert not rebuilt.changed
        assert rebuilt.tumours_total == first.tumours_total
        with registry.session(user="registrar", purpose="test", channel="batch") as session:
            still_open = {task.task_id for task in session.review_tasks(state="open")}
        assert foreign.task_id in still_open
    finally:
        registry.dispose()
