"""Rate tables: loading, units, lookup and the exact expected cumulative hazard along a follow-up path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.stats.ratetable import (
    DAYS_PER_YEAR,
    RateTableError,
    expected_cumulative_hazard,
    rate_table_from_frame,
    read_rate_table,
)

DATA = Path(__file__).parents[1] / "data" / "stats" / "survival"


def test_lookup_returns_the_csv_cell_and_year_cut_points_apply_until_the_next() -> None:
    table = read_rate_table(DATA / "slopop_long.csv")
    raw = pl.read_csv(DATA / "slopop_long.csv")
    cell = raw.filter((pl.col("age") == 68) & (pl.col("year") == 1980) & (pl.col("sex") == "female"))
    # 1981-07-01 lies in the 1980 period (next cut 1982); age 68.5 years is completed age 68
    day = float(np.datetime64("1981-07-01", "D").astype(np.int64))
    value = table.hazard_at(
        sex_index=np.array([table.sexes.index("female")]),
        age_days=np.array([68.5 * DAYS_PER_YEAR]),
        date_days=np.array([day]),
        calendar="date",
    )
    assert value[0] == cell["rate_per_day"][0]


def test_prob_and_rate_per_year_convert_like_relsurv_transrate() -> None:
    frame = pl.DataFrame({"sex": ["m", "m"], "age": [0, 1], "year": [2000, 2000], "prob": [0.99, 0.5]})
    table = rate_table_from_frame(frame)
    assert table.hazard[0, 1, 0] == pytest.approx(-math.log(0.5) / 365.241, rel=1e-15)
    per_year = rate_table_from_frame(
        frame.rename({"prob": "q"}).with_columns(rate_per_year=pl.col("q")).drop("q")
    )
    assert per_year.hazard[0, 0, 0] == pytest.approx(0.99 / 365.241, rel=1e-15)


def test_column_map_renames() -> None:
    frame = pl.DataFrame({"kjonn": ["m"], "alder": [0], "aar": [2000], "p": [0.9]})
    table = rate_table_from_frame(frame, columns={"sex": "kjonn", "age": "alder", "year": "aar", "prob": "p"})
    assert table.sexes == ("m",)


def test_cumulative_hazard_matches_fine_numerical_integration() -> None:
    table = read_rate_table(DATA / "slopop_long.csv")
    rng = np.random.default_rng(1)
    n = 5
    age = rng.uniform(40, 90, n) * DAYS_PER_YEAR
    date = rng.uniform(4000, 9000, n)
    follow = rng.uniform(100, 3000, n)
    sex = rng.integers(0, 2, n)
    exact = expected_cumulative_hazard(
        table, sex_index=sex, age_days=age, date_days=date, follow_up_days=follow
    )
    for i in range(n):  # midpoint rule, 0.01-day steps: error <= cuts crossed (<~20) x jump (<1e-4) x 0.005
        s = np.arange(0, follow[i], 0.01) + 0.005
        rates = table.hazard_at(
            sex_index=np.full(len(s), sex[i]), age_days=age[i] + s, date_days=date[i] + s, calendar="date"
        )
        assert exact[i] == pytest.approx(float(rates.sum() * 0.01), abs=1e-5)


def test_bad_tables_name_the_problem() -> None:
    with pytest.raises(ValidationFailed, match=r"prob '1.5': must be a probability in \(0, 1\]"):
        rate_table_from_frame(pl.DataFrame({"sex": ["m"], "age": [0], "year": [2000], "prob": [1.5]}))
    with pytest.raises(ValidationFailed, match="grid is incomplete"):
        rate_table_from_frame(
            pl.DataFrame({"sex": ["m", "f"], "age": [0, 1], "year": [2000, 2000], "rate_per_day": [0.1, 0.1]})
        )
    with pytest.raises(ValidationFailed, match=r"year '': column missing|need exactly one"):
        rate_table_from_frame(pl.DataFrame({"sex": ["m"], "age": [0], "rate_per_day": [0.1]}))
    table = rate_table_from_frame(
        pl.DataFrame({"sex": ["m"], "age": [0], "year": [2000], "rate_per_day": [0.1]})
    )
    with pytest.raises(RateTableError, match="sex 'x' is not in the rate table"):
        table.sex_index(pl.Series(["m", "x"]))
