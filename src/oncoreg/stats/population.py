"""Population tables: the Norwegian population on 1 January (package data) and a loader for any CSV.

Canonical population table (1 January counts): ``year`` (Int16), ``sex`` (Int8, 1 male / 2 female),
``age`` (Int16, completed years; the last age is open, 105 = 105+ for Norway), optionally ``county``
(String, the 2024 county code, ``"03"`` Oslo), and ``population`` (Int64).

Five-year age groups follow DESIGN §7: ``age_group = min(floor(age / 5) + 1, 18)`` (1 = 0-4 ... 18 = 85+), the
grouping ``5y18`` of :mod:`oncoreg.codes.standard_populations`.

Person-years of calendar year *t* are the mean of the counts on 1 January *t* and *t + 1*
(:func:`oncoreg.stats.rates.person_years_from_jan1`), so the last year with a 1 January count has none.

The package data (``data/norway_population_jan1_{national,county}.parquet``) are Statistics Norway table 07459
as distributed by niphr/csdata (rows with ``imputed == FALSE`` only; national 1986-2026, counties 2005-2026 on
the 2024 county borders); provenance and licence in ``data/NOTICE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import polars as pl

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.stats.rates import person_years_from_jan1

__all__ = [
    "AGE_GROUPS",
    "Level",
    "age_group_expr",
    "norwegian_person_years",
    "norwegian_population",
    "read_population_csv",
]

Level = Literal["national", "county"]
AGE_GROUPS = 18
_DATA = files("oncoreg.stats") / "data"
_KEYS = ("year", "sex", "age", "age_group", "county")


def age_group_expr(age: str = "age", *, groups: int = AGE_GROUPS) -> pl.Expr:
    """Five-year age group 1..``groups`` of completed ``age`` (last open): ``min(age//5 + 1, n)``."""
    return pl.min_horizontal(pl.col(age).cast(pl.Int32) // 5 + 1, pl.lit(groups, pl.Int32)).alias("age_group")


@lru_cache(maxsize=2)
def _package_table(level: Level) -> pl.DataFrame:
    return pl.read_parquet(_DATA.joinpath(f"norway_population_jan1_{level}.parquet").read_bytes())


def _check_by(by: Sequence[str], level: Level) -> None:
    problems = [
        Problem("by", key, "population.by", f"must be one of {', '.join(_KEYS)}")
        for key in by
        if key not in _KEYS
    ]
    if "county" in by and level != "county":
        problems.append(Problem("by", "county", "population.by", "county needs level='county'"))
    if level not in ("national", "county"):
        problems.append(Problem("level", str(level), "population.level", "must be national or county"))
    if problems:
        raise ValidationFailed(problems)


def _grouped(table: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    if "age_group" in by:
        table = table.with_columns(age_group_expr())
    return table.group_by(list(by)).agg(pl.col("population").sum().cast(pl.Int64)).sort(list(by))


def norwegian_population(
    *, by: Sequence[str] = ("year", "sex", "age_group"), level: Level = "national"
) -> pl.DataFrame:
    """Norway's population on 1 January summed over everything not in ``by``.

    ``by``: any of ``year, sex, age, age_group, county`` (county needs ``level="county"``, years 2005-2026;
    national figures cover 1986-2026). Returns ``by + ["population"]`` sorted by ``by``.
    """
    _check_by(by, level)
    return _grouped(_package_table(level), by)


def norwegian_person_years(
    *, by: Sequence[str] = ("year", "sex", "age_group"), level: Level = "national"
) -> pl.DataFrame:
    """Person-years per calendar year, ``(N_{1 Jan t} + N_{1 Jan t+1}) / 2``, by ``by`` (with year).

    Returns ``by + ["person_years"]``; the last year (2026) has no following count and is absent.
    """
    if "year" not in by:
        raise ValidationFailed([Problem("by", ",".join(by), "population.by", "person-years need year in by")])
    jan1 = norwegian_population(by=by, level=level)
    return person_years_from_jan1(population=jan1, by=[k for k in by if k != "year"])


def read_population_csv(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    sex_labels: Mapping[str, int] | None = None,
    drop_where: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Read a population CSV of 1 January counts into the canonical table.

    ``columns`` maps canonical names (``year, sex, age, age_group, county, population``) to the file's own
    (e.g. ``{"year": "calyear", "population": "pop_jan1_n"}``); ``age`` or ``age_group`` must be present.
    ``sex_labels`` maps the file's sex values to 1/2 (default: ``1/2``, ``male/female``, ``M/F`` are
    understood; other values, such as a ``total`` row, are dropped). ``drop_where`` drops rows whose column
    holds the given text (``{"imputed": "true"}``, compared case-insensitively). Every problem (missing
    column, non-numeric or negative count) is collected into one :class:`~oncoreg.errors.ValidationFailed`.
    """
    raw = pl.read_csv(path, infer_schema=False)
    rename = {v: k for k, v in (columns or {}).items() if v in raw.columns}
    for column, value in (drop_where or {}).items():
        if column in raw.columns:
            raw = raw.filter(pl.col(column).str.to_lowercase() != value.lower())
    raw = raw.rename(rename)
    problems = [
        Problem(name, "", "population.columns", "column missing from the population file")
        for name in ("year", "sex", "population")
        if name not in raw.columns
    ]
    if "age" not in raw.columns and "age_group" not in raw.columns:
        problems.append(Problem("age", "", "population.columns", "need an age or age_group column"))
    if problems:
        raise ValidationFailed(problems)
    labels = dict(sex_labels or {"1": 1, "2": 2, "male": 1, "female": 2, "m": 1, "f": 2})
    labels = {str(k).lower(): v for k, v in labels.items()}
    keys = [k for k in ("year", "sex", "age", "age_group", "county") if k in raw.columns]
    table = raw.select(
        *[
            pl.col("year").cast(pl.Int16, strict=False),
            pl.col("sex").str.to_lowercase().replace_strict(labels, default=None, return_dtype=pl.Int8),
        ],
        *[pl.col(k).cast(pl.Int16, strict=False) for k in ("age", "age_group") if k in keys],
        *[pl.col("county") for _ in ("county",) if "county" in keys],
        pl.col("population").cast(pl.Float64, strict=False).cast(pl.Int64, strict=False),
        pl.int_range(2, pl.len() + 2).alias("_row"),
    ).filter(pl.col("sex").is_not_null())
    bad = table.filter(
        pl.any_horizontal(
            pl.col("population").is_null() | (pl.col("population") < 0),
            pl.col("year").is_null(),
            *[pl.col(k).is_null() for k in ("age", "age_group") if k in keys],
        )
    )
    if bad.height:
        raise ValidationFailed(
            [
                Problem(
                    "population",
                    str(r["population"]),
                    "population.values",
                    "year/age/count unreadable",
                    str(r["_row"]),
                )
                for r in bad.head(20).iter_rows(named=True)
            ]
        )
    return table.drop("_row").sort(keys)
