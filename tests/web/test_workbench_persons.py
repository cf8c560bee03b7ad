"""Merging and splitting persons in the workbench (SQLite and PostgreSQL): registrar only, CSRF, a required
reason, 409 on a stale version, tumours re-consolidated and the history written."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import Seeded

from oncoreg.registry import Registry
from oncoreg.registry.schemas import NotificationCreate, PersonCreate, PersonUpdate
from oncoreg.registry.tables import Person, Tumour, table_of
from oncoreg.web.roles import Role

Client = Callable[[Role], tuple[TestClient, str]]
VERSIONS = re.compile(r'name="(keep_version|retire_version|version)" value="(\d+)"')
PERSONS = table_of(Person)
TUMOURS = table_of(Tumour)


@pytest.fixture
def twin(registry: Registry, seeded: Seeded) -> int:
    """A second record of the seeded woman: a clinical notification of the same breast tumour (no tumour
    stored yet, as a fresh linkage left it), and a colon pathology report."""
    with registry.session(user="fixture", purpose="test set-up", channel="batch") as reg:
        person = reg.add_person(
            person=PersonCreate(first_name="Eva", last_name="Berg", birth_date=date(1986, 10, 15), sex=2),
            reason="linkage created a person",
        )
        reg.add_notifications(
            notifications=[
                NotificationCreate(
                    source_type="clinical",
                    person_id=person.person_id,
                    diagnosis_date=date(2024, 2, 10),
                    topography="C50.4",
                    morphology="8500",
                    behaviour=3,
                    basis=5,
                ),
                NotificationCreate(
                    source_type="pathology",
                    person_id=person.person_id,
                    sample_date=date(2024, 6, 1),
                    topography="C18.7",
                    morphology="8140",
                    behaviour=3,
                    basis=7,
                ),
            ],
            reason="ingest",
        )
    return person.person_id


def _versions(html: str) -> dict[str, str]:
    return dict(VERSIONS.findall(html))


def _topographies(registry: Registry, person_id: int) -> list[str]:
    with registry.engine.connect() as connection:
        query = sa.select(TUMOURS.c.topography).where(TUMOURS.c.person_id == person_id)
        return sorted(connection.execute(query).scalars())


def test_registrar_merges_with_a_reason(
    client_for: Client, registry: Registry, seeded: Seeded, twin: int
) -> None:
    client, token = client_for(Role.registrar)
    page = client.get(f"/workbench/persons/merge?keep={seeded.person_id}&retire={twin}")
    assert page.status_code == 200
    assert seeded.first_name not in page.text
    assert seeded.identifier not in page.text
    versions = _versions(page.text)
    form = {
        "keep": seeded.person_id,
        "retire": twin,
        "keep_version": versions["keep_version"],
        "retire_version": versions["retire_version"],
        "csrf_token": token,
    }
    assert client.post("/workbench/persons/merge", data={**form, "reason": " "}).status_code == 422
    without_csrf = {k: v for k, v in form.items() if k != "csrf_token"}
    assert client.post("/workbench/persons/merge", data={**without_csrf, "reason": "x"}).status_code == 403

    done = client.post(
        "/workbench/persons/merge",
        data={**form, "reason": "same woman, D-number record"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _topographies(registry, seeded.person_id) == ["C18.7", "C50.4"]  # one breast tumour, one colon
    assert _topographies(registry, twin) == []
    with registry.engine.connect() as connection:
        merged_into = connection.execute(
            sa.select(PERSONS.c.merged_into).where(PERSONS.c.person_id == twin)
        ).scalar_one()
    assert merged_into == seeded.person_id
    with registry.session(user="registrar", purpose="check the merge", channel="batch") as reg:
        last = reg.history(entity="person", entity_id=twin)[-1]
    assert (last.changed_by, last.reason) == ("registrar", "same woman, D-number record")

    stale = client.post("/workbench/persons/merge", data={**form, "reason": "again"})
    assert stale.status_code in (409, 422)  # versions moved on (409) or already merged (422)


def test_stale_version_is_a_409_naming_who(
    client_for: Client, registry: Registry, seeded: Seeded, twin: int
) -> None:
    client, token = client_for(Role.registrar)
    versions = _versions(client.get(f"/workbench/persons/merge?keep={seeded.person_id}&retire={twin}").text)
    with registry.session(user="colleague", channel="batch") as reg:
        reg.update_person(twin, changes=PersonUpdate(last_name="Berg-Olsen"), version=1, reason="name change")
    response = client.post(
        "/workbench/persons/merge",
        data={
            "keep": seeded.person_id,
            "retire": twin,
            "keep_version": versions["keep_version"],
            "retire_version": versions["retire_version"],
            "reason": "same woman",
            "csrf_token": token,
        },
    )
    assert response.status_code == 409
    assert "colleague" in response.text
    assert _topographies(registry, seeded.person_id) == ["C50.4"]


def test_registrar_splits_a_person(client_for: Client, registry: Registry, twin: int) -> None:
    client, token = client_for(Role.registrar)
    page = client.get(f"/workbench/persons/{twin}/split")
    assert page.status_code == 200
    ids = [int(n) for n in re.findall(r'name="notification_id" value="(\d+)"', page.text)]
    assert len(ids) == 2
    done = client.post(
        f"/workbench/persons/{twin}/split",
        data={
            "version": _versions(page.text)["version"],
            "notification_id": [ids[1]],
            "reason": "colon report is another person's",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _topographies(registry, twin) == ["C50.4"]
    assert _topographies(registry, ids[1]) == ["C18.7"]  # new person numbered by its lowest notification


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.registrar])
def test_other_roles_may_not_merge(client_for: Client, seeded: Seeded, twin: int, role: Role) -> None:
    client, token = client_for(role)
    assert client.get(f"/workbench/persons/merge?keep={seeded.person_id}&retire={twin}").status_code == 403
    response = client.post(
        "/workbench/persons/merge",
        data={
            "keep": seeded.person_id,
            "retire": twin,
            "keep_version": 1,
            "retire_version": 1,
            "reason": "x",
            "csrf_token": token,
        },
    )
    assert response.status_code == 403


def test_registrar_settles_a_linkage_task_by_choosing_a_candidate(
    client_for: Client, registry: Registry, seeded: Seeded
) -> None:
    from oncoreg.pipeline import persons_edit
    from oncoreg.registry.schemas import ReviewTaskCreate

    with registry.session(user="fixture", purpose="test set-up", channel="batch") as reg:
        (note,) = reg.add_notifications(
            notifications=[
                NotificationCreate(
                    source_type="pathology",
                    sample_date=date(2024, 6, 1),
                    topography="C18.7",
                    morphology="8140",
                    behaviour=3,
                    basis=7,
                )
            ],
            reason="ingest",
        )
        task = reg.add_review_task(
            task=ReviewTaskCreate(
                kind="linkage",
                subject_type="notification",
                subject_id=note.notification_id,
                reason="best candidate between the review and match thresholds",
                details={"candidates": [{"person_id": seeded.person_id, "match_probability": 0.97}]},
            )
        )
    client, token = client_for(Role.registrar)
    page = client.get(f"/workbench/tasks/{task.task_id}")
    assert 'id="link-form"' in page.text
    assert f'value="{seeded.person_id}"' in page.text
    form = {"version": str(task.version), "person": str(seeded.person_id), "csrf_token": token}
    assert (
        client.post(f"/workbench/tasks/{task.task_id}/link", data={**form, "reason": " "}).status_code == 422
    )
    done = client.post(
        f"/workbench/tasks/{task.task_id}/link", data={**form, "reason": "same woman"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert _topographies(registry, seeded.person_id) == ["C18.7", "C50.4"]
    with registry.session(user="k", channel="batch") as reg:
        (closed,) = [t for t in reg.review_tasks(state="resolved") if t.task_id == task.task_id]
    assert "same woman" in (closed.resolution or "")
    decision = persons_edit.decisions(registry)[-1]
    assert (decision["kind"], decision["notification_id"]) == ("link", note.notification_id)
    again = client.post(f"/workbench/tasks/{task.task_id}/link", data={**form, "reason": "again"})
    assert again.status_code == 409
