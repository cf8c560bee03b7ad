"""Pydantic models of the web API: a schema family per entity (``*Create``, ``*Update``, ``*Public``).

Registry entities (persons, tumours, notifications, access records) use the registry's own schemas
(``oncoreg.registry.schemas``); this module holds the web's own: users, their history, the person view
and the operations endpoints. ``UserPublic`` never carries the password hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oncoreg.registry.schemas import AccessRecord, NotificationPublic, PersonPublic, TumourPublic
from oncoreg.web.roles import Role

UserName = Field(pattern=r"^[a-z][a-z0-9._-]{1,39}$", description="Lower-case login name, 2–40 characters.")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserCreate(_Model):
    """A new user; without a password one is generated and returned once."""

    user_name: str = UserName
    full_name: str | None = Field(None, max_length=200)
    password: str | None = Field(None, min_length=12, max_length=200)
    roles: frozenset[Role] = frozenset()


class UserRolesUpdate(_Model):
    """The complete set of roles a user is to hold."""

    roles: frozenset[Role]


class UserPublic(_Model):
    """A user as the web shows it (no password hash)."""

    user_id: int
    user_name: str
    full_name: str | None
    active: bool
    roles: frozenset[Role]
    created_at: datetime


class UserCreated(_Model):
    """A user just created, with the generated password (shown once, never stored in clear)."""

    user: UserPublic
    password: str | None


class UserEventPublic(_Model):
    """One change of a user account: who, when, what."""

    event_id: int
    user_id: int
    occurred_at: datetime
    actor: str
    action: Literal["create", "set_roles", "disable", "enable", "reset_password"]
    detail: dict[str, Any] | None


class PersonView(_Model):
    """A person with their tumours and the notifications those were built from (identifiable)."""

    person: PersonPublic
    tumours: list[TumourPublic]
    notifications: list[NotificationPublic]


class AccessReport(_Model):
    """The citizen's access report: who accessed the person's data, when, why and how."""

    person: PersonPublic
    records: list[AccessRecord]
    produced_at: datetime
    produced_by: str


class Health(_Model):
    """Liveness: the process answers."""

    status: Literal["ok"]


class Ready(_Model):
    """Readiness: the store answers and its schema is at the revision this code expects."""

    status: Literal["ready", "not ready"]
    database: bool
    revision: str | None
    expected_revision: str | None
