"""The registrar workbench over a store seeded through the registry service and a real ingest run
(SQLite and PostgreSQL): queue with filters and assignment, tasks resolved with a reason, tumour view,
edits with history and as-of, conflicts, overrides, quarantine corrections."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import BASE_URL, PASSWORD, Clock, Seeded, sign_in

from oncoreg.ingest import ingest_directory
from oncoreg.registry import Registry
from oncoreg.registry.schemas import ReviewTaskCreate
from oncoreg.web import users
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate
from oncoreg.web.workbench.queue import CHECKS

Client = Callable[[Role], tuple[TestClient, str]]
VERSION = re.compile(r'name="version" value="(\d+)"')
GOOD_ROW = "GEN-1,clinical,2024-02-10,2024-02-01,C50.4,8500,3,7,15108695088,2,OUS"
BAD_ROW = "GEN-2,clinical,2024-02-10,01.02.2024,C50.4,8500,3,7,15108695088,2,OUS"
HEADER = (
    "message_id,source_type,received_date,event_date,topography,morphology,behaviour,basis,"
    "given_identifier,given_sex,institution"
)


@pytest.fixture
def work(registry: Registry, seeded: Seeded, tmp_path: Path) -> dict[str, int]:
    """A conflict task on the seeded tumour, a rare and an invalid finding, one quarantined message."""
    with registry.session(user="pipeline", channel="batch") as reg:
        task = reg.add_review_task(
            task=ReviewTaskCreate(
                kind="subsite_conflict",
                subject_type="tumour",
                subject_id=seeded.tumour_id,
                reason="notifications disagree on subsite: 4 vs 1",
                details={"values": ["4", "1"], "notifications": [seeded.notification_id]},
            )
        )
        reg.add_review_task(
            task=ReviewTaskCreate(
                kind="dco_traceback",
                subject_type="person",
                subject_id=seeded.person_id,
                reason="death certificate C50 without a tumour",
            )
        )
    with registry.engine.begin() as connection:
        connection.execute(
            sa.insert(CHECKS),
            [
                {
                    "tumour_id": seeded.tumour_id,
                    "rule_id": rule,
                    "rule_version": "1",
                    "result": result,
                    "message": text,
                    "checked_at": registry.clock(),
                }
                for rule, result, text in (
                    ("age-histology", "rare", "morphology 8500/3 is rare at age 37"),
                    ("grade-behaviour", "invalid", "behaviour /2 needs grade 9, got 2"),
                )
            ],
        )
    feed = tmp_path / "inbox" / "messages" / "generic" / "2024"
    feed.mkdir(parents=True)
    (feed / "feed.csv").write_text("\n".join([HEADER, GOOD_ROW, BAD_ROW]) + "\n")
    report = ingest_directory(registry=registry, directory=tmp_path / "inbox", user="ingest")
    assert report.quarantined == 1
    with registry.engine.connect() as connection:
        quarantined = connection.execute(sa.text("SELECT message_id FROM quarantine")).scalar_one()
    return {"task_id": task.task_id, "message_id": int(quarantined)}


def _version(html: str, form_action: str) -> str:
    part = html[html.index(f'action="{form_action}"') :]
    found = VERSION.search(part)
    assert found is not None
    return found.group(1)


def test_only_registrars_use_the_workbench(client_for: Client, work: dict[str, int]) -> None:
    admin, _ = client_for(Role.admin)
    assert admin.get("/workbench").status_code == 403
    registrar, _ = client_for(Role.registrar)
    page = registrar.get("/workbench")
    assert page.status_code == 200
    assert 'href="/workbench"' in page.text  # in the navigation


def test_queue_filters_and_assignment(client_for: Client, work: dict[str, int]) -> None:
    client, token = client_for(Role.registrar)
    client.follow_redirects = False
    everything = client.get("/workbench").text
    assert "notifications disagree on subsite" in everything
    assert "DCO trace-back" in everything
    only = client.get("/workbench", params={"kind": "dco_traceback"}).text
    assert "notifications disagree on subsite" not in only
    assert "death certificate C50" in only
    task_url = f"/workbench/tasks/{work['task_id']}"
    version = _version(client.get(task_url).text, f"{task_url}/assign")
    taken = client.post(f"{task_url}/assign", data={"version": version, "to": "me", "csrf_token": token})
    assert taken.status_code == 303
    mine = client.get("/workbench", params={"assignee": "me"}).text
    assert "notifications disagree on subsite" in mine
    assert "death certificate C50" not in mine
    unassigned = client.get("/workbench", params={"assignee": "unassigned"}).text
    assert "notifications disagree on subsite" not in unassigned
    stale = client.post(f"{task_url}/assign", data={"version": version, "to": "me", "csrf_token": token})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    assert "registrar" in stale.text
    findings = client.get("/workbench", params={"show": "findings"}).text
    assert "age-histology" in findings
    assert "grade-behaviour" in findings
    quarantine = client.get("/workbench", params={"show": "quarantine"}).text
    assert f"message {work['message_id']}" in quarantine
    assert "not a valid date" in quarantine


def test_resolve_task_with_reason_and_see_it_in_history(
    client_for: Client, work: dict[str, int], seeded: Seeded
) -> None:
    client, token = client_for(Role.registrar)
    client.follow_redirects = False
    task_url = f"/workbench/tasks/{work['task_id']}"
    version = _version(client.get(task_url).text, f"{task_url}/resolve")
    refused = client.post(
        f"{task_url}/resolve", data={"version": version, "reason": " ", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert "state the reason" in refused.text
    done = client.post(
        f"{task_url}/resolve",
        data={"version": version, "reason": "pathology subsite C50.4 confirmed", "csrf_token": token},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/workbench/tumours/{seeded.tumour_id}/history"
    history = client.get(done.headers["location"]).text
    assert "pathology subsite C50.4 confirmed" in history
    assert f"review task {work['task_id']} (subsite_conflict) resolved" in history
    again = client.post(
        f"{task_url}/resolve", data={"version": version, "reason": "twice", "csrf_token": token}
    )
    assert again.status_code == 409
    assert "already resolved by registrar" in again.text
    assert "notifications disagree" not in client.get("/workbench").text


def test_tumour_view_shows_notifications_side_by_side(
    client_for: Client, work: dict[str, int], seeded: Seeded
) -> None:
    client, _ = client_for(Role.registrar)
    page = client.get(f"/workbench/tumours/{seeded.tumour_id}").text
    comparison = page[page.index('id="comparison"') :]
    assert f"#{seeded.notification_id}" in comparison
    assert '<td class="src">C50.4</td>' in comparison  # the pathology notification supports the topography
    assert '<td class="src">2024-02-03</td>' in comparison  # and the incidence date (its sample date)
    assert seeded.last_name not in page  # coded fields only
    assert seeded.identifier not in page
    assert "Override" in page  # the rare finding
    assert "correct the data" in page  # the invalid one


def test_edit_needs_a_reason_is_recorded_and_seen_as_of(
    client_for: Client, work: dict[str, int], seeded: Seeded, clock: Clock
) -> None:
    client, token = client_for(Role.registrar)
    client.follow_redirects = False
    url = f"/workbench/tumours/{seeded.tumour_id}"
    version = _version(client.get(url).text, url)
    clock.advance(timedelta(minutes=1))
    before_edit = clock.now.isoformat(timespec="seconds").replace("+00:00", "")
    form = {"version": version, "topography": "C50.2", "csrf_token": token}
    assert client.post(url, data={**form, "reason": ""}).status_code == 422
    bad = client.post(url, data={**form, "topography": "C5", "reason": "typo"})
    assert bad.status_code == 422
    assert "topography" in bad.text
    clock.advance(timedelta(minutes=5))
    saved = client.post(url, data={**form, "reason": "subsite from the pathology report"})
    assert saved.status_code == 303
    assert "C50.2" in client.get(url).text
    history = client.get(f"{url}/history").text
    assert "subsite from the pathology report" in history
    assert "topography: C50.4 → <strong>C50.2</strong>" in history
    then = client.get(f"{url}/history", params={"as_of": before_edit}).text
    state = then[then.index('id="as-of-state"') : then.index('id="decisions"')]
    assert "C50.4" in state
    assert "C50.2" not in state
    assert "did not exist" in client.get(f"{url}/history", params={"as_of": "2000-01-01"}).text


def test_concurrent_edits_give_a_conflict_naming_who(
    app: object, registry: Registry, client_for: Client, work: dict[str, int], seeded: Seeded
) -> None:
    users.create_user(
        registry,
        actor="test",
        user=UserCreate(user_name="anne", password=PASSWORD, roles=frozenset({Role.registrar})),
    )
    kari, kari_token = client_for(Role.registrar)
    kari.follow_redirects = False
    with TestClient(app, base_url=BASE_URL) as anne:  # type: ignore[arg-type]
        anne_token = sign_in(anne, "anne")
        anne.follow_redirects = False
        url = f"/workbench/tumours/{seeded.tumour_id}"
        kari_version = _version(kari.get(url).text, url)
        anne_version = _version(anne.get(url).text, url)
        assert kari_version == anne_version
        first = anne.post(
            url,
            data={
                "version": anne_version,
                "grade": "2",
                "reason": "grade from report",
                "csrf_token": anne_token,
            },
        )
        assert first.status_code == 303
    second = kari.post(
        url, data={"version": kari_version, "grade": "3", "reason": "my grade", "csrf_token": kari_token}
    )
    assert second.status_code == 409
    assert "Not saved: conflict" in second.text
    assert "written by anne" in second.text
    assert "grade from report" in second.text
    assert 'value="3"' in second.text  # the registrar's attempt is kept in the form
    with registry.session(user="test", channel="batch") as reg:
        tumour = reg.tumour(seeded.tumour_id)
    assert tumour is not None  # never silently overwritten
    assert tumour.grade == 2


def test_override_rare_finding_but_not_invalid(
    client_for: Client, work: dict[str, int], seeded: Seeded
) -> None:
    client, token = client_for(Role.registrar)
    client.follow_redirects = False
    url = f"/workbench/tumours/{seeded.tumour_id}/override"
    invalid = client.post(url, data={"rule_id": "grade-behaviour", "reason": "fine", "csrf_token": token})
    assert invalid.status_code == 422
    assert "cannot be overridden" in invalid.text
    done = client.post(
        url, data={"rule_id": "age-histology", "reason": "confirmed by the clinician", "csrf_token": token}
    )
    assert done.status_code == 303
    page = client.get(f"/workbench/tumours/{seeded.tumour_id}").text
    assert "overridden by registrar: confirmed by the clinician" in page
    again = client.post(url, data={"rule_id": "age-histology", "reason": "again", "csrf_token": token})
    assert again.status_code == 409
    findings = client.get("/workbench", params={"show": "findings"}).text
    assert "age-histology" not in findings
    assert "grade-behaviour" in findings
    assert (
        "finding age-histology overridden"
        in client.get(f"/workbench/tumours/{seeded.tumour_id}/history").text
    )


def test_fix_and_reingest_quarantined_message(
    client_for: Client, work: dict[str, int], registry: Registry
) -> None:
    client, token = client_for(Role.registrar)
    client.follow_redirects = False
    url = f"/workbench/quarantine/{work['message_id']}"
    asked = client.get(url).text
    assert "state why you need it" in asked
    assert "not a valid date" in asked
    assert "15108695088" not in asked  # no content before a purpose
    assert client.post(url, data={"purpose": " ", "csrf_token": token}).status_code == 422
    shown = client.post(url, data={"purpose": "correcting a quarantined message", "csrf_token": token}).text
    assert "01.02.2024" in shown
    content = f"{HEADER}\n{BAD_ROW.replace('01.02.2024', '2024-02-01')}"
    assert (
        client.post(f"{url}/fix", data={"content": content, "reason": "", "csrf_token": token}).status_code
        == 422
    )
    fixed = client.post(
        f"{url}/fix",
        data={"content": content, "reason": "date format confirmed with OUS", "csrf_token": token},
    )
    assert fixed.status_code == 303
    queue = client.get(fixed.headers["location"]).text
    assert "corrected and re-ingested: accepted" in queue
    assert "Nothing in quarantine" in queue
    with registry.engine.connect() as connection:
        status, by, why = connection.execute(
            sa.text("SELECT status, resolved_by, resolution FROM quarantine WHERE message_id = :m"),
            {"m": work["message_id"]},
        ).one()
    assert (status, by, why) == ("fixed", "registrar", "date format confirmed with OUS")
    again = client.post(f"{url}/fix", data={"content": content + " ", "reason": "again", "csrf_token": token})
    assert again.status_code == 400
    assert "not open" in again.text
