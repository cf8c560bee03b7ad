"""Patients for survival analysis: validated, in days, indexed into a rate table.

:func:`survival_data` turns a patient table with user columns and units into :class:`SurvivalData`, the
canonical arrays the estimators use: follow-up time in days, death indicator, age at diagnosis in days
(years × 365.241, relsurv's ``rmap``), the diagnosis day on the rate table's calendar clock and the sex index
in the rate table. All problems of a table are collected into one :class:`~oncoreg.errors.ValidationFailed`.
NORDCAN exclusions (statistics.md §1.5, norway.md §1.1) are a separate, explicit step:
:func:`nordcan_exclusions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from oncoreg.errors import Problem, ValidationFailed
from oncoreg.stats.ratetable import DAYS_PER_YEAR, Calendar, RateTable

TimeUnit = Literal["days", "months", "years"]
AgeUnit = Literal["days", "years"]
_DAYS = {"days": 1.0, "months": DAYS_PER_YEAR / 12.0, "years": DAYS_PER_YEAR}


@dataclass(frozen=True)
class SurvivalData:
    """One row per patient (tumour) as arrays; ``strata`` holds the by-variables (may have no columns)."""

    time_days: NDArray[np.float64]
    dead: NDArray[np.bool_]
    age_days: NDArray[np.float64]
    date_days: NDArray[np.float64]
    sex_index: NDArray[np.int64]
    calendar: Calendar
    strata: pl.DataFrame

    def __len__(self) -> int:
        return len(self.time_days)

    def subset(self, mask: NDArray[np.bool_]) -> SurvivalData:
        """The rows where ``mask`` is true."""
        return SurvivalData(
            time_days=self.time_days[mask],
            dead=self.dead[mask],
            age_days=self.age_days[mask],
            date_days=self.date_days[mask],
            sex_index=self.sex_index[mask],
            calendar=self.calendar,
            strata=self.strata.filter(pl.Series(mask)) if self.strata.width else self.strata,
        )


def survival_data(
    patients: pl.DataFrame,
    *,
    rate_table: RateTable,
    time: str = "time",
    time_unit: TimeUnit = "days",
    status: str = "status",
    dead_values: Sequence[str] = ("1",),
    age: str = "age",
    age_unit: AgeUnit = "years",
    sex: str = "sex",
    sex_labels: Mapping[str, str] | None = None,
    diagnosis_date: str | None = None,
    diagnosis_year: str | None = None,
    by: Sequence[str] = (),
) -> SurvivalData:
    """Validate and convert a patient table.

    Status values in ``dead_values`` (compared as text) mean death, any other value censoring. Exactly one of
    ``diagnosis_date`` (ISO date; calendar ``"date"``) and ``diagnosis_year`` (decimal or integer year;
    calendar ``"decimal-year"``) is required. ``sex_labels`` maps data values to rate-table labels.
    """
    problems: list[Problem] = []
    if (diagnosis_date is None) == (diagnosis_year is None):
        problems.append(
            Problem(
                "diagnosis", "", "survival.columns", "give exactly one of diagnosis date or diagnosis year"
            )
        )
    date_column = diagnosis_date if diagnosis_date is not None else diagnosis_year
    needed = [time, status, age, sex, *by] + ([date_column] if date_column else [])
    problems.extend(
        Problem(name, "", "survival.columns", "column missing from the patient table")
        for name in dict.fromkeys(needed)
        if name not in patients.columns
    )
    if problems:
        raise ValidationFailed(problems)
    rows = pl.int_range(2, pl.len() + 2).alias("row")
    exprs = [
        rows,
        pl.col(time).cast(pl.Float64, strict=False).alias("time"),
        pl.col(age).cast(pl.Float64, strict=False).alias("age"),
        pl.col(status).cast(pl.String).alias("status"),
        pl.col(sex).cast(pl.String).alias("sex"),
    ]
    assert date_column is not None
    if diagnosis_date is not None:
        date_expr = pl.col(date_column).cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
        exprs.append(date_expr.cast(pl.Int64).cast(pl.Float64).alias("date"))
    else:
        year = pl.col(date_column).cast(pl.Float64, strict=False)
        exprs.append(((year - 1970.0) * DAYS_PER_YEAR).alias("date"))
    work = patients.select(exprs)
    checks = (
        (
            "time",
            time,
            "survival.time",
            "must be a number >= 0",
            pl.col("time").is_null() | (pl.col("time") < 0),
        ),
        ("age", age, "survival.age", "must be a number >= 0", pl.col("age").is_null() | (pl.col("age") < 0)),
        ("status", status, "survival.status", "is missing", pl.col("status").is_null()),
        (
            "date",
            date_column,
            "survival.diagnosis",
            "is not an ISO date (YYYY-MM-DD)" if diagnosis_date is not None else "is not a year",
            pl.col("date").is_null(),
        ),
    )
    for key, name, rule, text, bad in checks:
        offenders = work.with_columns(raw=patients[name].cast(pl.String)).filter(bad).head(20)
        problems.extend(
            Problem(name, str(r["raw"]), rule, text, row=str(r["row"]))
            for r in offenders.iter_rows(named=True)
        )
        del key
    if problems:
        raise ValidationFailed(problems)
    sexes = work["sex"]
    if sex_labels:
        sexes = sexes.replace(dict(sex_labels))
    return SurvivalData(
        time_days=work["time"].to_numpy() * _DAYS[time_unit],
        dead=np.isin(work["status"].to_numpy(), [str(v) for v in dead_values]),
        age_days=work["age"].to_numpy() * _DAYS[age_unit],
        date_days=work["date"].to_numpy().astype(np.float64),
        sex_index=rate_table.sex_index(sexes),
        calendar="date" if diagnosis_date is not None else "decimal-year",
        strata=patients.select(list(by)),
    )


def nordcan_exclusions(
    patients: pl.DataFrame,
    *,
    age_years: str | None = "age",
    max_age: float = 90.0,
    basis: str | None = None,
    dco_or_autopsy_values: Sequence[str] = ("0",),
    time: str | None = "time",
) -> pl.DataFrame:
    """Drop the rows NORDCAN excludes from survival analysis and return the rest.

    Excluded: age at diagnosis ≥ ``max_age`` (NORDCAN keeps 0–89), basis of diagnosis DCO or autopsy only
    (``basis`` in ``dco_or_autopsy_values``), and negative follow-up time (diagnosis after death or
    emigration). Intervals with fewer than 25 at risk are handled by the estimators' ``min_at_risk`` option.
    Reference: nordcansurvival (statistics.md §1.5), norway.md §1.1.
    """
    keep = pl.lit(True)
    if age_years is not None:
        keep = keep & (pl.col(age_years).cast(pl.Float64) < max_age)
    if basis is not None:
        keep = keep & ~pl.col(basis).cast(pl.String).is_in([str(v) for v in dco_or_autopsy_values])
    if time is not None:
        keep = keep & (pl.col(time).cast(pl.Float64) >= 0)
    return patients.filter(keep)
