"""Norwegian population package data against the refdata files; the generic CSV loader."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.stats.population import norwegian_person_years, norwegian_population, read_population_csv

REFDATA = Path("/work/shared/refdata")
needs_refdata = pytest.mark.skipif(not REFDATA.exists(), reason="shared refdata not available")


@needs_refdata
@pytest.mark.parametrize("level", ["national", "county"])
def test_totals_match_refdata(level: str) -> None:
    raw = pl.read_csv(REFDATA / f"norway_population_jan1_{level}_5yr_age_sex_b2024.csv").filter(
        ~pl.col("imputed") & (pl.col("sex") != "total")
    )
    expected = raw.group_by("calyear").agg(pl.col("pop_jan1_n").sum()).sort("calyear")
    got = norwegian_population(by=("year",), level=level)  # type: ignore[arg-type]
    assert got["year"].to_list() == expected["calyear"].to_list()
    assert got["population"].to_list() == expected["pop_jan1_n"].to_list()


def test_known_values_and_groups() -> None:
    total_2024 = norwegian_population(by=("year",)).filter(pl.col("year") == 2024)["population"].item()
    assert total_2024 == 5_550_203  # PROVENANCE.md
    groups = norwegian_population(by=("year", "sex", "age_group"))
    assert groups["age_group"].unique().sort().to_list() == list(range(1, 19))
    counties = norwegian_population(by=("county",), level="county")
    assert counties.height == 15
    assert "03" in counties["county"].to_list()


def test_person_years_are_means_of_jan1_counts() -> None:
    jan1 = norwegian_population(by=("year", "sex"))
    py = norwegian_person_years(by=("year", "sex"))
    n2010 = jan1.filter((pl.col("year") == 2010) & (pl.col("sex") == 2))["population"].item()
    n2011 = jan1.filter((pl.col("year") == 2011) & (pl.col("sex") == 2))["population"].item()
    got = py.filter((pl.col("year") == 2010) & (pl.col("sex") == 2))["person_years"].item()
    assert got == pytest.approx((n2010 + n2011) / 2)
    assert py["year"].max() == jan1["year"].max() - 1


def test_bad_by_is_named() -> None:
    with pytest.raises(ValidationFailed, match="county"):
        norwegian_population(by=("county",))


def test_read_population_csv(tmp_path: Path) -> None:
    path = tmp_path / "pop.csv"
    path.write_text(
        "calyear,sex,age,pop_jan1_n,imputed\n2020,male,0,10,FALSE\n2020,female,0,12,FALSE\n"
        "2020,total,0,22,FALSE\n2030,male,0,11,TRUE\n"
    )
    got = read_population_csv(
        path, columns={"year": "calyear", "population": "pop_jan1_n"}, drop_where={"imputed": "true"}
    )
    assert got.to_dicts() == [
        {"year": 2020, "sex": 1, "age": 0, "population": 10},
        {"year": 2020, "sex": 2, "age": 0, "population": 12},
    ]
    path.write_text("year,sex,age,population\n2020,1,0,-3\n")
    with pytest.raises(ValidationFailed, match="population"):
        read_population_csv(path)
