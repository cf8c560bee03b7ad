"""Freeze the registry, or its state as of a past time, into a snapshot directory.

Steps: (1) one streamed query per entity type writes the store's state to staging Parquet files
(``extract``); (2) one DuckDB query per snapshot table joins and enriches them, streamed in batches into
the final Parquet files (``build``); (3) the data-quality indicators (``oncoreg.checks.quality``) are
computed from the frozen tables into ``quality.parquet``; (4) ``manifest.json`` records the as-of time,
row counts, checksums and code-list versions. Memory is bounded by ``chunk_size`` rows per step.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

import oncoreg
from oncoreg.codes import code_list_versions
from oncoreg.registry.service import Registry
from oncoreg.snapshot import build, extract
from oncoreg.snapshot.manifest import MANIFEST_FILE, SnapshotError, SnapshotManifest, TableEntry
from oncoreg.snapshot.parquet import sha256_file, write_chunks
from oncoreg.snapshot.schema import TABLES, Schema

log = logging.getLogger(__name__)
CHUNK_SIZE = 50_000
_Chunks = Callable[..., Iterator[pl.DataFrame]]


def safe_url(url: str) -> str:
    """The store URL with the password removed (``postgresql+psycopg://user@host/db``)."""
    parsed = sa.engine.make_url(url)
    bare = sa.engine.URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def _has_external_id(engine: sa.Engine) -> bool:
    return "external_id" in {column["name"] for column in sa.inspect(engine).get_columns("message")}


def _stage(registry: Registry, staging: Path, *, as_of: datetime | None, chunk_size: int) -> bool:
    """Write the store's state to staging Parquet files; returns whether messages carry their own id."""
    external = _has_external_id(registry.engine)
    steps: dict[str, tuple[_Chunks, Schema]] = {
        "person": (extract.person_chunks, extract.PERSON),
        "tumour": (extract.tumour_chunks, extract.TUMOUR),
        "notification": (extract.notification_chunks, extract.NOTIFICATION),
        "link": (extract.link_chunks, extract.LINK),
        "quarantine": (extract.quarantine_chunks, extract.QUARANTINE),
        "residence": (extract.residence_chunks, extract.RESIDENCE),
        "death": (extract.death_chunks, extract.DEATH),
        "treatment": (extract.treatment_chunks, extract.TREATMENT),
    }
    with registry.engine.connect() as connection:
        for name, (chunks, schema) in steps.items():
            write_chunks(
                staging / f"{name}.parquet",
                chunks(connection, as_of=as_of, chunk_size=chunk_size),
                schema,
            )
        write_chunks(
            staging / "message.parquet",
            extract.message_chunks(connection, as_of=as_of, chunk_size=chunk_size, external_id=external),
            extract.MESSAGE,
        )
    return external


def _build(staging: Path, out_dir: Path, *, chunk_size: int) -> dict[str, int]:
    """Write the snapshot tables from the staged ones; returns rows per table."""
    steps: dict[str, tuple[str, Callable[[pl.DataFrame], pl.DataFrame] | None]] = {
        "tumours": (build.TUMOURS_SQL, build.enrich_tumours),
        "persons": (build.PERSONS_SQL, None),
        "notifications": (build.NOTIFICATIONS_SQL, None),
        "deaths": (build.DEATHS_SQL, build.enrich_deaths),
        "treatments": (build.TREATMENTS_SQL, None),
        "residence": (build.RESIDENCE_SQL, None),
        "quarantine": (build.QUARANTINE_SQL, None),
    }
    rows: dict[str, int] = {}
    connection = build.connect(staging)
    try:
        for name, (sql, enrich) in steps.items():
            frames = build.batches(connection, sql, chunk_size)
            if enrich is not None:
                frames = (enrich(frame) for frame in frames)
            rows[name] = write_chunks(out_dir / f"{name}.parquet", frames, TABLES[name])
    finally:
        connection.close()
    return rows


def _quality(out_dir: Path) -> int:
    from oncoreg.checks.quality import QUALITY, quality_indicators

    table = quality_indicators(
        tumours=pl.scan_parquet(out_dir / "tumours.parquet"),
        deaths=pl.scan_parquet(out_dir / "deaths.parquet"),
    )
    return write_chunks(out_dir / "quality.parquet", [table], QUALITY)


def freeze(
    *,
    registry: Registry,
    out_dir: Path,
    as_of: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> SnapshotManifest:
    """Freeze the registry (now, or as of ``as_of``, an aware datetime) into ``out_dir``.

    ``out_dir`` must be empty or absent. Writes ``tumours``, ``persons``, ``notifications``, ``deaths``,
    ``treatments``, ``residence``, ``quarantine`` and ``quality`` Parquet files (schemas in
    ``oncoreg.snapshot.schema`` and ``oncoreg.checks.quality.QUALITY``) and ``manifest.json``.
    """
    if as_of is not None and as_of.tzinfo is None:
        raise SnapshotError(f"as-of time {as_of.isoformat()} has no time zone")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SnapshotError(f"snapshot directory {out_dir} is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)
    created_at = registry.clock().astimezone(UTC)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=out_dir) as tmp:
        staging = Path(tmp)
        external = _stage(registry, staging, as_of=as_of, chunk_size=chunk_size)
        rows = _build(staging, out_dir, chunk_size=chunk_size)
    notes: list[str] = []
    if not external:
        notes.append("the store has no message.external_id: notifications.message_id is null")
    rows["quality"] = _quality(out_dir)
    tables = {
        name: TableEntry(file=f"{name}.parquet", rows=count, sha256=sha256_file(out_dir / f"{name}.parquet"))
        for name, count in sorted(rows.items())
    }
    manifest = SnapshotManifest(
        as_of=(as_of or created_at).astimezone(UTC),
        state="current" if as_of is None else "history",
        created_at=created_at,
        oncoreg_version=oncoreg.__version__,
        store_url=safe_url(registry.url),
        tables=tables,
        code_list_versions=code_list_versions(),
        notes=notes,
    )
    (out_dir / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    log.info("snapshot %s: %s", out_dir, {name: entry.rows for name, entry in tables.items()})
    return manifest
