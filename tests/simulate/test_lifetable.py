"""The parametric life table reproduces Norwegian life expectancy and is written in the rate-table format."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.simulate.lifetable import rate_table

DATA = Path(__file__).parents[1] / "data" / "simulate"


def test_life_expectancy_matches_reference() -> None:
    reference = pl.read_csv(DATA / "life_expectancy.csv")
    table = rate_table(years=range(1986, 2024))
    for sex, year, e0, _ in reference.iter_rows():
        rows = table.filter((pl.col("sex") == sex) & (pl.col("year") == year)).sort("age")
        alive, total = 1.0, 0.0
        for rate in rows["rate_per_day"].to_list():  # hand-written life-table sum, 111 ages
            mu = rate * 365.25
            total += alive * (1 - math.exp(-mu)) / mu
            alive *= math.exp(-mu)
        total += alive / mu
        assert abs(total - e0) < 0.01, (sex, year, total)


def test_rate_table_format() -> None:
    table = rate_table(years=range(2000, 2002))
    assert table.columns == ["sex", "age", "year", "rate_per_day", "prob"]
    assert table.height == 2 * 2 * 111
    assert np.allclose(table["prob"].to_numpy(), np.exp(-table["rate_per_day"].to_numpy() * 365.25))
    male = (
        table.filter((pl.col("sex") == 1) & (pl.col("year") == 2000)).sort("age")["rate_per_day"].to_numpy()
    )
    assert (np.diff(male[1:]) > 0).all()  # Gompertz: rises with age after infancy
