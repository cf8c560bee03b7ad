"""The messages of deaths, treatments and population events (same envelope as ``tumour_streams``).

* death certificates (Cause of Death Registry): one per death of the year; a DCO tumour whose person has
  no death row gets one synthesised (death date = incidence date, cause = the tumour's ICD-10);
* radiotherapy and systemic therapy records: one per treatment of that kind (not for DCO tumours);
* population-register updates (Folkeregisteret): births, immigrations, deaths, emigrations, internal moves
  and name changes of the year.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from oncoreg.simulate.messages import delays, routing
from oncoreg.simulate.messages.config import MessageConfig
from oncoreg.simulate.messages.tumour_streams import ENVELOPE

#: Common non-cancer contributing causes (ICD-10) drawn for certificates; an assumption for realism.
CONTRIBUTING_CAUSES = ("I25.1", "I50.9", "J18.9", "J44.9", "E11.9", "N18.9", "I48.9", "F03")
#: Radiotherapy (total dose Gy, fractions) schedules: curative for non-distant, palliative for distant.
CURATIVE_SCHEDULES = ((50.0, 25), (60.0, 30), (70.0, 35), (42.5, 16), (78.0, 39))
PALLIATIVE_SCHEDULES = ((8.0, 1), (20.0, 5), (30.0, 10))
ENDOCRINE_SITES = ("C50", "C61")  # ATC L02 (endocrine therapy) is possible for these sites


def death_certificate_rows(
    *, deaths: pl.DataFrame, tumours: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Death certificates: underlying cause and 0–2 contributing causes, sent 3 + Gamma(2, 7) days after.

    A DCO tumour that is not the underlying cause of its person's certificate is listed first among the
    contributing causes, so every DCO tumour reaches the registry on a certificate.
    """
    dco = tumours.filter(pl.col("dco").fill_null(False)).sort("tumour_id")
    synthetic = (
        dco.filter(~pl.col("person_id").is_in(deaths["person_id"].implode()))
        .unique("person_id", keep="first", maintain_order=True)
        .select(
            "person_id",
            pl.col("incidence_date").alias("death_date"),
            pl.col("icd10").alias("underlying_cause"),
            pl.lit(True).alias("cancer_death"),
            "tumour_id",
        )
    )
    rows = pl.concat([deaths.select(synthetic.columns), synthetic]).sort("person_id", "death_date")
    extra = (
        dco.filter(~pl.col("tumour_id").is_in(rows["tumour_id"].drop_nulls().implode()))
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("icd10").str.join(";").alias("_dco_causes"))
    )
    rows = rows.join(extra, on="person_id", how="left", maintain_order="left")
    n = rows.height
    count = rng.integers(0, 3, size=n)
    picks = rng.integers(0, len(CONTRIBUTING_CAUSES), size=(n, 2))
    causes = np.array(CONTRIBUTING_CAUSES)[picks]
    drawn = np.where(count >= 1, causes[:, 0], "")
    drawn = np.char.add(drawn, np.where(count >= 2, np.char.add(";", causes[:, 1]), ""))
    rows = rows.with_columns(
        pl.concat_str(
            pl.col("_dco_causes"),
            pl.Series(drawn, dtype=pl.String).replace("", None),
            separator=";",
            ignore_nulls=True,
        )
        .fill_null("")
        .alias("contributing_causes")
    )
    return rows.with_columns(
        pl.lit("death_certificate").alias("source"),
        pl.col("death_date").alias("event_date"),
        pl.lit("DAR").alias("sender"),
        delays.after("death_date", delays.gamma_days(n=n, offset=3, shape=2.0, scale=7.0, rng=rng)).alias(
            "sent_date"
        ),
        pl.col("tumour_id").cast(pl.Int64),
    ).select([*ENVELOPE, "underlying_cause", "contributing_causes"])


def _treatments(treatments: pl.DataFrame, tumours: pl.DataFrame, kind: str) -> pl.DataFrame:
    dco_ids = tumours.filter(pl.col("dco").fill_null(False))["tumour_id"].implode()
    return (
        treatments.filter((pl.col("kind") == kind) & ~pl.col("tumour_id").is_in(dco_ids))
        .join(
            tumours.select("tumour_id", "icd10", "stage"), on="tumour_id", how="left", maintain_order="left"
        )
        .sort("treatment_id")
    )


def radiotherapy_rows(
    *, treatments: pl.DataFrame, tumours: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Radiotherapy courses with dose and fractions; annual extract (15 Jan next year + U{0..45} days)."""
    rows = _treatments(treatments, tumours, "radiotherapy")
    n = rows.height
    distant = (rows["stage"] == "distant").fill_null(False).to_numpy()
    curative = np.array(CURATIVE_SCHEDULES)[rng.integers(0, len(CURATIVE_SCHEDULES), n)]
    palliative = np.array(PALLIATIVE_SCHEDULES)[rng.integers(0, len(PALLIATIVE_SCHEDULES), n)]
    schedule = np.where(distant[:, None], palliative, curative) if n else np.zeros((0, 2))
    return rows.with_columns(
        pl.lit("radiotherapy").alias("source"),
        pl.col("start_date").alias("event_date"),
        pl.col("hospital").alias("sender"),
        pl.Series(schedule[:, 0], dtype=pl.Float64).alias("total_dose_gy"),
        pl.Series(schedule[:, 1].astype(np.int32), dtype=pl.Int32).alias("fractions"),
        (
            pl.date(pl.col("end_date").fill_null(pl.col("start_date")).dt.year() + 1, 1, 15)
            + pl.duration(days=pl.lit(delays.uniform_days(n=n, low=0, high=45, rng=rng)))
        ).alias("sent_date"),
    ).select([*ENVELOPE, "icd10", "start_date", "end_date", "total_dose_gy", "fractions"])


def systemic_therapy_rows(
    *, treatments: pl.DataFrame, tumours: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Systemic therapy (ATC L01 cytostatics, L02 endocrine for breast/prostate); quarterly extract."""
    rows = _treatments(treatments, tumours, "systemic")
    n = rows.height
    endocrine = rows["icd10"].fill_null("").str.slice(0, 3).is_in(ENDOCRINE_SITES).to_numpy() & (
        rng.random(n) < 0.5
    )
    return rows.with_columns(
        pl.lit("systemic_therapy").alias("source"),
        pl.col("start_date").alias("event_date"),
        pl.col("hospital").alias("sender"),
        pl.Series(np.where(endocrine, "L02", "L01"), dtype=pl.String).alias("atc_group"),
        (
            delays.quarter_end("start_date")
            + pl.duration(days=pl.lit(delays.uniform_days(n=n, low=15, high=45, rng=rng)))
        ).alias("sent_date"),
    ).select([*ENVELOPE, "icd10", "start_date", "end_date", "atc_group"])


def population_rows(
    *, persons: pl.DataFrame, moves: pl.DataFrame, year: int, rng: np.random.Generator, config: MessageConfig
) -> pl.DataFrame:
    """Population-register events of ``year``: birth, immigration, death, emigration, move, name_change.

    A name change records a previous surname (another person's surname, drawn at random) and the
    current one; every other message carries the current name.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    in_year = pl.col("event_date").is_between(first, last)
    base = persons.sort("person_id")
    entries = base.filter(pl.col("entry_reason").is_in(["birth", "immigration"])).select(
        "person_id",
        pl.col("entry_date").alias("event_date"),
        pl.col("entry_reason").alias("event"),
        routing.municipality_code("municipality").alias("municipality"),
    )
    exits = base.filter(pl.col("exit_reason").is_in(["death", "emigration"])).select(
        "person_id",
        pl.col("exit_date").alias("event_date"),
        pl.col("exit_reason").alias("event"),
        routing.municipality_code("municipality").alias("municipality"),
    )
    moved = moves.sort("person_id", "move_date").select(
        "person_id",
        pl.col("move_date").alias("event_date"),
        pl.lit("move").alias("event"),
        routing.municipality_code("to_municipality").alias("municipality"),
        routing.municipality_code("from_municipality").alias("previous_municipality"),
    )
    renamed_mask = rng.random(base.height) < config.name_change_rate
    renamed = base.filter(pl.Series(renamed_mask))
    donors = base["last_name"].to_numpy()[rng.integers(0, max(base.height, 1), size=renamed.height)]
    renamed = (
        renamed.select(
            "person_id",
            (
                pl.lit(first)
                + pl.duration(days=pl.lit(delays.uniform_days(n=renamed.height, low=0, high=364, rng=rng)))
            ).alias("event_date"),
            pl.lit("name_change").alias("event"),
            routing.municipality_code("municipality").alias("municipality"),
            pl.Series(donors, dtype=pl.String).alias("previous_last_name"),
            "last_name",
        )
        .filter(pl.col("previous_last_name") != pl.col("last_name"))
        .drop("last_name")
    )
    events = pl.concat([entries, exits, moved, renamed], how="diagonal").filter(in_year)
    events = events.sort("event_date", "person_id", "event")
    n = events.height
    return events.with_columns(
        pl.lit("population_register").alias("source"),
        pl.lit(None, dtype=pl.Int64).alias("tumour_id"),
        pl.lit("FREG").alias("sender"),
        delays.after("event_date", delays.uniform_days(n=n, low=0, high=14, rng=rng)).alias("sent_date"),
    ).select([*ENVELOPE, "event", "municipality", "previous_municipality", "previous_last_name"])
