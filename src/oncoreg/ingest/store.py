"""Bulk writes and reads of ingest on the registry's engine (SQLAlchemy Core, SQLite and PostgreSQL).

Messages are inserted with ``INSERT ... ON CONFLICT (content_hash) DO NOTHING`` in batches, so storing
the same message twice (a re-send of the same bytes, a restarted run) changes nothing. Parse results of
a batch (notification rows with their history rows, quarantine entries, the message status change) are
written in one transaction: after a crash a batch is either done or still ``received``.

The hot inserts go through :func:`oncoreg.registry.bulk.insert_rows` (the driver's executemany of value
tuples, converted by the columns' own SQLAlchemy bind processors), not through compiled ``insert()``
statements with a dict per row; new notifications get their ids before the insert (no ``RETURNING``).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.ingest.model import IngestError, ParseOutcome, RawMessage, reason
from oncoreg.ingest.schema import NOTIFICATIONS, conform_notifications
from oncoreg.registry import bulk, history
from oncoreg.registry.tables import IngestRun, Message, MessageIngest, Notification, Quarantine, table_of

MESSAGES = table_of(Message)
MESSAGE_INGEST = table_of(MessageIngest)
RUNS = table_of(IngestRun)
NOTIFICATION = table_of(Notification)
QUARANTINE = table_of(Quarantine)
NOTIFICATION_COLUMNS = frozenset(NOTIFICATION.c.keys()) - {"notification_id"}
#: The columns a new notification is inserted with (after its id).
NOTIFICATION_INSERT = tuple(sorted(NOTIFICATION_COLUMNS))
MESSAGE_INSERT_COLUMNS = (
    "source",
    "format",
    "sender",
    "received_at",
    "content_hash",
    "content",
    "stored_path",
    "status",
)
#: Most values in one ``IN (...)`` list (SQLite allows 32766 parameters, psycopg 65535).
IN_CHUNK = 10_000
KILL_ENV = "ONCOREG_INGEST_KILL_AT"
#: SQLite page cache of an ingest's connection, in KiB (SQLite's default is 2 000). The random inserts into
#: the content-hash index miss a small cache on every batch; 256 MiB keeps the hot index pages in memory.
SQLITE_CACHE_KIB = 262_144
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


def _tune(connection: sa.Connection) -> None:
    """SQLite: a larger page cache for this connection (:data:`SQLITE_CACHE_KIB`); other backends: nothing."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


def release_cache(engine: sa.Engine) -> None:
    """SQLite: back to the default page cache (frees it), so what runs after an ingest on the same pooled
    connection (the pipeline's derivation) does not keep the ingest's 256 MiB."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA cache_size = -2000")


class ConcurrentIngest(IngestError):
    """Another process changed a message of this batch (two ingests at once)."""


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


def _unique(messages: Sequence[RawMessage]) -> dict[str, RawMessage]:
    unique: dict[str, RawMessage] = {}
    for message in messages:
        unique.setdefault(message.content_hash, message)  # first occurrence wins
    return unique


def stored_hashes(engine: sa.Engine, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` are already stored (messages an ingest need not parse again)."""
    with engine.connect() as connection:
        return set(_message_ids(connection, hashes))


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
    unique = _unique(messages)
    with engine.begin() as connection:
        bulk.insert_rows(
            connection,
            MESSAGES,
            MESSAGE_INSERT_COLUMNS,
            [
                (m.source, m.format, None, now, m.content_hash, m.content, m.stored_path, "received")
                for m in unique.values()
            ],
            conflict_key="content_hash",
        )
        ids = _message_ids(connection, list(unique))
        _claim(connection, ids, {}, run_id=run_id, adoptable=adoptable, corrected_from=corrected_from)
        checkpoint("store-commit")
    checkpoint("store")
    return ids


def store_parsed(
    engine: sa.Engine,
    messages: Sequence[RawMessage],
    outcomes: dict[str, ParseOutcome],
    *,
    run_id: int,
    adoptable: Sequence[int],
    now: datetime,
    user: str,
) -> None:
    """Store a batch and the parse results of its new messages in one transaction.

    ``outcomes`` (content hash → outcome) holds every message of the batch not stored before; those are
    inserted verbatim with their final status, sender and identifier, and their notifications (with
    history) and quarantine entries written, as :func:`store_batch` followed by :func:`commit_batch`
    would, but each message row is written once. Messages stored before are only claimed (as by
    :func:`store_batch`); any of them still ``received`` is left to :func:`pending`. A crash leaves the
    batch done or absent.
    """
    unique = _unique(messages)
    fresh = [m for m in unique.values() if m.content_hash in outcomes]
    rows = []
    for m in fresh:
        outcome = outcomes[m.content_hash]
        status = "accepted" if outcome.accepted else "quarantined"
        own_id = outcome.external_id or outcome.salvaged_id
        rows.append(
            (
                m.source,
                m.format,
                outcome.sender,
                now,
                m.content_hash,
                m.content,
                m.stored_path,
                status,
                own_id,
            )
        )
    with engine.begin() as connection:
        _tune(connection)
        highest = _highest_message_id(connection)
        inserted = bulk.insert_rows(
            connection, MESSAGES, (*MESSAGE_INSERT_COLUMNS, "external_id"), rows, conflict_key="content_hash"
        )
        if inserted != len(fresh):
            raise ConcurrentIngest(
                f"{len(fresh) - inserted} messages of the batch were stored by another run"
            )
        ids = _message_ids(connection, [h for h in unique if h not in outcomes])
        ids.update(_inserted_ids(connection, [m.content_hash for m in fresh], highest))
        carried = {ids[h]: outcome.external_id for h, outcome in outcomes.items()}
        _claim(connection, ids, carried, run_id=run_id, adoptable=adoptable, corrected_from=None)
        checkpoint("store-commit")
        _write_results(
            connection,
            [(ids[m.content_hash], outcomes[m.content_hash]) for m in fresh],
            now=now,
            user=user,
            run_id=run_id,
        )
        checkpoint("process-commit")
    checkpoint("store")
    checkpoint("process")


def _claim(
    connection: sa.Connection,
    ids: dict[str, int],
    carried: dict[int, str | None],
    *,
    run_id: int,
    adoptable: Sequence[int],
    corrected_from: int | None,
) -> None:
    """Claim the messages for the run (``message_ingest``; a message claimed before keeps its claim unless
    its run was interrupted); ``carried``: the identifier each new message carries."""
    bulk.insert_rows(
        connection,
        MESSAGE_INGEST,
        ("message_id", "external_id", "run_id", "corrected_from"),
        [(mid, carried.get(mid), run_id, corrected_from) for mid in ids.values()],
        conflict_key="message_id",
    )
    if adoptable:
        id_list = list(ids.values())
        for start in range(0, len(id_list), IN_CHUNK):
            connection.execute(
                sa.update(MESSAGE_INGEST)
                .where(
                    MESSAGE_INGEST.c.message_id.in_(id_list[start : start + IN_CHUNK]),
                    MESSAGE_INGEST.c.run_id.in_(adoptable),
                )
                .values(run_id=run_id)
            )


def _highest_message_id(connection: sa.Connection) -> int | None:
    """SQLite: the highest message id (see :func:`_inserted_ids`); PostgreSQL: not needed, None."""
    if connection.dialect.name != "sqlite":
        return None
    return int(connection.exec_driver_sql("SELECT coalesce(max(message_id), 0) FROM message").scalar_one())


def _inserted_ids(connection: sa.Connection, hashes: Sequence[str], highest: int | None) -> dict[str, int]:
    """The ids of messages just inserted, in order, by content hash.

    SQLite gives a new row the highest id plus one, so when the highest id grew by exactly the number of
    rows inserted, nobody else inserted meanwhile and the ids are ``highest + 1`` onwards in insert order
    (no query); otherwise, and on PostgreSQL, they are looked up."""
    if highest is not None and hashes:
        now_highest = _highest_message_id(connection)
        if now_highest == highest + len(hashes):
            return dict(zip(hashes, range(highest + 1, now_highest + 1), strict=True))
    return _message_ids(connection, hashes)


def _message_ids(connection: sa.Connection, hashes: Sequence[str]) -> dict[str, int]:
    """The ids of stored messages by content hash (chunks of ``IN_CHUNK`` hashes per query)."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    ids: dict[str, int] = {}
    for start in range(0, len(hashes), IN_CHUNK):
        chunk = tuple(hashes[start : start + IN_CHUNK])
        marks = ", ".join([mark] * len(chunk))
        found = connection.exec_driver_sql(
            f"SELECT content_hash, message_id FROM message WHERE content_hash IN ({marks})", chunk
        )
        ids.update(found.fetchall())  # (content_hash, message_id) rows
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


def _reserve_notification_ids(connection: sa.Connection, count: int) -> list[int]:
    """Ids for ``count`` new notifications, in order, inside the batch's write transaction.

    SQLite: the ids it would assign itself (``max + 1`` onwards; the transaction already holds the write
    lock from the status update, so no other writer can take them). PostgreSQL: drawn from the column's
    sequence, like every other insert.
    """
    if connection.dialect.name == "postgresql":
        drawn = connection.execute(
            sa.text(
                "SELECT nextval(pg_get_serial_sequence('notification', 'notification_id')) "
                "FROM generate_series(1, :count)"
            ),
            {"count": count},
        ).scalars()
        return sorted(int(value) for value in drawn)
    highest = connection.execute(sa.select(sa.func.max(NOTIFICATION.c.notification_id))).scalar()
    first = int(highest or 0) + 1
    return list(range(first, first + count))


def commit_batch(
    engine: sa.Engine,
    results: Sequence[tuple[int, ParseOutcome]],
    *,
    now: datetime,
    user: str,
    run_id: int,
) -> None:
    """Write one batch's notifications (with history), quarantine entries and status changes atomically
    (messages stored before by :func:`store_batch`, still ``received``)."""
    with engine.begin() as connection:
        _tune(connection)
        for status in ("accepted", "quarantined"):
            ids = [mid for mid, outcome in results if outcome.accepted == (status == "accepted")]
            changed = 0
            for start in range(0, len(ids), IN_CHUNK):
                changed += connection.execute(
                    sa.update(MESSAGES)
                    .where(
                        MESSAGES.c.message_id.in_(ids[start : start + IN_CHUNK]),
                        MESSAGES.c.status == "received",
                    )
                    .values(status=status)
                ).rowcount
            if changed != len(ids):
                raise ConcurrentIngest(
                    f"{len(ids) - changed} messages of the batch were processed by another run"
                )
        _write_results(connection, results, now=now, user=user, run_id=run_id)
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


def _write_results(
    connection: sa.Connection,
    results: Sequence[tuple[int, ParseOutcome]],
    *,
    now: datetime,
    user: str,
    run_id: int,
) -> None:
    """Notifications (ids in message order) with their history rows, and quarantine entries."""
    states: list[dict[str, Any]] = []  # one per notification, the columns in NOTIFICATION_INSERT order
    for mid, outcome in results:
        if outcome.accepted:
            for item, parsed in enumerate(outcome.notifications):
                state = dict.fromkeys(NOTIFICATION_INSERT)
                state.update(parsed)
                if len(state) != len(NOTIFICATION_INSERT):  # the parser set a key that is no column
                    state = {name: parsed.get(name) for name in NOTIFICATION_INSERT}
                state["message_id"], state["item"], state["version"] = mid, item, 1
                states.append(state)
    if states:
        notification_ids = _reserve_notification_ids(connection, len(states))
        bulk.insert_rows(
            connection,
            NOTIFICATION,
            ("notification_id", *NOTIFICATION_INSERT),
            [(nid, *state.values()) for nid, state in zip(notification_ids, states, strict=True)],
        )
        reason_text = f"ingest run {run_id}"
        history.record(
            connection,
            [
                history.history_row(
                    entity="notification",
                    entity_id=nid,
                    action="insert",
                    changed_at=now,
                    changed_by=user,
                    reason=reason_text,
                    before=None,
                    after=_json_state(state),
                )
                for nid, state in zip(notification_ids, states, strict=True)
            ],
        )
    bulk.insert_rows(
        connection,
        QUARANTINE,
        ("message_id", "reasons", "status", "created_at", "version"),
        [
            (mid, [reason(p) for p in outcome.problems], "open", now, 1)
            for mid, outcome in results
            if not outcome.accepted
        ],
    )


def _json_state(state: dict[str, Any]) -> dict[str, Any]:
    """A new notification's history state: only its mutable fields (``person_id``, ``version``); its
    content is read from its row (``history.CONTENT_IN_ROW``), so no JSON copy of it is built."""
    return {name: state[name] for name in history.CONTENT_IN_ROW["notification"].mutable}


def _record_facts(
    connection: sa.Connection, facts: Sequence[tuple[int, str | None, str | None, str | None]]
) -> None:
    """The identifier each message carries (``message`` also keeps a salvaged one) and its sender.

    On PostgreSQL one set-based ``UPDATE ... FROM (VALUES ...)`` per table and chunk (one statement per
    message costs a round trip each); SQLite runs in-process, where the driver's executemany of a
    prepared statement is as fast."""
    if connection.dialect.name != "postgresql":
        carried = [(e, i) for i, e, _, _ in facts if e is not None]
        if carried:  # (an empty parameter list would run the statement once, without parameters)
            connection.exec_driver_sql(
                "UPDATE message_ingest SET external_id = ? WHERE message_id = ?", carried
            )
        connection.exec_driver_sql(
            "UPDATE message SET sender = ?, external_id = ? WHERE message_id = ?",
            [(s, e or v, i) for i, e, v, s in facts],
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
