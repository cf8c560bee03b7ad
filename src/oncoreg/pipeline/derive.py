"""Pure steps of the pipeline between linkage and the store: persons and their ids, death rows, checks input.

Ids are deterministic so that a rebuild reproduces the same persons and tumours: a person created by a run
gets the lowest id of the notifications linked to it (tumours already get the lowest notification id of
their group from consolidation), unless a person created otherwise holds that number.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.checks.inputs import full_years
from oncoreg.registry.identifiers import classify_identifier_frame

#: Temporary ids of persons created from population-register events (linkage's own are -1, -2, ...).
REGISTER_ID_BASE = -(10**12)


def final_person_ids(*, links: pl.DataFrame, taken: pl.Series) -> pl.DataFrame:
    """``temporary_id, person_id`` for every new (negative) person of ``links``: the lowest linked
    notification id, or for a number in ``taken`` (persons kept from elsewhere) the next free number."""
    lowest = (
        links.filter(pl.col("person_id") < 0)
        .group_by("person_id")
        .agg(pl.col("notification_id").min().alias("lowest"))
        .sort("lowest")
        .rename({"person_id": "temporary_id"})
    )
    clash = lowest["lowest"].is_in(taken.implode())
    if not clash.any():
        return lowest.select("temporary_id", pl.col("lowest").alias("person_id"))
    ceiling = max(int(taken.max() or 0), int(lowest["lowest"].max() or 0))  # type: ignore[arg-type]
    replacement = pl.Series(range(ceiling + 1, ceiling + 1 + int(clash.sum())), dtype=pl.Int64)
    result = lowest.with_columns(pl.col("lowest").alias("person_id"))
    fixed = result.filter(clash).with_columns(replacement.alias("person_id"))
    return pl.concat([result.filter(~clash), fixed]).select("temporary_id", "person_id")


def relabel(frame: pl.DataFrame, ids: pl.DataFrame, column: str = "person_id") -> pl.DataFrame:
    """Replace temporary (negative) person ids in ``column`` by their final ids."""
    mapping = ids.rename({"temporary_id": column, "person_id": "_final"})
    return (
        frame.join(mapping, on=column, how="left", maintain_order="left")
        .with_columns(pl.coalesce("_final", column).alias(column))
        .drop("_final")
    )


#: The columns of ``classify_identifier_frame`` that :func:`identifier_columns` uses.
CLASSIFICATION = (
    "given_identifier",
    "identifier",
    "identifier_type",
    "identifier_valid",
    "identifier_scheme",
)


def identifier_columns(
    frame: pl.DataFrame, *, taken: pl.Series, known: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``identifier, identifier_type, identifier_scheme`` of new persons: a valid identifier is kept unless
    another person (``taken``, or a lower id in the frame) already holds it; invalid ones are dropped.

    ``known``: the :data:`CLASSIFICATION` of some values, classified already today (one row per
    ``given_identifier``); only the others are classified here (the register's millions were, when the
    run linked its events)."""
    values = frame["identifier"]
    if known is not None:
        values = values.filter(~values.is_in(known["given_identifier"].implode()))
    classified = classify_identifier_frame(values, as_of=date.today()).select(CLASSIFICATION)
    if known is not None:
        classified = pl.concat([known.select(CLASSIFICATION), classified])
    classified = classified.filter(pl.col("identifier_valid"))
    valid = classified.select("given_identifier", "identifier")
    kept = (
        frame.sort("person_id")
        .join(valid, left_on="identifier", right_on="given_identifier", how="left", maintain_order="left")
        .with_columns(pl.col("identifier_right").alias("identifier"))
        .drop("identifier_right")
    )
    kept = kept.with_columns(
        pl.when(pl.col("identifier").is_in(taken.implode()) | ~pl.col("identifier").is_first_distinct())
        .then(None)
        .otherwise(pl.col("identifier"))
        .alias("identifier")
    )
    kinds = classified.select(pl.col("identifier"), "identifier_type", "identifier_scheme").unique(
        "identifier", keep="first"
    )
    return (
        kept.drop("identifier_type", "identifier_scheme", strict=False)
        .join(kinds, on="identifier", how="left", maintain_order="left")
        .with_columns(pl.col("identifier_type").fill_null("none"))
    )


def death_rows(*, register_deaths: pl.DataFrame, notifications: pl.DataFrame) -> pl.DataFrame:
    """``person_id, death_date, underlying_cause, notification_id``: a row per register death, the cause
    from the person's latest death certificate (ICD-10 as given)."""
    causes = (
        notifications.filter(
            (pl.col("source_type") == "death_certificate") & pl.col("person_id").is_not_null()
        )
        .sort("person_id", "received_date", "notification_id", nulls_last=False)
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("icd10").drop_nulls().last().alias("underlying_cause"))
    )
    return register_deaths.join(causes, on="person_id", how="left").select(
        "person_id", "death_date", "underlying_cause", "notification_id"
    )


def checks_input(*, tumours: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """The edit checks' frame (``oncoreg.checks.inputs``) for consolidated tumours and their persons."""
    joined = tumours.join(
        persons.select("person_id", "sex", "birth_date", "death_date"), on="person_id", how="left"
    )
    return joined.select(
        pl.col("tumour_id").cast(pl.String).alias("id"),
        pl.col("sex").fill_null(9).cast(pl.Int64),
        "birth_date",
        "incidence_date",
        full_years(pl.col("birth_date"), pl.col("incidence_date")).alias("age"),
        "topography",
        "morphology",
        "behaviour",
        "grade",
        "basis",
        "death_date",
    )


def as_date(value: date | None, *, today: date) -> date:
    """The day a run judges by (DCO trace-back, future dates): ``value`` or today."""
    return value if value is not None else today
