"""The person view and the access report: purpose required, every view logged, the report lists it."""

from __future__ import annotations

import io
from collections.abc import Callable

import pypdf
from fastapi.testclient import TestClient
from web_helpers import Seeded

from oncoreg.registry import Registry
from oncoreg.web.roles import Role


def _access_rows(registry: Registry, person_id: int) -> list[tuple[str, str, str]]:
    with registry.session(user="auditor", purpose="test check", channel="batch") as reg:
        records = reg.access_report(person_id)
    return [(r.user_name, r.purpose, r.channel) for r in records if r.user_name != "auditor"]


def test_purpose_form_shows_nothing_identifiable(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded, registry: Registry
) -> None:
    client, _ = client_for(Role.registrar)
    page = client.get(f"/persons/{seeded.person_id}")
    assert page.status_code == 200
    assert 'name="purpose"' in page.text
    assert seeded.last_name not in page.text
    assert seeded.identifier not in page.text
    assert _access_rows(registry, seeded.person_id) == []


def test_person_view_is_logged_with_purpose(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded, registry: Registry
) -> None:
    client, token = client_for(Role.registrar)
    page = client.post(
        f"/persons/{seeded.person_id}", data={"purpose": "coding review of C50.4", "csrf_token": token}
    )
    assert page.status_code == 200
    assert seeded.last_name in page.text
    assert seeded.identifier in page.text
    assert "C50.4" in page.text  # the tumour
    assert "Oslo universitetssykehus" in page.text  # its notification
    assert page.headers["cache-control"] == "no-store"
    assert ("registrar", "coding review of C50.4", "web") in _access_rows(registry, seeded.person_id)


def test_empty_purpose_is_refused_and_not_logged(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded, registry: Registry
) -> None:
    client, token = client_for(Role.registrar)
    page = client.post(f"/persons/{seeded.person_id}", data={"purpose": "   ", "csrf_token": token})
    assert page.status_code == 422
    assert seeded.last_name not in page.text
    assert _access_rows(registry, seeded.person_id) == []


def test_lookup_by_identifier(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded, registry: Registry
) -> None:
    client, token = client_for(Role.registrar)
    page = client.post(
        "/persons/lookup",
        data={"identifier": seeded.identifier, "purpose": "missing notification", "csrf_token": token},
    )
    assert page.status_code == 200
    assert seeded.first_name in page.text
    missing = client.post(
        "/persons/lookup",
        data={"identifier": "01010112345", "purpose": "missing notification", "csrf_token": token},
    )
    assert missing.status_code == 404
    assert "01010112345" not in missing.text


def test_access_report_lists_the_view(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded
) -> None:
    client, token = client_for(Role.registrar)
    client.post(
        f"/persons/{seeded.person_id}", data={"purpose": "resolving a review task", "csrf_token": token}
    )
    admin, admin_token = client_for(Role.admin)
    report = admin.post(
        f"/persons/{seeded.person_id}/access-report",
        data={"purpose": "letter 2025/17", "csrf_token": admin_token},
    )
    assert report.status_code == 200
    assert "resolving a review task" in report.text
    assert ">registrar<" in report.text
    assert "right of access report: letter 2025/17" in report.text  # producing it is logged too


def test_access_report_pdf(client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded) -> None:
    client, token = client_for(Role.registrar)
    client.post(f"/persons/{seeded.person_id}", data={"purpose": "quality assurance", "csrf_token": token})
    response = client.post(
        f"/persons/{seeded.person_id}/access-report",
        data={"purpose": "innsyn", "format": "pdf", "csrf_token": token},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content), strict=True)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Access report" in text
    assert "quality assurance" in text
    assert f"{seeded.first_name} {seeded.last_name}" in text


def test_api_needs_purpose_header(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded, registry: Registry
) -> None:
    client, _ = client_for(Role.registrar)
    assert client.get(f"/api/persons/{seeded.person_id}").status_code == 422
    response = client.get(
        f"/api/persons/{seeded.person_id}", headers={"X-Oncoreg-Purpose": "api coding review"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["person"]["last_name"] == seeded.last_name
    assert [t["tumour_id"] for t in body["tumours"]] == [seeded.tumour_id]
    assert [n["notification_id"] for n in body["notifications"]] == [seeded.notification_id]
    assert ("registrar", "api coding review", "api") in _access_rows(registry, seeded.person_id)
    report = client.get(
        f"/api/persons/{seeded.person_id}/access-report", headers={"X-Oncoreg-Purpose": "innsyn"}
    )
    assert ("registrar", "api coding review", "api") in [
        (r["user_name"], r["purpose"], r["channel"]) for r in report.json()["records"]
    ]


def test_unknown_person_is_404(client_for: Callable[[Role], tuple[TestClient, str]]) -> None:
    client, token = client_for(Role.registrar)
    assert client.post("/persons/999999", data={"purpose": "x", "csrf_token": token}).status_code == 404
    assert client.get("/api/persons/999999", headers={"X-Oncoreg-Purpose": "x"}).status_code == 404
    assert client.get("/api/persons/15108695088", headers={"X-Oncoreg-Purpose": "x"}).status_code == 422
