"""Background mortality: a parametric Norwegian life table by sex, single age and calendar year.

Gompertz–Makeham hazard per year of age ``x`` (constant within each year of age)::

    mu(x, t) = A_s + B_s(t) * exp(G_s * (x + 0.5))     for x >= 1,      mu(0, t) = -ln(1 - q0_s(t))

with the Makeham term ``A``, slope ``G`` and infant risk ``q0`` interpolated linearly in calendar year between
the anchor rows of ``data/lifetable_parameters.csv``, and ``B_s(t)`` solved (Brent) so that the period life
expectancy at birth ``e0 = sum_x l(x) (1 - exp(-mu_x)) / mu_x`` with ``l(x) = exp(-sum_{y<x} mu_y)`` equals
the interpolated target e0. Reference: Makeham (1860); Preston, Heuveline & Guillot, *Demography* (2001) §3.

The simulator draws other-cause deaths from exactly these hazards (age changes at the birthday, year at
1 January), so the written rate table (``truth/ratetable.csv``) is the true expected-mortality table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import brentq

from oncoreg.simulate.tables import read_csv

MAX_TABLE_AGE = 110
DAYS_PER_YEAR = 365.25


def _interpolate(params: pl.DataFrame, *, sex: int, year: int, column: str) -> float:
    rows = params.filter(pl.col("sex") == sex).sort("anchor_year")
    years = rows["anchor_year"].to_numpy().astype(np.float64)
    values = rows[column].to_numpy().astype(np.float64)
    slope = (values[-1] - values[-2]) / (years[-1] - years[-2])
    if year >= years[-1]:
        return float(values[-1] + slope * (year - years[-1]))
    if year <= years[0]:
        return float(values[0] + slope * (year - years[0]))
    return float(np.interp(year, years, values))


def _hazards(*, b: float, a: float, g: float, q0: float) -> npt.NDArray[np.float64]:
    ages = np.arange(MAX_TABLE_AGE + 1, dtype=np.float64)
    mu = a + b * np.exp(g * (ages + 0.5))
    mu[0] = -np.log1p(-q0)
    return mu


def life_expectancy(hazards: npt.NDArray[np.float64]) -> float:
    """Period life expectancy at birth for hazards constant within each year of age (last age open)."""
    cumulative = np.concatenate([[0.0], np.cumsum(hazards[:-1])])
    alive = np.exp(-cumulative)
    years_lived = alive[:-1] * (1 - np.exp(-hazards[:-1])) / hazards[:-1]
    return float(years_lived.sum() + alive[-1] / hazards[-1])


@lru_cache(maxsize=256)
def hazards_for(*, sex: int, year: int) -> npt.NDArray[np.float64]:
    """Annual hazards for ages 0–110 of ``sex`` (1/2) in calendar ``year`` (solved to the e0 target)."""
    params = read_csv("lifetable_parameters.csv")
    a = _interpolate(params, sex=sex, year=year, column="makeham")
    g = _interpolate(params, sex=sex, year=year, column="gompertz_slope")
    q0 = _interpolate(params, sex=sex, year=year, column="q0")
    target = _interpolate(params, sex=sex, year=year, column="e0")
    b = brentq(lambda x: life_expectancy(_hazards(b=x, a=a, g=g, q0=q0)) - target, 1e-9, 1e-1, xtol=1e-14)
    hazards = _hazards(b=float(b), a=a, g=g, q0=q0)
    hazards.setflags(write=False)
    return hazards


def hazard_array(*, years: range) -> npt.NDArray[np.float64]:
    """Hazards as an array ``[year - years.start, sex - 1, age]`` (per year of exposure)."""
    return np.stack([np.stack([hazards_for(sex=s, year=y) for s in (1, 2)]) for y in years])


def rate_table(*, years: range) -> pl.DataFrame:
    """The life table as rows ``sex, age, year, rate_per_day, prob``.

    ``rate_per_day = mu / 365.25``; ``prob = exp(-mu)`` is the probability of surviving one year at that age
    (NORDCAN/strs ``prob``). Ages 0–110 (110 stands for 110 and older).
    """
    mu = hazard_array(years=years)
    n_years, n_sex, n_age = mu.shape
    year_index, sex_index, age = np.meshgrid(
        np.arange(n_years), np.arange(n_sex), np.arange(n_age), indexing="ij"
    )
    flat = mu.reshape(-1)
    return pl.DataFrame(
        {
            "sex": (sex_index.reshape(-1) + 1).astype(np.int8),
            "age": age.reshape(-1).astype(np.int16),
            "year": (year_index.reshape(-1) + years.start).astype(np.int16),
            "rate_per_day": flat / DAYS_PER_YEAR,
            "prob": np.exp(-flat),
        }
    ).sort(["sex", "year", "age"])
