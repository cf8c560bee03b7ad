"""The standard statistics tables of a registry release (Cancer in Norway / NORDCAN) from snapshots.

:func:`standard_tables` takes the snapshot's ``tumours``, ``persons`` and ``deaths`` frames, person-years
(``year, sex, age_group[, county], person_years``; e.g.
:func:`oncoreg.stats.population.norwegian_person_years`)
and a rate table, and returns a dict of Polars frames:

* ``incidence_year`` / ``incidence_period``: per NORDCAN entity × sex (0 = both, 1, 2) × year or period ×
  standard: cases, person-years, crude rate, ASR with CIs (per 100 000; gamma = Fay-Feuer), cumulative rate
  and risk 0-74 (:func:`oncoreg.stats.rates.standardised_rates`); ``incidence_county_period`` the same by
  county when asked; ``incidence_age_specific``: rates per entity × sex × period × five-year age group;
* ``mortality_year`` / ``mortality_period``: the same from deaths by the entity of the underlying cause;
* ``prevalence``: persons alive on 31 December of the last year by entity × sex × duration (1, 5, 10 years and
  complete; :func:`oncoreg.stats.prevalence.prevalence`) with the proportion per 100 000 (person-years of the
  last year as the denominator);
* ``survival`` / ``survival_age_specific`` / ``survival_curves``: 1- and 5-year Pohar Perme net survival by
  entity × sex × period, ICSS-standardised (:mod:`oncoreg.stats.standard_survival`).

Conventions. Cases are IARC-reportable primaries: ``iarc_status == "primary"`` where the column is present
(rows with no status yet are kept). Entities are derived from ``icd10, morphology, behaviour``
(:func:`oncoreg.codes.entities.add_entities`, all six levels, so "all sites" 980/990/970 and main groups are
sums of their members); only entities NORDCAN uses for incidence (mortality, survival) are reported, and
sex-specific entities only for that sex. Periods have ``period_length`` years counted back from the last year
(the first may be shorter). Tumours of unknown sex or age and years without person-years are left out of
rates. Survival (NORDCAN): the first tumour per person and entity; excluded are age 90+ or unknown, DCO
(basis 0 or ``dco``), unknown vital status, follow-up ≤ 0 days and male breast; follow-up ends at death,
emigration or 31 December of the last year; monthly life table to 5 years; cohort approach for every period
but the last, period approach for the last (follow-up from 1 January of its first year, patients diagnosed
from five years before).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from oncoreg.codes.entities import LEVELS, add_entities, entities_table
from oncoreg.codes.standard_populations import standard_population
from oncoreg.errors import Problem, ValidationFailed
from oncoreg.stats.population import age_group_expr
from oncoreg.stats.prevalence import first_per_person_and_entity, prevalence
from oncoreg.stats.rates import age_specific_rates, standardised_rates
from oncoreg.stats.ratetable import RateTable
from oncoreg.stats.standard_survival import stratum_survival
from oncoreg.stats.survival_lifetable import parse_breaks
from oncoreg.stats.survival_standardise import calendar_window

__all__ = [
    "STANDARDS",
    "entity_units",
    "periods",
    "reportable",
    "standard_tables",
    "survival_patients",
]

#: Short names of the standard populations for ASRs -> names in oncoreg.codes.standard_populations.
STANDARDS: dict[str, str] = {
    "world": "world_segi_1960",
    "europe2013": "europe_2013",
    "nordic": "nordic_2000",
}
_ENTITY_COLUMNS = [f"entity_level_{lv}" for lv in LEVELS]


def _require(frame: pl.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            [Problem(c, "", "standard_tables.columns", f"missing column in {table} table") for c in missing]
        )


_TUMOUR_COLUMNS_USED = (
    "person_id",
    "tumour_id",
    "sex",
    "birth_date",
    "age",
    "incidence_date",
    "icd10",
    "morphology",
    "behaviour",
    "basis",
    "dco",
    "county",
)


def reportable(tumours: pl.DataFrame) -> pl.DataFrame:
    """The IARC-reportable primaries: ``iarc_status == "primary"`` (or not yet set) when the column exists."""
    if "iarc_status" not in tumours.columns:
        return tumours
    return tumours.filter(pl.col("iarc_status").is_null() | (pl.col("iarc_status") == "primary"))


def entity_units(
    frame: pl.DataFrame,
    *,
    use: str = "incidence",
    icd10: str = "icd10",
    morphology: str | None = "morphology",
    behaviour: str | None = "behaviour",
) -> pl.DataFrame:
    """``frame`` long by entity: one row per row of ``frame`` and NORDCAN entity it counts in (any level).

    Only entities flagged for ``use`` (``incidence``, ``mortality`` or ``survival``) and, for sex-specific
    entities, rows of that sex (when ``frame`` has ``sex``). Adds ``entity`` (Int32).
    """
    with_levels = add_entities(
        frame.drop("entity", strict=False), icd10=icd10, morphology=morphology, behaviour=behaviour
    )
    table = entities_table().filter(pl.col(use)).select("entity", pl.col("sex").alias("_entity_sex"))
    long = (
        with_levels.with_row_index("_unit")
        .unpivot(index=["_unit"], on=_ENTITY_COLUMNS, value_name="entity")
        .drop("variable")
        .drop_nulls("entity")
        .unique(["_unit", "entity"])
        .join(table, on="entity")
    )
    out = with_levels.drop(_ENTITY_COLUMNS).with_row_index("_unit").join(long, on="_unit")
    if "sex" in out.columns:
        out = out.filter(
            (pl.col("_entity_sex") == 0) | (pl.col("_entity_sex") == pl.col("sex").cast(pl.Int8))
        )
    return out.drop("_unit", "_entity_sex").with_columns(pl.col("entity").cast(pl.Int32))


def periods(*, first_year: int, last_year: int, length: int = 5) -> pl.DataFrame:
    """Calendar periods of ``length`` years counted back from ``last_year`` (the first may be shorter).

    Returns ``year, period_index`` (0 = earliest), ``period_start, period_end, period`` ("2020-2024").
    """
    years = np.arange(first_year, last_year + 1)
    back = (last_year - years) // length
    end = last_year - back * length
    start = np.maximum(end - length + 1, first_year)
    return pl.DataFrame(
        {
            "year": years.astype(np.int32),
            "period_index": (back.max() - back).astype(np.int32),
            "period_start": start.astype(np.int32),
            "period_end": end.astype(np.int32),
        }
    ).with_columns(period=pl.format("{}-{}", "period_start", "period_end"))


def _with_both_sexes(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """Add sex 0 (both) rows summing ``value`` over sexes 1 and 2."""
    keys = [c for c in frame.columns if c not in ("sex", value)]
    both = frame.group_by(keys).agg(pl.col(value).sum()).with_columns(pl.lit(0, pl.Int8).alias("sex"))
    return pl.concat([frame, both.select(frame.columns)])


def _rates(
    *,
    counts: pl.DataFrame,
    person_years: pl.DataFrame,
    keys: Sequence[str],
    count: str,
    standards: Sequence[str],
    use: str,
) -> pl.DataFrame:
    """Standardised rates per ``entity, sex`` + ``keys`` for every standard (long, column ``standard``)."""
    grid = _rates_grid(person_years, use)
    by = ["entity", "sex", *keys]
    counts = counts.join(grid.select("entity", "sex").unique(), on=["entity", "sex"], how="semi")
    frames = []
    for short in standards:
        weights = standard_population(STANDARDS[short])
        frames.append(
            standardised_rates(
                cases=counts, person_years=grid, weights=weights, by=by, count=count
            ).with_columns(pl.lit(short).alias("standard"))
        )
    return pl.concat(frames).sort([*by, "standard"])


def _person_years_by(
    person_years: pl.DataFrame, keys: Sequence[str], year_map: pl.DataFrame | None
) -> pl.DataFrame:
    py = person_years
    if year_map is not None:
        py = py.join(year_map, on="year")
    cols = ["sex", "age_group", *keys]
    return _with_both_sexes(py.group_by(cols).agg(pl.col("person_years").sum()), "person_years")


def _counts(units: pl.DataFrame, keys: Sequence[str], name: str) -> pl.DataFrame:
    cols = ["entity", "sex", "age_group", *keys]
    return _with_both_sexes(units.group_by(cols).agg(pl.len().cast(pl.Int64).alias(name)), name)


def _label(frame: pl.DataFrame) -> pl.DataFrame:
    labels = entities_table().select("entity", "label")
    front = ["entity", "label"]
    joined = frame.join(labels, on="entity", how="left")
    return joined.select(front + [c for c in joined.columns if c not in front])


def survival_patients(
    *,
    units: pl.DataFrame,
    persons: pl.DataFrame,
    period_table: pl.DataFrame,
    last_year: int,
    horizon_years: int = 5,
    max_age: int = 90,
) -> pl.DataFrame:
    """Patients for the survival tables: one row per (tumour, entity, approach) after NORDCAN's rules.

    ``units``: tumours long by survival entity (:func:`entity_units` with ``use="survival"``). Returns
    ``tumour_id, entity, sex, age, period_index, approach`` ("cohort" | "period"), ``age_days, date_days``
    (days since 1970-01-01), ``time_days, dead, entry_days``.
    """
    closing = pl.date(last_year, 12, 31)
    first = (
        first_per_person_and_entity(units)
        .filter(~((pl.col("entity") == 180) & (pl.col("sex") == 1)))
        .join(
            persons.select("person_id", "vital_status", "death_date", "emigration_date"),
            on="person_id",
            how="left",
        )
    )
    dco = pl.col("basis").cast(pl.Int32).eq(0).fill_null(False) if "basis" in first.columns else pl.lit(False)
    if "dco" in first.columns:
        dco = dco | pl.col("dco").fill_null(False)
    exit_date = pl.min_horizontal(pl.col("death_date"), pl.col("emigration_date"), closing)
    work = first.filter(
        pl.col("age").is_not_null()
        & (pl.col("age") < max_age)
        & ~dco
        & (pl.col("vital_status").fill_null("alive") != "unknown")
    ).with_columns(
        time_days=(exit_date - pl.col("incidence_date")).dt.total_days().cast(pl.Float64),
        dead=(pl.col("death_date").is_not_null() & (pl.col("death_date") == exit_date)).fill_null(False),
        date_days=pl.col("incidence_date").cast(pl.Int32).cast(pl.Float64),
        age_days=(pl.col("incidence_date") - pl.col("birth_date")).dt.total_days().cast(pl.Float64),
        year=pl.col("incidence_date").dt.year().cast(pl.Int32),
    )
    work = work.filter(pl.col("time_days") > 0).join(period_table.select("year", "period_index"), on="year")
    last_index = int(period_table["period_index"].max())  # type: ignore[arg-type]
    window_start = int(period_table.filter(pl.col("period_index") == last_index)["period_start"].min())  # type: ignore[arg-type]
    columns = [
        "tumour_id",
        "entity",
        "sex",
        "age",
        "period_index",
        "age_days",
        "date_days",
        "time_days",
        "dead",
    ]
    cohort = (
        work.filter(pl.col("period_index") < last_index)
        .select(columns)
        .with_columns(approach=pl.lit("cohort"), entry_days=pl.lit(0.0))
    )
    recent = work.filter(pl.col("year") >= window_start - horizon_years)
    start_day = float((np.datetime64(f"{window_start}-01-01") - np.datetime64("1970-01-01")).astype(int))
    end_day = float((np.datetime64(f"{last_year + 1}-01-01") - np.datetime64("1970-01-01")).astype(int))
    entry, _exit, _died, keep = calendar_window(
        date_days=recent["date_days"].to_numpy(),
        time_days=recent["time_days"].to_numpy(),
        dead=recent["dead"].to_numpy(),
        start_day=start_day,
        end_day=end_day,
    )
    period = (
        recent.with_columns(
            pl.Series("entry_days", entry), pl.lit(last_index, pl.Int32).alias("period_index")
        )
        .filter(pl.Series(keep))
        .select(*columns, pl.lit("period").alias("approach"), "entry_days")
    )
    return pl.concat([cohort, period])


def standard_tables(
    *,
    tumours: pl.DataFrame,
    persons: pl.DataFrame,
    deaths: pl.DataFrame | None,
    person_years: pl.DataFrame,
    rate_table: RateTable | None = None,
    first_year: int | None = None,
    last_year: int | None = None,
    period_length: int = 5,
    standards: Sequence[str] = ("world", "europe2013", "nordic"),
    by_county: bool = False,
    prevalence_durations: Sequence[int | None] = (1, 5, 10, None),
    min_at_risk: int = 0,
) -> dict[str, pl.DataFrame]:
    """The standard tables (see the module docstring); survival only when ``rate_table`` is given.

    ``tumours``: ``person_id, tumour_id, sex, birth_date, age, incidence_date, icd10, morphology, behaviour``
    (+ ``basis, dco, iarc_status, county`` when present); ``persons``: ``person_id, sex, birth_date,
    vital_status, death_date, emigration_date``; ``deaths``: ``underlying_cause, sex, age`` and ``death_year``
    or ``death_date``; ``person_years``: ``year, sex, age_group`` (1-18) ``[, county], person_years``.
    """
    _require(
        tumours,
        [
            "person_id",
            "tumour_id",
            "sex",
            "birth_date",
            "age",
            "incidence_date",
            "icd10",
            "morphology",
            "behaviour",
        ],
        "tumours",
    )
    _require(persons, ["person_id", "sex", "birth_date", "death_date", "emigration_date"], "persons")
    _require(person_years, ["year", "sex", "age_group", "person_years"], "person_years")
    unknown = [s for s in standards if s not in STANDARDS]
    if unknown:
        raise ValidationFailed(
            [
                Problem("standard", s, "standard_tables.standard", f"must be one of {', '.join(STANDARDS)}")
                for s in unknown
            ]
        )
    py = person_years.with_columns(
        pl.col("year").cast(pl.Int32), pl.col("sex").cast(pl.Int8), pl.col("age_group").cast(pl.Int32)
    )
    # only the columns the tables use travel through the entity expansion (1 row per tumour and entity)
    used = [c for c in tumours.columns if c in _TUMOUR_COLUMNS_USED]
    cases = (
        reportable(tumours)
        .select(used)
        .with_columns(year=pl.col("incidence_date").dt.year().cast(pl.Int32), sex=pl.col("sex").cast(pl.Int8))
    )
    py_years = set(py["year"].unique().to_list())
    first = first_year if first_year is not None else max(int(cases["year"].min()), min(py_years))  # type: ignore[arg-type]
    last = last_year if last_year is not None else min(int(cases["year"].max()), max(py_years))  # type: ignore[arg-type]
    period_table = periods(first_year=first, last_year=last, length=period_length)
    year_map = period_table.select("year", "period_index", "period", "period_start", "period_end")
    py = py.filter(pl.col("year").is_between(first, last))
    units = entity_units(cases)
    rated = units.filter(
        pl.col("year").is_between(first, last) & pl.col("sex").is_in([1, 2]) & pl.col("age").is_not_null()
    ).with_columns(age_group_expr())
    tables: dict[str, pl.DataFrame] = {}
    period_keys = ["period_index", "period", "period_start", "period_end"]
    count_year = _counts(rated, ["year"], "cases")
    count_period = _counts(rated.join(year_map, on="year"), period_keys, "cases")
    py_year = _person_years_by(py, ["year"], None)
    py_period = _person_years_by(py, period_keys, year_map)
    tables["incidence_year"] = _rates(
        counts=count_year,
        person_years=py_year,
        keys=["year"],
        count="cases",
        standards=standards,
        use="incidence",
    )
    tables["incidence_period"] = _rates(
        counts=count_period,
        person_years=py_period,
        keys=period_keys,
        count="cases",
        standards=standards,
        use="incidence",
    )
    grid = _rates_grid(py_period, "incidence")
    tables["incidence_age_specific"] = age_specific_rates(
        cases=count_period.join(grid.select("entity", "sex").unique(), on=["entity", "sex"], how="semi"),
        person_years=grid,
        by=["entity", "sex", *period_keys],
        count="cases",
    )
    if by_county:
        _require(person_years, ["county"], "person_years")
        county_rated = rated.filter(pl.col("county").is_not_null())
        py_county = py.filter(pl.col("county").is_not_null())
        tables["incidence_county_period"] = _rates(
            counts=_counts(county_rated.join(year_map, on="year"), [*period_keys, "county"], "cases"),
            person_years=_person_years_by(py_county, [*period_keys, "county"], year_map),
            keys=[*period_keys, "county"],
            count="cases",
            standards=standards,
            use="incidence",
        )
    if deaths is not None and deaths.height:
        tables.update(_mortality(deaths, py, year_map, first, last, standards))
    tables["prevalence"] = _prevalence(units, persons, py, last, prevalence_durations)
    if rate_table is not None:
        tables.update(_survival(units, persons, period_table, last, rate_table, min_at_risk))
    return {name: _label(frame) for name, frame in tables.items()}


def _rates_grid(py: pl.DataFrame, use: str) -> pl.DataFrame:
    entity_sex = entities_table().filter(pl.col(use)).select("entity", pl.col("sex").alias("_es"))
    return (
        py.join(entity_sex, how="cross")
        .filter((pl.col("_es") == 0) | (pl.col("_es") == pl.col("sex")))
        .drop("_es")
    )


def _mortality(
    deaths: pl.DataFrame,
    py: pl.DataFrame,
    year_map: pl.DataFrame,
    first: int,
    last: int,
    standards: Sequence[str],
) -> dict[str, pl.DataFrame]:
    _require(deaths, ["underlying_cause", "sex", "age"], "deaths")
    year = (
        pl.col("death_year").cast(pl.Int32)
        if "death_year" in deaths.columns
        else pl.col("death_date").dt.year().cast(pl.Int32)
    )
    # only neoplasm codes (C00-D48) can have an entity; skip the other causes before the entity lookup
    known = deaths.filter(
        pl.col("underlying_cause").str.to_uppercase().str.contains("^\\s*[CD]")
    ).with_columns(year=year, sex=pl.col("sex").cast(pl.Int8))
    units = entity_units(known, use="mortality", icd10="underlying_cause", morphology=None, behaviour=None)
    units = units.filter(
        pl.col("year").is_between(first, last) & pl.col("sex").is_in([1, 2]) & pl.col("age").is_not_null()
    ).with_columns(age_group_expr())
    period_keys = ["period_index", "period", "period_start", "period_end"]
    return {
        "mortality_year": _rates(
            counts=_counts(units, ["year"], "deaths"),
            person_years=_person_years_by(py, ["year"], None),
            keys=["year"],
            count="deaths",
            standards=standards,
            use="mortality",
        ),
        "mortality_period": _rates(
            counts=_counts(units.join(year_map, on="year"), period_keys, "deaths"),
            person_years=_person_years_by(py, period_keys, year_map),
            keys=period_keys,
            count="deaths",
            standards=standards,
            use="mortality",
        ),
    }


def _prevalence(
    units: pl.DataFrame,
    persons: pl.DataFrame,
    py: pl.DataFrame,
    last: int,
    durations: Sequence[int | None],
) -> pl.DataFrame:
    exits = persons.select(
        "person_id",
        pl.col("sex").cast(pl.Int8),
        "birth_date",
        pl.min_horizontal("death_date", "emigration_date").alias("exit_date"),
    )
    counted = prevalence(
        tumours=units.filter(pl.col("incidence_date").dt.year() <= last).select(
            "person_id", "tumour_id", "entity", "incidence_date"
        ),
        persons=exits,
        years=[last],
        durations=durations,
    )
    counted = counted.filter(pl.col("sex").is_in([1, 2]))
    total = _with_both_sexes(
        counted.group_by("entity", "sex", "year", "duration_years").agg(pl.col("prevalent").sum()),
        "prevalent",
    )
    denominator = _with_both_sexes(
        py.filter(pl.col("year") == last).group_by("sex", "year").agg(pl.col("person_years").sum()),
        "person_years",
    )
    return (
        total.join(denominator, on=["sex", "year"], how="left")
        .with_columns((pl.col("prevalent") / pl.col("person_years") * 100_000).alias("per_100000"))
        .drop("person_years")
        .sort("entity", "sex", "duration_years", nulls_last=True)
    )


def _rate_table_sexes(rate_table: RateTable) -> dict[int, str]:
    if {"1", "2"} <= set(rate_table.sexes):
        return {1: "1", 2: "2"}
    if {"male", "female"} <= set(rate_table.sexes):
        return {1: "male", 2: "female"}
    raise ValidationFailed(
        [
            Problem(
                "sex",
                ",".join(rate_table.sexes),
                "standard_tables.ratetable",
                "rate table needs sexes 1/2 or male/female",
            )
        ]
    )


def _survival(
    incidence_units: pl.DataFrame,
    persons: pl.DataFrame,
    period_table: pl.DataFrame,
    last: int,
    rate_table: RateTable,
    min_at_risk: int,
) -> dict[str, pl.DataFrame]:
    survival_entities = entities_table().filter(pl.col("survival"))["entity"]
    units = incidence_units.filter(pl.col("entity").is_in(survival_entities.implode()))
    if "vital_status" not in persons.columns:
        persons = persons.with_columns(pl.lit(None, pl.String).alias("vital_status"))
    patients = survival_patients(units=units, persons=persons, period_table=period_table, last_year=last)
    if patients.height == 0:
        return {}
    labels = _rate_table_sexes(rate_table)
    grouped = (
        patients.group_by("tumour_id", "approach", maintain_order=True)
        .agg(
            pl.col("entity").alias("entities"),
            *[
                pl.col(c).first()
                for c in (
                    "sex",
                    "age",
                    "period_index",
                    "age_days",
                    "date_days",
                    "time_days",
                    "dead",
                    "entry_days",
                )
            ],
        )
        .with_columns(pl.col("sex").replace_strict(labels, return_dtype=pl.String).alias("sex_label"))
    )
    result = stratum_survival(
        patients=grouped,
        rate_table=rate_table,
        breaks_years=parse_breaks("0:5:1/12"),
        min_at_risk=min_at_risk,
    )
    info = period_table.group_by("period_index").agg(
        pl.col("period").first(), pl.col("period_start").first(), pl.col("period_end").first()
    )
    last_index = int(period_table["period_index"].max())  # type: ignore[arg-type]
    approach = (
        pl.when(pl.col("period_index") == last_index).then(pl.lit("period")).otherwise(pl.lit("cohort"))
    )

    def finish(frame: pl.DataFrame) -> pl.DataFrame:
        joined = frame.join(info, on="period_index").with_columns(approach.alias("approach"))
        front = ["entity", "sex", "period_index", "period", "period_start", "period_end", "approach"]
        return joined.select(front + [c for c in joined.columns if c not in front]).sort(
            "entity", "sex", "period_index", "time"
        )

    return {
        "survival": finish(result["standardised"]),
        "survival_age_specific": finish(result["age_specific"]),
        "survival_curves": finish(result["curves"]),
    }
