"""Full history of persons, tumours, notifications and tumour–notification links, and the state as of a time.

Every write stores one ``history`` row with the complete state before and after (JSON of the entity's
``*Public`` model; ``None`` for "did not exist"). The state of an entity at time ``T`` is therefore the
``after`` of its last history row with ``changed_at <= T`` (ties broken by ``history_id``, the order of
writing); no row means the entity did not exist yet, an ``after`` of ``None`` that it had been deleted.
A link exists at ``T`` when its last row at or before ``T`` is an insert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Literal

import sqlalchemy as sa

from oncoreg.registry import bulk
from oncoreg.registry.audit_tables import History
from oncoreg.registry.tables import table_of

Entity = Literal["person", "tumour", "notification", "tumour_notification"]
Action = Literal["insert", "update", "delete"]
HISTORY = table_of(History)
#: The columns a history row is written with (the keys of :func:`history_row`).
COLUMNS = (
    "entity",
    "entity_id",
    "related_id",
    "action",
    "changed_at",
    "changed_by",
    "reason",
    "before",
    "after",
)
_values = itemgetter(*COLUMNS)


def history_row(
    *,
    entity: Entity,
    entity_id: int,
    action: Action,
    changed_at: datetime,
    changed_by: str,
    reason: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    related_id: int | None = None,
) -> dict[str, Any]:
    """One history row as a parameter dict for a (bulk) insert."""
    return {
        "entity": entity,
        "entity_id": entity_id,
        "related_id": related_id,
        "action": action,
        "changed_at": changed_at,
        "changed_by": changed_by,
        "reason": reason,
        "before": before,
        "after": after,
    }


def record(connection: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append history rows (:func:`history_row` dicts) in one executemany; nothing else ever writes to
    ``history``. The states are stored as the ``JSON`` column type stores them (SQLite: ``json.dumps``
    text, ``None`` as ``null``; PostgreSQL: ``jsonb``), through :func:`oncoreg.registry.bulk.insert_rows`."""
    bulk.insert_rows(connection, HISTORY, COLUMNS, list(map(_values, rows)))


def state_at(
    connection: sa.Connection, *, entity: Entity, entity_id: int, as_of: datetime
) -> dict[str, Any] | None:
    """The entity's state at ``as_of``: the ``after`` of its last change at or before then, else None."""
    row = connection.execute(
        sa.select(HISTORY.c.after)
        .where(HISTORY.c.entity == entity, HISTORY.c.entity_id == entity_id, HISTORY.c.changed_at <= as_of)
        .order_by(HISTORY.c.changed_at.desc(), HISTORY.c.history_id.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else row.after


def links_at(connection: sa.Connection, *, tumour_id: int, as_of: datetime | None) -> list[int]:
    """Notification ids linked to the tumour at ``as_of`` (now when None), from the link history."""
    query = sa.select(HISTORY.c.related_id, HISTORY.c.action).where(
        HISTORY.c.entity == "tumour_notification", HISTORY.c.entity_id == tumour_id
    )
    if as_of is not None:
        query = query.where(HISTORY.c.changed_at <= as_of)
    last: dict[int, str] = {}
    for related_id, action in connection.execute(query.order_by(HISTORY.c.changed_at, HISTORY.c.history_id)):
        last[related_id] = action
    return sorted(nid for nid, action in last.items() if action == "insert")


def last_change(connection: sa.Connection, *, entity: Entity, entity_id: int) -> sa.Row[Any] | None:
    """The newest history row of an entity (who changed it last, when and why)."""
    return connection.execute(
        sa.select(HISTORY)
        .where(HISTORY.c.entity == entity, HISTORY.c.entity_id == entity_id)
        .order_by(HISTORY.c.changed_at.desc(), HISTORY.c.history_id.desc())
        .limit(1)
    ).one_or_none()


def changes(connection: sa.Connection, *, entity: Entity, entity_id: int) -> list[sa.Row[Any]]:
    """Every history row of an entity, oldest first."""
    return list(
        connection.execute(
            sa.select(HISTORY)
            .where(HISTORY.c.entity == entity, HISTORY.c.entity_id == entity_id)
            .order_by(HISTORY.c.changed_at, HISTORY.c.history_id)
        )
    )


#: One change for :func:`record_changes`: ``(entity_id, before, after)`` or with a ``related_id`` fourth.
StateChange = (
    tuple[int, dict[str, Any] | None, dict[str, Any] | None]
    | tuple[int, dict[str, Any] | None, dict[str, Any] | None, int | None]
)


def json_state(mapping: dict[str, Any]) -> dict[str, Any]:
    """A row as a history state: dates and times as ISO text, everything else as is."""
    return {
        key: value.isoformat() if isinstance(value, date | datetime) else value
        for key, value in mapping.items()
    }


def change_rows(
    *,
    entity: Entity,
    changes: Iterable[StateChange],
    changed_at: datetime,
    changed_by: str,
    reason: str,
) -> list[dict[str, Any]]:
    """History rows for many changes of one entity type; the action follows from the states
    (no ``before``: insert; no ``after``: delete; both: update). Same rules as the service's writes."""
    if not reason.strip():
        raise ValueError("every change needs a reason")
    rows: list[dict[str, Any]] = []
    for change in changes:
        entity_id, before, after = change[0], change[1], change[2]
        related = change[3] if len(change) > 3 else None
        if before is None and after is None:
            continue
        action: Action = "insert" if before is None else "delete" if after is None else "update"
        rows.append(
            history_row(
                entity=entity,
                entity_id=entity_id,
                related_id=related,
                action=action,
                changed_at=changed_at,
                changed_by=changed_by,
                reason=reason,
                before=before,
                after=after,
            )
        )
    return rows


def record_changes(
    connection: sa.Connection,
    *,
    entity: Entity,
    changes: Iterable[StateChange],
    changed_at: datetime,
    changed_by: str,
    reason: str,
    batch_size: int = 5000,
) -> int:
    """Append the history rows of many changes (bulk writers: the pipeline); returns how many."""
    rows = change_rows(
        entity=entity, changes=changes, changed_at=changed_at, changed_by=changed_by, reason=reason
    )
    for start in range(0, len(rows), batch_size):
        record(connection, rows[start : start + batch_size])
    return len(rows)
