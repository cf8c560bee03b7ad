"""Tables of record-keeping and work: history, access log, users and roles, review tasks, edit checks.

``history`` and ``access_log`` are append-only: the service has no update or delete for them, and the
initial migration adds database triggers that reject UPDATE and DELETE on both backends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oncoreg.registry.tables import Base


class History(Base):
    """One change of a person, tumour, notification or tumour–notification link: who, when, why, states."""

    __tablename__ = "history"
    __table_args__ = (sa.Index("ix_history_entity", "entity", "entity_id", "changed_at"),)

    history_id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(20))  # person | tumour | notification | tumour_notification
    entity_id: Mapped[int]
    related_id: Mapped[int | None]  # the notification of a tumour_notification link
    action: Mapped[str] = mapped_column(sa.String(6))  # insert | update | delete
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class AccessLog(Base):
    """One read of identifiable data about a person: who, when, which person, why, through which channel."""

    __tablename__ = "access_log"

    access_id: Mapped[int] = mapped_column(primary_key=True)
    accessed_at: Mapped[datetime]
    user_name: Mapped[str] = mapped_column(sa.String(100))
    person_id: Mapped[int] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str] = mapped_column(sa.String(10))  # cli | web | api | batch


class User(Base):
    """A person who uses oncoreg."""

    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class Role(Base):
    """A role granting a set of permissions (registrar, statistician, ...)."""

    __tablename__ = "roles"

    role_id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    description: Mapped[str] = mapped_column(sa.String(200))


class UserRole(Base):
    """Which user holds which role."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.user_id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(sa.ForeignKey("roles.role_id"), primary_key=True)


class LoginAttempt(Base):
    """One sign-in attempt through the web (migration 0003): account name, client address, outcome."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_user_name", "user_name", "attempted_at"),
        sa.Index("ix_login_attempt_client_ip", "client_ip", "attempted_at"),
    )

    attempt_id: Mapped[int] = mapped_column(primary_key=True)
    attempted_at: Mapped[datetime]
    user_name: Mapped[str] = mapped_column(sa.String(100))
    client_ip: Mapped[str] = mapped_column(sa.String(64))
    succeeded: Mapped[bool]


class UserEvent(Base):
    """One change of a user account (migration 0003): created, roles set, disabled, password reset..."""

    __tablename__ = "user_event"

    event_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.user_id"), index=True)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(20))
    detail: Mapped[dict[str, Any] | None]


class ReviewTask(Base):
    """Something the rules could not settle, waiting for a registrar."""

    __tablename__ = "review_task"
    __table_args__ = (
        sa.Index("ix_review_task_state", "state", "kind"),
        sa.Index("ix_review_task_subject", "subject_type", "subject_id"),
    )

    task_id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str] = mapped_column(sa.String(20))  # person | tumour | notification | message
    subject_id: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(10))  # open | assigned | resolved | dismissed
    assignee: Mapped[str | None] = mapped_column(sa.String(100))
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    details: Mapped[dict[str, Any] | None]  # migration 0004: candidates, conflicting values, notifications


class CheckResult(Base):
    """The outcome of one edit-check rule on one tumour."""

    __tablename__ = "check_result"

    check_result_id: Mapped[int] = mapped_column(primary_key=True)
    tumour_id: Mapped[int] = mapped_column(sa.ForeignKey("tumour.tumour_id"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(40))
    rule_version: Mapped[str] = mapped_column(sa.String(20))
    result: Mapped[str] = mapped_column(sa.String(8))  # ok | query | rare | invalid
    message: Mapped[str | None] = mapped_column(sa.Text)
    checked_at: Mapped[datetime]


class CheckOverride(Base):
    """A reviewer's acceptance of a 'query' or 'rare' result, with the reason."""

    __tablename__ = "check_override"

    override_id: Mapped[int] = mapped_column(primary_key=True)
    tumour_id: Mapped[int] = mapped_column(sa.ForeignKey("tumour.tumour_id"), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(40))
    rule_version: Mapped[str] = mapped_column(sa.String(20))
    reviewer: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
