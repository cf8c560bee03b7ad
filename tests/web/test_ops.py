"""Operations endpoints, the OpenAPI page, static files served from the package, the PDF writer."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pypdf
from fastapi.testclient import TestClient

from oncoreg.config import Settings
from oncoreg.pdf import Line, render_pdf
from oncoreg.registry import Registry, migrate
from oncoreg.web.app import create_app
from oncoreg.web.roles import Role


def test_health_and_ready(anonymous: TestClient) -> None:
    assert anonymous.get("/health").json() == {"status": "ok"}
    ready = anonymous.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["revision"] == migrate.head_revision()


def test_not_ready_when_schema_behind(settings: Settings, tmp_path: Path) -> None:
    empty = Registry(f"sqlite:///{tmp_path / 'empty.sqlite'}")  # never migrated
    with TestClient(create_app(settings=settings, registry=empty), base_url="https://testserver") as client:
        response = client.get("/ready")
    empty.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["revision"] is None


def test_openapi_for_signed_in_users(
    anonymous: TestClient, client_for: Callable[[Role], tuple[TestClient, str]]
) -> None:
    assert anonymous.get("/openapi.json").status_code == 401
    client, _ = client_for(Role.researcher)
    schema = client.get("/openapi.json").json()
    assert "/api/persons/{person_id}" in schema["paths"]
    assert "/admin/users" not in schema["paths"]  # pages are not part of the API
    docs = client.get("/docs")
    assert "/static/vendor/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()


def test_vendored_assets_are_served(anonymous: TestClient) -> None:
    for asset in (
        "htmx.min.js",
        "vega.min.js",
        "vega-lite.min.js",
        "vega-embed.min.js",
        "vega-interpreter.js",
    ):
        response = anonymous.get(f"/static/vendor/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 5000
    page = anonymous.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_pdf_pages_and_characters() -> None:
    lines = [Line(("Tilgangslogg for Åse Ødegård",), bold=True, size=14)]
    lines += [Line((f"row {i}", "bruker", "formål (æøå)"), columns=(0.0, 100.0, 200.0)) for i in range(150)]
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(lines, title="Report")), strict=True)
    assert len(reader.pages) == 3
    first = reader.pages[0].extract_text()
    assert "Tilgangslogg for Åse Ødegård" in first
    assert "formål (æøå)" in first
    assert "page 1 of 3" in first
    assert "row 149" in reader.pages[2].extract_text()
