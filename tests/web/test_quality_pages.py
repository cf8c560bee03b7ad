"""Data-quality indicator pages from the latest snapshot."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import Seeded

from oncoreg.config import Settings
from oncoreg.registry import Registry
from oncoreg.snapshot import freeze
from oncoreg.web.roles import Role

Client = Callable[[Role], tuple[TestClient, str]]


@pytest.fixture
def snapshot_dir(settings: Settings, registry: Registry, seeded: Seeded) -> Path:
    out = settings.data_dir / "snapshots" / "now"
    freeze(registry=registry, out_dir=out)
    return out


def test_registrar_sees_indicators_by_entity_and_county(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.registrar)
    page = client.get("/quality")
    assert page.status_code == 200, page.text
    assert "All sites" in page.text
    assert 'id="quality-chart"' in page.text
    rows = list(csv.DictReader(io.StringIO(client.get("/quality/data.csv").text)))
    assert rows[0]["label"] == "All sites"
    assert rows[0]["cases"] == "1"
    assert float(rows[0]["mv_pct"]) == 100.0  # basis 7: histology of the primary
    assert client.get("/quality?view=county").status_code == 200


def test_researcher_gets_small_cells_suppressed(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.researcher)
    page = client.get("/quality")
    assert 'id="suppression-note"' in page.text
    rows = list(csv.DictReader(io.StringIO(client.get("/quality/data.csv").text)))
    assert rows[0]["cases"] == ""
    assert rows[0]["mv_pct"] == ""


def test_unknown_year_is_refused(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.statistician)
    response = client.get("/quality?period=1850")
    assert response.status_code == 422
    assert "period" in response.text


def test_screening_coordinator_is_refused(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.screening_coordinator)
    assert client.get("/quality").status_code == 403
