"""Limited-duration and complete-within-registry prevalence by the counting method, as NORDCAN counts it.

NORDCAN (nordcanepistats ``prevalence.R`` with basicepistats ``stat_year_based_prevalent_subject_count``;
``reference/statistics.md`` §1.4, §7): at the end of each observation year ``T`` (index date
31 December ``T``)
a person counts once per entity if

* the person's **first** tumour of that entity (earliest incidence date, then tumour id) was diagnosed on or
  before the index date: ``incidence_date <= 31 Dec T``;
* the person is still under observation after the index date: ``exit_date`` (death, emigration or lost to
  follow-up, as the persons table gives it) is empty or later than 31 Dec ``T``; emigrated or lost persons
  simply leave at their exit date (no correction for loss to follow-up, as NORDCAN);
* for ``D``-year prevalence: the first tumour falls in the last ``D`` calendar years,
  ``T - year(incidence_date) < D`` (i.e. ``incidence_date > 31 Dec (T - D)``); ``D = None`` gives the
  complete-within-registry count (every year since the registry began).

Age is current age in five-year groups, ``age_group = min(floor((T - birth_year) / 5) + 1, 18)``
(NORDCAN since 9.4). Cells with no prevalent persons are not listed.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from oncoreg.errors import Problem, ValidationFailed

DEFAULT_DURATIONS: tuple[int | None, ...] = (1, 3, 5, 10, None)


def _require(frame: pl.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            [Problem(c, "", "prevalence.columns", f"missing column in {table} table") for c in missing]
        )


def first_per_person_and_entity(tumours: pl.DataFrame, entity: str = "entity") -> pl.DataFrame:
    """The first tumour (earliest ``incidence_date``, then lowest ``tumour_id``) of each person and entity,
    in the frame's order (a filter on the group minimum, faster than sort + unique on millions of rows)."""
    step = int(tumours["tumour_id"].max() or 0) + 1  # type: ignore[arg-type]
    key = pl.col("incidence_date").cast(pl.Int64) * step + pl.col("tumour_id").cast(pl.Int64)
    # most (person, entity) pairs have one tumour: only the repeated ones need the group minimum
    repeated = pl.struct("person_id", entity).is_duplicated()
    marked = tumours.with_row_index("_order").with_columns(repeated.alias("_repeated"))
    several = marked.filter("_repeated")
    return (
        pl.concat(
            [marked.filter(~pl.col("_repeated")), several.filter(key == key.min().over("person_id", entity))]
        )
        .sort("_order")
        .drop("_order", "_repeated")
    )


def prevalence(
    *,
    tumours: pl.DataFrame,
    persons: pl.DataFrame,
    years: Sequence[int],
    durations: Sequence[int | None] = DEFAULT_DURATIONS,
    entity: str = "entity",
) -> pl.DataFrame:
    """Prevalent persons at 31 December of each year by entity, sex, current age group and duration.

    ``tumours``: ``person_id, tumour_id, <entity>, incidence_date``; ``persons``: ``person_id, sex,
    birth_date, exit_date`` (null while alive and resident). Returns ``entity, sex, age_group, year,
    duration_years`` (null = complete within registry), ``prevalent``.
    """
    _require(tumours, ["person_id", "tumour_id", entity, "incidence_date"], "tumours")
    _require(persons, ["person_id", "sex", "birth_date", "exit_date"], "persons")
    no_date = tumours.with_row_index("row", offset=1).filter(pl.col("incidence_date").is_null())
    orphans = tumours.join(persons, on="person_id", how="anti")
    problems = [
        Problem("incidence_date", "", "prevalence.incidence_date", "missing", str(r["row"]))
        for r in no_date.head(10).iter_rows(named=True)
    ] + [
        Problem("person_id", str(r["person_id"]), "prevalence.person", "tumour of a person not in persons")
        for r in orphans.head(10).iter_rows(named=True)
    ]
    if problems:
        raise ValidationFailed(problems)
    bad_dur = [d for d in durations if d is not None and d < 1]
    if bad_dur:
        raise ValidationFailed(
            [Problem("durations", str(bad_dur[0]), "prevalence.duration", "must be >= 1 year")]
        )
    first = (
        first_per_person_and_entity(
            tumours.select("person_id", "tumour_id", entity, "incidence_date"), entity
        )
        .select("person_id", entity, "incidence_date")
        .join(persons.select("person_id", "sex", "birth_date", "exit_date"), on="person_id")
    )
    index = pl.DataFrame({"year": list(years)}, schema={"year": pl.Int32}).with_columns(
        index_date=pl.date(pl.col("year"), 12, 31)
    )
    alive = first.join(index, how="cross").filter(
        (pl.col("incidence_date") <= pl.col("index_date"))
        & (pl.col("exit_date").is_null() | (pl.col("exit_date") > pl.col("index_date")))
    )
    alive = alive.with_columns(
        since=pl.col("year") - pl.col("incidence_date").dt.year(),
        age_group=pl.min_horizontal(((pl.col("year") - pl.col("birth_date").dt.year()) // 5) + 1, pl.lit(18)),
    )
    limits = pl.DataFrame({"duration_years": list(durations)}, schema={"duration_years": pl.Int32})
    counted = alive.join(limits, how="cross").filter(
        pl.col("duration_years").is_null() | (pl.col("since") < pl.col("duration_years"))
    )
    return (
        counted.group_by(entity, "sex", "age_group", "year", "duration_years")
        .agg(pl.len().cast(pl.Int64).alias("prevalent"))
        .sort(entity, "sex", "age_group", "year", "duration_years", nulls_last=True)
    )
