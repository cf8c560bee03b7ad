"""Data-quality indicators of registered cases per entity, sex, period and county.

Pure functions over snapshot tables (``oncoreg.snapshot.schema``: ``tumours``, ``deaths``). For each cell of
the classification ``by`` (any of ``entity``, ``sex``, ``period``, ``county``), over the cases ``n``:

* **MV%** = 100 · #{basis ∈ {5, 6, 7}} / n: microscopically verified (cytology, histology of a metastasis,
  histology of the primary), NORDCAN's ``pct_mv`` (``reference/norway.md`` §1.4);
* **DCO%** = 100 · #{basis = 0} / n: death certificate only, NORDCAN's ``pct_dco``;
* **PSU%** = 100 · #{topography C80} / n: primary site unknown (ICD-O-3 C80.9; ``registration.md`` §3.5);
* **age unknown %** = 100 · #{age unknown} / n (CanReg5 reports these cases separately, §1.8);
* **M:I** = deaths / n: deaths with the cell's entity as underlying cause (``deaths.entity``), in the same
  sex, calendar period (year of death) and county (residence at death), over the cases (canregtools ``mi``);
* **timeliness** = the median of ``registration_date - incidence_date`` in days over cases with a
  registration date (the first notification's received date; ENCR-JRC, Giusti et al., Front Oncol 2023,
  10.3389/fonc.2023.1219128).

Cases are the tumours reportable internationally: behaviour 3 and IARC/IACR status ``primary`` (or not yet
set), unless ``reportable_only=False``. A period is a block of ``period_length`` calendar years starting at
years ``y`` with ``(y - period_origin) mod period_length = 0`` (default origin 1: 2016-2020, 2021-2025),
labelled ``"2016-2020"`` (one year: ``"2020"``). A percentage over no cases, and M:I with no cases, is null.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from oncoreg.errors import Problem, ValidationFailed

GROUPS: tuple[str, ...] = ("entity", "sex", "period", "county")
MV_BASIS: tuple[int, ...] = (5, 6, 7)
DCO_BASIS = 0

#: The indicator table (``quality.parquet`` in a snapshot), one row per cell of ``by``.
QUALITY: dict[str, pl.DataType | type[pl.DataType]] = {
    "entity": pl.Int32,
    "sex": pl.Int8,
    "period": pl.String,
    "county": pl.String,
    "cases": pl.Int64,
    "mv_pct": pl.Float64,
    "dco_pct": pl.Float64,
    "psu_pct": pl.Float64,
    "age_unknown_pct": pl.Float64,
    "deaths": pl.Int64,
    "mi_ratio": pl.Float64,
    "timeliness_median_days": pl.Float64,
    "timeliness_cases": pl.Int64,
}

Frame = pl.DataFrame | pl.LazyFrame


def _require(frame: pl.LazyFrame, columns: Sequence[str], table: str) -> None:
    present = frame.collect_schema().names()
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValidationFailed(
            [Problem(c, "", "quality.columns", f"missing column in {table} table") for c in missing]
        )


def period_label(year: pl.Expr, *, period_length: int = 1, period_origin: int = 1) -> pl.Expr:
    """The period of a calendar year: ``"2020"``, or ``"2016-2020"`` for five-year blocks."""
    if period_length < 1:
        raise ValidationFailed(
            [Problem("period_length", str(period_length), "quality.period", "must be at least 1 year")]
        )
    start = year - (year - period_origin) % period_length
    if period_length == 1:
        return start.cast(pl.String)
    return pl.format("{}-{}", start, start + period_length - 1)


def _pct(condition: pl.Expr) -> pl.Expr:
    n = pl.len()
    return pl.when(n > 0).then(100.0 * condition.cast(pl.Int64).sum() / n).otherwise(None)


def quality_indicators(
    *,
    tumours: Frame,
    deaths: Frame | None = None,
    by: Sequence[str] = GROUPS,
    period_length: int = 1,
    period_origin: int = 1,
    reportable_only: bool = True,
) -> pl.DataFrame:
    """MV%, DCO%, PSU%, age unknown %, M:I and timeliness per cell of ``by`` (schema :data:`QUALITY`).

    ``tumours`` needs ``basis``, ``topography``, ``age``, ``incidence_date``, ``registration_date`` and the
    ``by`` columns (``period`` from ``incidence_date``); ``deaths`` (optional; without it M:I is null)
    needs ``death_date`` and the ``by`` columns other than ``period``. Columns of ``QUALITY`` not in ``by``
    are null. Rows are sorted by ``by``.
    """
    bad = [b for b in by if b not in GROUPS]
    if bad:
        raise ValidationFailed(
            [Problem("by", b, "quality.by", f"not one of {', '.join(GROUPS)}") for b in bad]
        )
    keys = ["_all", *by]  # "_all": one cell when ``by`` is empty
    period = period_label(pl.col("_year"), period_length=period_length, period_origin=period_origin).alias(
        "period"
    )
    cases = tumours.lazy()
    base = [c for c in by if c != "period"]
    _require(
        cases,
        ["basis", "topography", "age", "incidence_date", "registration_date", *base],
        "tumours",
    )
    if reportable_only:
        _require(cases, ["behaviour", "iarc_status"], "tumours")
        cases = cases.filter(
            (pl.col("behaviour") == 3)
            & (pl.col("iarc_status").is_null() | (pl.col("iarc_status") == "primary"))
        )
    delay = (pl.col("registration_date") - pl.col("incidence_date")).dt.total_days()
    incidence = (
        cases.with_columns(pl.lit(1).alias("_all"), pl.col("incidence_date").dt.year().alias("_year"))
        .with_columns(period)
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            _pct(pl.col("basis").is_in(MV_BASIS).fill_null(False)).alias("mv_pct"),
            _pct((pl.col("basis") == DCO_BASIS).fill_null(False)).alias("dco_pct"),
            _pct(pl.col("topography").str.starts_with("C80").fill_null(False)).alias("psu_pct"),
            _pct(pl.col("age").is_null()).alias("age_unknown_pct"),
            delay.median().cast(pl.Float64).alias("timeliness_median_days"),
            delay.count().cast(pl.Int64).alias("timeliness_cases"),
        )
    )
    if deaths is None:
        table = incidence.with_columns(pl.lit(None, pl.Int64).alias("deaths"))
    else:
        dead = deaths.lazy()
        _require(dead, ["death_date", *base], "deaths")
        mortality = (
            dead.with_columns(pl.lit(1).alias("_all"), pl.col("death_date").dt.year().alias("_year"))
            .with_columns(period)
            .group_by(keys)
            .agg(pl.len().cast(pl.Int64).alias("deaths"))
        )
        table = incidence.join(mortality, on=keys, how="full", coalesce=True, nulls_equal=True).with_columns(
            pl.col("deaths").fill_null(0)
        )
    table = table.with_columns(
        pl.col("cases").fill_null(0), pl.col("timeliness_cases").fill_null(0)
    ).with_columns(
        pl.when(pl.col("cases") > 0)
        .then(pl.col("deaths") / pl.col("cases"))
        .otherwise(None)
        .alias("mi_ratio")
    )
    out = table.select(
        [
            (pl.col(name) if name in by or name not in GROUPS else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in QUALITY.items()
        ]
    )
    return out.sort(list(by), nulls_last=True).collect() if by else out.collect()
