"""Helpers shared by the ingest tests: a synthetic year of messages and a canonical store dump."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from oncoreg.ingest import store
from oncoreg.registry.identifiers import generate_identifiers
from oncoreg.simulate import schema
from oncoreg.simulate.messages import MessageConfig

YEAR = 2021
SITES = [  # topography, morphology, behaviour, laterality, icd10, sex (0 both)
    ("C50.4", 8500, 3, "R", "C50.4", 2),
    ("C61.9", 8140, 3, "N", "C61.9", 1),
    ("C34.1", 8070, 3, "L", "C34.1", 0),
    ("C18.7", 8140, 3, "N", "C18.7", 0),
    ("C44.5", 8720, 3, "N", "C43.5", 0),
]
#: Raised error rates so that a few hundred messages show every kind of malformation.
RATES = MessageConfig(
    malformed_rate=0.08, duplicate_rate=0.05, identifier_missing_rate=0.03, hnumber_rate=0.03
)
NAMES = [("Kari", "Nordmann"), ("Ola", "Hansen"), ("Åse", "Bjørnstad"), ("Per", "Ødegård"), ("Liv", "Berg")]


def synthetic_year(*, n_persons: int, n_tumours: int, seed: int) -> dict[str, pl.DataFrame]:
    """Frames of one year with the simulator's stage schemas (random, plausible, known)."""
    rng = np.random.default_rng(seed)
    births = np.datetime64("1930-01-01") + rng.integers(0, 365 * 70, n_persons).astype("timedelta64[D]")
    sexes = rng.integers(1, 3, n_persons)
    identifiers = generate_identifiers(birth_dates=births, sexes=sexes, kind="fnr", rng=rng)
    start = date(YEAR, 1, 1)
    exit_kind = rng.choice(["", "death"], size=n_persons, p=[0.9, 0.1])
    day = [start + timedelta(days=int(d)) for d in rng.integers(0, 300, n_persons)]
    persons = schema.conform(
        pl.DataFrame(
            {
                "person_id": np.arange(1, n_persons + 1),
                "identifier": list(identifiers),
                "identifier_type": ["fnr"] * n_persons,
                "first_name": [NAMES[i % len(NAMES)][0] for i in range(n_persons)],
                "last_name": [NAMES[(i // 5) % len(NAMES)][1] for i in range(n_persons)],
                "birth_date": births,
                "sex": sexes,
                "county": ["03"] * n_persons,
                "municipality": ["0301"] * n_persons,
                "entry_date": [start] * n_persons,
                "entry_reason": ["start"] * n_persons,
                "exit_date": [None if k == "" else d for k, d in zip(exit_kind, day, strict=True)],
                "exit_reason": [None if k == "" else str(k) for k in exit_kind],
            }
        ),
        schema.PERSONS,
    )
    owners = rng.integers(1, n_persons + 1, n_tumours)
    site = rng.integers(0, len(SITES), n_tumours)
    basis = rng.choice([1, 2, 5, 6, 7], size=n_tumours, p=[0.05, 0.1, 0.1, 0.05, 0.7])
    tumours = pl.DataFrame(
        {
            "tumour_id": np.arange(1, n_tumours + 1),
            "person_id": owners,
            "incidence_date": [start + timedelta(days=int(d)) for d in rng.integers(0, 300, n_tumours)],
            "topography": [SITES[s][0] for s in site],
            "morphology": [SITES[s][1] for s in site],
            "behaviour": [SITES[s][2] for s in site],
            "grade": rng.integers(1, 4, n_tumours),
            "laterality": [SITES[s][3] for s in site],
            "basis": basis,
            "stage": rng.choice(["localised", "regional", "distant", "unknown"], size=n_tumours),
            "icd10": [SITES[s][4] for s in site],
            "entity": np.zeros(n_tumours, dtype=np.int32),
            "dco": np.zeros(n_tumours, dtype=bool),
            "screen_detected": np.zeros(n_tumours, dtype=bool),
        }
    ).join(persons.select("person_id", "sex", "birth_date", "county", "municipality"), on="person_id")
    tumours = schema.conform(
        tumours.with_columns(
            ((pl.col("incidence_date") - pl.col("birth_date")).dt.total_days() // 365).alias("age")
        ).sort("tumour_id"),
        schema.TUMOURS,
    )
    deaths = schema.conform(
        persons.filter(pl.col("exit_reason") == "death").select(
            "person_id",
            pl.col("exit_date").alias("death_date"),
            pl.lit("I21.9").alias("underlying_cause"),
            pl.lit(False).alias("cancer_death"),
            pl.lit(None, dtype=pl.Int64).alias("tumour_id"),
        ),
        schema.DEATHS,
    )
    moves = schema.conform(
        persons.head(5).select(
            "person_id",
            pl.lit(date(YEAR, 6, 1)).alias("move_date"),
            pl.lit("4601").alias("from_municipality"),
            pl.col("municipality").alias("to_municipality"),
        ),
        schema.MOVES,
    )
    treated = tumours.head(n_tumours // 2)
    treatments = schema.conform(
        treated.select(
            pl.int_range(1, pl.len() + 1).alias("treatment_id"),
            "tumour_id",
            "person_id",
            pl.Series("kind", rng.choice(["surgery", "radiotherapy", "systemic"], size=treated.height)),
            (pl.col("incidence_date") + pl.duration(days=20)).alias("start_date"),
            (pl.col("incidence_date") + pl.duration(days=40)).alias("end_date"),
            pl.lit("HUS").alias("hospital"),
        ),
        schema.TREATMENTS,
    )
    return {
        "persons": persons,
        "tumours": tumours,
        "deaths": deaths,
        "moves": moves,
        "treatments": treatments,
    }


def canonical_dump(engine: sa.Engine) -> dict[str, Any]:
    """The store's ingest state without surrogate keys or wall-clock times (compare two runs)."""
    m, mi, n, q = store.MESSAGES, store.MESSAGE_INGEST, store.NOTIFICATION, store.QUARANTINE
    with engine.connect() as connection:
        hashes = dict(connection.execute(sa.select(m.c.message_id, m.c.content_hash)).all())
        columns = ("content_hash", "source", "format", "status", "stored_path", "sender", "external_id")
        messages = sorted(
            (*(getattr(row, c) for c in columns), bytes(row.content), hashes.get(row.corrected_from))
            for row in connection.execute(
                sa.select(m, mi.c.external_id, mi.c.corrected_from).join(
                    mi, mi.c.message_id == m.c.message_id
                )
            )
        )
        skip = {"notification_id", "message_id"}
        notifications = sorted(
            (hashes[row.message_id], *(v for k, v in row._mapping.items() if k not in skip))
            for row in connection.execute(sa.select(n))
        )
        quarantine = sorted(
            (hashes[row.message_id], row.status, json.dumps(row.reasons, sort_keys=True))
            for row in connection.execute(sa.select(q))
        )
    return {"messages": messages, "notifications": notifications, "quarantine": quarantine}
