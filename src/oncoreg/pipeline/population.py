"""Persons from population-register events (pure functions over the notification frame).

The population register is the reference for identity (docs/formats.md): its events carry no identity
errors. For every person touched by register events, the person's state is re-derived from *all* their
register events (stored and new), so an incremental run and a rebuild give the same persons:

* names, birth date and sex: the latest event that gives them (a ``name_change`` gives the new last name);
* vital status: ``dead`` after a ``death`` (``death_date`` = the event's death date), else ``emigrated``
  when the last of the person's emigrations and immigrations is an emigration, else ``alive``;
* residence periods: each ``birth``, ``immigration`` or ``move`` with a municipality opens a period that
  the next such event, a death or an emigration closes (``valid_to`` exclusive); county = the first two
  digits of the 2024 municipality code;
* deaths: one row per person who died, with the event's notification.
"""

from __future__ import annotations

import polars as pl

REGISTER = "population_register"
OPENS_RESIDENCE = ("birth", "immigration", "move")
ENDS_RESIDENCE = ("death", "emigration")

PERSON_STATE = pl.Schema(
    {
        "person_id": pl.Int64,
        "first_name": pl.String,
        "last_name": pl.String,
        "birth_date": pl.Date,
        "sex": pl.Int8,
        "vital_status": pl.String,
        "death_date": pl.Date,
        "emigration_date": pl.Date,
    }
)
RESIDENCE = pl.Schema(
    {
        "person_id": pl.Int64,
        "municipality": pl.String,
        "county": pl.String,
        "valid_from": pl.Date,
        "valid_to": pl.Date,
    }
)
DEATHS = pl.Schema({"person_id": pl.Int64, "death_date": pl.Date, "notification_id": pl.Int64})


def _ordered(events: pl.DataFrame) -> pl.DataFrame:
    return events.sort("person_id", "event_date", "notification_id", nulls_last=False)


def person_states(events: pl.DataFrame) -> pl.DataFrame:
    """Per person of ``events`` (register notifications with ``person_id``): :data:`PERSON_STATE`."""
    ordered = _ordered(events)
    kind = pl.col("event_kind")
    migration = kind.is_in(["emigration", "immigration"])
    states = ordered.group_by("person_id", maintain_order=True).agg(
        pl.col("given_first_name").drop_nulls().last().alias("first_name"),
        pl.col("given_last_name").drop_nulls().last().alias("last_name"),
        pl.col("given_birth_date").drop_nulls().last().alias("birth_date"),
        pl.col("given_sex").drop_nulls().last().cast(pl.Int8).alias("sex"),
        pl.coalesce("death_date", "event_date").filter(kind == "death").max().alias("death_date"),
        kind.filter(migration).last().alias("_last_migration"),
        pl.col("event_date").filter(kind == "emigration").last().alias("_emigrated"),
    )
    emigrated = pl.col("_last_migration") == "emigration"
    return states.select(
        "person_id",
        "first_name",
        "last_name",
        "birth_date",
        pl.col("sex").fill_null(9),
        pl.when(pl.col("death_date").is_not_null())
        .then(pl.lit("dead"))
        .when(emigrated)
        .then(pl.lit("emigrated"))
        .otherwise(pl.lit("alive"))
        .alias("vital_status"),
        "death_date",
        pl.when(emigrated).then(pl.col("_emigrated")).alias("emigration_date"),
    ).cast(PERSON_STATE)


def residence_periods(events: pl.DataFrame) -> pl.DataFrame:
    """Residence periods of the persons of ``events`` (see the module docstring)."""
    kind = pl.col("event_kind")
    relevant = _ordered(
        events.filter(
            (kind.is_in(OPENS_RESIDENCE) & pl.col("given_municipality").is_not_null())
            | kind.is_in(ENDS_RESIDENCE)
        )
    )
    # the next event of the same person (sorted by person: its neighbour, no window over persons needed)
    same_person = pl.col("person_id").shift(-1).eq_missing(pl.col("person_id"))
    periods = relevant.with_columns(
        pl.when(same_person).then(pl.col("event_date").shift(-1)).alias("valid_to")
    ).filter(kind.is_in(OPENS_RESIDENCE))
    return periods.select(
        "person_id",
        pl.col("given_municipality").alias("municipality"),
        pl.col("given_municipality").str.slice(0, 2).alias("county"),
        pl.col("event_date").alias("valid_from"),
        "valid_to",
    ).cast(RESIDENCE)


def register_deaths(events: pl.DataFrame) -> pl.DataFrame:
    """One death per person who has a register ``death`` event (the latest)."""
    deaths = _ordered(events.filter(pl.col("event_kind") == "death"))
    return (
        deaths.group_by("person_id", maintain_order=True)
        .agg(
            pl.coalesce("death_date", "event_date").last().alias("death_date"),
            pl.col("notification_id").last(),
        )
        .cast(DEATHS)
    )
