"""Read the registry's state, now or as of a past time, in bulk and in chunks.

Each ``*_chunks`` function runs **one** SQL query for its entity type and yields Polars frames of at most
``chunk_size`` rows (the database cursor is streamed, so memory stays bounded).

* Now: the live tables.
* As of ``T`` for persons, tumours and notifications: the fold of each entity's ``history`` rows with
  ``changed_at <= T`` (``oncoreg.registry.history``), read in one query ordered by entity id, time and
  ``history_id`` and folded in one pass as the rows stream by; an entity whose last row is a delete is
  absent. A notification's content comes from its row (joined in the same query), its ``person_id`` and
  ``version`` from the fold. Links: the last row per ``(tumour, notification)`` (``ROW_NUMBER() OVER
  (PARTITION BY ...)``) is an insert.
* As of ``T`` for tables without history: messages received and quarantine entries created at or before
  ``T``; residence periods, deaths and treatments dated on or before ``T``'s date (a residence period ending
  after ``T`` is open-ended). Their later corrections cannot be undone: the store keeps no history of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from itertools import islice
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.registry import history
from oncoreg.registry.audit_tables import History
from oncoreg.registry.tables import (
    Death,
    Message,
    Notification,
    Person,
    Quarantine,
    Residence,
    Treatment,
    Tumour,
    TumourNotification,
    table_of,
)
from oncoreg.snapshot.schema import Schema

HISTORY = table_of(History)

PERSON: Schema = {
    "person_id": pl.Int64,
    "sex": pl.Int8,
    "birth_date": pl.Date,
    "vital_status": pl.String,
    "death_date": pl.Date,
    "emigration_date": pl.Date,
}
TUMOUR: Schema = {
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "sequence": pl.Int16,
    "incidence_date": pl.Date,
    "incidence_date_basis": pl.String,
    "topography": pl.String,
    "morphology": pl.String,
    "behaviour": pl.Int8,
    "grade": pl.Int8,
    "laterality": pl.String,
    "basis": pl.Int8,
    "basis_subcode": pl.String,
    "icd10": pl.String,
    "summary_stage": pl.String,
    "tnm_t": pl.String,
    "tnm_n": pl.String,
    "tnm_m": pl.String,
    "dco": pl.Boolean,
    "iarc_status": pl.String,
    "registration_status": pl.String,
    "version": pl.Int32,
}
NOTIFICATION: Schema = {
    "notification_id": pl.Int64,
    "message_id": pl.Int64,
    "person_id": pl.Int64,
    "source_type": pl.String,
}
LINK: Schema = {"tumour_id": pl.Int64, "notification_id": pl.Int64}
MESSAGE: Schema = {
    "message_id": pl.Int64,
    "external_id": pl.String,
    "source": pl.String,
    "received_date": pl.Date,
}
QUARANTINE: Schema = {"message_id": pl.Int64, "status": pl.String, "reasons": pl.String}
RESIDENCE: Schema = {
    "person_id": pl.Int64,
    "municipality": pl.String,
    "county": pl.String,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
}
DEATH: Schema = {"person_id": pl.Int64, "death_date": pl.Date, "underlying_cause": pl.String}
TREATMENT: Schema = {
    "treatment_id": pl.Int64,
    "tumour_id": pl.Int64,
    "person_id": pl.Int64,
    "kind": pl.String,
    "start_date": pl.Date,
    "end_date": pl.Date,
    "institution": pl.String,
}


def _frame(records: Sequence[Any], schema: Schema, *, from_json: bool) -> pl.DataFrame:
    """Rows -> frame of ``schema``; JSON states carry ISO date strings, which are parsed here."""
    if not from_json:
        return pl.DataFrame(list(records), schema=schema, orient="row")
    text_schema: Schema = {k: (pl.String if v == pl.Date else v) for k, v in schema.items()}
    rows = [{k: rec.get(k) for k in schema} for rec in records]
    frame = pl.DataFrame(rows, schema=text_schema, orient="row")
    return frame.with_columns([pl.col(k).str.to_date("%Y-%m-%d") for k, v in schema.items() if v == pl.Date])


def _stream(
    connection: sa.Connection, query: sa.Select[Any], chunk_size: int
) -> Iterator[list[dict[str, Any]]]:
    result = connection.execution_options(stream_results=True, yield_per=chunk_size).execute(query)
    for part in result.partitions():
        yield [dict(row._mapping) for row in part]


def _live(
    connection: sa.Connection, query: sa.Select[Any], schema: Schema, chunk_size: int
) -> Iterator[pl.DataFrame]:
    for rows in _stream(connection, query, chunk_size):
        yield _frame(rows, schema, from_json=False)


def _last_states(entity: str, as_of: datetime, *, by_link: bool = False) -> sa.Select[Any]:
    """The last history row at or before ``as_of`` per entity (per link when ``by_link``), not deleted."""
    partition = [HISTORY.c.entity_id, HISTORY.c.related_id] if by_link else [HISTORY.c.entity_id]
    ranked = (
        sa.select(
            HISTORY.c.entity_id,
            HISTORY.c.related_id,
            HISTORY.c.action,
            HISTORY.c.after,
            sa.func.row_number()
            .over(partition_by=partition, order_by=[HISTORY.c.changed_at.desc(), HISTORY.c.history_id.desc()])
            .label("rank"),
        )
        .where(HISTORY.c.entity == entity, HISTORY.c.changed_at <= as_of)
        .subquery()
    )
    return (
        sa.select(ranked.c.entity_id, ranked.c.related_id, ranked.c.after)
        .where(ranked.c.rank == 1, ranked.c.action != "delete")
        .order_by(ranked.c.entity_id, ranked.c.related_id)
    )


def _folded_states(entity: str, as_of: datetime, schema: Schema) -> sa.Select[Any]:
    """Every history row of ``entity`` at or before ``as_of``, in fold order; for an entity whose content
    lives in its row, that row's ``schema`` columns too (prefixed ``row_``)."""
    content = history.CONTENT_IN_ROW.get(entity)
    columns: list[Any] = [HISTORY.c.entity_id, HISTORY.c.action, HISTORY.c.after]
    query = sa.select(*columns)
    if content is not None:
        table = content.table
        query = sa.select(
            *columns,
            *(table.c[name].label(f"row_{name}") for name in schema if name not in content.mutable),
        ).outerjoin(table, table.c[content.key] == HISTORY.c.entity_id)
    return query.where(HISTORY.c.entity == entity, HISTORY.c.changed_at <= as_of).order_by(
        HISTORY.c.entity_id, HISTORY.c.changed_at, HISTORY.c.history_id
    )


def _historical(
    connection: sa.Connection, entity: str, as_of: datetime, schema: Schema, chunk_size: int
) -> Iterator[pl.DataFrame]:
    states = _fold_stream(connection, entity, as_of, schema, chunk_size)
    while chunk := list(islice(states, chunk_size)):
        yield _frame(chunk, schema, from_json=True)


def _fold_stream(
    connection: sa.Connection, entity: str, as_of: datetime, schema: Schema, chunk_size: int
) -> Iterator[dict[str, Any]]:
    """The existing entities' states at ``as_of``, in id order: each entity's rows (which may straddle two
    chunks of the stream) are folded when the next entity starts."""
    has_content = entity in history.CONTENT_IN_ROW
    current: int | None = None
    pending: list[tuple[str, dict[str, Any] | None]] = []
    content: dict[str, Any] | None = None
    for rows in _stream(connection, _folded_states(entity, as_of, schema), chunk_size):
        for row in rows:
            if row["entity_id"] != current:
                state = history.fold(pending)
                if state is not None:
                    yield history.with_content(state, content) if has_content else state
                current, pending = row["entity_id"], []
                if has_content:
                    content = history.json_state({k[4:]: v for k, v in row.items() if k.startswith("row_")})
            pending.append((row["action"], row["after"]))
    state = history.fold(pending)
    if state is not None:
        yield history.with_content(state, content) if has_content else state


def _columns(model: type[Any], schema: Schema) -> list[sa.ColumnElement[Any]]:
    table = table_of(model)
    return [table.c[name] for name in schema]


def person_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Persons (no identifiers or names are read)."""
    if as_of is not None:
        return _historical(connection, "person", as_of, PERSON, chunk_size)
    query = sa.select(*_columns(Person, PERSON)).order_by(table_of(Person).c.person_id)
    return _live(connection, query, PERSON, chunk_size)


def tumour_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Tumours."""
    if as_of is not None:
        return _historical(connection, "tumour", as_of, TUMOUR, chunk_size)
    query = sa.select(*_columns(Tumour, TUMOUR)).order_by(table_of(Tumour).c.tumour_id)
    return _live(connection, query, TUMOUR, chunk_size)


def notification_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Notifications: their store message, person and source type (no identifiers or free text)."""
    if as_of is not None:
        return _historical(connection, "notification", as_of, NOTIFICATION, chunk_size)
    query = sa.select(*_columns(Notification, NOTIFICATION)).order_by(
        table_of(Notification).c.notification_id
    )
    return _live(connection, query, NOTIFICATION, chunk_size)


def link_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Tumour–notification links."""
    if as_of is None:
        links = table_of(TumourNotification)
        query = sa.select(links.c.tumour_id, links.c.notification_id).order_by(
            links.c.tumour_id, links.c.notification_id
        )
        return _live(connection, query, LINK, chunk_size)
    history_query = _last_states("tumour_notification", as_of, by_link=True)
    return (
        pl.DataFrame([(row["entity_id"], row["related_id"]) for row in rows], schema=LINK, orient="row")
        for rows in _stream(connection, history_query, chunk_size)
    )


def message_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int, external_id: bool
) -> Iterator[pl.DataFrame]:
    """Messages: store id, the message's own identifier (when the store has the column), source, date."""
    table = table_of(Message)
    own_id = (sa.column("external_id", sa.String) if external_id else sa.null()).label("external_id")
    query = sa.select(table.c.message_id, own_id, table.c.source, table.c.received_at).order_by(
        table.c.message_id
    )
    if as_of is not None:
        query = query.where(table.c.received_at <= as_of)
    for rows in _stream(connection, query, chunk_size):
        yield _frame(
            [(r["message_id"], r["external_id"], r["source"], r["received_at"].date()) for r in rows],
            MESSAGE,
            from_json=False,
        )


def quarantine_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Quarantine entries with their reason codes."""
    table = table_of(Quarantine)
    query = sa.select(table.c.message_id, table.c.status, table.c.reasons).order_by(table.c.quarantine_id)
    if as_of is not None:
        query = query.where(table.c.created_at <= as_of)
    for rows in _stream(connection, query, chunk_size):
        yield _frame(
            [
                (r["message_id"], r["status"], ";".join(str(x.get("code", "")) for x in r["reasons"] or []))
                for r in rows
            ],
            QUARANTINE,
            from_json=False,
        )


def _dated(
    connection: sa.Connection,
    model: type[Any],
    schema: Schema,
    *,
    key: str,
    date_column: str,
    as_of: datetime | None,
    chunk_size: int,
) -> Iterator[pl.DataFrame]:
    table = table_of(model)
    query = sa.select(*_columns(model, schema)).order_by(table.c[key])
    if as_of is not None:
        query = query.where(table.c[date_column] <= as_of.date())
    return _live(connection, query, schema, chunk_size)


def residence_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Residence periods (open-ended when they end after the as-of date)."""
    chunks = _dated(
        connection,
        Residence,
        RESIDENCE,
        key="residence_id",
        date_column="valid_from",
        as_of=as_of,
        chunk_size=chunk_size,
    )
    if as_of is None:
        return chunks
    cut: date = as_of.date()
    return (
        chunk.with_columns(
            pl.when(pl.col("valid_to") > cut).then(None).otherwise(pl.col("valid_to")).alias("valid_to")
        )
        for chunk in chunks
    )


def death_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Deaths with their underlying cause."""
    return _dated(
        connection,
        Death,
        DEATH,
        key="death_id",
        date_column="death_date",
        as_of=as_of,
        chunk_size=chunk_size,
    )


def treatment_chunks(
    connection: sa.Connection, *, as_of: datetime | None, chunk_size: int
) -> Iterator[pl.DataFrame]:
    """Treatments."""
    return _dated(
        connection,
        Treatment,
        TREATMENT,
        key="treatment_id",
        date_column="start_date",
        as_of=as_of,
        chunk_size=chunk_size,
    )
