"""Freezing the registry now and as of an earlier time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from oncoreg.codes import code_list_versions
from oncoreg.registry.schemas import TumourPublic
from oncoreg.snapshot import SnapshotError, freeze, load_snapshot
from oncoreg.snapshot.freeze import safe_url

Filled = Any  # tests/snapshot/conftest.py::Filled
COMPARED = ("incidence_date", "topography", "behaviour", "basis", "laterality", "summary_stage", "sequence")


def _as_stored(row: dict[str, object]) -> dict[str, object]:
    return {name: row[name] for name in COMPARED} | {"morphology": f"{row['morphology']:04d}"}


def _expected(tumour: TumourPublic) -> dict[str, object]:
    return {name: getattr(tumour, name) for name in COMPARED} | {"morphology": tumour.morphology}


def test_freeze_now_and_as_of_match_the_service(filled: Filled, tmp_path: Path) -> None:
    registry, ids = filled.registry, filled.tumour_ids
    now = freeze(registry=registry, out_dir=tmp_path / "now")
    then = freeze(registry=registry, out_dir=tmp_path / "then", as_of=filled.before_edits)
    assert (now.state, then.state, then.as_of) == ("current", "history", filled.before_edits)
    assert then.code_list_versions == code_list_versions()
    snap_now, snap_then = load_snapshot(tmp_path / "now"), load_snapshot(tmp_path / "then")
    tumours_now = {r["tumour_id"]: r for r in snap_now.tumours.collect().iter_rows(named=True)}
    tumours_then = {r["tumour_id"]: r for r in snap_then.tumours.collect().iter_rows(named=True)}
    assert sorted(tumours_now) == [ids[0], ids[1], ids[3]]  # ids[2] deleted, ids[3] added after
    assert sorted(tumours_then) == [ids[0], ids[1], ids[2]]
    with registry.session(user="test", purpose="verify snapshot") as reg:
        for tumour_id in ids:
            past = reg.tumour(tumour_id, as_of=filled.before_edits)
            assert (past is None) == (tumour_id not in tumours_then)
            if past is not None:
                assert _as_stored(tumours_then[tumour_id]) == _expected(past)
                assert tumours_then[tumour_id]["version"] == past.version
        for tumour_id in tumours_now:
            current = reg.tumour(tumour_id)
            assert current is not None
            assert _as_stored(tumours_now[tumour_id]) == _expected(current)
    assert (tumours_then[ids[0]]["basis"], tumours_now[ids[0]]["basis"]) == (7, 6)
    assert tumours_now[ids[0]]["summary_stage"] == "regional"
    # enrichment: age, residence at diagnosis, ICD-10 derived or kept, NORDCAN entity, registration data
    eva = tumours_then[ids[0]]
    assert (eva["age"], eva["county"], eva["municipality"], eva["sex"]) == (69, "03", "0301", 2)
    assert (eva["icd10"], eva["entity"], eva["n_notifications"]) == ("C50.9", 180, 2)
    assert eva["registration_date"] == date(2024, 1, 1)
    assert tumours_then[ids[2]]["county"] == "46"  # moved on 2021-01-01, diagnosed 2021-06-01
    assert tumours_then[ids[1]]["age"] == 79  # born 1940-01-01, diagnosed 2019-12-31


def test_persons_links_deaths_and_quarantine(filled: Filled, tmp_path: Path) -> None:
    freeze(registry=filled.registry, out_dir=tmp_path / "now")
    freeze(registry=filled.registry, out_dir=tmp_path / "then", as_of=filled.before_edits)
    now, then = load_snapshot(tmp_path / "now"), load_snapshot(tmp_path / "then")
    eva_id, ola_id = filled.person_ids
    persons_now = now.persons.collect().sort("person_id")
    persons_then = then.persons.collect().sort("person_id")
    assert persons_now["vital_status"].to_list() == ["alive", "dead"]
    assert persons_then["vital_status"].to_list() == ["alive", "alive"]
    assert persons_now.filter(pl.col("person_id") == eva_id)["county"].item() == "46"  # last known
    second = filled.notification_ids[1]
    links_now = now.notifications.collect().filter(pl.col("notification_id") == second)["tumour_id"].to_list()
    links_then = (
        then.notifications.collect().filter(pl.col("notification_id") == second)["tumour_id"].to_list()
    )
    assert links_now == [filled.tumour_ids[0]]
    assert links_then == [filled.tumour_ids[0], filled.tumour_ids[2]]
    deaths = now.deaths.collect()
    assert deaths.select("person_id", "age", "entity", "county").rows() == [(ola_id, 83, 160, "50")]
    assert then.deaths.collect().height == 1  # deaths have no history: dated on or before the as-of date
    early = freeze(
        registry=filled.registry, out_dir=tmp_path / "early", as_of=datetime(2023, 1, 1, tzinfo=UTC)
    )
    assert early.tables["deaths"].rows == early.tables["tumours"].rows == early.tables["persons"].rows == 0
    assert now.table("quarantine").collect()["reasons"].to_list() == ["hl7.msh"]
    assert then.table("quarantine").collect().height == 0
    quality = now.quality.collect()
    lung = quality.filter((pl.col("entity") == 160) & (pl.col("period") == "2023"))
    assert lung.select("cases", "deaths").row(0) == (0, 1)


def test_no_identifiers_names_or_free_text_in_any_file(filled: Filled, tmp_path: Path) -> None:
    freeze(registry=filled.registry, out_dir=tmp_path / "snap")
    forbidden = set(filled.forbidden)
    files = sorted((tmp_path / "snap").glob("*.parquet"))
    assert {f.stem for f in files} >= {"tumours", "persons", "notifications", "deaths", "quality"}
    for file in files:
        frame = pl.read_parquet(file)
        assert not {"identifier", "first_name", "last_name", "free_text", "detail"} & set(frame.columns)
        for column in frame.columns:
            values = {str(v) for v in frame[column].drop_nulls().to_list()}
            assert not any(word in value for value in values for word in forbidden), (file.name, column)
        raw = file.read_bytes()
        assert not any(word.encode() in raw for word in forbidden), file.name


def test_manifest_checksums_detect_a_tampered_file(filled: Filled, tmp_path: Path) -> None:
    manifest = freeze(registry=filled.registry, out_dir=tmp_path / "snap")
    assert manifest.tables["tumours"].rows == 3
    tumours = tmp_path / "snap" / "tumours.parquet"
    frame = pl.read_parquet(tumours).with_columns(pl.lit(0, pl.Int8).alias("basis"))
    frame.write_parquet(tumours)
    with pytest.raises(SnapshotError, match=r"tumours\.parquet has sha256"):
        load_snapshot(tmp_path / "snap")
    assert load_snapshot(tmp_path / "snap", verify=False).tumours.collect()["basis"].to_list() == [0, 0, 0]


def test_freezing_is_deterministic_and_chunking_does_not_change_rows(filled: Filled, tmp_path: Path) -> None:
    first = freeze(registry=filled.registry, out_dir=tmp_path / "a", as_of=filled.before_edits)
    second = freeze(registry=filled.registry, out_dir=tmp_path / "b", as_of=filled.before_edits)
    assert {n: e.sha256 for n, e in first.tables.items()} == {n: e.sha256 for n, e in second.tables.items()}
    freeze(registry=filled.registry, out_dir=tmp_path / "c", as_of=filled.before_edits, chunk_size=1)
    for name in first.tables:
        a = pl.read_parquet(tmp_path / "a" / f"{name}.parquet")
        c = pl.read_parquet(tmp_path / "c" / f"{name}.parquet")
        assert a.equals(c), name
    with pytest.raises(SnapshotError, match="not empty"):
        freeze(registry=filled.registry, out_dir=tmp_path / "a")


def test_store_url_loses_its_password() -> None:
    url = safe_url("postgresql+psycopg://kari:s3cret@db.example:5432/oncoreg")
    assert url == "postgresql+psycopg://kari@db.example:5432/oncoreg"
