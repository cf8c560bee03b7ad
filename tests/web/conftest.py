"""Web fixtures: an app over a migrated store (SQLite and PostgreSQL), one signed-in client per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import BASE_URL, PASSWORD, Clock, Seeded, sign_in, user_name_of

from oncoreg.config import Settings, load_settings
from oncoreg.registry import Registry
from oncoreg.registry.schemas import NotificationCreate, PersonCreate, TumourCreate
from oncoreg.web import passwords, users
from oncoreg.web.app import create_app
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate
from oncoreg.web.users import LoginPolicy


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: the tests sign in hundreds of times (production keeps RFC 9106)."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environment="test", secret_key="test-secret-" + "k" * 32, data_dir=tmp_path)


@pytest.fixture
def registry(database_url: str, clock: Clock) -> Iterator[Registry]:
    store = Registry.create(database_url, clock=clock)
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture
def accounts(registry: Registry) -> dict[Role, int]:
    """One user per role (named after the role), password ``PASSWORD``."""
    made = {}
    for role in Role:
        created = users.create_user(
            registry,
            actor="fixture",
            user=UserCreate(user_name=user_name_of(role), password=PASSWORD, roles=frozenset({role})),
        )
        made[role] = created.user.user_id
    return made


@pytest.fixture
def seeded(registry: Registry) -> Seeded:
    """Eva Berg, born 15 Oct 1986, with one breast tumour built from one pathology notification."""
    with registry.session(user="fixture", purpose="test set-up", channel="batch") as reg:
        person = reg.add_person(
            person=PersonCreate(
                identifier="15108695088",
                first_name="Evangeline",
                last_name="Bergersen",
                birth_date=date(1986, 10, 15),
                sex=2,
            ),
            reason="population register",
        )
        (notification,) = reg.add_notifications(
            notifications=[
                NotificationCreate(
                    source_type="pathology",
                    person_id=person.person_id,
                    institution="Oslo universitetssykehus",
                    sample_date=date(2024, 2, 3),
                    topography="C50.4",
                    morphology="8500",
                    behaviour=3,
                    basis=7,
                )
            ],
            reason="ingest",
        )
        tumour = reg.add_tumour(
            tumour=TumourCreate(
                person_id=person.person_id,
                incidence_date=date(2024, 2, 3),
                topography="C50.4",
                morphology="8500",
                behaviour=3,
                basis=7,
            ),
            reason="consolidation",
        )
        reg.link_tumour_notification(
            tumour_id=tumour.tumour_id, notification_id=notification.notification_id, reason="consolidation"
        )
    return Seeded(
        person_id=person.person_id,
        identifier="15108695088",
        first_name="Evangeline",
        last_name="Bergersen",
        birth_date=date(1986, 10, 15),
        tumour_id=tumour.tumour_id,
        notification_id=notification.notification_id,
    )


@pytest.fixture
def app(settings: Settings, registry: Registry, accounts: dict[Role, int]) -> FastAPI:
    policy = LoginPolicy(max_failures_per_user=3, max_failures_per_ip=6)
    return create_app(settings=settings, registry=registry, login_policy=policy)


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[Role], tuple[TestClient, str]]]:
    """A factory: a client signed in as the user of a role, and its CSRF token."""
    opened: list[TestClient] = []

    def make(role: Role) -> tuple[TestClient, str]:
        client = TestClient(app, base_url=BASE_URL)
        opened.append(client)
        return client, sign_in(client, user_name_of(role))

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as client:
        yield client
