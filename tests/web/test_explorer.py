"""The statistics explorer: latest snapshot, tables cached next to it, selections, CSV, suppression."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from web_helpers import Seeded

from oncoreg.config import Settings
from oncoreg.registry import Registry
from oncoreg.snapshot import freeze
from oncoreg.web.explorer import latest_snapshot, suppress_small_counts
from oncoreg.web.explorer import snapshots as snapshot_module
from oncoreg.web.roles import Role

Client = Callable[[Role], tuple[TestClient, str]]
BREAST = "entity=180"


@pytest.fixture
def snapshot_dir(settings: Settings, registry: Registry, seeded: Seeded) -> Path:
    """The seeded registry (one breast cancer, 2024) frozen into data_dir/snapshots/first."""
    out = settings.data_dir / "snapshots" / "first"
    freeze(registry=registry, out_dir=out)
    return out


def _manifest(folder: Path, created: str, as_of: str) -> None:
    folder.mkdir(parents=True)
    manifest = {
        "as_of": as_of,
        "state": "current",
        "created_at": created,
        "oncoreg_version": "0",
        "store_url": "sqlite://",
        "tables": {},
        "code_list_versions": {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_latest_snapshot_is_the_one_created_last(tmp_path: Path) -> None:
    assert latest_snapshot(tmp_path) is None
    root = tmp_path / "snapshots"
    _manifest(root / "b-older", "2025-01-01T00:00:00+00:00", "2024-12-31T23:59:59+00:00")
    _manifest(root / "a-newer", "2025-02-01T00:00:00+00:00", "2023-12-31T23:59:59+00:00")
    (root / "a-newer.tables").mkdir()  # a cache folder is not a snapshot
    (root / "not-a-snapshot").mkdir()
    latest = latest_snapshot(tmp_path)
    assert latest is not None
    assert latest.name == "a-newer"
    assert latest.manifest.created_at == datetime(2025, 2, 1, tzinfo=UTC)


def test_suppress_small_counts_blanks_derived_values() -> None:
    frame = pl.DataFrame({"cases": [0, 1, 4, 5], "crude_rate": [0.0, 1.0, 2.0, 3.0], "period": list("abcd")})
    out, suppressed = suppress_small_counts(frame, threshold=5)
    assert suppressed == 2
    assert out["cases"].to_list() == [0, None, None, 5]
    assert out["crude_rate"].to_list() == [0.0, None, None, 3.0]
    assert out["period"].to_list() == list("abcd")


def test_without_a_snapshot_the_page_says_how_to_make_one(client_for: Client) -> None:
    client, _ = client_for(Role.statistician)
    response = client.get("/explorer")
    assert response.status_code == 200
    assert "oncoreg snapshot --out" in response.text
    assert client.get("/explorer/data.csv").status_code == 404


def test_statistician_sees_counts_and_downloads_csv(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.statistician)
    page = client.get(f"/explorer?measure=counts&{BREAST}&sex=2")
    assert page.status_code == 200, page.text
    assert "Breast" in page.text
    assert 'id="explorer-chart"' in page.text
    assert "suppression-note" not in page.text
    download = client.get(f"/explorer/data.csv?measure=counts&{BREAST}&sex=2")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["period"], r["sex"], r["cases"]) for r in rows] == [("2024-2024", "2", "1")]


def test_researcher_gets_small_counts_suppressed(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.researcher)
    page = client.get(f"/explorer?measure=asr&{BREAST}&sex=2")
    assert page.status_code == 200
    assert 'id="suppression-note"' in page.text
    assert "Counts from 1 to 4 are suppressed" in page.text
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/explorer/data.csv?measure=asr&{BREAST}&sex=2").text))
    )
    assert rows[0]["cases"] == ""
    assert rows[0]["asr"] == ""


@pytest.mark.parametrize("measure", ["counts", "rates", "asr", "trends", "survival", "prevalence"])
def test_every_measure_answers(client_for: Client, snapshot_dir: Path, measure: str) -> None:
    client, _ = client_for(Role.statistician)
    response = client.get(f"/explorer?measure={measure}&{BREAST}")
    assert response.status_code == 200, response.text
    assert 'id="explorer-table"' in response.text
    if measure == "survival":  # no rate table in the test data directory
        assert "no rate table" in response.text


def test_bad_selection_names_the_field(client_for: Client, snapshot_dir: Path) -> None:
    client, _ = client_for(Role.statistician)
    response = client.get("/explorer?entity=4242")
    assert response.status_code == 422
    assert "entity" in response.text


def test_tables_are_computed_once_and_cached_next_to_the_snapshot(
    client_for: Client, snapshot_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = client_for(Role.statistician)
    assert client.get("/explorer").status_code == 200
    cache = snapshot_dir.with_name("first.tables")
    source = json.loads((cache / "source.json").read_text())
    assert "incidence_period" in source["tables"]
    assert (cache / "incidence_period.parquet").is_file()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tables computed again")

    monkeypatch.setattr(snapshot_module, "compute_tables", refuse)
    fresh = snapshot_module.TablesCache()
    info = latest_snapshot(snapshot_dir.parent.parent)
    assert info is not None
    assert "quality_entity" in fresh.tables(info).tables  # read back from disk
