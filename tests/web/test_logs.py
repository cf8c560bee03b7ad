"""Logs are JSON lines without identifiable data, and name route templates, not raw paths."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from web_helpers import Seeded

from oncoreg.web.logs import JsonFormatter
from oncoreg.web.roles import Role

SERVER_LOGGERS = ("oncoreg", "uvicorn", "fastapi", "starlette", "sqlalchemy", "alembic")


def test_viewing_a_person_logs_nothing_identifiable(
    client_for: Callable[[Role], tuple[TestClient, str]], seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    client, token = client_for(Role.registrar)
    formatter = JsonFormatter()
    with caplog.at_level(logging.DEBUG):
        client.post(
            "/persons/lookup",
            data={"identifier": seeded.identifier, "purpose": "coding review", "csrf_token": token},
        )
        client.post(f"/persons/{seeded.person_id}", data={"purpose": "coding review", "csrf_token": token})
        client.get(f"/api/persons/{seeded.person_id}", headers={"X-Oncoreg-Purpose": "coding review"})
        client.post(
            f"/persons/{seeded.person_id}/access-report",
            data={"purpose": "innsyn", "format": "pdf", "csrf_token": token},
        )
        client.get(f"/api/persons/{seeded.identifier}", headers={"X-Oncoreg-Purpose": "x"})  # a bad id
    server = [r for r in caplog.records if r.name.startswith(SERVER_LOGGERS)]  # not the test's own client
    lines = [formatter.format(record) for record in server]
    text = "\n".join(lines) + "\n".join(str(record.__dict__) for record in server)
    requests = [json.loads(line) for line in lines if '"event": "request"' in line]
    assert len(requests) >= 5
    for forbidden in (
        seeded.identifier,
        seeded.first_name,
        seeded.last_name,
        seeded.birth_date.isoformat(),
        seeded.birth_date.strftime("%d%m%y"),
    ):
        assert forbidden not in text
    routes = {entry["route"] for entry in requests}
    assert "/persons/{person_id}" in routes
    assert "/persons/lookup" in routes
    assert all(entry["user"] == "registrar" for entry in requests if entry["route"].startswith("/persons"))


def test_formatter_drops_unlisted_fields() -> None:
    record = logging.LogRecord("oncoreg.web", logging.INFO, __file__, 1, "hello", None, None)
    record.__dict__.update({"status": 200, "last_name": "Bergersen"})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["status"] == 200
    assert entry["message"] == "hello"
    assert "last_name" not in entry
    assert "Bergersen" not in json.dumps(entry)
