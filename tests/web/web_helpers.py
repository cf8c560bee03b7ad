"""Helpers of the web tests: the seeded person, signing in, reading the CSRF token, a settable clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from oncoreg.web.roles import Role

PASSWORD = "correct horse battery staple"
BASE_URL = "https://testserver"  # cookies are Secure outside development
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Clock:
    """A clock the test sets; registry timestamps and the login throttle read it."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class Seeded:
    """The person the tests look at, with what identifies them."""

    person_id: int
    identifier: str
    first_name: str
    last_name: str
    birth_date: date
    tumour_id: int
    notification_id: int


def user_name_of(role: Role) -> str:
    return str(role).replace("_", "-")


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The session's CSRF token, read from a page's meta tag."""
    response = client.get(path, follow_redirects=False)
    found = CSRF_META.search(response.text)
    assert found is not None, f"no CSRF meta tag on {path} ({response.status_code})"
    return found.group(1)


def sign_in(client: TestClient, user_name: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in; returns the session's CSRF token."""
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"user_name": user_name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/me")
    assert me.status_code == 200
    csrf: str = me.json()["csrf_token"]
    return csrf
