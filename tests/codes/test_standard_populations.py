"""Standard populations: published weights (reference/statistics.md §4 and §1.5), sums, groupings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from oncoreg.codes.standard_populations import (
    available_age_groups,
    nordcan_icss_standard,
    standard_population,
    standard_population_names,
    standard_populations_catalogue,
)
from oncoreg.errors import CodeError

PUBLISHED = pl.read_csv(
    Path(__file__).parents[1] / "data" / "codes" / "stdpop_published_weights.csv",
    schema_overrides={"age_start": pl.Int32, "age_end": pl.Int32},
)
NAMES = [
    "world_segi_1960",
    "europe_1976",
    "europe_2013",
    "nordic_2000",
    "who_2000_2025",
    "icss_1",
    "icss_2",
    "icss_3",
    "nordcan_icss_1",
    "nordcan_icss_2_1",
    "nordcan_icss_2_2",
    "nordcan_icss_3_1",
    "nordcan_icss_3_2",
]


def test_names() -> None:
    assert standard_population_names() == NAMES


@pytest.mark.parametrize(
    ("standard", "age_groups"),
    sorted(
        PUBLISHED.filter(pl.col("age_groups") != "icss5_share")
        .select("standard", "age_groups")
        .unique()
        .rows()
    ),
)
def test_published_weights_are_reproduced(standard: str, age_groups: str) -> None:
    published = PUBLISHED.filter((pl.col("standard") == standard) & (pl.col("age_groups") == age_groups))
    ours = standard_population(standard, age_groups=age_groups)
    joined = published.join(ours, on=["age_start"], how="left", suffix="_ours")
    assert joined["weight_ours"].null_count() == 0
    assert joined["age_end"].to_list() == joined["age_end_ours"].to_list()
    assert joined["weight"].to_list() == joined["weight_ours"].to_list()


@pytest.mark.parametrize(
    ("standard", "total"),
    [*((n, 100_000.0) for n in NAMES[:8] if n != "who_2000_2025"), ("who_2000_2025", 100_035.0)],
)
def test_sums_as_published(standard: str, total: float) -> None:
    table = standard_population(standard)
    assert table.height == 18
    assert table["weight"].sum() == pytest.approx(total)
    assert table["weight_share"].sum() == pytest.approx(1.0)


def test_who_other_precisions() -> None:
    """WHO also ships per 1 000 000 (0, 1-4, ... 85+) and in single years; both sum exactly."""
    per_million = standard_population("who_2000_2025", age_groups="infant5y19")
    assert per_million.height == 19
    assert per_million["weight"].sum() == pytest.approx(1_000_000)
    single = standard_population("who_2000_2025", age_groups="1y101")
    assert single.height == 101
    assert single["weight"].sum() == pytest.approx(100_000)
    assert single["weight"][0] == pytest.approx(1791.7)
    assert single["weight"][100] == pytest.approx(5.0)


def test_europe_2013_groupings() -> None:
    counts = {
        g: standard_population("europe_2013", age_groups=g).height
        for g in ("5y18", "5y19", "5y20", "infant5y21")
    }
    assert counts == {"5y18": 18, "5y19": 19, "5y20": 20, "infant5y21": 21}
    last = standard_population("europe_2013", age_groups="5y19").row(-1, named=True)
    assert (last["age_start"], last["age_end"], last["weight"]) == (90, None, 1000.0)
    with pytest.raises(CodeError, match="available: infant5y21"):
        standard_population("europe_2013", age_groups="5y21")  # 100+ cannot be made from 95+


def test_segi_infant_split() -> None:
    table = standard_population("world_segi_1960", age_groups="infant5y19")
    assert table["weight"].head(2).to_list() == [2400.0, 9600.0]


@pytest.mark.parametrize("standard", ["icss_1", "icss_2", "icss_3"])
def test_icss_broad_groups(standard: str) -> None:
    published = PUBLISHED.filter((pl.col("standard") == standard) & (pl.col("age_groups") == "icss5_share"))
    ours = standard_population(standard, age_groups="icss5")
    assert ours["age_start"].to_list() == [15, 45, 55, 65, 75]
    assert ours["weight_share"].round(2).to_list() == published["weight"].to_list()


@pytest.mark.parametrize("standard", [n for n in NAMES if n.startswith("nordcan")])
def test_nordcan_three_groups_are_the_five_groups_summed(standard: str) -> None:
    five = standard_population(standard, age_groups="nordcan5")
    three = standard_population(standard, age_groups="nordcan3")
    assert five["weight"].sum() == 100
    assert three["weight"].sum() == 100
    assert five["age_end"][-1] == 89
    assert three["age_end"][-1] == 89
    summed = [
        five.filter(pl.col("age_start").is_between(lo, hi))["weight"].sum()
        for lo, hi in three.select("age_start", "age_end").rows()
    ]
    assert summed == three["weight"].to_list()


def test_nordcan_icss_for_entities() -> None:
    assert nordcan_icss_standard(340) == "nordcan_icss_2_1"
    assert nordcan_icss_standard(401) == "nordcan_icss_3_2"
    assert nordcan_icss_standard(180) == "nordcan_icss_1"


def test_errors_name_what_is_available() -> None:
    with pytest.raises(CodeError, match="known: world_segi_1960"):
        standard_population("segi")
    with pytest.raises(CodeError, match="available: nordcan5, nordcan3"):
        standard_population("nordcan_icss_1")
    assert available_age_groups("nordic_2000") == ["5y18"]


def test_catalogue_totals_match_tables() -> None:
    for row in standard_populations_catalogue().iter_rows(named=True):
        table = standard_population(row["standard"], age_groups=row["primary_age_groups"])
        assert table["weight"].sum() == pytest.approx(row["weight_total"])
