"""Sign-in: cookie flags, wrong passwords, throttling per account and per address, session endings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from web_helpers import PASSWORD, Clock, csrf_of, sign_in

from oncoreg.registry import Registry
from oncoreg.web import users
from oncoreg.web.roles import Role


def _attempt(client: TestClient, user_name: str, password: str) -> int:
    """One sign-in from a fresh session (a client dropping its cookies does not escape the throttle)."""
    client.cookies.clear()
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"user_name": user_name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def test_session_cookie_is_signed_httponly_lax_secure(anonymous: TestClient) -> None:
    token = csrf_of(anonymous)
    response = anonymous.post(
        "/login",
        data={"user_name": "registrar", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("oncoreg_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie
    assert anonymous.get("/api/me").json()["user"]["user_name"] == "registrar"


def test_tampered_cookie_is_not_a_session(anonymous: TestClient) -> None:
    sign_in(anonymous, "admin")
    value = anonymous.cookies["oncoreg_session"]
    payload, rest = value.split(".", 1)
    tampered = ("A" if payload[0] != "A" else "B") + payload[1:] + "." + rest
    anonymous.cookies.clear()
    anonymous.cookies.set("oncoreg_session", tampered)
    assert anonymous.get("/api/me").status_code == 401
    anonymous.cookies.clear()
    anonymous.cookies.set("oncoreg_session", value)
    assert anonymous.get("/api/me").status_code == 200


def test_wrong_password_and_unknown_user_fail_alike(anonymous: TestClient) -> None:
    wrong = anonymous.post(
        "/login",
        data={"user_name": "registrar", "password": "not the password", "csrf_token": csrf_of(anonymous)},
    )
    unknown = anonymous.post(
        "/login", data={"user_name": "nobody", "password": "whatever", "csrf_token": csrf_of(anonymous)}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong user name or password" in wrong.text
    assert "wrong user name or password" in unknown.text
    assert anonymous.get("/api/me").status_code == 401


def test_throttle_locks_account_then_releases(anonymous: TestClient, clock: Clock) -> None:
    for _ in range(3):  # the app fixture allows 3 failures per account
        assert _attempt(anonymous, "statistician", "wrong password!") == 401
    locked = anonymous.post(
        "/login",
        data={"user_name": "statistician", "password": PASSWORD, "csrf_token": csrf_of(anonymous)},
        follow_redirects=False,
    )
    assert locked.status_code == 429  # even the right password is refused while locked
    assert int(locked.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in locked.text
    assert _attempt(anonymous, "researcher", PASSWORD) == 303  # other accounts are not locked
    clock.advance(timedelta(minutes=16))
    assert _attempt(anonymous, "statistician", PASSWORD) == 303


def test_throttle_locks_client_address(anonymous: TestClient) -> None:
    for index in range(6):  # 6 failures per address, spread over accounts
        assert _attempt(anonymous, f"guess{index}", "wrong password!") == 401
    assert _attempt(anonymous, "registrar", PASSWORD) == 429


def test_success_resets_the_account_count(anonymous: TestClient) -> None:
    for _ in range(2):
        assert _attempt(anonymous, "researcher", "wrong password!") == 401
    assert _attempt(anonymous, "researcher", PASSWORD) == 303
    for _ in range(2):
        assert _attempt(anonymous, "researcher", "wrong password!") == 401
    assert _attempt(anonymous, "researcher", PASSWORD) == 303


def test_disabled_account_loses_session_and_cannot_sign_in(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry, accounts: dict[Role, int]
) -> None:
    client, _ = client_for(Role.researcher)
    users.set_active(registry, actor="test", user_id=accounts[Role.researcher], active=False)
    assert client.get("/api/me").status_code == 401
    assert _attempt(client, "researcher", PASSWORD) == 401


def test_password_reset_ends_sessions(
    client_for: Callable[[Role], tuple[TestClient, str]], registry: Registry, accounts: dict[Role, int]
) -> None:
    client, _ = client_for(Role.statistician)
    new = users.reset_password(registry, actor="test", user_id=accounts[Role.statistician])
    assert client.get("/api/me").status_code == 401
    assert _attempt(client, "statistician", new) == 303


def test_sign_out_ends_session(client_for: Callable[[Role], tuple[TestClient, str]]) -> None:
    client, token = client_for(Role.registrar)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/me").status_code == 401


def test_next_must_be_local(anonymous: TestClient) -> None:
    token = csrf_of(anonymous)
    response = anonymous.post(
        "/login",
        data={"user_name": "admin", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_demo_users_one_per_role(registry: Registry, anonymous: TestClient) -> None:
    first = users.create_demo_users(registry, actor="test")
    assert set(first) == {
        "registrar",
        "statistician",
        "screening-coordinator",
        "quality-registry",
        "researcher",
        "admin",
    }
    again = users.create_demo_users(registry, actor="test")
    assert again.keys() == first.keys()
    assert all(again[name] != first[name] for name in first)  # a new password each time
    assert _attempt(anonymous, "quality-registry", again["quality-registry"]) == 303
