"""Treatments from radiotherapy and systemic-therapy notifications: hand-made rows, and a simulated
country whose treatments are checked against the simulator's truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from oncoreg.pipeline import run_pipeline
from oncoreg.pipeline.treatments import COLUMNS, NOTE_COLUMNS, desired_treatments, sync_treatments
from oncoreg.registry.service import Registry

AS_OF = date(2026, 1, 1)


def _notes(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=NOTE_COLUMNS, orient="row")


def test_desired_rows_from_hand_made_notifications() -> None:
    notes = _notes(
        [
            (1, 10, "radiotherapy", date(2020, 3, 1), date(2020, 4, 2), "OUS", "radiotherapy", "fx=25"),
            (2, 10, "systemic_therapy", date(2020, 5, 1), None, "OUS", "L01", "record_id=SYS-1"),
            (3, None, "systemic_therapy", date(2020, 5, 1), None, "OUS", "L02", None),  # no person yet
            (4, 11, "pathology", date(2020, 1, 1), None, "OUS", None, None),  # not a treatment
            (5, 11, "systemic_therapy", date(2021, 2, 1), date(2021, 6, 1), None, "L02", None),
        ]
    )
    links = pl.DataFrame({"tumour_id": [7, 8, 9], "notification_id": [1, 2, 2]})
    out = desired_treatments(notes, links)
    assert out.columns == list(COLUMNS)
    assert out.to_dicts() == [
        {
            "notification_id": 1,
            "person_id": 10,
            "tumour_id": 7,
            "kind": "radiotherapy",
            "start_date": date(2020, 3, 1),
            "end_date": date(2020, 4, 2),
            "institution": "OUS",
            "detail": "fx=25",
        },
        {
            "notification_id": 2,
            "person_id": 10,
            "tumour_id": 8,  # linked to two tumours: the lower id
            "kind": "systemic",
            "start_date": date(2020, 5, 1),
            "end_date": None,
            "institution": "OUS",
            "detail": "atc_group=L01;record_id=SYS-1",
        },
        {
            "notification_id": 5,
            "person_id": 11,
            "tumour_id": None,  # attached to no tumour
            "kind": "systemic",
            "start_date": date(2021, 2, 1),
            "end_date": date(2021, 6, 1),
            "institution": None,
            "detail": "atc_group=L02",
        },
    ]


@pytest.fixture(scope="module")
def store(tiny_country: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    url = f"sqlite:///{tmp_path_factory.mktemp('treatments') / 'registry.sqlite'}"
    registry = Registry.create(url)
    run_pipeline(registry=registry, directory=tiny_country, user="tester", as_of=AS_OF)
    return registry


def _rows(registry: Registry, sql: str) -> pl.DataFrame:
    with registry.engine.connect() as connection:
        result = connection.execute(sa.text(sql))
        return pl.DataFrame([dict(r) for r in result.mappings()], infer_schema_length=None)


def test_the_pipeline_writes_a_treatment_per_linked_therapy_notification(store: Registry) -> None:
    therapy = _rows(
        store,
        "SELECT notification_id FROM notification WHERE person_id IS NOT NULL "
        "AND source_type IN ('radiotherapy', 'systemic_therapy')",
    )
    treatments = _rows(store, "SELECT * FROM treatment")
    assert therapy.height > 50
    assert sorted(treatments["notification_id"].to_list()) == sorted(therapy["notification_id"].to_list())
    with store.engine.begin() as connection:  # already in agreement: nothing to write
        assert sync_treatments(connection, persons=None).inserted == 0


def test_treatments_sit_on_the_true_tumour(store: Registry, tiny_country: Path) -> None:
    """A treatment's tumour is the registered tumour whose notifications came from the truth tumour the
    therapy record was about."""
    truth = pl.read_parquet(tiny_country / "truth" / "messages.parquet").select("message_id", "tumour_id")
    carried = _rows(
        store,
        "SELECT n.notification_id, m.external_id AS message_id FROM notification n "
        "JOIN message m ON m.message_id = n.message_id",
    ).join(truth, on="message_id", how="inner")
    links = _rows(store, "SELECT tumour_id AS stored_tumour, notification_id FROM tumour_notification")
    # each registered tumour stands for the truth tumour most of its notifications came from
    stands_for = (
        links.join(carried, on="notification_id")
        .filter(pl.col("tumour_id").is_not_null())
        .group_by("stored_tumour")
        .agg(pl.col("tumour_id").mode().first().alias("truth_tumour"))
    )
    treatments = (
        _rows(store, "SELECT notification_id, tumour_id AS stored_tumour FROM treatment")
        .join(carried, on="notification_id")
        .join(stands_for, on="stored_tumour", how="left")
    )
    attached = treatments.filter(pl.col("stored_tumour").is_not_null())
    assert attached.height / treatments.height >= 0.9
    agree = (attached["truth_tumour"] == attached["tumour_id"]).mean()
    assert agree is not None
    assert agree >= 0.95


def test_a_moved_notification_moves_its_treatment(store: Registry) -> None:
    with store.engine.begin() as connection:
        row = connection.execute(
            sa.text(
                "SELECT notification_id, person_id FROM notification "
                "WHERE source_type = 'radiotherapy' AND person_id IS NOT NULL "
                "ORDER BY notification_id LIMIT 1"
            )
        ).one()
        other = connection.execute(
            sa.text("SELECT person_id FROM person WHERE person_id != :p ORDER BY person_id LIMIT 1"),
            {"p": row.person_id},
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE notification SET person_id = :o WHERE notification_id = :n"),
            {"o": other, "n": row.notification_id},
        )
        changes = sync_treatments(connection, persons=[row.person_id, other])
        assert (changes.inserted, changes.deleted) == (1, 1)
        moved = connection.execute(
            sa.text("SELECT person_id FROM treatment WHERE notification_id = :n"), {"n": row.notification_id}
        ).scalar_one()
        assert moved == other
        connection.rollback()


def test_a_split_in_the_workbench_takes_the_treatment_along(store: Registry) -> None:
    """Last in the module: it changes the store. The registrar splits a radiotherapy record away from its
    person; its treatment row follows it to the new person at once (no pipeline run needed)."""
    from oncoreg.pipeline import persons_edit

    with store.engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT n.notification_id, n.person_id, p.version FROM notification n "
                "JOIN person p ON p.person_id = n.person_id WHERE n.source_type = 'radiotherapy' "
                "AND (SELECT count(*) FROM notification o WHERE o.person_id = n.person_id) > 2 "
                "ORDER BY n.notification_id LIMIT 1"
            )
        ).one()
    edit = persons_edit.split(
        store,
        person_id=row.person_id,
        notification_ids=[row.notification_id],
        version=row.version,
        user="registrar",
        reason="radiotherapy record of another patient",
        as_of=AS_OF,
    )
    assert edit.created
    treatment = _rows(store, f"SELECT * FROM treatment WHERE notification_id = {row.notification_id}")
    assert treatment["person_id"].to_list() == edit.created
    with store.engine.begin() as connection:  # the table agrees with the notifications again
        changes = sync_treatments(connection, persons=None)
        assert (changes.inserted, changes.deleted) == (0, 0)
