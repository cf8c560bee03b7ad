"""Local users of the web application: accounts, roles, passwords, sign-in with throttling, history.

Library functions over a :class:`~oncoreg.registry.Registry`'s engine, keyword-only, no web types:

- ``create_user``, ``set_roles``, ``set_active``, ``reset_password`` change accounts and write a
  ``user_event`` row (who, when, what; never a password) in the same transaction;
- ``authenticate`` checks a password and records the attempt in ``login_attempt``; after
  ``policy.max_failures_per_user`` failures for an account (or ``max_failures_per_ip`` for a client
  address) within ``policy.window`` it refuses further attempts until ``policy.lockout`` has passed since
  the last failure, even with the right password;
- ``create_demo_users`` makes one user per role with a generated password, for ``make demo``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from oncoreg.errors import ConflictError, NotFound
from oncoreg.registry import Registry
from oncoreg.registry.audit_tables import LoginAttempt, User, UserEvent, UserRole
from oncoreg.registry.audit_tables import Role as RoleRow
from oncoreg.registry.tables import table_of
from oncoreg.web.errors import SignInFailed, SignInLocked
from oncoreg.web.passwords import generate_password, hash_password, verify_password
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate, UserCreated, UserEventPublic, UserPublic

USERS = table_of(User)
ROLES = table_of(RoleRow)
USER_ROLES = table_of(UserRole)
EVENTS = table_of(UserEvent)
ATTEMPTS = table_of(LoginAttempt)


@dataclass(frozen=True)
class LoginPolicy:
    """Sign-in throttling: how many failures in which window lock an account or an address, for how long."""

    max_failures_per_user: int = 5
    max_failures_per_ip: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


def _roles_of(connection: sa.Connection, user_ids: Iterable[int]) -> dict[int, frozenset[Role]]:
    ids = list(user_ids)
    found: dict[int, set[Role]] = {uid: set() for uid in ids}
    rows = connection.execute(
        sa.select(USER_ROLES.c.user_id, ROLES.c.name)
        .join(ROLES, ROLES.c.role_id == USER_ROLES.c.role_id)
        .where(USER_ROLES.c.user_id.in_(ids))
    )
    for user_id, name in rows:
        found[user_id].add(Role(name))
    return {uid: frozenset(roles) for uid, roles in found.items()}


def _public(row: Any, roles: frozenset[Role]) -> UserPublic:
    return UserPublic(
        user_id=row.user_id,
        user_name=row.user_name,
        full_name=row.full_name,
        active=row.active,
        roles=roles,
        created_at=row.created_at,
    )


def _row(connection: sa.Connection, user_id: int) -> Any:
    row = connection.execute(sa.select(USERS).where(USERS.c.user_id == user_id)).one_or_none()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    return row


def _event(
    connection: sa.Connection, registry: Registry, *, user_id: int, actor: str, action: str, detail: Any
) -> None:
    connection.execute(
        sa.insert(EVENTS).values(
            user_id=user_id, occurred_at=registry.clock(), actor=actor, action=action, detail=detail
        )
    )


def _write_roles(connection: sa.Connection, user_id: int, roles: frozenset[Role]) -> None:
    connection.execute(sa.delete(USER_ROLES).where(USER_ROLES.c.user_id == user_id))
    if roles:
        ids = {
            name: role_id for name, role_id in connection.execute(sa.select(ROLES.c.name, ROLES.c.role_id))
        }
        connection.execute(
            sa.insert(USER_ROLES), [{"user_id": user_id, "role_id": ids[str(role)]} for role in roles]
        )


def stamp_of(password_hash: str | None) -> str:
    """A short fingerprint of the password hash; sessions carry it, so a password reset ends them."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def get_user(registry: Registry, *, user_id: int) -> UserPublic:
    """The user with ``user_id`` (NotFound if absent)."""
    with registry.engine.connect() as connection:
        row = _row(connection, user_id)
        return _public(row, _roles_of(connection, [user_id])[user_id])


def user_by_name(registry: Registry, *, user_name: str) -> UserPublic | None:
    """The user called ``user_name``, or None."""
    with registry.engine.connect() as connection:
        row = connection.execute(sa.select(USERS).where(USERS.c.user_name == user_name)).one_or_none()
        if row is None:
            return None
        return _public(row, _roles_of(connection, [row.user_id])[row.user_id])


def list_users(registry: Registry) -> list[UserPublic]:
    """Every user, by name."""
    with registry.engine.connect() as connection:
        rows = connection.execute(sa.select(USERS).order_by(USERS.c.user_name)).all()
        roles = _roles_of(connection, [row.user_id for row in rows])
        return [_public(row, roles[row.user_id]) for row in rows]


def session_user(registry: Registry, *, user_id: int, stamp: str) -> UserPublic | None:
    """The user a session names if still active and the password unchanged since sign-in, else None."""
    with registry.engine.connect() as connection:
        row = connection.execute(sa.select(USERS).where(USERS.c.user_id == user_id)).one_or_none()
        if row is None or not row.active or stamp_of(row.password_hash) != stamp:
            return None
        return _public(row, _roles_of(connection, [user_id])[user_id])


def session_stamp(registry: Registry, *, user_id: int) -> str:
    """The stamp a new session of ``user_id`` carries."""
    with registry.engine.connect() as connection:
        return stamp_of(_row(connection, user_id).password_hash)


def create_user(registry: Registry, *, actor: str, user: UserCreate) -> UserCreated:
    """Create a user with roles; a password is generated when none is given and returned once."""
    generated = None if user.password else generate_password()
    password_hash = hash_password(user.password or generated or "")
    with registry.engine.begin() as connection:
        exists = connection.execute(
            sa.select(USERS.c.user_id).where(USERS.c.user_name == user.user_name)
        ).first()
        if exists is not None:
            raise ConflictError(f"user name {user.user_name!r} is taken")
        user_id = connection.execute(
            sa.insert(USERS)
            .values(
                user_name=user.user_name,
                full_name=user.full_name,
                password_hash=password_hash,
                active=True,
                created_at=registry.clock(),
            )
            .returning(USERS.c.user_id)
        ).scalar_one()
        _write_roles(connection, user_id, user.roles)
        detail = {"user_name": user.user_name, "roles": sorted(user.roles)}
        _event(connection, registry, user_id=user_id, actor=actor, action="create", detail=detail)
        public = _public(_row(connection, user_id), user.roles)
    return UserCreated(user=public, password=generated)


def set_roles(registry: Registry, *, actor: str, user_id: int, roles: frozenset[Role]) -> UserPublic:
    """Give ``user_id`` exactly ``roles``; history records before and after."""
    with registry.engine.begin() as connection:
        row = _row(connection, user_id)
        before = _roles_of(connection, [user_id])[user_id]
        _write_roles(connection, user_id, roles)
        detail = {"before": sorted(before), "after": sorted(roles)}
        _event(connection, registry, user_id=user_id, actor=actor, action="set_roles", detail=detail)
        return _public(row, roles)


def set_active(registry: Registry, *, actor: str, user_id: int, active: bool) -> UserPublic:
    """Enable or disable an account; a disabled user's sessions end at their next request."""
    with registry.engine.begin() as connection:
        _row(connection, user_id)
        connection.execute(sa.update(USERS).where(USERS.c.user_id == user_id).values(active=active))
        action = "enable" if active else "disable"
        _event(connection, registry, user_id=user_id, actor=actor, action=action, detail=None)
        return _public(_row(connection, user_id), _roles_of(connection, [user_id])[user_id])


def reset_password(registry: Registry, *, actor: str, user_id: int, password: str | None = None) -> str:
    """Set a new password (generated unless given) and return it; the user's sessions end."""
    new_password = password or generate_password()
    password_hash = hash_password(new_password)
    with registry.engine.begin() as connection:
        _row(connection, user_id)
        connection.execute(
            sa.update(USERS).where(USERS.c.user_id == user_id).values(password_hash=password_hash)
        )
        _event(connection, registry, user_id=user_id, actor=actor, action="reset_password", detail=None)
    return new_password


def user_events(registry: Registry, *, user_id: int) -> list[UserEventPublic]:
    """The history of a user account, oldest first."""
    with registry.engine.connect() as connection:
        rows = connection.execute(
            sa.select(EVENTS).where(EVENTS.c.user_id == user_id).order_by(EVENTS.c.event_id)
        )
        return [UserEventPublic.model_validate(dict(row._mapping)) for row in rows]


def _locked_until(
    connection: sa.Connection,
    column: sa.ColumnElement[str],
    value: str,
    *,
    now: datetime,
    limit: int,
    policy: LoginPolicy,
) -> datetime | None:
    """When the lock on ``column == value`` ends, if ``limit`` failures since the window/last success."""
    since = now - policy.window
    last_success = connection.execute(
        sa.select(sa.func.max(ATTEMPTS.c.attempted_at)).where(column == value, ATTEMPTS.c.succeeded)
    ).scalar_one_or_none()
    failures = (
        sa.select(ATTEMPTS.c.attempted_at)
        .where(column == value, sa.not_(ATTEMPTS.c.succeeded), ATTEMPTS.c.attempted_at > since)
        .order_by(ATTEMPTS.c.attempted_at.desc())
        .limit(limit)
    )
    times = [t for t in connection.execute(failures).scalars() if last_success is None or t > last_success]
    if len(times) < limit:
        return None
    end: datetime = times[0] + policy.lockout  # the newest failure (aware UTC) plus the lock-out
    return end if end > now else None


def authenticate(
    registry: Registry, *, user_name: str, password: str, client_ip: str, policy: LoginPolicy
) -> UserPublic:
    """The user if ``password`` is right and neither the account nor the address is locked out.

    Raises :class:`SignInLocked` (with seconds to wait) while locked, :class:`SignInFailed` otherwise.
    """
    now = registry.clock()
    user_name = user_name.strip().lower()[:100]
    with registry.engine.begin() as connection:
        for column, value, limit in (
            (ATTEMPTS.c.user_name, user_name, policy.max_failures_per_user),
            (ATTEMPTS.c.client_ip, client_ip, policy.max_failures_per_ip),
        ):
            until = _locked_until(connection, column, value, now=now, limit=limit, policy=policy)
            if until is not None:
                wait = max(1, int((until - now).total_seconds()))
                raise SignInLocked(
                    f"too many failed sign-ins; try again in {wait // 60 + 1} minutes", retry_after=wait
                )
        row = connection.execute(sa.select(USERS).where(USERS.c.user_name == user_name)).one_or_none()
        ok = verify_password(row.password_hash if row is not None else None, password)
        ok = ok and row is not None and bool(row.active)
        connection.execute(
            sa.insert(ATTEMPTS).values(
                attempted_at=now, user_name=user_name, client_ip=client_ip[:64], succeeded=ok
            )
        )
        if not ok or row is None:
            failed = True
        else:
            failed = False
            public = _public(row, _roles_of(connection, [row.user_id])[row.user_id])
    if failed:
        raise SignInFailed("wrong user name or password")
    return public


def create_demo_users(registry: Registry, *, actor: str) -> dict[str, str]:
    """One user per role, named after the role, with a fresh generated password each call.

    Returns ``{user_name: password}``; the passwords are shown once and stored only as hashes. Existing
    demo users get a new password (so each ``make demo`` prints working credentials).
    """
    passwords: dict[str, str] = {}
    for role in Role:
        name = str(role).replace("_", "-")
        existing = user_by_name(registry, user_name=name)
        if existing is None:
            created = create_user(
                registry,
                actor=actor,
                user=UserCreate(
                    user_name=name, full_name=f"Demo {role.label.lower()}", roles=frozenset({role})
                ),
            )
            assert created.password is not None
            passwords[name] = created.password
        else:
            passwords[name] = reset_password(registry, actor=actor, user_id=existing.user_id)
    return passwords
