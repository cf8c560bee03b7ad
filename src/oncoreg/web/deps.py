"""Dependencies: the registry, the signed-in user, declarative role checks, CSRF, the stated purpose.

Every route declares who may use it, either ``Depends(require(Role.registrar, ...))`` (signed in and holding
one of the roles; ``require()`` with no roles = any signed-in user) or ``Depends(public())``. The route walk
test fails on a route that declares neither. Use the aliases in signatures::

    @router.get("/things")
    def things(user: Annotated[UserPublic, Depends(require(Role.statistician))], registry: RegistryDep): ...
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.registry import Registry
from oncoreg.web import users
from oncoreg.web.errors import CsrfRejected, RoleRequired, SignInRequired
from oncoreg.web.roles import ALL_ROLES, Role
from oncoreg.web.schemas import UserPublic
from oncoreg.web.security import CSRF_FIELD, CSRF_HEADER, UNSAFE_METHODS, csrf_matches, session_identity

PURPOSE_HEADER = "X-Oncoreg-Purpose"
MAX_ID = 2_147_483_647  # surrogate keys are 32-bit integers on both backends
MAX_PURPOSE = 500


def get_registry(request: Request) -> Registry:
    """The app's registry service."""
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


def optional_user(request: Request, registry: RegistryDep) -> UserPublic | None:
    """The signed-in user, or None (no session, account disabled, or password changed since sign-in)."""
    identity = session_identity(request)
    if identity is None:
        return None
    user = users.session_user(registry, user_id=identity[0], stamp=identity[1])
    if user is None:
        request.session.clear()
    request.state.user = user
    return user


def current_user(user: Annotated[UserPublic | None, Depends(optional_user)]) -> UserPublic:
    """The signed-in user; without one the request is refused (401 / redirect to the login page)."""
    if user is None:
        raise SignInRequired("sign in first")
    return user


class require:  # noqa: N801  (reads as a declaration: Depends(require(Role.admin)))
    """A dependency allowing signed-in users holding any of ``roles`` (no roles: any signed-in user)."""

    def __init__(self, *roles: Role) -> None:
        self.roles: frozenset[Role] = frozenset(roles) or ALL_ROLES

    def __call__(self, user: Annotated[UserPublic, Depends(current_user)]) -> UserPublic:
        if not self.roles & user.roles:
            allowed = ", ".join(sorted(role.label for role in self.roles))
            raise RoleRequired(f"this page needs one of the roles: {allowed}")
        return user

    def __repr__(self) -> str:
        return f"require({', '.join(sorted(self.roles))})"


class public:  # noqa: N801
    """A dependency declaring a route open to everyone (login page, health checks, static files)."""

    def __call__(self) -> None:
        return None


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request unless it carries the session's CSRF token (form field or header)."""
    if request.method not in UNSAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_matches(request, given):
        raise CsrfRejected(
            "the form has expired or did not come from this site (CSRF token missing or wrong)"
        )


def clean_purpose(purpose: str | None) -> str:
    """The stated purpose of a read of identifiable data, trimmed; refused when empty."""
    text = " ".join((purpose or "").split())[:MAX_PURPOSE]
    if not text:
        raise ValidationFailed(
            [Problem("purpose", "", "access.purpose", "state why you need this person's data")]
        )
    return text


def header_purpose(purpose: Annotated[str | None, Header(alias=PURPOSE_HEADER)] = None) -> str:
    """The purpose an API client states in the ``X-Oncoreg-Purpose`` header."""
    return clean_purpose(purpose)


Registrar = Annotated[UserPublic, Depends(require(Role.registrar))]
Admin = Annotated[UserPublic, Depends(require(Role.admin))]
AnyUser = Annotated[UserPublic, Depends(require())]
Purpose = Annotated[str, Depends(header_purpose)]
PersonId = Annotated[int, Path(ge=1, le=MAX_ID, description="Registry person id.")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="User id.")]
