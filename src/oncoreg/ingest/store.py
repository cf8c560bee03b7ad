"""Bulk writes and reads of ingest on the registry's engine (SQLAlchemy Core, SQLite and PostgreSQL).

Messages are inserted with ``INSERT ... ON CONFLICT (content_hash) DO NOTHING`` in batches, so storing
the same message twice (a re-send of the same bytes, a restarted run) changes nothing. Parse results of
a batch (notification rows with their history rows, quarantine entries, the message status change) are
written in one transaction: after a crash a batch is either done or still ``received``.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.ingest.model import IngestError, ParseOutcome, RawMessage, reason
from oncoreg.ingest.schema import NOTIFICATIONS, conform_notifications
from oncoreg.registry import history
from oncoreg.registry.tables import IngestRun, Message, MessageIngest, Notification, Quarantine, table_of

MESSAGES = table_of(Message)
MESSAGE_INGEST = table_of(MessageIngest)
RUNS = table_of(IngestRun)
NOTIFICATION = table_of(Notification)
QUARANTINE = table_of(Quarantine)
NOTIFICATION_COLUMNS = frozenset(NOTIFICATION.c.keys()) - {"notification_id"}
KILL_ENV = "ONCOREG_INGEST_KILL_AT"
_checkpoints: Counter[str] = Counter()


def checkpoint(name: str) -> None:
    """Test hook for the crash-and-resume tests: ``ONCOREG_INGEST_KILL_AT=<name>:<n>`` SIGKILLs this
    process at the n-th time it passes the point ``name`` (``store``, ``store-commit``, ``process``,
    ``process-commit``). Does nothing when the variable is unset."""
    wanted = os.environ.get(KILL_ENV)
    if not wanted:
        return
    _checkpoints[name] += 1
    point, _, count = wanted.partition(":")
    if point == name and _checkpoints[name] == int(count or "1"):
        os.kill(os.getpid(), signal.SIGKILL)


def _insert_ignore(
    connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], key: str
) -> None:
    """Insert rows, skipping those whose ``key`` already exists (dialect upsert)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        connection.execute(pg_insert(table).on_conflict_do_nothing(index_elements=[key]), list(rows))
    elif connection.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        connection.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=[key]), list(rows))
    else:  # pragma: no cover - the store runs on SQLite and PostgreSQL only
        raise NotImplementedError(connection.dialect.name)


# -- runs ----------------------------------------------------------------------------------------------


def start_run(engine: sa.Engine, *, user: str, directory: str | None, now: datetime) -> tuple[int, list[int]]:
    """Open a run; runs left ``running`` by a killed process become ``interrupted``.

    Returns the run id and the ids of interrupted runs, whose messages this run adopts when it meets them.
    """
    with engine.begin() as connection:
        connection.execute(sa.update(RUNS).where(RUNS.c.status == "running").values(status="interrupted"))
        adoptable = list(
            connection.execute(sa.select(RUNS.c.run_id).where(RUNS.c.status == "interrupted")).scalars()
        )
        run_id = connection.execute(
            sa.insert(RUNS).returning(RUNS.c.run_id),
            [
                {
                    "started_at": now,
                    "user_name": user,
                    "directory": directory,
                    "status": "running",
                    "per_source": {},
                }
            ],
        ).scalar_one()
    return int(run_id), adoptable


def run_counts(connection: sa.Connection, run_id: int) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Per source: messages owned by the run by status, and notifications created from them."""
    owned: dict[str, Counter[str]] = {}
    query = (
        sa.select(MESSAGES.c.source, MESSAGES.c.status, sa.func.count())
        .join(MESSAGE_INGEST, MESSAGE_INGEST.c.message_id == MESSAGES.c.message_id)
        .where(MESSAGE_INGEST.c.run_id == run_id)
        .group_by(MESSAGES.c.source, MESSAGES.c.status)
    )
    for source, status, count in connection.execute(query):
        owned.setdefault(source, Counter())[status] += int(count)
    notes: Counter[str] = Counter()
    query = (
        sa.select(MESSAGES.c.source, sa.func.count())
        .select_from(NOTIFICATION)
        .join(MESSAGE_INGEST, MESSAGE_INGEST.c.message_id == NOTIFICATION.c.message_id)
        .join(MESSAGES, MESSAGES.c.message_id == NOTIFICATION.c.message_id)
        .where(MESSAGE_INGEST.c.run_id == run_id)
        .group_by(MESSAGES.c.source)
    )
    for source, count in connection.execute(query):
        notes[source] += int(count)
    return owned, notes


def finish_run(engine: sa.Engine, *, run_id: int, values: dict[str, Any]) -> None:
    """Store a run's counts and mark it finished."""
    with engine.begin() as connection:
        connection.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id).values(status="finished", **values))


# -- storing messages -----------------------------------------------------------------------------------


def store_batch(
    engine: sa.Engine,
    messages: Sequence[RawMessage],
    *,
    run_id: int,
    adoptable: Sequence[int],
    now: datetime,
    corrected_from: int | None = None,
) -> dict[str, int]:
    """Store messages verbatim (once per content hash) and claim them for the run; returns hash → id."""
    unique: dict[str, RawMessage] = {}
    for message in messages:
        unique.setdefault(message.content_hash, message)  # first occurrence wins
    hashes = list(unique)
    rows = [
        {
            "source": m.source,
            "format": m.format,
            "sender": None,
            "received_at": now,
            "content_hash": m.content_hash,
            "content": m.content,
            "stored_path": m.stored_path,
            "status": "received",
        }
        for m in unique.values()
    ]
    with engine.begin() as connection:
        _insert_ignore(connection, MESSAGES, rows, "content_hash")
        found = connection.execute(
            sa.select(MESSAGES.c.content_hash, MESSAGES.c.message_id).where(
                MESSAGES.c.content_hash.in_(hashes)
            )
        )
        ids = {str(content_hash): int(message_id) for content_hash, message_id in found}
        claims = [
            {"message_id": ids[h], "external_id": None, "run_id": run_id, "corrected_from": corrected_from}
            for h in hashes
        ]
        _insert_ignore(connection, MESSAGE_INGEST, claims, "message_id")
        if adoptable:
            connection.execute(
                sa.update(MESSAGE_INGEST)
                .where(
                    MESSAGE_INGEST.c.message_id.in_(list(ids.values())),
                    MESSAGE_INGEST.c.run_id.in_(adoptable),
                )
                .values(run_id=run_id)
            )
        checkpoint("store-commit")
    checkpoint("store")
    return ids


# -- processing -----------------------------------------------------------------------------------------


def pending(engine: sa.Engine, *, limit: int) -> list[sa.Row[Any]]:
    """The oldest stored messages still ``received`` (ingest's own, not other writers')."""
    query = (
        sa.select(MESSAGES.c.message_id, MESSAGES.c.source, MESSAGES.c.format, MESSAGES.c.content)
        .join(MESSAGE_INGEST, MESSAGE_INGEST.c.message_id == MESSAGES.c.message_id)
        .where(MESSAGES.c.status == "received")
        .order_by(MESSAGES.c.message_id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in row.items()}


class ConcurrentIngest(IngestError):
    """Another process changed a message of this batch (two ingests at once)."""


def commit_batch(
    engine: sa.Engine,
    results: Sequence[tuple[int, ParseOutcome]],
    *,
    now: datetime,
    user: str,
    run_id: int,
) -> None:
    """Write one batch's notifications (with history), quarantine entries and status changes atomically."""
    accepted = [(mid, outcome) for mid, outcome in results if outcome.accepted]
    quarantined = [(mid, outcome) for mid, outcome in results if not outcome.accepted]
    rows = [
        {
            **{key: value for key, value in row.items() if key in NOTIFICATION_COLUMNS},
            "message_id": mid,
            "item": item,
            "version": 1,
        }
        for mid, outcome in accepted
        for item, row in enumerate(outcome.notifications)
    ]
    columns = sorted(NOTIFICATION_COLUMNS)
    rows = [{name: row.get(name) for name in columns} for row in rows]
    with engine.begin() as connection:
        for status, group in (("accepted", accepted), ("quarantined", quarantined)):
            ids = [mid for mid, _ in group]
            if not ids:
                continue
            changed = connection.execute(
                sa.update(MESSAGES)
                .where(MESSAGES.c.message_id.in_(ids), MESSAGES.c.status == "received")
                .values(status=status)
            ).rowcount
            if changed != len(ids):
                raise ConcurrentIngest(
                    f"{len(ids) - changed} messages of the batch were processed by another run"
                )
        if rows:
            inserted = connection.execute(
                sa.insert(NOTIFICATION).returning(
                    NOTIFICATION.c.notification_id, sort_by_parameter_order=True
                ),
                rows,
            ).scalars()
            history.record(
                connection,
                [
                    history.history_row(
                        entity="notification",
                        entity_id=int(nid),
                        action="insert",
                        changed_at=now,
                        changed_by=user,
                        reason=f"ingest run {run_id}",
                        before=None,
                        after=_json_ready({**row, "notification_id": int(nid)}),
                    )
                    for nid, row in zip(inserted, rows, strict=True)
                ],
            )
        entries = [
            {
                "message_id": mid,
                "reasons": [reason(p) for p in outcome.problems],
                "status": "open",
                "created_at": now,
                "version": 1,
            }
            for mid, outcome in quarantined
        ]
        if entries:
            connection.execute(sa.insert(QUARANTINE), entries)
        facts = [
            (mid, outcome.external_id, outcome.salvaged_id, outcome.sender)
            for mid, outcome in results
            if outcome.external_id is not None
            or outcome.salvaged_id is not None
            or outcome.sender is not None
        ]
        if facts:
            _record_facts(connection, facts)
        checkpoint("process-commit")
    checkpoint("process")


def _record_facts(
    connection: sa.Connection, facts: Sequence[tuple[int, str | None, str | None, str | None]]
) -> None:
    """The identifier each message carries (``message`` also keeps a salvaged one) and its sender.

    On PostgreSQL one set-based ``UPDATE ... FROM (VALUES ...)`` per table and chunk (one statement per
    message costs a round trip each); SQLite runs in-process, where executemany is as fast."""
    if connection.dialect.name != "postgresql":
        params = [{"b_id": i, "b_external": e, "b_own": e or v, "b_sender": s} for i, e, v, s in facts]
        connection.execute(
            sa.update(MESSAGE_INGEST)
            .where(MESSAGE_INGEST.c.message_id == sa.bindparam("b_id"))
            .values(external_id=sa.bindparam("b_external")),
            params,
        )
        connection.execute(
            sa.update(MESSAGES)
            .where(MESSAGES.c.message_id == sa.bindparam("b_id"))
            .values(sender=sa.bindparam("b_sender"), external_id=sa.bindparam("b_own")),
            params,
        )
        return
    for start in range(0, len(facts), 2000):
        values = sa.values(
            sa.column("b_id", sa.Integer),
            sa.column("b_external", sa.String),
            sa.column("b_own", sa.String),
            sa.column("b_sender", sa.String),
            name="facts",
        ).data([(i, e, e or v, s) for i, e, v, s in facts[start : start + 2000]])
        connection.execute(
            sa.update(MESSAGE_INGEST)
            .where(MESSAGE_INGEST.c.message_id == values.c.b_id)
            .values(external_id=values.c.b_external)
        )
        connection.execute(
            sa.update(MESSAGES)
            .where(MESSAGES.c.message_id == values.c.b_id)
            .values(sender=values.c.b_sender, external_id=values.c.b_own)
        )


# -- reading back ---------------------------------------------------------------------------------------


def notifications_query(*, status: str = "all", run_id: int | None = None) -> sa.Select[Any]:
    """The notification frame's query: the table's columns with the message's own id and hash."""
    frame_columns = [
        NOTIFICATION.c[name] for name in NOTIFICATIONS if name in NOTIFICATION.c and name != "message_id"
    ]
    query = (
        sa.select(
            *frame_columns,
            MESSAGE_INGEST.c.external_id.label("message_id"),
            MESSAGES.c.content_hash.label("message_hash"),
        )
        .join(MESSAGES, MESSAGES.c.message_id == NOTIFICATION.c.message_id)
        .outerjoin(MESSAGE_INGEST, MESSAGE_INGEST.c.message_id == NOTIFICATION.c.message_id)
        .order_by(NOTIFICATION.c.notification_id)
    )
    if status == "unlinked":
        query = query.where(NOTIFICATION.c.person_id.is_(None))
    elif status == "linked":
        query = query.where(NOTIFICATION.c.person_id.is_not(None))
    if run_id is not None:
        query = query.where(MESSAGE_INGEST.c.run_id == run_id)
    return query


def read_notifications(engine: sa.Engine, query: sa.Select[Any]) -> pl.DataFrame:
    """Run the notification query and return the NOTIFICATIONS frame."""
    with engine.connect() as connection:
        result = connection.execute(query)
        names = list(result.keys())
        records = [dict(zip(names, row, strict=True)) for row in result]
    frame = pl.DataFrame(records, schema={name: NOTIFICATIONS[name] for name in names}, orient="row")
    return conform_notifications(frame)
