"""Every route declares who may use it, and the declaration is enforced for every role.

The walk enumerates ``app.routes`` (through FastAPI's included routers), reads each route's declared
roles from its ``require(...)`` or ``public()`` dependency, and calls it as every role and as nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from web_helpers import Seeded, csrf_of

from oncoreg.web.app import STATIC_PATH
from oncoreg.web.deps import public, require
from oncoreg.web.roles import ALL_ROLES, Role

IDENTIFIABLE = ("/persons", "/api/persons")
MAY_SEE_IDENTIFIABLE = frozenset({Role.registrar, Role.admin})


def _declarations(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, require | public):
            yield sub.call
        yield from _declarations(sub)


def api_routes(app: FastAPI) -> list[tuple[str, str, frozenset[Role] | None]]:
    """(method, path, allowed roles or None for public) of every route."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            assert route.path == STATIC_PATH, f"unexpected mount {route.path}"
            continue
        declared = list(_declarations(context.dependant))
        assert len(declared) == 1, f"{context.path} must declare require(...) or public() exactly once"
        roles = declared[0].roles if isinstance(declared[0], require) else None
        found.extend((method, str(context.path), roles) for method in sorted(context.methods or ()))
    return found


def _url(path: str, seeded: Seeded, target_user: int) -> str:
    return (
        path.replace("{person_id}", str(seeded.person_id))
        .replace("{user_id}", str(target_user))
        .replace("{tumour_id}", str(seeded.tumour_id))
        .replace("{task_id}", "1")
        .replace("{message_id}", "1")
    )  # workbench


def _call(client: TestClient, method: str, url: str, token: str) -> int:
    headers = {"X-CSRF-Token": token, "X-Oncoreg-Purpose": "route walk"}
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PUT"):
        kwargs["data"] = {"purpose": "route walk"}
    return client.request(method, url, **kwargs).status_code


def test_every_route_declares_roles(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) >= 20
    public_paths = {path for _, path, roles in routes if roles is None}
    assert public_paths == {"/health", "/ready", "/login", "/logout"}


def test_identifiable_routes_are_limited(app: FastAPI) -> None:
    for method, path, roles in api_routes(app):
        if path.startswith(IDENTIFIABLE):
            assert roles is not None, (method, path)
            assert roles <= MAY_SEE_IDENTIFIABLE, (method, path, roles)


@pytest.mark.parametrize("role", list(Role))
def test_walk_every_route_as_role(
    app: FastAPI,
    role: Role,
    client_for: Callable[[Role], tuple[TestClient, str]],
    seeded: Seeded,
    accounts: dict[Role, int],
) -> None:
    client, token = client_for(role)
    target = accounts[Role.researcher] if role is not Role.researcher else accounts[Role.statistician]
    checked = 0
    for method, path, roles in api_routes(app):
        if roles is None:
            continue  # public routes: walked anonymously below (/logout would end this session)
        status = _call(client, method, _url(path, seeded, target), token)
        if role in roles:
            assert status not in (401, 403), f"{role} refused on {method} {path}: {status}"
        else:
            assert status == 403, f"{role} not refused on {method} {path}: {status}"
        checked += 1
    assert checked >= 20
    assert client.get("/api/me").status_code == 200  # still signed in after the walk


def test_walk_every_route_signed_out(app: FastAPI, anonymous: TestClient, seeded: Seeded) -> None:
    token = csrf_of(anonymous)
    for method, path, roles in api_routes(app):
        if path in ("/logout", "/login"):
            continue
        response = anonymous.request(
            method,
            _url(path, seeded, 1),
            headers={"X-CSRF-Token": token},
            data={"purpose": "x"} if method in ("POST", "PUT") else None,
            follow_redirects=False,
        )
        if roles is None:
            assert response.status_code == 200, (method, path)
        elif path.startswith("/api/") or path == "/openapi.json":
            assert response.status_code == 401, (method, path)
            assert response.json()["detail"] == "sign in first"
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=/")


def test_all_roles_cover_design(app: FastAPI) -> None:
    declared = {role for _, _, roles in api_routes(app) if roles for role in roles}
    assert declared == ALL_ROLES
