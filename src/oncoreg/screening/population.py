"""Target population of each programme from the population register, its reservations and the registry.

A person is in ``programme``'s target group on ``as_of`` when resident (entry ≤ as_of < exit), of an
eligible sex, aged ``entry_age`` ≤ age < ``exit_age`` (colorectal: born in or after the first cohort,
§1.3; included continuously, e.g. after immigration [V]), and not excluded: a reservation against
invitations (``reserved`` column, §1.3 [V]) or a previous cancer of the programme's site (§1.3 [V]; breast
and cervix likewise, as exit rules of the programmes). Vectorised over the whole population.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.screening.parameters import programme_parameters

#: One row per person considered (resident, eligible sex) with the verdict.
TARGET: dict[str, pl.DataType | type[pl.DataType]] = {
    "person_id": pl.Int64,
    "programme": pl.String,
    "birth_date": pl.Date,
    "sex": pl.Int8,
    "county": pl.String,
    "age": pl.Int16,
    "in_target": pl.Boolean,
    # null when in the target group; else too_young | too_old | cohort | reserved | cancer
    "reason": pl.String,
}


def age_on(day: date) -> pl.Expr:
    """Completed years on ``day`` from ``birth_date``."""
    birth = pl.col("birth_date")
    before = pl.lit(day.month * 100 + day.day) < (birth.dt.month() * 100 + birth.dt.day())
    return (pl.lit(day.year) - birth.dt.year() - before.cast(pl.Int32)).cast(pl.Int16)


def target_population(
    *, persons: pl.DataFrame, as_of: date, programme: str, tumours: pl.DataFrame | None = None
) -> pl.DataFrame:
    """:data:`TARGET` rows for ``programme`` on ``as_of``.

    ``persons``: person_id, birth_date, sex, county, entry_date, exit_date and optionally ``reserved``
    (bool); ``tumours``: person_id, icd10, incidence_date (previous cancers exclude)."""
    parameters = programme_parameters(programme=programme)
    day = pl.lit(as_of, dtype=pl.Date)
    resident = pl.lit(True)
    if "entry_date" in persons.columns:
        resident = resident & (pl.col("entry_date").is_null() | (pl.col("entry_date") <= day))
    if "exit_date" in persons.columns:
        resident = resident & (pl.col("exit_date").is_null() | (pl.col("exit_date") > day))
    people = persons.filter(resident & pl.col("sex").cast(pl.Int64).is_in(list(parameters["sexes"])))
    reserved = pl.col("reserved").fill_null(False) if "reserved" in people.columns else pl.lit(False)
    people = people.with_columns(age_on(as_of).alias("age"), reserved.alias("_reserved"))
    if tumours is not None and tumours.height:
        code = pl.col("icd10").str.replace(".", "", literal=True)
        site = pl.lit(False)
        for prefix in parameters["target_icd10"]:
            site = site | code.str.starts_with(prefix)
        cancers = (
            tumours.filter(site & (pl.col("incidence_date") <= day))
            .select("person_id")
            .unique()
            .with_columns(pl.lit(True).alias("_cancer"))
        )
        people = people.join(cancers, on="person_id", how="left")
    else:
        people = people.with_columns(pl.lit(None, dtype=pl.Boolean).alias("_cancer"))
    cohort_ok = pl.lit(True)
    if "first_cohort" in parameters:
        cohort_ok = pl.col("birth_date").dt.year() >= int(parameters["first_cohort"])
    reason = (
        pl.when(pl.col("age") < int(parameters["entry_age"]))
        .then(pl.lit("too_young"))
        .when(pl.col("age") >= int(parameters["exit_age"]))
        .then(pl.lit("too_old"))
        .when(~cohort_ok)
        .then(pl.lit("cohort"))
        .when(pl.col("_reserved"))
        .then(pl.lit("reserved"))
        .when(pl.col("_cancer").fill_null(False))
        .then(pl.lit("cancer"))
    )
    county = pl.col("county") if "county" in people.columns else pl.lit(None, dtype=pl.String)
    out = people.with_columns(
        reason.alias("reason"), pl.lit(programme).alias("programme"), county.alias("county")
    ).with_columns(pl.col("reason").is_null().alias("in_target"))
    return out.select([pl.col(c).cast(t) for c, t in TARGET.items()])
