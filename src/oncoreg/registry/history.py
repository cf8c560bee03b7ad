"""History of persons, tumours, notifications and tumour–notification links, and the state as of a time.

Every write stores one ``history`` row (JSON states of the entity's ``*Public`` fields; ``None`` for "did
not exist"), by one rule applied in :func:`history_row`:

* ``insert``: the full new state in ``after``; ``delete``: the full old state in ``before``;
* ``update``: in ``before`` and ``after`` only the keys whose values differ (``version`` always does);
* entities in :data:`CONTENT_IN_ROW` (notifications) keep their content in their own row, which never
  changes after it is written: their rows hold only the mutable fields (``person_id``, ``version``), the
  insert row too, and an update of any other field is refused.

The state at ``T`` is the fold of the entity's rows with ``changed_at <= T`` in order (``changed_at``, then
``history_id``, the order of writing): an insert starts from its ``after``, an update overlays its
``after``, a delete ends it; no row means the entity did not exist yet. For :data:`CONTENT_IN_ROW` the
folded fields are laid over the current row's content. Rows written before this rule hold full states,
whose fold is the same as taking the last one, so old stores need no migration. A link exists at ``T``
when its last row at or before ``T`` is an insert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice, repeat
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

from oncoreg.registry import bulk
from oncoreg.registry.audit_tables import History
from oncoreg.registry.tables import Notification, table_of

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


@dataclass(frozen=True)
class RowContent:
    """An entity whose content lives in its own row and never changes after it is written: its history
    keeps only the ``mutable`` fields; the rest of a state is read from ``table`` by ``key``."""

    table: sa.Table
    key: str
    mutable: tuple[str, ...]


#: The entities whose history keeps only their mutable fields (see the module docstring). A notification
#: is the parse of its verbatim message: only the person it belongs to and its version ever change.
CONTENT_IN_ROW: dict[str, RowContent] = {
    "notification": RowContent(table_of(Notification), "notification_id", ("person_id", "version")),
}


def delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys whose values differ between two states, from each (a key missing on one side is None)."""
    keys = [k for k in after if k not in before or before[k] != after[k]]
    keys += [k for k in before if k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


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
    """One history row as a parameter dict for a (bulk) insert, the states cut down by the module's rule
    (updates: the changed keys only; :data:`CONTENT_IN_ROW` entities: their mutable fields only)."""
    content = CONTENT_IN_ROW.get(entity)
    if action == "update" and before is not None and after is not None:
        before, after = delta(before, after)
        if content is not None and not set(after) <= set(content.mutable):
            changed = sorted(set(after) - set(content.mutable))
            raise ValueError(f"{entity} {entity_id}: only {content.mutable} may change, not {changed}")
    elif content is not None and action == "insert" and after is not None:
        after = {k: after[k] for k in content.mutable if k in after}
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


def fold(rows: Iterable[tuple[str, dict[str, Any] | None]]) -> dict[str, Any] | None:
    """The state after ``(action, after)`` rows of one entity, oldest first: an insert starts from its
    ``after``, an update overlays its ``after``, a delete ends the entity (None)."""
    state: dict[str, Any] | None = None
    for action, after in rows:
        if action == "delete" or after is None:
            state = None
        elif action == "insert" or state is None:
            state = dict(after)
        else:
            state.update(after)
    return state


def with_content(state: dict[str, Any], content: Mapping[str, Any] | None) -> dict[str, Any]:
    """A folded :data:`CONTENT_IN_ROW` state laid over the row's content (JSON form)."""
    return {**(content or {}), **state}


def state_at(
    connection: sa.Connection, *, entity: Entity, entity_id: int, as_of: datetime
) -> dict[str, Any] | None:
    """The entity's state at ``as_of``: the fold of its changes at or before then, else None."""
    rows = connection.execute(
        sa.select(HISTORY.c.action, HISTORY.c.after)
        .where(HISTORY.c.entity == entity, HISTORY.c.entity_id == entity_id, HISTORY.c.changed_at <= as_of)
        .order_by(HISTORY.c.changed_at, HISTORY.c.history_id)
    )
    state = fold((action, after) for action, after in rows)
    content = CONTENT_IN_ROW.get(entity)
    if state is None or content is None:
        return state
    row = connection.execute(
        sa.select(content.table).where(content.table.c[content.key] == entity_id)
    ).one_or_none()
    return with_content(state, None if row is None else json_state(dict(row._mapping)))


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
    """Append the history rows of many changes (bulk writers: the pipeline), ``batch_size`` changes at a
    time (``changes`` may be a generator: only one batch of rows is held); returns how many."""
    if not reason.strip():
        raise ValueError("every change needs a reason")
    pending = iter(changes)
    count = 0
    while batch := list(islice(pending, batch_size)):
        rows = change_rows(
            entity=entity, changes=batch, changed_at=changed_at, changed_by=changed_by, reason=reason
        )
        record(connection, rows)
        count += len(rows)
    return count


# -- column-wise history rows (the pipeline's bulk writes) ------------------------------------------------
#
# ``json.dumps`` with its defaults (what the ``JSON`` type stores on SQLite): keys in the dict's order,
# ``", "`` and ``": "`` separators, ``ensure_ascii`` (every character outside " "..."~" escaped: ``\"``,
# ``\\``, ``\n``, ``\r``, ``\t``, ``\b``, ``\f``, else ``\u00e6``, surrogate pairs above U+FFFF), ints
# as ``str``, ``true``/``false``, ``null``. :func:`json_objects` builds that text for whole columns.

#: Printable ASCII: a string of these is JSON-encoded by escaping only ``\`` and ``"``.
_NEEDS_ENCODER = r"[^ -~]"


def _json_strings(series: pl.Series) -> pl.Series:
    """``json.dumps`` of each string: printable ASCII in Polars; the rest (non-ASCII letters, control
    characters) through ``json``'s own C encoder, once per distinct value."""
    simple = (
        pl.lit('"')
        + pl.col("s").str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
        + pl.lit('"')
    )
    frame = pl.DataFrame({"s": series})
    needs = frame.select(pl.col("s").str.contains(_NEEDS_ENCODER).fill_null(False)).to_series()
    if not needs.any():
        return frame.select(simple.fill_null("null")).to_series()
    distinct = series.filter(needs).unique()
    encoded = pl.Series(list(map(encode_basestring_ascii, distinct.to_list())), dtype=pl.String)
    return frame.select(
        pl.when(needs)
        .then(pl.col("s").replace_strict(distinct, encoded, default=None))
        .otherwise(simple)
        .fill_null("null")
    ).to_series()


def _json_values(series: pl.Series) -> pl.Series | None:
    """The JSON text of each value as ``json.dumps`` writes it (None: a type left to ``json.dumps``)."""
    dtype = series.dtype
    if dtype == pl.String:
        return _json_strings(series)
    if dtype == pl.Date:  # as :func:`json_state` after Polars' ISO formatting (the pipeline's states)
        return _json_strings(series.dt.strftime("%Y-%m-%d"))
    if dtype.is_integer() or dtype == pl.Boolean or dtype == pl.Null:
        return series.cast(pl.String).fill_null("null")  # booleans cast to true/false
    return None


def json_objects(frame: pl.DataFrame) -> pl.Series | None:
    """Per row, ``json.dumps`` of the row as a dict of the frame's columns (in their order), as text;
    None when a column's type is not one whose text is built here (integers, booleans, strings, dates:
    these are identical to ``json.dumps``; floats and others are left to the row-by-row path)."""
    if frame.width == 0:
        return pl.Series(["{}"] * frame.height, dtype=pl.String)
    parts: list[pl.Expr] = []
    values: dict[str, pl.Series] = {}
    for index, name in enumerate(frame.columns):
        text = _json_values(frame.get_column(name))
        if text is None:
            return None
        values[f"v{index}"] = text
        label = ("{" if index == 0 else ", ") + encode_basestring_ascii(name) + ": "
        parts += [pl.lit(label), pl.col(f"v{index}")]
    parts.append(pl.lit("}"))
    return pl.DataFrame(values).select(pl.concat_str(parts)).to_series()


def writes_json_text(connection: sa.Connection) -> bool:
    """Whether the ``JSON`` columns store ``json.dumps`` text (SQLite with the default serializer), so
    :func:`record_frame` may hand over text built by :func:`json_objects`."""
    dialect = connection.dialect
    return dialect.name == "sqlite" and getattr(dialect, "_json_serializer", None) is None


def record_frame(
    connection: sa.Connection,
    *,
    entity: Entity,
    frame: pl.DataFrame,
    changed_at: datetime,
    changed_by: str,
    reason: str,
) -> int:
    """Append history rows given column-wise (only where :func:`writes_json_text`): ``entity_id``,
    ``action``, ``before`` and ``after`` (the states' ``json.dumps`` text, already cut down by the rule of
    :func:`history_row`; null: no state) and optionally ``related_id``; one executemany of plain tuples
    (``changed_at`` converted once, the text as it is).
    Returns how many rows."""
    if not reason.strip():
        raise ValueError("every change needs a reason")
    if not writes_json_text(connection):
        raise NotImplementedError("history text rows need SQLite's JSON text columns")
    count = frame.height
    related = frame.get_column("related_id").to_list() if "related_id" in frame.columns else repeat(None)
    rows = zip(
        repeat(entity, count),
        frame.get_column("entity_id").to_list(),
        related,
        frame.get_column("action").to_list(),
        repeat(bulk.bind_value(connection, HISTORY, "changed_at", changed_at), count),
        repeat(changed_by, count),
        repeat(reason, count),
        frame.get_column("before").fill_null("null").to_list(),
        frame.get_column("after").fill_null("null").to_list(),
        strict=False,
    )
    # every value already the driver's: the rows go to executemany as they are (no column conversion)
    bulk.insert_rows(connection, HISTORY, COLUMNS, rows, raw=COLUMNS)
    return count
