"""Treatments from the radiotherapy and systemic-therapy notifications (DESIGN §5 ``treatment``).

Every accepted radiotherapy or systemic-therapy notification of a linked person is one ``treatment`` row:
kind (``radiotherapy`` or ``systemic``), start and end date, institution, detail (the ATC group of a
systemic therapy and the record's extras: record id, total dose and fractions), and the tumour the
notification is linked to (consolidation attaches ICD-10-only notifications to a tumour of the person
whose site agrees; ``None`` when it attached to none). Treatment rows are derived data:
:func:`sync_treatments` makes the table agree with the notifications of the persons in scope, deleting and
inserting only what differs, so a rebuild that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.pipeline import store
from oncoreg.registry.tables import Notification, Treatment, TumourNotification, table_of

Dtype = pl.DataType | type[pl.DataType]
TREATMENTS = table_of(Treatment)
NOTIFICATION = table_of(Notification)
LINKS = table_of(TumourNotification)
#: Notification source → treatment kind.
KINDS = {"radiotherapy": "radiotherapy", "systemic_therapy": "systemic"}
COLUMNS: dict[str, Dtype] = {
    "notification_id": pl.Int64,
    "person_id": pl.Int64,
    "tumour_id": pl.Int64,
    "kind": pl.String,
    "start_date": pl.Date,
    "end_date": pl.Date,
    "institution": pl.String,
    "detail": pl.String,
}
_CHUNK = 5000
_DETAIL_LENGTH = 200


@dataclass(frozen=True)
class TreatmentChanges:
    """What :func:`sync_treatments` wrote."""

    inserted: int
    deleted: int


def desired_treatments(notifications: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Treatment rows (:data:`COLUMNS`) of therapy notifications that have a person.

    ``notifications``: ``notification_id, person_id, source_type, event_date, end_date, institution,
    event_kind, detail``; ``links``: ``tumour_id, notification_id`` (a notification linked to several
    tumours counts for the lowest)."""
    therapy = notifications.filter(
        pl.col("source_type").is_in(list(KINDS)) & pl.col("person_id").is_not_null()
    )
    tumour = links.group_by("notification_id").agg(pl.col("tumour_id").min())
    atc = pl.when(pl.col("source_type") == "systemic_therapy").then(
        pl.concat_str([pl.lit("atc_group="), pl.col("event_kind")])
    )
    detail = pl.concat_str([atc, pl.col("detail")], separator=";", ignore_nulls=True)
    return (
        therapy.join(tumour, on="notification_id", how="left")
        .select(
            pl.col("notification_id").cast(pl.Int64),
            pl.col("person_id").cast(pl.Int64),
            pl.col("tumour_id").cast(pl.Int64),
            pl.col("source_type").replace_strict(KINDS, return_dtype=pl.String).alias("kind"),
            pl.col("event_date").alias("start_date"),
            "end_date",
            "institution",
            pl.when(detail == "").then(None).otherwise(detail.str.slice(0, _DETAIL_LENGTH)).alias("detail"),
        )
        .cast(COLUMNS)  # type: ignore[arg-type]
        .sort("notification_id")
    )


NOTE_COLUMNS: dict[str, Dtype] = {
    "notification_id": pl.Int64,
    "person_id": pl.Int64,
    "source_type": pl.String,
    "event_date": pl.Date,
    "end_date": pl.Date,
    "institution": pl.String,
    "event_kind": pl.String,
    "detail": pl.String,
}
LINK_COLUMNS: dict[str, Dtype] = {
    "tumour_id": pl.Int64,
    "notification_id": pl.Int64,
}
STORED_COLUMNS: dict[str, Dtype] = {"treatment_id": pl.Int64, **COLUMNS}


def _in_scope(
    column: sa.ColumnElement[Any], persons: Sequence[int] | None, start: int
) -> sa.ColumnElement[bool]:
    return sa.true() if persons is None else column.in_(list(persons[start : start + _CHUNK]))


def _read(
    connection: sa.Connection, persons: Sequence[int] | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Therapy notifications, their tumour links, and the stored treatments of the persons in scope."""
    notes, links, stored = [], [], []
    for start in [0] if persons is None else range(0, len(persons), _CHUNK):
        scope = _in_scope(NOTIFICATION.c.person_id, persons, start)
        where = NOTIFICATION.c.source_type.in_(list(KINDS)) & scope
        notes.append(
            store.read_frame(
                connection, sa.select(*(NOTIFICATION.c[c] for c in NOTE_COLUMNS)).where(where), NOTE_COLUMNS
            )
        )
        links.append(
            store.read_frame(
                connection,
                sa.select(LINKS.c.tumour_id, LINKS.c.notification_id)
                .join(NOTIFICATION, NOTIFICATION.c.notification_id == LINKS.c.notification_id)
                .where(where),
                LINK_COLUMNS,
            )
        )
        mine = _in_scope(TREATMENTS.c.person_id, persons, start)
        query = sa.select(*(TREATMENTS.c[c] for c in STORED_COLUMNS)).where(mine)
        stored.append(store.read_frame(connection, query, STORED_COLUMNS))
    return pl.concat(notes), pl.concat(links), pl.concat(stored)


def sync_treatments(connection: sa.Connection, *, persons: Sequence[int] | None) -> TreatmentChanges:
    """Make ``treatment`` agree with the therapy notifications of ``persons`` (None: everyone).

    Rows whose notification is gone, moved to another person or changed are deleted; missing rows are
    inserted; equal rows are left alone. Treatments not from a notification (entered by hand) are kept."""
    if persons is not None and not persons:
        return TreatmentChanges(inserted=0, deleted=0)
    notes, links, stored = _read(connection, persons)
    desired = desired_treatments(notes, links)
    from_notifications = stored.filter(pl.col("notification_id").is_not_null())
    columns = list(COLUMNS)
    stale = from_notifications.join(desired, on=columns, how="anti", nulls_equal=True)
    missing = desired.join(from_notifications.select(columns), on=columns, how="anti", nulls_equal=True)
    gone = stale["treatment_id"].to_list()
    for start in range(0, len(gone), _CHUNK):
        connection.execute(
            sa.delete(TREATMENTS).where(TREATMENTS.c.treatment_id.in_(gone[start : start + _CHUNK]))
        )
    rows = missing.to_dicts()
    for start in range(0, len(rows), _CHUNK):
        connection.execute(sa.insert(TREATMENTS), rows[start : start + _CHUNK])
    return TreatmentChanges(inserted=len(rows), deleted=len(gone))
