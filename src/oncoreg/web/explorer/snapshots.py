"""The latest snapshot and its standard tables, computed once per snapshot and cached on disk next to it.

Snapshots live in ``settings.data_dir / "snapshots"`` (one directory per snapshot with ``manifest.json``);
the latest is the one whose manifest was created last (ties: the later as-of, then the name). The standard
tables (:func:`oncoreg.stats.standard_tables.standard_tables`, by county, plus data-quality
indicators by entity and by county) are written to ``<snapshot>.tables/`` beside it, with
``source.json`` naming the manifest's SHA-256, so a re-frozen snapshot under the same name is
recomputed. Survival needs a rate table: ``ratetable.csv``
(``sex, age, year, rate_per_day|rate_per_year|prob``) in the data directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from oncoreg.snapshot import SnapshotManifest, load_snapshot
from oncoreg.snapshot.manifest import MANIFEST_FILE

log = logging.getLogger(__name__)

TABLES_SUFFIX = ".tables"
SOURCE_FILE = "source.json"
RATE_TABLE_FILE = "ratetable.csv"
CACHE_FORMAT = 1


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot directory and its manifest."""

    path: Path
    manifest: SnapshotManifest
    manifest_sha256: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class SnapshotTables:
    """The standard tables of one snapshot (``incidence_year``, ..., ``quality_entity``) and its info."""

    snapshot: SnapshotInfo
    tables: dict[str, pl.DataFrame]

    def table(self, name: str) -> pl.DataFrame | None:
        return self.tables.get(name)


def snapshots_dir(data_dir: Path) -> Path:
    """Where the snapshots of an installation live."""
    return data_dir / "snapshots"


def _info(path: Path) -> SnapshotInfo | None:
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        return None
    text = manifest_path.read_bytes()
    manifest = SnapshotManifest.from_json(text.decode("utf-8"))
    return SnapshotInfo(path=path, manifest=manifest, manifest_sha256=hashlib.sha256(text).hexdigest())


def list_snapshots(data_dir: Path) -> list[SnapshotInfo]:
    """Every snapshot under ``data_dir/snapshots``, newest manifest first."""
    root = snapshots_dir(data_dir)
    if not root.is_dir():
        return []
    found = [
        info
        for child in root.iterdir()
        if child.is_dir() and not child.name.endswith(TABLES_SUFFIX)
        for info in [_info(child)]
        if info is not None
    ]

    def key(info: SnapshotInfo) -> tuple[datetime, datetime, str]:
        return (info.manifest.created_at, info.manifest.as_of, info.name)

    return sorted(found, key=key, reverse=True)


def latest_snapshot(data_dir: Path) -> SnapshotInfo | None:
    """The snapshot created last under ``data_dir/snapshots`` (None when there is none)."""
    snapshots = list_snapshots(data_dir)
    return snapshots[0] if snapshots else None


def cache_dir(info: SnapshotInfo) -> Path:
    """Where the tables of a snapshot are cached (``<snapshot>.tables/`` beside it)."""
    return info.path.with_name(info.path.name + TABLES_SUFFIX)


def _read_cache(info: SnapshotInfo) -> dict[str, pl.DataFrame] | None:
    folder = cache_dir(info)
    source = folder / SOURCE_FILE
    if not source.is_file():
        return None
    meta = json.loads(source.read_text(encoding="utf-8"))
    if meta.get("manifest_sha256") != info.manifest_sha256 or meta.get("format") != CACHE_FORMAT:
        return None
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in meta["tables"]}


def _write_cache(info: SnapshotInfo, tables: dict[str, pl.DataFrame]) -> None:
    folder = cache_dir(info)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet")
    meta = {"format": CACHE_FORMAT, "manifest_sha256": info.manifest_sha256, "tables": sorted(tables)}
    (folder / SOURCE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")  # written last


def compute_tables(info: SnapshotInfo, *, rate_table_path: Path | None = None) -> dict[str, pl.DataFrame]:
    """The standard tables (by county) and the quality indicators of a snapshot (checksums verified)."""
    from oncoreg.stats.population import norwegian_person_years
    from oncoreg.stats.ratetable import read_rate_table
    from oncoreg.stats.standard_tables import standard_tables

    snapshot = load_snapshot(info.path)
    rate_table = None
    if rate_table_path is not None and rate_table_path.is_file():
        rate_table = read_rate_table(rate_table_path)  # with several rate columns, rate_per_day is used
    person_years = norwegian_person_years(by=["year", "sex", "age_group", "county"], level="county")
    tables = standard_tables(
        tumours=snapshot.tumours.collect(),
        persons=snapshot.persons.collect(),
        deaths=snapshot.deaths.collect() if "deaths" in info.manifest.tables else None,
        person_years=person_years,
        rate_table=rate_table,
        by_county=True,
    )
    tables.update(quality_tables(snapshot.tumours, snapshot.deaths, labels=tables["incidence_period"]))
    return tables


def quality_tables(
    tumours: pl.LazyFrame, deaths: pl.LazyFrame, *, labels: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """Data-quality indicators by entity × year (entity null = all sites) and by county × year."""
    from oncoreg.checks.quality import quality_indicators

    names = labels.select("entity", "label").unique()
    by_entity = pl.concat(
        [
            quality_indicators(tumours=tumours, deaths=deaths, by=("period",)),
            quality_indicators(tumours=tumours, deaths=deaths, by=("entity", "period")),
        ]
    ).join(names, on="entity", how="left")
    by_entity = by_entity.with_columns(
        pl.when(pl.col("entity").is_null())
        .then(pl.lit("All sites"))
        .otherwise(pl.col("label").fill_null(pl.col("entity").cast(pl.String)))
        .alias("label")
    )
    by_county = quality_indicators(tumours=tumours, deaths=deaths, by=("county", "period")).with_columns(
        pl.col("county").fill_null("unknown").alias("label")
    )
    return {"quality_entity": by_entity, "quality_county": by_county}


class TablesCache:
    """Tables per snapshot: in memory, else from the disk cache, else computed (once, under a lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[Path, str], SnapshotTables] = {}

    def tables(self, info: SnapshotInfo, *, rate_table_path: Path | None = None) -> SnapshotTables:
        key = (info.path.resolve(), info.manifest_sha256)
        found = self._loaded.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._loaded.get(key)
            if found is None:
                tables = _read_cache(info)
                if tables is None:
                    log.info("computing the standard tables of snapshot %s", info.name)
                    tables = compute_tables(info, rate_table_path=rate_table_path)
                    _write_cache(info, tables)
                found = SnapshotTables(snapshot=info, tables=tables)
                self._loaded = {key: found}  # keep the latest snapshot only
            return found
