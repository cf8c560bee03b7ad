"""The simulated population hits the published counts and its persons are well-formed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from stdnum.no import fodselsnummer

REFDATA = Path("/work/shared/refdata")


def _published(years: list[int]) -> pl.DataFrame:
    """Published 1 January counts straight from the SSB export (independent of the packaged copy)."""
    path = REFDATA / "norway_population_jan1_county_single_age_sex_b2024.csv"
    if not path.exists():
        pytest.skip("shared refdata not available")
    raw = pl.read_csv(path).filter(pl.col("calyear").is_in(years) & (pl.col("sex") != "total"))
    return raw.select(
        pl.col("calyear").cast(pl.Int16).alias("year"),
        pl.col("location_code").str.replace("county_nor", "").alias("county"),
        pl.when(pl.col("sex") == "male").then(1).otherwise(2).cast(pl.Int8).alias("sex"),
        pl.col("age").cast(pl.Int16),
        pl.col("pop_jan1_n").alias("ssb"),
    )


def test_population_matches_published_counts_in_every_cell(truth: Path, small_args: dict[str, float]) -> None:
    small = small_args
    simulated = pl.read_parquet(truth / "population.parquet")
    years = list(range(int(small["start_year"]), int(small["end_year"]) + 2))
    joined = simulated.join(_published(years), on=["year", "county", "sex", "age"], how="inner")
    assert joined.height == len(years) * 15 * 2 * 106
    difference = (joined["count"] - joined["ssb"] * small["scale"]).abs()
    assert difference.max() < 1.0  # stochastic rounding of published × scale, nothing else


def test_population_table_counts_agree_with_persons(truth: Path, small_args: dict[str, float]) -> None:
    small = small_args
    persons = pl.read_parquet(truth / "persons.parquet")
    end = int(small["end_year"]) + 1
    alive = persons.filter(pl.col("exit_date").is_null())
    recorded = pl.read_parquet(truth / "population.parquet").filter(pl.col("year") == end)["count"].sum()
    assert alive.height == recorded


def test_identifiers_are_valid_unique_and_dnumbers_go_to_immigrants(truth: Path) -> None:
    persons = pl.read_parquet(truth / "persons.parquet")
    ids = persons["identifier"].to_list()
    assert len(set(ids)) == len(ids)
    assert all(fodselsnummer.is_valid(i) for i in ids[:: max(1, len(ids) // 2000)])
    dnr = persons.filter(pl.col("identifier_type") == "dnr")
    assert dnr.height > 0
    assert set(dnr["entry_reason"].unique()) == {"immigration"}
    assert (dnr["identifier"].str.slice(0, 1).cast(pl.Int8) >= 4).all()
    sex_digit = persons["identifier"].str.slice(8, 1).cast(pl.Int8) % 2
    assert ((sex_digit == 1) == (persons["sex"] == 1)).all()


def test_dates_are_consistent(truth: Path) -> None:
    persons = pl.read_parquet(truth / "persons.parquet")
    assert (persons["birth_date"] <= persons["entry_date"]).all()
    exited = persons.filter(pl.col("exit_date").is_not_null())
    assert (exited["exit_date"] >= exited["entry_date"]).all()
    assert set(exited["exit_reason"].unique()) <= {"death", "emigration"}
    tumours = pl.read_parquet(truth / "tumours.parquet")
    assert (tumours["incidence_date"] >= tumours["birth_date"]).all()
    assert (tumours["incidence_date"] <= tumours["exit_date"]).all()
    deaths = pl.read_parquet(truth / "deaths.parquet")
    dead = persons.filter(pl.col("exit_reason") == "death")
    assert deaths.height == dead.height
    assert deaths["person_id"].is_in(dead["person_id"].implode()).all()


def test_deaths_follow_the_life_table(truth: Path, small_args: dict[str, float]) -> None:
    """Deaths of the year ≈ Σ population × (1 − prob) of the rate table (cancer deaths add a little)."""
    small = small_args
    population = pl.read_parquet(truth / "population.parquet").filter(pl.col("year") == small["start_year"])
    rates = pl.read_csv(truth / "ratetable.csv").filter(pl.col("year") == small["start_year"])
    expected = (
        population.join(
            rates.with_columns(pl.col("sex").cast(pl.Int8), pl.col("age").cast(pl.Int16)), on=["sex", "age"]
        )
        .select((pl.col("count") * (1 - pl.col("prob"))).sum())
        .item()
    )
    deaths = pl.read_parquet(truth / "deaths.parquet")
    observed = deaths.filter(pl.col("death_date").dt.year() == small["start_year"]).height
    assert 0.85 * expected < observed < 1.25 * expected + 3 * np.sqrt(expected)
