"""Package data of the simulator: population targets, municipalities, rule tables (cached loaders).

Population targets (``data/population_county.parquet``, ``data/population_national.parquet``) are
Statistics Norway table 07459 (1 January, 2024 borders) as exported by FHI's csdata package
(``refdata/norway_population_jan1_*_single_age_sex_b2024.csv``; NLOD/CC BY 4.0); rows flagged
``imputed`` are dropped. :func:`build_population_tables` rebuilds both files from the refdata copies.
Codes: county ``"03"`` and municipality ``"0301"`` are the official 2024 numbers (the refdata's
``county_nor03`` / ``municip_nor0301`` without the prefix).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from io import BytesIO
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

MAX_AGE = 105  # the published tables' last age is "105 or older"
N_AGES = MAX_AGE + 1
SEXES = ("male", "female")  # index 0 = sex 1, index 1 = sex 2


def _read_bytes(name: str) -> bytes:
    return resources.files("oncoreg.simulate").joinpath(f"data/{name}").read_bytes()


def read_csv(name: str) -> pl.DataFrame:
    """A packaged CSV table (``#`` lines are comments)."""
    return pl.read_csv(BytesIO(_read_bytes(name)), comment_prefix="#")


def build_population_tables(*, refdata_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """County (2005–) and national (1986–) 1 January counts by sex and single age, observed rows only.

    Returns ``(county, national)`` with columns ``[county,] year, sex (1/2), age (0–105), count``.
    """
    frames = []
    for name, has_county in (("county", True), ("national", False)):
        raw = pl.read_csv(refdata_dir / f"norway_population_jan1_{name}_single_age_sex_b2024.csv")
        imputed = pl.col("imputed").cast(pl.String).str.to_uppercase() == "TRUE"
        frame = raw.filter(~imputed & pl.col("sex").is_in(SEXES)).select(
            *([pl.col("location_code").str.replace("county_nor", "").alias("county")] if has_county else []),
            pl.col("calyear").cast(pl.Int16).alias("year"),
            pl.when(pl.col("sex") == "male").then(1).otherwise(2).cast(pl.Int8).alias("sex"),
            pl.col("age").cast(pl.Int16),
            pl.col("pop_jan1_n").cast(pl.Int64).alias("count"),
        )
        keys = (["county"] if has_county else []) + ["year", "sex", "age"]
        frames.append(frame.sort(keys))
    return frames[0], frames[1]


@lru_cache(maxsize=1)
def population_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The packaged ``(county, national)`` population tables (see :func:`build_population_tables`)."""
    county = pl.read_parquet(BytesIO(_read_bytes("population_county.parquet")))
    national = pl.read_parquet(BytesIO(_read_bytes("population_national.parquet")))
    return county, national


@lru_cache(maxsize=1)
def municipalities() -> pl.DataFrame:
    """The 357 municipalities of 2024: ``municipality, name, county, county_name, pop_{2005,2015,2024}``."""
    raw = read_csv("norway_municipalities_b2024.csv")
    return raw.select(
        pl.col("location_code").str.replace("municip_nor", "").alias("municipality"),
        pl.col("municip_name").alias("name"),
        pl.col("county_code").str.replace("county_nor", "").alias("county"),
        "county_name",
        "pop_2005",
        "pop_2015",
        "pop_2024",
    ).sort("municipality")


@lru_cache(maxsize=1)
def counties() -> tuple[str, ...]:
    """County codes in a fixed order (the index used by the simulator's arrays)."""
    county, _ = population_tables()
    return tuple(sorted(county["county"].unique().to_list()))


def population_targets(*, year: int) -> npt.NDArray[np.float64]:
    """Published 1 January population of ``year`` as an array ``[county, sex, age]`` (full scale).

    From 2005 the county table is used as published. Before 2005 only national counts exist: each
    sex × age count is distributed over counties by that cell's 2005 county shares (an assumption,
    documented in docs/simulate.md), so the result may be fractional.
    """
    county, national = population_tables()
    codes = counties()
    out = np.zeros((len(codes), 2, N_AGES), dtype=np.float64)
    first_county_year = int(county["year"].min())  # type: ignore[arg-type]
    source_year = max(year, first_county_year)
    rows = county.filter(pl.col("year") == source_year)
    if rows.height == 0:
        raise KeyError(f"no population for year {year}")
    c_index = np.searchsorted(np.array(codes), rows["county"].to_numpy())
    np.add.at(
        out,
        (c_index, rows["sex"].to_numpy().astype(np.int64) - 1, rows["age"].to_numpy().astype(np.int64)),
        rows["count"].to_numpy().astype(np.float64),
    )
    if year >= first_county_year:
        return out
    nat = national.filter(pl.col("year") == year)
    if nat.height == 0:
        raise KeyError(f"no population for year {year}")
    totals = np.zeros((2, N_AGES), dtype=np.float64)
    np.add.at(
        totals,
        (nat["sex"].to_numpy().astype(np.int64) - 1, nat["age"].to_numpy().astype(np.int64)),
        nat["count"].to_numpy().astype(np.float64),
    )
    cell_totals = out.sum(axis=0, keepdims=True)
    shares = np.divide(out, cell_totals, out=np.full_like(out, 1.0 / len(codes)), where=cell_totals > 0)
    distributed: npt.NDArray[np.float64] = shares * totals[np.newaxis, :, :]
    return distributed


def available_years() -> tuple[int, int]:
    """First and last year with observed 1 January population."""
    _, national = population_tables()
    return int(national["year"].min()), int(national["year"].max())  # type: ignore[arg-type]
