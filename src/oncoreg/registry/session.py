"""A registry session: the acting user, purpose and channel, and the reads and writes they may make.

Every write runs in its own transaction together with its history rows (who, when, why, before, after).
Updates and deletes carry the version the caller read; the row changes only if that version is still
current (``UPDATE ... WHERE version = :read``), otherwise :class:`~oncoreg.errors.ConflictError` names who
changed it, when and the current version. Reading identifiable person data writes an ``access_log`` row
in the same transaction and is refused without a stated purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from oncoreg.errors import ConflictError, NotFound, PermissionDenied, Problem, ValidationFailed
from oncoreg.registry import history
from oncoreg.registry.audit_tables import AccessLog
from oncoreg.registry.identifiers import classify_identifier
from oncoreg.registry.schemas import (
    AccessRecord,
    Channel,
    HistoryEntry,
    NotificationCreate,
    NotificationPublic,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    TumourCreate,
    TumourPublic,
    TumourUpdate,
)
from oncoreg.registry.tables import Notification, Person, Tumour, TumourNotification, table_of
from oncoreg.registry.work import WorkRecords

P = TypeVar("P", bound=BaseModel)
BATCH_SIZE = 5000
ACCESS = table_of(AccessLog)
LINKS = table_of(TumourNotification)


@dataclass(frozen=True)
class _Entity(Generic[P]):
    name: history.Entity
    table: sa.Table
    key: str
    public: type[P]


PERSON = _Entity("person", table_of(Person), "person_id", PersonPublic)
TUMOUR = _Entity("tumour", table_of(Tumour), "tumour_id", TumourPublic)
NOTIFICATION = _Entity(
    "notification",
    table_of(Notification),
    "notification_id",
    NotificationPublic,
)


def _public(entity: _Entity[P], mapping: Any) -> P:
    """The entity's public model from a row mapping (bookkeeping columns such as updated_at dropped)."""
    fields = entity.public.model_fields
    return entity.public.model_validate({key: value for key, value in mapping.items() if key in fields})


def _identifier_fields(identifier: str | None, *, row: str) -> dict[str, Any]:
    """Stored identifier columns; an invalid identifier is a validation problem naming the row."""
    if identifier is None:
        return {"identifier": None, "identifier_type": "none", "identifier_scheme": None}
    info = classify_identifier(identifier)
    if not info.valid:
        raise ValidationFailed([Problem("identifier", identifier, "identifier.valid", info.reason, row=row)])
    return {"identifier": info.value, "identifier_type": info.type, "identifier_scheme": info.scheme}


class RegistrySession(WorkRecords):
    """Reads and writes of the registry on behalf of ``user`` for ``purpose`` through ``channel``."""

    def __init__(
        self, *, engine: sa.Engine, clock: Callable[[], datetime], user: str, purpose: str, channel: Channel
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.user = user
        self.purpose = purpose
        self.channel = channel

    def __enter__(self) -> RegistrySession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    # -- generic machinery ---------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa.exc.IntegrityError as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            raise ConflictError(f"change refused by the database: {detail}") from exc

    def _log_access(self, connection: sa.Connection, person_ids: Sequence[int]) -> None:
        if not self.purpose:
            raise PermissionDenied(
                f"reading person {', '.join(map(str, person_ids[:5]))} refused: user {self.user!r} "
                "stated no purpose"
            )
        now = self.clock()
        rows = [
            {
                "accessed_at": now,
                "user_name": self.user,
                "person_id": pid,
                "purpose": self.purpose,
                "channel": self.channel,
            }
            for pid in person_ids
        ]
        if rows:
            connection.execute(sa.insert(ACCESS), rows)

    def _insert(self, entity: _Entity[P], rows: Sequence[dict[str, Any]], *, reason: str) -> list[P]:
        if not reason.strip():
            raise ValidationFailed(
                [Problem("reason", reason, "history.reason", "every change needs a reason")]
            )
        now = self.clock()
        created: list[P] = []
        with self._transaction() as connection:
            for start in range(0, len(rows), BATCH_SIZE):
                batch = [{**row, "version": 1} for row in rows[start : start + BATCH_SIZE]]
                if "updated_at" in entity.table.c:
                    batch = [{**row, "updated_at": now} for row in batch]
                result = connection.execute(
                    sa.insert(entity.table).returning(*entity.table.c, sort_by_parameter_order=True), batch
                )
                publics = [_public(entity, row._mapping) for row in result]
                history.record(
                    connection,
                    [
                        history.history_row(
                            entity=entity.name,
                            entity_id=getattr(public, entity.key),
                            action="insert",
                            changed_at=now,
                            changed_by=self.user,
                            reason=reason,
                            before=None,
                            after=public.model_dump(mode="json"),
                        )
                        for public in publics
                    ],
                )
                created.extend(publics)
        return created

    def _current(self, connection: sa.Connection, entity: _Entity[P], key: int) -> P:
        row = connection.execute(
            sa.select(entity.table).where(entity.table.c[entity.key] == key)
        ).one_or_none()
        if row is None:
            raise NotFound(f"{entity.name} {key} does not exist")
        return _public(entity, row._mapping)

    def _conflict(self, connection: sa.Connection, entity: _Entity[P], key: int, read: int, now: int) -> None:
        last = history.last_change(connection, entity=entity.name, entity_id=key)
        who = f" by {last.changed_by} at {last.changed_at.isoformat()} ({last.reason})" if last else ""
        raise ConflictError(
            f"{entity.name} {key}: version {read} is stale; current version {now} was written{who}"
        )

    def _change(
        self,
        entity: _Entity[P],
        key: int,
        *,
        values: dict[str, Any] | None,
        version: int,
        reason: str,
        connection: sa.Connection,
    ) -> P | None:
        """Update (``values``) or delete (``None``) one row if ``version`` is current; record history."""
        if not reason.strip():
            raise ValidationFailed(
                [Problem("reason", reason, "history.reason", "every change needs a reason")]
            )
        before = self._current(connection, entity, key)
        current_version = before.version  # type: ignore[attr-defined]
        if current_version != version:
            self._conflict(connection, entity, key, version, current_version)
        now = self.clock()
        where = (entity.table.c[entity.key] == key) & (entity.table.c.version == version)
        if values is None:
            result = connection.execute(sa.delete(entity.table).where(where))
        else:
            extra = {"updated_at": now} if "updated_at" in entity.table.c else {}
            result = connection.execute(
                sa.update(entity.table).where(where).values(**values, **extra, version=version + 1)
            )
        if result.rowcount != 1:  # changed between our read and our write
            latest = self._current(connection, entity, key) if values is not None else before
            self._conflict(connection, entity, key, version, latest.version)  # type: ignore[attr-defined]
        after = None if values is None else self._current(connection, entity, key)
        history.record(
            connection,
            [
                history.history_row(
                    entity=entity.name,
                    entity_id=key,
                    action="delete" if values is None else "update",
                    changed_at=now,
                    changed_by=self.user,
                    reason=reason,
                    before=before.model_dump(mode="json"),
                    after=None if after is None else after.model_dump(mode="json"),
                )
            ],
        )
        return after

    def _as_of(self, connection: sa.Connection, entity: _Entity[P], key: int, as_of: datetime) -> P | None:
        state = history.state_at(connection, entity=entity.name, entity_id=key, as_of=as_of)
        return None if state is None else entity.public.model_validate(state)

    # -- persons -------------------------------------------------------------------------------------

    def add_person(self, *, person: PersonCreate, reason: str) -> PersonPublic:
        """Add one person (identifier validated, its type stored); history records the insert."""
        return self._insert(PERSON, [self._person_row(person, row="0")], reason=reason)[0]

    def add_persons(self, *, persons: Sequence[PersonCreate], reason: str) -> list[PersonPublic]:
        """Add many persons in batches of executemany inserts; all identifiers are checked first."""
        problems: list[Problem] = []
        rows: list[dict[str, Any]] = []
        for i, person in enumerate(persons):
            try:
                rows.append(self._person_row(person, row=str(i)))
            except ValidationFailed as exc:
                problems.extend(exc.problems)
        if problems:
            raise ValidationFailed(problems)
        return self._insert(PERSON, rows, reason=reason)

    @staticmethod
    def _person_row(person: PersonCreate, *, row: str) -> dict[str, Any]:
        fields = person.model_dump(exclude={"identifier"})
        return {**fields, **_identifier_fields(person.identifier, row=row)}

    def update_person(
        self, person_id: int, /, *, changes: PersonUpdate, version: int, reason: str
    ) -> PersonPublic:
        """Change the fields set in ``changes`` if ``version`` is still current; history records it."""
        values = changes.model_dump(exclude_unset=True)
        if "identifier" in values:
            values.update(_identifier_fields(values.pop("identifier"), row=str(person_id)))
        with self._transaction() as connection:
            after = self._change(
                PERSON, person_id, values=values, version=version, reason=reason, connection=connection
            )
        assert after is not None
        return after

    def delete_person(self, person_id: int, /, *, version: int, reason: str) -> None:
        """Delete a person with no tumours or notifications left; history keeps the last state."""
        with self._transaction() as connection:
            self._change(
                PERSON, person_id, values=None, version=version, reason=reason, connection=connection
            )

    def person(self, person_id: int, /, *, as_of: datetime | None = None) -> PersonPublic | None:
        """The person now (NotFound if absent) or as of a past time (None if not existing then); logged."""
        with self._transaction() as connection:
            self._log_access(connection, [person_id])
            if as_of is None:
                return self._current(connection, PERSON, person_id)
            return self._as_of(connection, PERSON, person_id, as_of)

    def person_by_identifier(self, identifier: str) -> PersonPublic | None:
        """The person holding a national identifier, or None; a hit is logged in the access log."""
        table = PERSON.table
        with self._transaction() as connection:
            row = connection.execute(
                sa.select(table).where(table.c.identifier == identifier.replace(" ", ""))
            ).one_or_none()
            if row is None:
                return None
            self._log_access(connection, [row.person_id])
            return _public(PERSON, row._mapping)

    def access_report(self, person_id: int, /) -> list[AccessRecord]:
        """Who read the person's data, when, why and through which channel (this read included)."""
        with self._transaction() as connection:
            self._log_access(connection, [person_id])
            rows = connection.execute(
                sa.select(ACCESS).where(ACCESS.c.person_id == person_id).order_by(ACCESS.c.access_id)
            )
            return [AccessRecord.model_validate(dict(row._mapping)) for row in rows]

    # -- tumours -------------------------------------------------------------------------------------

    def add_tumour(self, *, tumour: TumourCreate, reason: str) -> TumourPublic:
        """Add a tumour; history records the insert."""
        return self._insert(TUMOUR, [tumour.model_dump()], reason=reason)[0]

    def add_tumours(self, *, tumours: Sequence[TumourCreate], reason: str) -> list[TumourPublic]:
        """Add many tumours in batches."""
        return self._insert(TUMOUR, [t.model_dump() for t in tumours], reason=reason)

    def update_tumour(
        self, tumour_id: int, /, *, changes: TumourUpdate, version: int, reason: str
    ) -> TumourPublic:
        """Change the fields set in ``changes`` if ``version`` is still current; history records it."""
        with self._transaction() as connection:
            after = self._change(
                TUMOUR,
                tumour_id,
                values=changes.model_dump(exclude_unset=True),
                version=version,
                reason=reason,
                connection=connection,
            )
        assert after is not None
        return after

    def delete_tumour(self, tumour_id: int, /, *, version: int, reason: str) -> None:
        """Delete a tumour and its notification links (each recorded in history)."""
        with self._transaction() as connection:
            for notification_id in history.links_at(connection, tumour_id=tumour_id, as_of=None):
                self._unlink(connection, tumour_id, notification_id, reason=reason)
            self._change(
                TUMOUR, tumour_id, values=None, version=version, reason=reason, connection=connection
            )

    def tumour(self, tumour_id: int, /, *, as_of: datetime | None = None) -> TumourPublic | None:
        """The tumour now (NotFound if absent) or as of a past time (None if not existing then)."""
        with self._transaction() as connection:
            if as_of is None:
                return self._current(connection, TUMOUR, tumour_id)
            return self._as_of(connection, TUMOUR, tumour_id, as_of)

    def tumours_of_person(self, person_id: int, /) -> list[TumourPublic]:
        """The person's current tumours by sequence."""
        table = TUMOUR.table
        with self._transaction() as connection:
            rows = connection.execute(
                sa.select(table)
                .where(table.c.person_id == person_id)
                .order_by(table.c.sequence, table.c.tumour_id)
            )
            return [_public(TUMOUR, row._mapping) for row in rows]

    # -- notifications and links ---------------------------------------------------------------------

    def add_notifications(
        self, *, notifications: Sequence[NotificationCreate], reason: str
    ) -> list[NotificationPublic]:
        """Store accepted notifications (fields as given); history records each insert."""
        return self._insert(NOTIFICATION, [n.model_dump() for n in notifications], reason=reason)

    def notification(self, notification_id: int, /) -> NotificationPublic:
        """One notification as stored."""
        with self._transaction() as connection:
            return self._current(connection, NOTIFICATION, notification_id)

    def link_notification_to_person(
        self, notification_id: int, /, *, person_id: int | None, version: int, reason: str
    ) -> NotificationPublic:
        """Set (or clear) the person a notification belongs to, as linkage decided; history records it."""
        with self._transaction() as connection:
            after = self._change(
                NOTIFICATION,
                notification_id,
                values={"person_id": person_id},
                version=version,
                reason=reason,
                connection=connection,
            )
        assert after is not None
        return after

    def link_tumour_notification(self, *, tumour_id: int, notification_id: int, reason: str) -> None:
        """Record that the tumour was built (partly) from the notification."""
        now = self.clock()
        with self._transaction() as connection:
            connection.execute(
                sa.insert(LINKS),
                [{"tumour_id": tumour_id, "notification_id": notification_id, "linked_at": now}],
            )
            self._link_history(connection, tumour_id, notification_id, "insert", reason, now)

    def unlink_tumour_notification(self, *, tumour_id: int, notification_id: int, reason: str) -> None:
        """Remove a tumour–notification link (NotFound if there is none)."""
        with self._transaction() as connection:
            self._unlink(connection, tumour_id, notification_id, reason=reason)

    def tumour_notifications(self, tumour_id: int, /, *, as_of: datetime | None = None) -> list[int]:
        """Ids of the notifications linked to the tumour now or as of a past time."""
        with self._transaction() as connection:
            if as_of is None:
                query = sa.select(LINKS.c.notification_id).where(LINKS.c.tumour_id == tumour_id)
                return sorted(connection.execute(query).scalars())
            return history.links_at(connection, tumour_id=tumour_id, as_of=as_of)

    def _unlink(
        self, connection: sa.Connection, tumour_id: int, notification_id: int, *, reason: str
    ) -> None:
        result = connection.execute(
            sa.delete(LINKS).where(LINKS.c.tumour_id == tumour_id, LINKS.c.notification_id == notification_id)
        )
        if result.rowcount != 1:
            raise NotFound(f"tumour {tumour_id} is not linked to notification {notification_id}")
        self._link_history(connection, tumour_id, notification_id, "delete", reason, self.clock())

    def _link_history(
        self,
        connection: sa.Connection,
        tumour_id: int,
        notification_id: int,
        action: history.Action,
        reason: str,
        now: datetime,
    ) -> None:
        if not reason.strip():
            raise ValidationFailed(
                [Problem("reason", reason, "history.reason", "every change needs a reason")]
            )
        state = {"tumour_id": tumour_id, "notification_id": notification_id}
        history.record(
            connection,
            [
                history.history_row(
                    entity="tumour_notification",
                    entity_id=tumour_id,
                    related_id=notification_id,
                    action=action,
                    changed_at=now,
                    changed_by=self.user,
                    reason=reason,
                    before=None if action == "insert" else state,
                    after=state if action == "insert" else None,
                )
            ],
        )

    # -- history -------------------------------------------------------------------------------------

    def history(self, *, entity: history.Entity, entity_id: int) -> list[HistoryEntry]:
        """Every recorded change of an entity, oldest first (a person's history read is logged)."""
        with self._transaction() as connection:
            if entity == "person":
                self._log_access(connection, [entity_id])
            rows = history.changes(connection, entity=entity, entity_id=entity_id)
            return [HistoryEntry.model_validate(dict(row._mapping)) for row in rows]
