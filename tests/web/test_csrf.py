"""CSRF: every state-changing request needs the session's token (form field or X-CSRF-Token header)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from web_helpers import PASSWORD

from oncoreg.registry import Registry
from oncoreg.web import users
from oncoreg.web.roles import Role


def test_post_without_token_is_refused(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry
) -> None:
    client, _ = client_for(Role.admin)
    response = client.post("/admin/users", data={"user_name": "mallory", "roles": "admin"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert users.user_by_name(registry, user_name="mallory") is None


def test_post_with_wrong_token_is_refused(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry
) -> None:
    client, token = client_for(Role.admin)
    response = client.post("/admin/users", data={"user_name": "mallory", "csrf_token": token[::-1]})
    assert response.status_code == 403
    assert users.user_by_name(registry, user_name="mallory") is None


def test_api_write_needs_header(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry
) -> None:
    client, token = client_for(Role.admin)
    body = {"user_name": "trudy", "roles": ["researcher"]}
    assert client.post("/api/users", json=body).status_code == 403
    created = client.post("/api/users", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
    assert created.json()["user"]["roles"] == ["researcher"]
    assert len(created.json()["password"]) >= 12


def test_login_form_needs_token(anonymous: TestClient) -> None:
    response = anonymous.post("/login", data={"user_name": "admin", "password": PASSWORD})
    assert response.status_code == 403
    assert anonymous.get("/api/me").status_code == 401


def test_token_of_another_session_is_refused(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry
) -> None:
    client, _ = client_for(Role.admin)
    _, other_token = client_for(Role.admin)
    response = client.post("/admin/users", data={"user_name": "mallory", "csrf_token": other_token})
    assert response.status_code == 403
