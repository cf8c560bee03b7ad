"""Calendar arithmetic on NumPy arrays of days since 1970-01-01 (vectorised; exact birthdays).

Dates are held as ``int64`` day numbers inside the screening stage and turned back into Polars ``Date``
columns at its edge. A birthday on 29 February falls on 1 March in common years.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import polars as pl

Days = npt.NDArray[np.int64]
DAYS_PER_YEAR = 365.25
NO_DATE = np.iinfo(np.int64).max // 4  # "never" (far future), safe to add to


def to_days(column: pl.Series) -> Days:
    """A Polars Date series as day numbers; nulls become :data:`NO_DATE`."""
    return column.cast(pl.Int64).fill_null(NO_DATE).to_numpy().astype(np.int64)


def day_number(date: dt.date) -> int:
    """One date as a day number."""
    return (date - dt.date(1970, 1, 1)).days


def day_of(year: int, month: int = 1, day: int = 1) -> int:
    """The day number of a calendar date."""
    return day_number(dt.date(year, month, day))


def to_date_series(name: str, days: npt.NDArray[np.int64]) -> pl.Series:
    """Day numbers back to a Polars Date series (:data:`NO_DATE` becomes null)."""
    values = pl.Series(name, days, dtype=pl.Int64).to_frame()
    return values.select(pl.when(pl.col(name) < NO_DATE).then(pl.col(name)).cast(pl.Date)).to_series()


def civil(days: Days) -> tuple[Days, Days, Days]:
    """Year, month (1-12) and day (1-31) of each day number."""
    as_date = days.astype("datetime64[D]")
    years = as_date.astype("datetime64[Y]")
    months = as_date.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (as_date - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def anniversary(birth: Days, years: int | npt.NDArray[np.int64]) -> Days:
    """The day each person turns ``years`` old: same month and day, ``years`` later (29 Feb → 1 Mar)."""
    year, month, day = civil(birth)
    target = (year + years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    return (target.astype("datetime64[D]") + (day - 1)).astype(np.int64)


def age_at(birth: Days, date: Days) -> Days:
    """Completed years of age at ``date``: y2 - y1 - [(m2, d2) < (m1, d1)]."""
    y1, m1, d1 = civil(birth)
    y2, m2, d2 = civil(date)
    before_birthday = (m2 < m1) | ((m2 == m1) & (d2 < d1))
    result: Days = (y2 - y1 - before_birthday.astype(np.int64)).astype(np.int64)
    return result


def county_codes(column: pl.Series) -> npt.NDArray[np.str_]:
    """Two-digit county codes from ``"03"``, ``"county_nor03"`` or ``"0301"``-like strings ("" if none)."""
    codes = column.cast(pl.String).str.extract(r"(?:county_nor)?(\d{2})\d*$", 1).fill_null("")
    return codes.to_numpy().astype(str)
