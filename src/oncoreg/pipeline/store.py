"""Bulk reads and writes of the pipeline on one connection (SQLAlchemy Core, SQLite and PostgreSQL).

Every change of a person, tumour, notification or tumour–notification link is written together with its
history row through :func:`oncoreg.registry.history.record_changes` (the same before/after states as the
``Registry`` service: the ``*Public`` fields, dates as ISO text), in executemany batches, never one
service call per record. On SQLite the two biggest kinds (notification moves, inserts) build their history
rows column-wise instead (:func:`oncoreg.registry.history.record_frame`: the same text, tested equal).
Residence, deaths, remembered identifiers, review tasks and check results have no history (as in the
service).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
import sqlalchemy as sa

from oncoreg.consolidation import TUMOUR_FIELDS
from oncoreg.ingest.schema import NOTIFICATIONS, conform_notifications
from oncoreg.registry import bulk, history
from oncoreg.registry.audit_tables import CheckOverride, CheckResult, ReviewTask
from oncoreg.registry.schemas import PersonPublic, TumourPublic
from oncoreg.registry.tables import (
    Death,
    Notification,
    Person,
    PersonIdentifier,
    PipelineState,
    Residence,
    Tumour,
    TumourNotification,
    table_of,
)

log = logging.getLogger(__name__)

PERSONS = table_of(Person)
ALIASES = table_of(PersonIdentifier)
RESIDENCE = table_of(Residence)
DEATHS = table_of(Death)
NOTIFICATION = table_of(Notification)
TUMOURS = table_of(Tumour)
LINKS = table_of(TumourNotification)
TASKS = table_of(ReviewTask)
CHECKS = table_of(CheckResult)
OVERRIDES = table_of(CheckOverride)
STATE = table_of(PipelineState)
BATCH = 5000
#: Rows per chunk of the bulk writes (inserts, updates and their history rows): built, written, dropped.
WRITE_CHUNK = 50_000
#: Notification columns neither linkage nor consolidation reads: left null in the pipeline's frames.
UNUSED_COLUMNS = frozenset({"free_text", "detail"})
#: ... and the columns the pipeline's consolidation frames leave null too: the message's own id and hash,
#: the item and the given identity (linkage reads that through :func:`read_identities`).
NOT_CONSOLIDATED = UNUSED_COLUMNS | {
    "message_id",
    "message_hash",
    "item",
    "given_first_name",
    "given_last_name",
    "given_birth_date",
    "given_sex",
    "given_municipality",
}

PERSON_STATE_FIELDS = tuple(PersonPublic.model_fields)
TUMOUR_STATE_FIELDS = tuple(TumourPublic.model_fields)
PERSON_FRAME: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "identifier": pl.String,
    "identifier_type": pl.String,
    "identifier_scheme": pl.String,
    "first_name": pl.String,
    "last_name": pl.String,
    "birth_date": pl.Date,
    "sex": pl.Int8,
    "vital_status": pl.String,
    "death_date": pl.Date,
    "emigration_date": pl.Date,
    "reserved_screening_results": pl.Boolean,
    "reserved_risk_factors": pl.Boolean,
    "version": pl.Int64,
}
TUMOUR_FRAME: dict[str, pl.DataType | type[pl.DataType]] = {**TUMOUR_FIELDS, "version": pl.Int64}


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield list(rows[start : start + BATCH])


#: Rows per DBAPI ``fetchmany`` of the bulk reads.
FETCH = 50_000
#: The notification columns persons and linkage read: population-register events are only ever held in
#: this form (the register is two thirds of all notifications; its other columns are empty).
IDENTITY_COLUMNS = (
    "notification_id",
    "source_type",
    "event_kind",
    "event_date",
    "death_date",
    "given_identifier",
    "given_first_name",
    "given_last_name",
    "given_birth_date",
    "given_sex",
    "given_municipality",
    "person_id",
)


def _column(values: tuple[Any, ...], dtype: Any) -> pl.Series:
    """One fetched column as ``dtype``: SQLite gives dates as ISO text and booleans as 0/1, PostgreSQL
    gives Python dates and booleans."""
    if dtype == pl.Date:
        sample = next((value for value in values if value is not None), None)
        if isinstance(sample, str):
            return pl.Series(values, dtype=pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d")
        return pl.Series(values, dtype=pl.Date)
    if dtype == pl.Boolean:
        return pl.Series(values, dtype=pl.Int64, strict=False).cast(pl.Boolean)
    return pl.Series(values, dtype=dtype, strict=False)


def _sqlite_chunk(rows: list[Any], target: pl.Schema) -> pl.DataFrame:
    """Fetched SQLite rows as a frame of ``target``: built row-wise by Polars (about twice as fast as
    transposing in Python), dates read as ISO text and booleans as 0/1 first. Other temporal types are
    refused: read as text they would silently become null."""
    unsupported = [name for name, dtype in target.items() if dtype.is_temporal() and dtype != pl.Date]
    if unsupported:
        raise TypeError(f"read_frame on SQLite reads dates, not {unsupported}: select them as text")
    raw = {
        name: pl.String if dtype == pl.Date else pl.Int64 if dtype == pl.Boolean else dtype
        for name, dtype in target.items()
    }
    frame = pl.DataFrame(rows, schema=raw, orient="row", strict=False)
    return frame.with_columns(
        [
            pl.col(name).str.slice(0, 10).str.to_date("%Y-%m-%d")
            if dtype == pl.Date
            else pl.col(name).cast(pl.Boolean)
            for name, dtype in target.items()
            if dtype in (pl.Date, pl.Boolean)
        ]
    ).cast(target)


#: Read SQLite files through connectorx (:func:`_native_read`) when the transaction has written nothing;
#: False: always through the DBAPI cursor (tests and measurements compare the two).
NATIVE_READS = True
#: Concurrent range reads of a ``read_frame(..., partition_on=...)``: a table whose pages lie scattered
#: over the file (the person table of a store the pipeline wrote) reads faster with several requests in
#: flight (scale 1.0, 9.6 M persons: 41 s -> 28 s from a cold cache, 15 s -> 8 s from a warm one).
NATIVE_PARTITIONS = 8


def _native_source(connection: sa.Connection) -> str | None:
    """The connectorx URL of the connection's SQLite file when a second connection would read exactly what
    this one reads and no lock of this process can be lost, else None.

    A second connection reads the same when the database is a file (not in memory, nothing attached) and
    the DBAPI connection has no open transaction (Python's sqlite3 opens one at the first write, so nothing
    of this transaction is pending). connectorx carries its own copy of SQLite, which does not see the locks
    Python's SQLite holds in the same process, and closing its file releases them all (POSIX locks are per
    process; https://www.sqlite.org/howtocorrupt.html#posix_close_bug): so the native read also needs this
    connection to be its engine's only one checked out and to run on the main thread (the pipeline's case;
    a web server's worker threads read through the DBAPI cursor)."""
    if not NATIVE_READS or connection.dialect.name != "sqlite":
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    checked_out = getattr(connection.engine.pool, "checkedout", None)
    if checked_out is None or checked_out() != 1:
        return None
    raw: Any = connection.connection.driver_connection
    if getattr(raw, "in_transaction", True):
        return None
    databases = raw.execute("PRAGMA database_list").fetchall()
    files = {name: file for _, name, file in databases}
    main = files.get("main")
    if not main or set(files) - {"main", "temp"} or files.get("temp"):
        return None
    return "sqlite://" + quote(str(Path(main).resolve()))


def _native_column(series: pl.Series, dtype: Any) -> pl.Series | None:
    """``series`` as connectorx read it (typed by the column's declared type, every value checked) cast to
    ``dtype`` when that gives what :func:`_sqlite_chunk` gives for the same values, else None."""
    source = series.dtype
    if source == dtype:
        return series
    if dtype.is_integer() and (source.is_integer() or source == pl.Boolean):
        return series.cast(dtype, strict=True)
    if dtype.is_float() and (source.is_integer() or source.is_float()):
        return series.cast(dtype, strict=True)
    if dtype == pl.Boolean and source.is_integer():
        return series.cast(pl.Boolean)
    return None  # e.g. a DATETIME column read as a date: its text is sliced, not parsed, on the DBAPI path


def _native_read(
    source: str, sql: str, target: pl.Schema, *, partition_on: str | None = None
) -> pl.DataFrame | None:
    """``sql`` read by connectorx (Rust, SQLite straight into Arrow) as a frame of ``target``, or None when
    connectorx cannot read it exactly as the DBAPI path would: a value not of its column's declared type
    (text in an INTEGER column, a date with a time part), a busy database, a temporary table, a column pair
    :func:`_native_column` does not map. The caller then reads through the DBAPI cursor.

    ``partition_on`` (an integer column of the result, without nulls, that ``sql`` is ordered by):
    connectorx reads :data:`NATIVE_PARTITIONS` ranges of it at once, each on its own connection, and the
    frame is sorted by it again."""
    import connectorx as cx

    partitioned: dict[str, Any] = {}
    if partition_on is not None:
        partitioned = {"partition_on": partition_on, "partition_num": NATIVE_PARTITIONS}
    try:
        frame = cx.read_sql(source, sql, return_type="polars", **partitioned)
        if partition_on is not None:
            frame = frame.sort(partition_on)
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException, a BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        log.debug("native read failed, reading through the DBAPI cursor: %r", exc)
        return None
    if frame.width != len(target):
        log.debug("native read: %d columns for %d, DBAPI cursor instead", frame.width, len(target))
        return None
    columns: list[pl.Series] = []
    for series, (name, dtype) in zip(frame.get_columns(), target.items(), strict=True):
        try:
            column = _native_column(series, dtype)
        except pl.exceptions.PolarsError as exc:  # a value out of the target's range: the old path decides
            log.debug("native read of %s failed, reading through the DBAPI cursor: %r", name, exc)
            return None
        if column is None:
            log.debug("native read: %s %s for %s, DBAPI cursor instead", name, series.dtype, dtype)
            return None
        columns.append(column.alias(name))
    return pl.DataFrame(columns)


def read_frame(
    connection: sa.Connection,
    query: sa.Select[Any],
    schema: dict[str, Any],
    *,
    partition_on: str | None = None,
) -> pl.DataFrame:
    """Run ``query`` into a frame of ``schema`` (in select order).

    ``partition_on`` names an integer column, never null, that ``query`` selects under its own name and is
    ordered by: the native path then reads ranges of it concurrently (:func:`_native_read`).

    On a SQLite file whose transaction has written nothing, connectorx reads it (:func:`_native_read`:
    Rust, straight into Arrow, in the query's order; about twice as fast) and every case it cannot read
    exactly as below falls back to the DBAPI cursor. Otherwise rows come by ``fetchmany`` on the
    connection's DBAPI cursor and are turned into columns per chunk: for millions of rows this is many
    times faster than SQLAlchemy's row objects. PostgreSQL reads through a server-side cursor, so the
    driver never holds the whole result at once. (On SQLite the cost there is SQLite's own decoding of the
    values, about 0.15 µs each, and Python's tuples: measured, a text-encoded bulk fetch parsed by Polars is
    no faster.)"""
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    target = pl.Schema(schema)
    source = _native_source(connection)
    if source is not None and not any(dtype.is_temporal() and dtype != pl.Date for dtype in target.values()):
        native = _native_read(source, str(compiled), target, partition_on=partition_on)
        if native is not None:
            return native
    raw: Any = connection.connection.driver_connection
    names = list(schema)
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"oncoreg_read_{id(query)}")
        cursor.itersize = FETCH
    else:
        cursor = raw.cursor()
    chunks: list[pl.DataFrame] = []
    try:
        cursor.execute(str(compiled))
        while rows := cursor.fetchmany(FETCH):
            if connection.dialect.name == "sqlite":
                chunks.append(_sqlite_chunk(rows, target))
            else:
                columns = list(zip(*rows, strict=True))
                chunks.append(
                    pl.DataFrame(
                        [
                            _column(values, schema[name]).alias(name)
                            for name, values in zip(names, columns, strict=True)
                        ]
                    ).cast(target)
                )
                del columns
            del rows
    finally:
        cursor.close()
    if not chunks:
        return pl.DataFrame(schema=schema)
    # not rechunked: one contiguous copy would double the peak of the biggest reads (millions of rows)
    return pl.concat(chunks, how="vertical", rechunk=False)


def _status(query: sa.Select[Any], status: str) -> sa.Select[Any]:
    if status == "unlinked":
        return query.where(NOTIFICATION.c.person_id.is_(None))
    if status == "linked":
        return query.where(NOTIFICATION.c.person_id.is_not(None))
    return query


# -- reads ---------------------------------------------------------------------------------------------


def read_identities(connection: sa.Connection, *, status: str) -> pl.DataFrame:
    """The :data:`IDENTITY_COLUMNS` of the notifications of ``status`` all / unlinked / linked."""
    query = sa.select(*(NOTIFICATION.c[name] for name in IDENTITY_COLUMNS)).order_by(
        NOTIFICATION.c.notification_id
    )
    return read_frame(
        connection,
        _status(query, status),
        {name: NOTIFICATIONS[name] for name in IDENTITY_COLUMNS},
    )


def read_notifications(connection: sa.Connection, *, status: str, register: bool = True) -> pl.DataFrame:
    """The NOTIFICATIONS frame of ``status`` all / unlinked / linked as consolidation reads it: straight
    from the notification table, without the columns of :data:`NOT_CONSOLIDATED` (null); ``register=False``
    leaves population-register events out. In notification order."""
    names = [name for name in NOTIFICATIONS if name in NOTIFICATION.c and name not in NOT_CONSOLIDATED]
    query = _status(sa.select(*(NOTIFICATION.c[name] for name in names)), status)
    query = query.order_by(NOTIFICATION.c.notification_id)
    if not register:
        query = query.where(NOTIFICATION.c.source_type != "population_register")
    frame = read_frame(connection, query, {name: NOTIFICATIONS[name] for name in names})
    return conform_notifications(frame)


def person_facts_after(stored: pl.DataFrame, changes: EntityChanges) -> pl.DataFrame:
    """``person_id, sex, birth_date, death_date`` of every person (what consolidation and checks read) once
    ``changes`` (inserts and updates; deletes are applied later) are written over ``stored``
    (:func:`read_persons`), without reading the person table again (its pages lie scattered over the file
    of a store the pipeline wrote: 11 s warm, 31 s cold at scale 1.0)."""
    columns = ("person_id", "sex", "birth_date", "death_date")
    written = pl.concat([changes.inserts.select(columns), changes.updates.select(columns)])
    kept = stored.select(columns).join(written.select("person_id"), on="person_id", how="anti")
    schema = pl.Schema({name: PERSON_FRAME[name] for name in columns})
    return pl.concat([kept.cast(schema), written.cast(schema)]).sort("person_id")


def read_persons(connection: sa.Connection) -> pl.DataFrame:
    """Every person (:data:`PERSON_FRAME`) with ``merged_into`` (the person a merge retired it into, else
    null) and ``municipality``, the open residence period's. (One read of the person table: its pages lie
    scattered over the file of a store the pipeline wrote, so a second scan from a cold cache costs as
    much as the first.)"""
    persons = read_frame(
        connection,
        sa.select(*(PERSONS.c[name] for name in PERSON_FRAME), PERSONS.c.merged_into).order_by(
            PERSONS.c.person_id
        ),
        {**PERSON_FRAME, "merged_into": pl.Int64},
        partition_on="person_id",
    )
    residence = read_frame(
        connection,
        sa.select(RESIDENCE.c.person_id, RESIDENCE.c.municipality, RESIDENCE.c.valid_from).where(
            RESIDENCE.c.valid_to.is_(None)
        ),
        {"person_id": pl.Int64, "municipality": pl.String, "valid_from": pl.Date},
    )
    current = residence.sort("person_id", "valid_from").unique("person_id", keep="last").drop("valid_from")
    return persons.join(current, on="person_id", how="left")


def read_aliases(connection: sa.Connection) -> pl.DataFrame:
    """Remembered identifiers: ``person_id, identifier, identifier_type``."""
    return read_frame(
        connection,
        sa.select(ALIASES.c.person_id, ALIASES.c.identifier, ALIASES.c.identifier_type),
        {"person_id": pl.Int64, "identifier": pl.String, "identifier_type": pl.String},
    )


def read_tumours(connection: sa.Connection) -> pl.DataFrame:
    """Every stored tumour (:data:`TUMOUR_FRAME`)."""
    return read_frame(
        connection,
        sa.select(*(TUMOURS.c[name] for name in TUMOUR_FRAME)).order_by(TUMOURS.c.tumour_id),
        TUMOUR_FRAME,
    )


def read_links(connection: sa.Connection) -> pl.DataFrame:
    """Every tumour–notification link."""
    return read_frame(
        connection,
        sa.select(LINKS.c.tumour_id, LINKS.c.notification_id),
        {"tumour_id": pl.Int64, "notification_id": pl.Int64},
    )


def read_open_tasks(connection: sa.Connection) -> pl.DataFrame:
    """Open review tasks: ``task_id, kind, subject_type, subject_id, reason, version``."""
    return read_frame(
        connection,
        sa.select(
            TASKS.c.task_id,
            TASKS.c.kind,
            TASKS.c.subject_type,
            TASKS.c.subject_id,
            TASKS.c.reason,
            TASKS.c.version,
        ).where(TASKS.c.state.in_(["open", "assigned"])),
        {
            "task_id": pl.Int64,
            "kind": pl.String,
            "subject_type": pl.String,
            "subject_id": pl.Int64,
            "reason": pl.String,
            "version": pl.Int64,
        },
    )


def read_check_results(connection: sa.Connection) -> pl.DataFrame:
    """Stored check results: ``id`` (tumour), ``rule_id, rule_version, result, message``."""
    return read_frame(
        connection,
        sa.select(
            CHECKS.c.tumour_id, CHECKS.c.rule_id, CHECKS.c.rule_version, CHECKS.c.result, CHECKS.c.message
        ),
        {
            "id": pl.Int64,
            "rule_id": pl.String,
            "rule_version": pl.String,
            "result": pl.String,
            "message": pl.String,
        },
    )


def read_overrides(connection: sa.Connection) -> pl.DataFrame:
    """Check overrides: ``id`` (tumour), ``rule_id, rule_version, reviewer, reason``."""
    return read_frame(
        connection,
        sa.select(
            OVERRIDES.c.tumour_id,
            OVERRIDES.c.rule_id,
            OVERRIDES.c.rule_version,
            OVERRIDES.c.reviewer,
            OVERRIDES.c.reason,
        ),
        {
            "id": pl.Int64,
            "rule_id": pl.String,
            "rule_version": pl.String,
            "reviewer": pl.String,
            "reason": pl.String,
        },
    )


def read_state(connection: sa.Connection, name: str) -> str | None:
    """A named pipeline document, or None."""
    return connection.execute(sa.select(STATE.c.document).where(STATE.c.name == name)).scalar_one_or_none()


def write_state(connection: sa.Connection, name: str, document: str, *, now: datetime) -> None:
    """Store (replace) a named pipeline document."""
    connection.execute(sa.delete(STATE).where(STATE.c.name == name))
    connection.execute(sa.insert(STATE), [{"name": name, "document": document, "updated_at": now}])


# -- generic entity writes with history ------------------------------------------------------------------


def _state_frame(frame: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    """The ``fields`` the frame has, in that order, dates as ISO text (``%Y-%m-%d``)."""
    return frame.select(
        [
            pl.col(f).dt.strftime("%Y-%m-%d") if frame.schema[f] == pl.Date else pl.col(f)
            for f in fields
            if f in frame.columns
        ]
    )


def _states(frame: pl.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The rows' history states (:func:`history.json_state` of the ``fields``): dates become ISO text in
    Polars (``%Y-%m-%d``, what ``date.isoformat`` gives), so only other temporal values (none in the
    person and tumour states) pass through ``json_state`` row by row."""
    selected = _state_frame(frame, fields)
    if any(dtype.is_temporal() for dtype in selected.schema.values()):
        return [history.json_state(row) for row in selected.to_dicts()]
    return selected.to_dicts()


def _tuples(frame: pl.DataFrame, extra: Iterable[Any] = ()) -> Iterable[tuple[Any, ...]]:
    """The frame's rows as value tuples (in column order), each followed by ``extra``."""
    tail = tuple(extra)
    if not tail:
        return frame.iter_rows()
    return (row + tail for row in frame.iter_rows())


def _sync_sequence(connection: sa.Connection, table: sa.Table, key: str) -> None:
    """After inserts with explicit ids, move PostgreSQL's sequence past them (SQLite needs nothing)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key}'), "
                f"GREATEST((SELECT COALESCE(MAX({key}), 0) FROM {table.name}), 1))"
            )
        )


def _record_inserts(
    connection: sa.Connection,
    *,
    entity: history.Entity,
    key: str,
    part: pl.DataFrame,
    state_fields: Sequence[str],
    now: datetime,
    user: str,
    reason: str,
) -> bool:
    """The insert history rows of ``part`` built column-wise (:func:`history.json_objects` of the same
    states as :func:`_states`) and written by :func:`history.record_frame`; False (nothing written) where
    that path does not apply: not SQLite, an entity whose history keeps only some fields, or a state
    column of a type whose JSON text is not built in Polars."""
    if entity in history.CONTENT_IN_ROW or not history.writes_json_text(connection):
        return False
    after = history.json_objects(_state_frame(part, state_fields))
    if after is None:
        return False
    rows = pl.DataFrame({"entity_id": part.get_column(key).cast(pl.Int64), "after": after}).with_columns(
        pl.lit("insert").alias("action"), pl.lit(None, pl.String).alias("before")
    )
    history.record_frame(
        connection, entity=entity, frame=rows, changed_at=now, changed_by=user, reason=reason
    )
    return True


def apply_entity_changes(
    connection: sa.Connection,
    *,
    entity: history.Entity,
    table: sa.Table,
    key: str,
    state_fields: Sequence[str],
    changes: EntityChanges,
    now: datetime,
    user: str,
    reason: str,
) -> None:
    """Insert, update (whole rows; ``version`` already the new one) and delete rows, with their history."""
    stamp = {"updated_at": now} if "updated_at" in table.c else {}
    if changes.inserts.height:
        inserts = changes.inserts.with_columns(pl.lit(1, pl.Int64).alias("version"))
        columns = [*inserts.columns, *stamp]
        # chunk by chunk: the rows (and their history states) of one chunk are built, written and dropped
        for start in range(0, inserts.height, WRITE_CHUNK):
            part = inserts.slice(start, WRITE_CHUNK)
            bulk.insert_rows(connection, table, columns, _tuples(part, stamp.values()))
            if _record_inserts(
                connection,
                entity=entity,
                key=key,
                part=part,
                state_fields=state_fields,
                now=now,
                user=user,
                reason=reason,
            ):
                continue
            history.record_changes(
                connection,
                entity=entity,
                changes=((int(state[key]), None, state) for state in _states(part, state_fields)),
                changed_at=now,
                changed_by=user,
                reason=reason,
            )
        _sync_sequence(connection, table, key)
    if changes.updates.height:
        values = [c for c in changes.updates.columns if c in table.c and c != key]
        tail = tuple(stamp.values())
        for start in range(0, changes.updates.height, WRITE_CHUNK):
            part = changes.updates.slice(start, WRITE_CHUNK)
            bulk.update_rows(
                connection,
                table,
                key,
                [*values, *stamp],
                (row[:-1] + tail + row[-1:] for row in part.select(*values, key).iter_rows()),
            )
            history.record_changes(
                connection,
                entity=entity,
                changes=(
                    (int(after[key]), changes.before[int(after[key])], after)
                    for after in _states(part, state_fields)
                ),
                changed_at=now,
                changed_by=user,
                reason=reason,
            )
    if changes.deletes:
        ids = changes.deletes
        for start in range(0, len(ids), BATCH):
            connection.execute(sa.delete(table).where(table.c[key].in_(ids[start : start + BATCH])))
        history.record_changes(
            connection,
            entity=entity,
            changes=[(i, changes.before[i], None) for i in ids],
            changed_at=now,
            changed_by=user,
            reason=reason,
        )


@dataclass(frozen=True)
class EntityChanges:
    """What turns the stored rows into the desired ones: rows to insert and update, keys to delete, and
    the stored state (history ``before``) of every updated or deleted key."""

    inserts: pl.DataFrame
    updates: pl.DataFrame
    deletes: list[int]
    before: dict[int, dict[str, Any]]

    @property
    def count(self) -> int:
        return self.inserts.height + self.updates.height + len(self.deletes)


def diff_entities(
    *,
    desired: pl.DataFrame,
    stored: pl.DataFrame,
    key: str,
    compared: Sequence[str],
    state_fields: Sequence[str],
    scope: pl.Series | None,
) -> EntityChanges:
    """The changes turning ``stored`` (only its rows with keys in ``scope``, when given, may be deleted)
    into ``desired`` on the ``compared`` columns; updates keep ``desired``'s columns plus ``version``."""
    in_scope = stored if scope is None else stored.filter(pl.col(key).is_in(scope.implode()))
    inserts = desired.join(stored.select(key), on=key, how="anti")
    deleted = in_scope.join(desired.select(key), on=key, how="anti")
    joined = desired.join(stored.rename({"version": "_version"}), on=key, how="inner", suffix="_stored")
    differs = pl.lit(False)
    for column in compared:
        differs = differs | pl.col(column).ne_missing(pl.col(f"{column}_stored"))
    changed = joined.filter(differs)
    updates = changed.select(*desired.columns, (pl.col("_version") + 1).cast(pl.Int64).alias("version"))
    touched = pl.concat([changed.select(key), deleted.select(key)])
    befores = stored.join(touched, on=key, how="semi")
    before = {int(state[key]): state for state in _states(befores, state_fields)}
    return EntityChanges(
        inserts=inserts, updates=updates, deletes=[int(i) for i in deleted[key].to_list()], before=before
    )


def sync_rows(
    connection: sa.Connection,
    table: sa.Table,
    *,
    key: str,
    desired: pl.DataFrame,
    scope: pl.Series | None,
    extra: dict[str, Any] | None = None,
) -> tuple[int, int]:
    """Make the rows of ``table`` whose ``person_id`` is in ``scope`` (None: every row) equal ``desired``
    (compared on ``desired``'s columns, duplicates counted): stored rows that no desired row matches are
    deleted by ``key``, desired rows that no stored row matches are inserted (with ``extra`` values).
    Unchanged rows are not touched, so a rebuild that derives the same rows writes nothing. Returns
    (deleted, inserted)."""
    columns = list(desired.columns)
    schema: dict[str, Any] = {key: pl.Int64, **{name: desired.schema[name] for name in columns}}
    query = sa.select(table.c[key], *(table.c[name] for name in columns))
    if scope is None:
        stored = read_frame(connection, query, schema)
    elif scope.len() <= 10 * BATCH:
        ids = scope.drop_nulls().unique().sort().to_list()
        parts = [
            read_frame(connection, query.where(table.c.person_id.in_(ids[start : start + BATCH])), schema)
            for start in range(0, len(ids), BATCH)
        ]
        stored = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    else:
        stored = read_frame(connection, query, schema).filter(pl.col("person_id").is_in(scope.implode()))

    # Fast exit (a rebuild that changes nothing): each side sorted by its row hash alone (one integer key)
    # and compared row by row. Equal sorted sequences prove equal multisets (identical rows hash alike, so
    # their order among themselves does not matter); distinct rows with colliding hashes can only make
    # equal multisets compare unequal, and then the exact numbering below decides. Floats (NaN) skip it.
    have_rows = stored.select(columns)
    if (
        have_rows.height == desired.height
        and not any(dtype.is_float() for dtype in desired.dtypes)
        and have_rows.sort(have_rows.hash_rows()).equals(desired.sort(desired.hash_rows()))
    ):
        return 0, 0
    del have_rows

    def numbered(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.int_range(pl.len()).over(columns).alias("_nth"))

    wanted, have = numbered(desired), numbered(stored)
    removed = have.join(wanted, on=[*columns, "_nth"], how="anti", nulls_equal=True)[key].to_list()
    added = wanted.join(have, on=[*columns, "_nth"], how="anti", nulls_equal=True).drop("_nth")
    for start in range(0, len(removed), BATCH):
        connection.execute(sa.delete(table).where(table.c[key].in_(removed[start : start + BATCH])))
    extra = extra or {}
    for start in range(0, added.height, WRITE_CHUNK):
        part = added.slice(start, WRITE_CHUNK)
        bulk.insert_rows(connection, table, [*part.columns, *extra], _tuples(part, extra.values()))
    return len(removed), added.height


def record_notification_moves(
    connection: sa.Connection,
    *,
    moves: pl.DataFrame,
    now: datetime,
    user: str,
    reason: str,
) -> None:
    """History rows of notifications moved to another person, from ``moves``' ``notification_id``,
    ``person_id`` and ``version`` (as stored before) and ``to_person_id``: the states are the notification's
    mutable fields only (``history.CONTENT_IN_ROW``), ``person_id`` and the version raised by one.

    On SQLite the rows are built column-wise (:func:`_move_rows`) and written ``WRITE_CHUNK`` at a time;
    elsewhere through :func:`history.record_changes`, state dict by state dict (the same rows)."""
    if history.writes_json_text(connection):
        for start in range(0, moves.height, WRITE_CHUNK):
            history.record_frame(
                connection,
                entity="notification",
                frame=_move_rows(moves.slice(start, WRITE_CHUNK)),
                changed_at=now,
                changed_by=user,
                reason=reason,
            )
        return
    rows = moves.select("notification_id", "person_id", "to_person_id", "version").iter_rows()
    history.record_changes(
        connection,
        entity="notification",
        changes=(
            (
                notification_id,
                {"person_id": person_id, "version": version},
                {"person_id": to_person_id, "version": version + 1},
            )
            for notification_id, person_id, to_person_id, version in rows
        ),
        changed_at=now,
        changed_by=user,
        reason=reason,
    )


def _move_rows(moves: pl.DataFrame) -> pl.DataFrame:
    """The history rows of :func:`record_notification_moves` for :func:`history.record_frame`: an update
    keeps the keys that differ (:func:`history.delta`), ``version`` always, ``person_id`` unless the
    notification stays with its person; the text is ``json.dumps`` of those states."""
    frame = moves.select(
        pl.col("notification_id").alias("entity_id"),
        pl.col("person_id").ne_missing(pl.col("to_person_id")).alias("moved"),
        pl.col("person_id").cast(pl.Int64),
        pl.col("to_person_id").cast(pl.Int64),
        pl.col("version").cast(pl.Int64),
        (pl.col("version").cast(pl.Int64) + 1).alias("to_version"),
    )
    texts: dict[str, pl.Series] = {}
    for name, states in {
        "before_moved": frame.select("person_id", "version"),
        "after_moved": frame.select(
            pl.col("to_person_id").alias("person_id"), pl.col("to_version").alias("version")
        ),
        "before_kept": frame.select("version"),
        "after_kept": frame.select(pl.col("to_version").alias("version")),
    }.items():
        text = history.json_objects(states)
        assert text is not None  # integers only
        texts[name] = text
    return (
        frame.select("entity_id", "moved")
        .with_columns(**texts)
        .select(
            "entity_id",
            pl.lit("update").alias("action"),
            pl.when("moved").then("before_moved").otherwise("before_kept").alias("before"),
            pl.when("moved").then("after_moved").otherwise("after_kept").alias("after"),
        )
    )
