"""Inbound messages, quarantine and review tasks: the registry's work records (mixed into the session).

Messages are stored verbatim with the SHA-256 of their content; ``message_by_hash`` lets ingest detect an
exact duplicate before storing it again. Review tasks carry a version like tumours, so two registrars
cannot resolve the same task at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from oncoreg.errors import ConflictError, NotFound
from oncoreg.registry.audit_tables import ReviewTask
from oncoreg.registry.schemas import MessageCreate, MessagePublic, ReviewTaskCreate, ReviewTaskPublic
from oncoreg.registry.tables import Message, Quarantine, table_of

MESSAGES = table_of(Message)
QUARANTINE = table_of(Quarantine)
TASKS = table_of(ReviewTask)
MessageStatus = Literal["received", "accepted", "quarantined", "duplicate"]


def _message(row: Any) -> MessagePublic:
    return MessagePublic.model_validate({k: v for k, v in row._mapping.items() if k != "content"})


class WorkRecords:
    """Messages, quarantine and review tasks (uses the session's ``_transaction``, ``clock``, ``user``)."""

    clock: Callable[[], datetime]
    user: str
    _transaction: Callable[[], AbstractContextManager[sa.Connection]]

    def add_message(self, *, message: MessageCreate) -> MessagePublic:
        """Store an inbound message verbatim with its content hash (status ``received``)."""
        values = {
            **message.model_dump(),
            "content_hash": hashlib.sha256(message.content).hexdigest(),
            "received_at": self.clock(),
            "status": "received",
        }
        with self._transaction() as connection:
            row = connection.execute(sa.insert(MESSAGES).returning(*MESSAGES.c), [values]).one()
        return _message(row)

    def message_by_hash(self, content_hash: str, /) -> MessagePublic | None:
        """The first stored message with this content hash, or None."""
        with self._transaction() as connection:
            row = connection.execute(
                sa.select(MESSAGES)
                .where(MESSAGES.c.content_hash == content_hash)
                .order_by(MESSAGES.c.message_id)
            ).first()
        return None if row is None else _message(row)

    def message_content(self, message_id: int, /) -> bytes:
        """The verbatim content of a stored message."""
        with self._transaction() as connection:
            content = connection.execute(
                sa.select(MESSAGES.c.content).where(MESSAGES.c.message_id == message_id)
            ).scalar_one_or_none()
        if content is None:
            raise NotFound(f"message {message_id} does not exist or has no stored content")
        return bytes(content)

    def set_message_status(self, message_id: int, /, *, status: MessageStatus) -> None:
        """Record what became of a message."""
        with self._transaction() as connection:
            result = connection.execute(
                sa.update(MESSAGES).where(MESSAGES.c.message_id == message_id).values(status=status)
            )
        if result.rowcount != 1:
            raise NotFound(f"message {message_id} does not exist")

    def quarantine(self, *, message_id: int, reasons: list[dict[str, str]]) -> int:
        """Quarantine a message with reasons ``[{"code", "field", "text"}]``; returns the quarantine id."""
        with self._transaction() as connection:
            connection.execute(
                sa.update(MESSAGES).where(MESSAGES.c.message_id == message_id).values(status="quarantined")
            )
            return int(
                connection.execute(
                    sa.insert(QUARANTINE).returning(QUARANTINE.c.quarantine_id),
                    [
                        {
                            "message_id": message_id,
                            "reasons": reasons,
                            "status": "open",
                            "created_at": self.clock(),
                        }
                    ],
                ).scalar_one()
            )

    def add_review_task(self, *, task: ReviewTaskCreate) -> ReviewTaskPublic:
        """Open a review task for something the rules could not settle."""
        values = {**task.model_dump(), "state": "open", "created_at": self.clock(), "version": 1}
        with self._transaction() as connection:
            row = connection.execute(sa.insert(TASKS).returning(*TASKS.c), [values]).one()
        return ReviewTaskPublic.model_validate(dict(row._mapping))

    def review_tasks(self, *, state: str = "open", kind: str | None = None) -> list[ReviewTaskPublic]:
        """Review tasks in a state (oldest first), optionally of one kind."""
        query = sa.select(TASKS).where(TASKS.c.state == state)
        if kind is not None:
            query = query.where(TASKS.c.kind == kind)
        with self._transaction() as connection:
            rows = connection.execute(query.order_by(TASKS.c.task_id)).all()
        return [ReviewTaskPublic.model_validate(dict(row._mapping)) for row in rows]

    def resolve_review_task(
        self, task_id: int, /, *, resolution: str, version: int, dismissed: bool = False
    ) -> ReviewTaskPublic:
        """Close a task as the session's user if ``version`` is current (else ConflictError)."""
        values = {
            "state": "dismissed" if dismissed else "resolved",
            "assignee": self.user,
            "resolution": resolution,
            "resolved_at": self.clock(),
            "version": version + 1,
        }
        with self._transaction() as connection:
            row = connection.execute(
                sa.update(TASKS)
                .where(TASKS.c.task_id == task_id, TASKS.c.version == version)
                .values(**values)
                .returning(*TASKS.c)
            ).one_or_none()
            if row is None:
                current = connection.execute(
                    sa.select(TASKS.c.version, TASKS.c.assignee).where(TASKS.c.task_id == task_id)
                ).one_or_none()
                if current is None:
                    raise NotFound(f"review task {task_id} does not exist")
                raise ConflictError(
                    f"review task {task_id}: version {version} is stale; current version {current.version} "
                    f"(assignee {current.assignee})"
                )
        return ReviewTaskPublic.model_validate(dict(row._mapping))
