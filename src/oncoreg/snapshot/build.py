"""Turn the staged store tables into the snapshot's analytic tables (DuckDB SQL, streamed in batches).

The staged tables (``extract``) sit as Parquet files in a staging directory; each output table is one SQL
query over them, read back in record batches of ``chunk_size`` rows, enriched with Polars and written.

Definitions:

* **age** in completed years: ``year(d) - year(birth) - [ (month, day)(d) < (month, day)(birth) ]``;
* **residence at a date d**: the period with ``valid_from <= d < valid_to`` (open-ended when ``valid_to``
  is null), the latest ``valid_from`` winning; persons get their last known residence (latest
  ``valid_from``); deaths the residence at the death date;
* **registration date** of a tumour: the received date of the earliest message behind any of its
  notifications (ENCR-JRC timeliness, ``reference/registration.md`` §3.5);
* **icd10**: as stored; when missing, derived by ``oncoreg.codes.convert_frame`` (IARCcrgTools rules);
* **entity**: the NORDCAN entity at level 30 by ``oncoreg.codes.entities.add_entities``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from oncoreg.codes import convert_frame
from oncoreg.codes.entities import add_entities

STAGED = (
    "person",
    "tumour",
    "notification",
    "link",
    "message",
    "quarantine",
    "residence",
    "death",
    "treatment",
)


def _age(at: str, birth: str) -> str:
    return (
        f"(year({at}) - year({birth}) - CASE WHEN month({at}) * 100 + day({at}) "
        f"< month({birth}) * 100 + day({birth}) THEN 1 ELSE 0 END)"
    )


TUMOURS_SQL = f"""
WITH reg AS (
    SELECT l.tumour_id, min(m.received_date) AS registration_date, count(*) AS n_notifications
    FROM link l JOIN notification n USING (notification_id) LEFT JOIN message m ON m.message_id = n.message_id
    GROUP BY l.tumour_id
), res AS (
    SELECT t.tumour_id, r.county, r.municipality,
           row_number() OVER (PARTITION BY t.tumour_id ORDER BY r.valid_from DESC, r.municipality) AS rank
    FROM tumour t JOIN residence r ON r.person_id = t.person_id AND r.valid_from <= t.incidence_date
         AND (r.valid_to IS NULL OR r.valid_to > t.incidence_date)
)
SELECT t.tumour_id, t.person_id, t.sequence, p.sex, p.birth_date,
       {_age("t.incidence_date", "p.birth_date")} AS age,
       t.incidence_date, year(t.incidence_date) AS incidence_year, t.incidence_date_basis,
       t.topography, t.morphology, t.behaviour, t.grade, t.laterality, t.basis, t.basis_subcode, t.icd10,
       t.summary_stage, t.tnm_t, t.tnm_n, t.tnm_m, t.dco, t.iarc_status, t.registration_status,
       res.county, res.municipality, reg.registration_date,
       coalesce(reg.n_notifications, 0) AS n_notifications, t.version
FROM tumour t
LEFT JOIN person p ON p.person_id = t.person_id
LEFT JOIN res ON res.tumour_id = t.tumour_id AND res.rank = 1
LEFT JOIN reg ON reg.tumour_id = t.tumour_id
ORDER BY t.tumour_id
"""

PERSONS_SQL = """
WITH res AS (
    SELECT person_id, county, municipality,
           row_number() OVER (PARTITION BY person_id ORDER BY valid_from DESC, municipality) AS rank
    FROM residence
)
SELECT p.person_id, p.sex, p.birth_date, p.vital_status, p.death_date, p.emigration_date,
       res.county, res.municipality
FROM person p LEFT JOIN res ON res.person_id = p.person_id AND res.rank = 1
ORDER BY p.person_id
"""

NOTIFICATIONS_SQL = """
SELECT m.external_id AS message_id, n.notification_id, n.person_id, l.tumour_id, n.source_type AS source,
       m.received_date
FROM notification n
LEFT JOIN (SELECT l.* FROM link l SEMI JOIN tumour t ON t.tumour_id = l.tumour_id) l
       ON l.notification_id = n.notification_id
LEFT JOIN message m ON m.message_id = n.message_id
ORDER BY n.notification_id, l.tumour_id NULLS FIRST
"""

DEATHS_SQL = f"""
WITH res AS (
    SELECT d.person_id, r.county, r.municipality,
           row_number() OVER (PARTITION BY d.person_id ORDER BY r.valid_from DESC, r.municipality) AS rank
    FROM death d JOIN residence r ON r.person_id = d.person_id AND r.valid_from <= d.death_date
)
SELECT d.person_id, d.death_date, year(d.death_date) AS death_year, d.underlying_cause, p.sex,
       {_age("d.death_date", "p.birth_date")} AS age, res.county, res.municipality
FROM death d
LEFT JOIN person p ON p.person_id = d.person_id
LEFT JOIN res ON res.person_id = d.person_id AND res.rank = 1
ORDER BY d.person_id, d.death_date
"""

TREATMENTS_SQL = "SELECT * FROM treatment ORDER BY treatment_id"
RESIDENCE_SQL = "SELECT * FROM residence ORDER BY person_id, valid_from, municipality"
QUARANTINE_SQL = """
SELECT m.external_id AS message_id, m.source, m.received_date, q.status, q.reasons
FROM quarantine q LEFT JOIN message m ON m.message_id = q.message_id
ORDER BY q.message_id, q.status
"""


def connect(staging: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per staged table."""
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    connection.execute("SET preserve_insertion_order = true")
    for name in STAGED:
        path = staging / f"{name}.parquet"
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path.as_posix()}')")
    return connection


def batches(connection: duckdb.DuckDBPyConnection, sql: str, chunk_size: int) -> Iterator[pl.DataFrame]:
    """The result of ``sql`` as Polars frames of at most ``chunk_size`` rows."""
    reader: Any = connection.sql(sql).to_arrow_reader(chunk_size)
    for batch in reader:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def enrich_tumours(frame: pl.DataFrame) -> pl.DataFrame:
    """Derive a missing ICD-10 code and add the NORDCAN entity (level 30); morphology as an integer."""
    missing = frame.filter(pl.col("icd10").is_null())
    if missing.height:
        derived = convert_frame(
            missing.select("tumour_id", "topography", "morphology", "behaviour", "sex")
        ).select("tumour_id", pl.col("icd10").alias("_derived"))
        frame = (
            frame.join(derived, on="tumour_id", how="left", maintain_order="left")
            .with_columns(pl.coalesce("icd10", "_derived").alias("icd10"))
            .drop("_derived")
        )
    frame = frame.with_columns(pl.col("morphology").cast(pl.Int16, strict=False))
    with_entity = add_entities(frame, levels=(30,), icd10="icd10")
    return with_entity.rename({"entity_level_30": "entity"})


def enrich_deaths(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the NORDCAN entity (level 30) of the underlying cause (null for causes outside NORDCAN)."""
    with_entity = add_entities(
        frame.with_columns(pl.col("underlying_cause").fill_null("")),
        levels=(30,),
        icd10="underlying_cause",
        morphology=None,
        behaviour=None,
    )
    return with_entity.rename({"entity_level_30": "entity"}).with_columns(
        pl.col("underlying_cause").replace("", None)
    )
