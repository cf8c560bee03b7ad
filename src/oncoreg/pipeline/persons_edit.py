"""Apply a registrar's merge or split of persons to the store (``oncoreg.linkage.changes`` → store).

:func:`merge` and :func:`split` run in one transaction each:

1. **version checks**: every person named carries the version the registrar read; the person row is
   updated only if that version is still current (``UPDATE ... WHERE version = :read``), otherwise
   :class:`~oncoreg.errors.ConflictError` names who changed it last, when and why (HTTP 409);
2. **moves** (``merge_persons`` / ``split_person`` compute them as data): ``notification.person_id`` is
   set, with the notification's history;
3. **persons**: a merged person keeps its row with ``merged_into`` set (its identifier moves to the kept
   person's remembered identifiers, so register events and linkage find the kept person); a split creates
   a new person (id: the lowest moved notification id, as the pipeline numbers persons, unless taken)
   from the moved notifications' given identity;
4. **re-consolidation** of every person involved with the pipeline's own per-person derivation
   (``oncoreg.consolidation.consolidate``): tumours merge or separate where the rules say, tumours that
   no longer exist are retired, links, check results and treatments follow, all with history (treatments
   have none).

:func:`link` settles a ``linkage`` review task: the task's notification goes to the candidate person the
registrar chose, or to a new person made from its given identity; both persons are re-consolidated and the
task is closed in the same transaction.

Every change is written through :func:`oncoreg.registry.history.record_changes` with the acting user, the
time and the registrar's reason. The decision is also appended to the pipeline document
:data:`DECISIONS` (``pipeline_state``) in terms of notification ids, which a rebuild re-applies to the
persons it derives (:mod:`oncoreg.pipeline.decisions`, ``docs/pipeline.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from oncoreg.errors import ConflictError, NotFound, Problem, ValidationFailed
from oncoreg.ingest.schema import NOTIFICATIONS, conform_notifications
from oncoreg.linkage.changes import MOVES as MOVES_SCHEMA
from oncoreg.linkage.changes import PersonChanges, merge_persons, split_person
from oncoreg.pipeline import decisions as decision_records
from oncoreg.pipeline import derive, store, treatments
from oncoreg.pipeline.report import PipelineReport
from oncoreg.registry import Registry, history

#: The ``pipeline_state`` document holding every person decision (JSON list, oldest first).
DECISIONS = decision_records.DECISIONS
ACTIVE_TASK_STATES = ("open", "assigned")
PERSON_FIELDS = (*store.PERSON_STATE_FIELDS, "merged_into")


@dataclass(frozen=True)
class PersonEdit:
    """What a merge or split did: the persons kept/created/retired and the tumours before and after."""

    kind: str
    persons: list[int]
    retired: list[int]
    created: list[int]
    notifications_moved: int
    tumours_before: int
    tumours_after: int
    tumours_retired: list[int] = field(default_factory=list)


def _clean_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise ValidationFailed(
            [Problem("reason", reason, "persons.reason", "a merge or split needs a reason")]
        )
    return text


def _person_row(connection: sa.Connection, person_id: int) -> dict[str, Any]:
    row = connection.execute(
        sa.select(store.PERSONS).where(store.PERSONS.c.person_id == person_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"person {person_id} does not exist")
    return dict(row._mapping)


def _state(row: Mapping[str, Any]) -> dict[str, Any]:
    return history.json_state({name: row[name] for name in PERSON_FIELDS if name in row})


def _conflict(connection: sa.Connection, person_id: int, read: int, current: int) -> ConflictError:
    last = history.last_change(connection, entity="person", entity_id=person_id)
    who = f" by {last.changed_by} at {last.changed_at.isoformat()} ({last.reason})" if last else ""
    return ConflictError(
        f"person {person_id}: version {read} is stale; current version {current} was written{who}"
    )


def _update_person(
    connection: sa.Connection,
    *,
    before: dict[str, Any],
    read_version: int,
    values: dict[str, Any],
    now: datetime,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Update one person if ``read_version`` is current; the history change ``(id, before, after)``."""
    person_id = int(before["person_id"])
    if before["version"] != read_version:
        raise _conflict(connection, person_id, read_version, int(before["version"]))
    result = connection.execute(
        sa.update(store.PERSONS)
        .where(store.PERSONS.c.person_id == person_id, store.PERSONS.c.version == read_version)
        .values(**values, version=read_version + 1, updated_at=now)
    )
    if result.rowcount != 1:  # changed between our read and our write
        raise _conflict(
            connection, person_id, read_version, int(_person_row(connection, person_id)["version"])
        )
    after = {**before, **values, "version": read_version + 1}
    return person_id, _state(before), _state(after)


def _notifications_of(
    connection: sa.Connection, person_ids: Sequence[int], *, notification_ids: Sequence[int] = ()
) -> pl.DataFrame:
    """The NOTIFICATIONS frame of the persons' notifications (hand-entered ones without a message too),
    or with ``notification_ids`` of those notifications."""
    table = store.NOTIFICATION
    columns = [
        table.c[name]
        for name in NOTIFICATIONS
        if name in table.c and name not in store.UNUSED_COLUMNS and name != "message_id"
    ]
    query = (
        sa.select(*columns, sa.cast(table.c.message_id, sa.String).label("message_id"))
        .where(
            table.c.notification_id.in_(list(notification_ids))
            if notification_ids
            else table.c.person_id.in_(list(person_ids))
        )
        .order_by(table.c.notification_id)
    )
    result = connection.execute(query)
    names = list(result.keys())
    frame = pl.DataFrame(
        [tuple(row) for row in result], schema={name: NOTIFICATIONS[name] for name in names}, orient="row"
    )
    return conform_notifications(frame)


def _move(connection: sa.Connection, *, changes: PersonChanges, now: datetime, user: str, reason: str) -> int:
    """Set ``person_id`` of the moved notifications, with their history; how many moved."""
    table = store.NOTIFICATION
    targets = dict(changes.moves.select("notification_id", "to_person_id").iter_rows())
    if not targets:
        return 0
    befores = [
        dict(row._mapping)
        for row in connection.execute(
            sa.select(table.c.notification_id, table.c.person_id, table.c.version).where(
                table.c.notification_id.in_(list(targets))
            )
        )
    ]
    for row in befores:
        result = connection.execute(
            sa.update(table)
            .where(table.c.notification_id == row["notification_id"], table.c.version == row["version"])
            .values(person_id=targets[row["notification_id"]], version=row["version"] + 1)
        )
        if result.rowcount != 1:
            raise ConflictError(f"notification {row['notification_id']} changed while it was being moved")
    moves = pl.DataFrame(
        [
            (r["notification_id"], r["person_id"], targets[r["notification_id"]], r["version"])
            for r in befores
        ],
        schema=dict.fromkeys(("notification_id", "person_id", "to_person_id", "version"), pl.Int64),
        orient="row",
    )
    store.record_notification_moves(connection, moves=moves, now=now, user=user, reason=reason)
    return len(befores)


def _reconsolidate(
    connection: sa.Connection, *, person_ids: Sequence[int], day: date, now: datetime, user: str, reason: str
) -> tuple[int, int, list[int]]:
    """Re-derive the persons' tumours (links, check results) with the pipeline's rules; returns the tumour
    count before and after and the retired tumour ids."""
    from oncoreg.checks import apply_overrides, run_checks
    from oncoreg.config import get_settings
    from oncoreg.consolidation import ConsolidationOptions, consolidate
    from oncoreg.pipeline.run import TUMOUR_COMPARED, _sync_checks, _write_tumours

    notes = _notifications_of(connection, person_ids)
    persons = store.read_persons(connection).filter(pl.col("person_id").is_in(list(person_ids)))
    stored = store.read_tumours(connection).filter(pl.col("person_id").is_in(list(person_ids)))
    result = consolidate(
        notifications=notes,
        persons=persons.select("person_id", "sex", "birth_date", "death_date"),
        as_of=day,
        existing_tumours=stored,
        options=ConsolidationOptions(dco_traceback_days=get_settings().dco_traceback_days),
    )
    desired = result.tumours.select(
        [pl.col(name).cast(dtype) for name, dtype in store.TUMOUR_FRAME.items() if name != "version"]
    )
    scope = stored["tumour_id"]
    changes = store.diff_entities(
        desired=desired,
        stored=stored,
        key="tumour_id",
        compared=TUMOUR_COMPARED,
        state_fields=store.TUMOUR_STATE_FIELDS,
        scope=scope,
    )
    everything = pl.concat([scope, desired["tumour_id"]]).unique()
    _write_tumours(
        connection,
        changes=changes,
        links=result.links,
        scope=everything,
        now=now,
        user=user,
        reason=reason,
        report=PipelineReport(),
    )
    if desired.height:
        findings = run_checks(derive.checks_input(tumours=desired, persons=persons), on=day)
        overrides = store.read_overrides(connection).with_columns(pl.col("id").cast(pl.String))
        applicable = overrides.join(
            findings.filter(pl.col("result") == "invalid").select("id", "rule_id"),
            on=["id", "rule_id"],
            how="anti",
        )
        findings = apply_overrides(findings, applicable)
        kept = findings.filter((pl.col("result") != "ok") | pl.col("overridden_result").is_not_null()).select(
            pl.col("id").cast(pl.Int64), "rule_id", "rule_version", "result", "message"
        )
        _sync_checks(connection, kept=kept, scope=everything, now=now)
    treatments.sync_treatments(connection, persons=list(person_ids))  # moved therapy notifications follow
    return stored.height, desired.height, changes.deletes


def decisions(registry: Registry) -> list[dict[str, Any]]:
    """Every merge, split and linkage decision applied so far, oldest first (current format)."""
    with registry.engine.connect() as connection:
        return decision_records.read_decisions(connection)


def _links_frame(notes: pl.DataFrame) -> pl.DataFrame:
    return notes.select("notification_id", "person_id")


def merge(
    registry: Registry,
    *,
    into: int,
    merged: int,
    versions: Mapping[int, int],
    user: str,
    reason: str,
    as_of: date | None = None,
) -> PersonEdit:
    """Merge person ``merged`` into ``into``: notifications move, ``merged_into`` is set, tumours of the kept
    person are re-consolidated. ``versions``: the version the registrar read of each of the two persons."""
    text = _clean_reason(reason)
    if into == merged:
        raise ValidationFailed(
            [Problem("merged", str(merged), "persons.merge", "a person cannot be merged into itself")]
        )
    now = registry.clock()
    day = derive.as_date(as_of, today=now.date())
    with registry.engine.begin() as connection:
        kept_row, gone_row = _person_row(connection, into), _person_row(connection, merged)
        for row in (kept_row, gone_row):
            if row["merged_into"] is not None:
                raise ValidationFailed(
                    [
                        Problem(
                            "person_id",
                            str(row["person_id"]),
                            "persons.merge",
                            f"was already merged into person {row['merged_into']}",
                        )
                    ]
                )
        missing = [p for p in (into, merged) if p not in versions]
        if missing:
            raise ValidationFailed(
                [Problem("version", str(p), "persons.version", "no version given") for p in missing]
            )
        notes = _notifications_of(connection, [into, merged])
        changes = merge_persons(links=_links_frame(notes), into=into, merged=[merged], reason=text)
        held = notes.filter(pl.col("person_id") == into)["notification_id"].to_list()
        person_changes = [
            _update_person(connection, before=kept_row, read_version=versions[into], values={}, now=now),
            _update_person(
                connection,
                before=gone_row,
                read_version=versions[merged],
                values={
                    "merged_into": into,
                    "identifier": None,
                    "identifier_type": "none",
                    "identifier_scheme": None,
                },
                now=now,
            ),
        ]
        if gone_row["identifier"] is not None:
            connection.execute(
                sa.insert(store.ALIASES),
                [
                    {
                        "person_id": into,
                        "identifier": gone_row["identifier"],
                        "identifier_type": gone_row["identifier_type"],
                        "notification_id": None,
                        "created_at": now,
                    }
                ],
            )
        connection.execute(
            sa.update(store.ALIASES).where(store.ALIASES.c.person_id == merged).values(person_id=into)
        )
        moved = _move(connection, changes=changes, now=now, user=user, reason=text)
        history.record_changes(
            connection, entity="person", changes=person_changes, changed_at=now, changed_by=user, reason=text
        )
        before, after, retired_tumours = _reconsolidate(
            connection, person_ids=[into, merged], day=day, now=now, user=user, reason=text
        )
        decision_records.append_decision(
            connection,
            decision_records.merge_record(
                into=into,
                merged=merged,
                into_notifications=held,
                merged_notifications=changes.moves["notification_id"].to_list(),
                reason=text,
                user=user,
                at=now,
            ),
            now=now,
        )
    return PersonEdit(
        kind="merge",
        persons=[into],
        retired=[merged],
        created=[],
        notifications_moved=moved,
        tumours_before=before,
        tumours_after=after,
        tumours_retired=retired_tumours,
    )


def _new_person(connection: sa.Connection, *, moved: pl.DataFrame, like: dict[str, Any]) -> dict[str, Any]:
    """The new person of a split: the id the pipeline would give it, identity from the moved notifications
    (a valid identifier nobody holds; else none), sex and birth date falling back to the original person's."""
    taken = pl.Series(
        "person_id", list(connection.execute(sa.select(store.PERSONS.c.person_id)).scalars()), dtype=pl.Int64
    )
    temporary = moved.select("notification_id", pl.lit(-1, pl.Int64).alias("person_id"))
    person_id = int(derive.final_person_ids(links=temporary, taken=taken)["person_id"][0])
    held = pl.Series(
        "identifier",
        [v for v in connection.execute(sa.select(store.PERSONS.c.identifier)).scalars() if v is not None],
        dtype=pl.String,
    )
    given = moved["given_identifier"].drop_nulls()
    identity = derive.identifier_columns(
        pl.DataFrame(
            {"person_id": [person_id], "identifier": [given[0] if given.len() else None]},
            schema={"person_id": pl.Int64, "identifier": pl.String},
        ),
        taken=held,
    ).row(0, named=True)

    def first(column: str, fallback: Any) -> Any:
        values = moved[column].drop_nulls()
        return values[0] if values.len() else fallback

    return {
        "person_id": person_id,
        "identifier": identity["identifier"],
        "identifier_type": identity["identifier_type"],
        "identifier_scheme": identity["identifier_scheme"],
        "first_name": first("given_first_name", None),
        "last_name": first("given_last_name", None),
        "birth_date": first("given_birth_date", like["birth_date"]),
        "sex": int(first("given_sex", like["sex"])),
        "vital_status": "alive",
        "death_date": None,
        "emigration_date": None,
        "reserved_screening_results": False,
        "reserved_risk_factors": False,
        "version": 1,
        "merged_into": None,
    }


def split(
    registry: Registry,
    *,
    person_id: int,
    notification_ids: Sequence[int],
    version: int,
    user: str,
    reason: str,
    as_of: date | None = None,
) -> PersonEdit:
    """Move ``notification_ids`` of ``person_id`` to a new person and re-consolidate both."""
    text = _clean_reason(reason)
    now = registry.clock()
    day = derive.as_date(as_of, today=now.date())
    with registry.engine.begin() as connection:
        row = _person_row(connection, person_id)
        if row["merged_into"] is not None:
            raise ValidationFailed(
                [
                    Problem(
                        "person_id",
                        str(person_id),
                        "persons.split",
                        f"was merged into person {row['merged_into']}",
                    )
                ]
            )
        person_change = _update_person(connection, before=row, read_version=version, values={}, now=now)
        notes = _notifications_of(connection, [person_id])
        planned = split_person(
            links=_links_frame(notes), person_id=person_id, notification_ids=notification_ids, reason=text
        )
        moved_notes = notes.join(planned.moves.select("notification_id"), on="notification_id", how="semi")
        created = _new_person(connection, moved=moved_notes, like=row)
        connection.execute(sa.insert(store.PERSONS), [{**created, "updated_at": now}])
        store._sync_sequence(connection, store.PERSONS, "person_id")
        changes = PersonChanges(
            moves=planned.moves.with_columns(pl.lit(created["person_id"], pl.Int64).alias("to_person_id")),
            retired=planned.retired,
        )
        moved = _move(connection, changes=changes, now=now, user=user, reason=text)
        history.record_changes(
            connection,
            entity="person",
            changes=[person_change, (int(created["person_id"]), None, _state(created))],
            changed_at=now,
            changed_by=user,
            reason=text,
        )
        before, after, retired_tumours = _reconsolidate(
            connection,
            person_ids=[person_id, int(created["person_id"])],
            day=day,
            now=now,
            user=user,
            reason=text,
        )
        moved_ids = changes.moves["notification_id"].to_list()
        decision_records.append_decision(
            connection,
            decision_records.split_record(
                person_id=person_id,
                new_person_id=int(created["person_id"]),
                moved=moved_ids,
                rest=sorted(set(notes["notification_id"].to_list()) - set(moved_ids)),
                reason=text,
                user=user,
                at=now,
            ),
            now=now,
        )
    return PersonEdit(
        kind="split",
        persons=[person_id],
        retired=[],
        created=[int(created["person_id"])],
        notifications_moved=moved,
        tumours_before=before,
        tumours_after=after,
        tumours_retired=retired_tumours,
    )


def _linkage_task(connection: sa.Connection, *, task_id: int, version: int) -> dict[str, Any]:
    """The active linkage task read at ``version`` (NotFound, ValidationFailed, ConflictError)."""
    row = connection.execute(sa.select(store.TASKS).where(store.TASKS.c.task_id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"review task {task_id} does not exist")
    task = dict(row._mapping)
    if task["kind"] != "linkage" or task["subject_type"] != "notification":
        raise ValidationFailed(
            [Problem("task_id", str(task_id), "persons.link", f"is a {task['kind']} task, not linkage")]
        )
    if task["state"] not in ACTIVE_TASK_STATES:
        raise ConflictError(
            f"review task {task_id} is already {task['state']}"
            + (f" by {task['assignee']}" if task["assignee"] else "")
            + (f": {task['resolution']}" if task["resolution"] else "")
        )
    if task["version"] != version:
        raise ConflictError(
            f"review task {task_id}: version {version} is stale; current version {task['version']} "
            f"(state {task['state']}, assignee {task['assignee']})"
        )
    return task


def link(
    registry: Registry,
    *,
    task_id: int,
    version: int,
    person_id: int | None,
    user: str,
    reason: str,
    as_of: date | None = None,
) -> PersonEdit:
    """Settle a linkage task: its notification goes to ``person_id`` (None: a new person made from the
    notification's given identity, numbered like the pipeline), the persons are re-consolidated and the
    task is resolved; ``version`` is the task version the registrar read."""
    text = _clean_reason(reason)
    now = registry.clock()
    day = derive.as_date(as_of, today=now.date())
    with registry.engine.begin() as connection:
        task = _linkage_task(connection, task_id=task_id, version=version)
        notification_id = int(task["subject_id"])
        note = _notifications_of(connection, [], notification_ids=[notification_id])
        if note.height == 0:
            raise NotFound(f"notification {notification_id} of review task {task_id} does not exist")
        previous = note["person_id"][0]
        created: dict[str, Any] | None = None
        if person_id is None:
            created = _new_person(connection, moved=note, like={"birth_date": None, "sex": 9})
            connection.execute(sa.insert(store.PERSONS), [{**created, "updated_at": now}])
            store._sync_sequence(connection, store.PERSONS, "person_id")
            history.record_changes(
                connection,
                entity="person",
                changes=[(int(created["person_id"]), None, _state(created))],
                changed_at=now,
                changed_by=user,
                reason=text,
            )
            target, held = int(created["person_id"]), []
            choice = f"notification {notification_id} is a new person, {target}"
        else:
            row = _person_row(connection, person_id)
            if row["merged_into"] is not None:
                raise ValidationFailed(
                    [
                        Problem(
                            "person_id",
                            str(person_id),
                            "persons.link",
                            f"was merged into person {row['merged_into']}; choose that person",
                        )
                    ]
                )
            target = person_id
            held = [
                int(n)
                for n in connection.execute(
                    sa.select(store.NOTIFICATION.c.notification_id).where(
                        store.NOTIFICATION.c.person_id == person_id
                    )
                ).scalars()
                if int(n) != notification_id
            ]
            choice = f"notification {notification_id} linked to person {target}"
        moved = 0
        if previous != target:
            moves = pl.DataFrame(
                {
                    "notification_id": [notification_id],
                    "from_person_id": [previous],
                    "to_person_id": [target],
                    "reason": [text],
                }
            )
            changes = PersonChanges(moves=moves.cast(MOVES_SCHEMA), retired=pl.DataFrame())
            moved = _move(connection, changes=changes, now=now, user=user, reason=text)
        closed = connection.execute(
            sa.update(store.TASKS)
            .where(store.TASKS.c.task_id == task_id, store.TASKS.c.version == version)
            .values(
                state="resolved",
                assignee=user,
                resolution=f"{text} ({choice})",
                resolved_at=now,
                version=version + 1,
            )
        )
        if closed.rowcount != 1:
            raise ConflictError(f"review task {task_id} changed while it was being resolved")
        involved = [target, *([int(previous)] if previous is not None and previous != target else [])]
        before, after, retired_tumours = _reconsolidate(
            connection, person_ids=involved, day=day, now=now, user=user, reason=text
        )
        decision_records.append_decision(
            connection,
            decision_records.link_record(
                notification_id=notification_id,
                person_id=None if created is not None else target,
                with_notifications=held,
                new_person_id=target if created is not None else None,
                task_id=task_id,
                reason=text,
                user=user,
                at=now,
            ),
            now=now,
        )
    return PersonEdit(
        kind="link",
        persons=[target],
        retired=[],
        created=[target] if created is not None else [],
        notifications_moved=moved,
        tumours_before=before,
        tumours_after=after,
        tumours_retired=retired_tumours,
    )
