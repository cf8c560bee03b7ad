"""The admin pages: create users, set roles (htmx partial), disable, reset password; history kept."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from oncoreg.registry import Registry
from oncoreg.web import users
from oncoreg.web.roles import Role


def test_create_user_shows_password_once_and_records_history(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry
) -> None:
    client, token = client_for(Role.admin)
    page = client.post(
        "/admin/users",
        data={
            "user_name": "nina",
            "full_name": "Nina Nilsen",
            "roles": ["registrar", "researcher"],
            "csrf_token": token,
        },
    )
    assert page.status_code == 201
    shown = re.search(r"<code>([^<]+)</code>", page.text)
    assert shown is not None
    created = users.user_by_name(registry, user_name="nina")
    assert created is not None
    assert created.roles == {Role.registrar, Role.researcher}
    assert shown.group(1) not in client.get(f"/admin/users/{created.user_id}").text  # shown once only
    events = users.user_events(registry, user_id=created.user_id)
    assert [(e.action, e.actor) for e in events] == [("create", "admin")]


def test_set_roles_by_htmx_returns_partial(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry, accounts: dict[Role, int]
) -> None:
    client, token = client_for(Role.admin)
    target = accounts[Role.researcher]
    response = client.post(
        f"/admin/users/{target}/roles",
        data={"roles": ["statistician"]},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="roles-panel">')
    assert "<html" not in response.text
    assert users.get_user(registry, user_id=target).roles == {Role.statistician}
    history = client.get(f"/api/users/{target}/history").json()
    assert history[-1]["action"] == "set_roles"
    assert history[-1]["detail"] == {"before": ["researcher"], "after": ["statistician"]}


def test_disable_enable_and_reset(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry, accounts: dict[Role, int]
) -> None:
    client, token = client_for(Role.admin)
    target = accounts[Role.statistician]
    client.post(f"/admin/users/{target}/disable", data={"csrf_token": token})
    assert users.get_user(registry, user_id=target).active is False
    client.post(f"/admin/users/{target}/enable", data={"csrf_token": token})
    assert users.get_user(registry, user_id=target).active is True
    page = client.post(f"/admin/users/{target}/password", data={"csrf_token": token})
    assert 'id="new-password"' in page.text
    actions = [e.action for e in users.user_events(registry, user_id=target)]
    assert actions == ["create", "disable", "enable", "reset_password"]
    assert "password" not in str([e.detail for e in users.user_events(registry, user_id=target)])


def test_duplicate_user_name_is_409(client_for: Callable[[Role], tuple[TestClient, str]]) -> None:
    client, token = client_for(Role.admin)
    response = client.post("/api/users", json={"user_name": "admin"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 409
    assert "taken" in response.json()["detail"]


def test_user_history_is_append_only(registry: Registry, accounts: dict[Role, int]) -> None:
    import pytest
    import sqlalchemy as sa

    with pytest.raises(sa.exc.DBAPIError, match="append-only"), registry.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM user_event"))
