"""Standard tables on a small hand-built snapshot: counts and rates by hand, ASR = standardised_rates,
all-sites = sum of members, survival per stratum = net_survival / lifetable_survival on that stratum alone."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from oncoreg.codes.entities import entity_members
from oncoreg.codes.standard_populations import standard_population
from oncoreg.stats.rates import standardised_rates
from oncoreg.stats.ratetable import RateTable, rate_table_from_frame
from oncoreg.stats.standard_tables import (
    entity_units,
    periods,
    reportable,
    standard_tables,
    survival_patients,
)
from oncoreg.stats.survival import net_survival
from oncoreg.stats.survival_data import survival_data
from oncoreg.stats.survival_lifetable import lifetable_survival, parse_breaks
from oncoreg.stats.survival_standardise import age_groups, assign_age_group

POP = 10_000.0  # person-years per sex, age group and year (a flat hand-built population)
SITES = [("C18.7", 8140), ("C20", 8140), ("C34.1", 8070), ("C50.4", 8500), ("C61", 8140)]


def _rate_table() -> RateTable:
    ages, years = np.arange(0, 111), np.arange(1990, 2026)
    grid = pl.DataFrame(
        {
            "sex": np.repeat([1, 2], len(ages) * len(years)),
            "age": np.tile(np.repeat(ages, len(years)), 2),
            "year": np.tile(years, 2 * len(ages)),
        }
    )
    rate = 0.00005 * np.exp(0.09 * grid["age"].to_numpy()) * np.where(grid["sex"].to_numpy() == 1, 1.3, 1.0)
    return rate_table_from_frame(grid.with_columns(rate_per_year=pl.Series(np.minimum(rate, 0.9))))


@pytest.fixture(scope="module")
def snapshot() -> dict[str, pl.DataFrame]:
    return build_snapshot()


def build_snapshot() -> dict[str, pl.DataFrame]:
    """3 000 random tumours of five sites 2005-2024 with follow-up, plus a hand-checked cell."""
    rng = np.random.default_rng(7)
    n = 3000
    sex = rng.integers(1, 3, n)
    site = rng.integers(0, len(SITES), n)
    site = np.where((sex == 2) & (site == 4), 3, site)  # no prostate in women
    site = np.where((sex == 1) & (site == 3), 0, site)  # no male breast in the random part
    age = rng.integers(20, 95, n)
    incidence = np.datetime64("2005-01-01") + rng.integers(0, 20 * 365, n).astype("timedelta64[D]")
    birth = incidence - (age * 365.25 + rng.integers(1, 360, n)).astype("timedelta64[D]")
    fu = rng.exponential(2500 / (1 + (site == 2) * 4), n).astype(int) + 1
    death = incidence + fu.astype("timedelta64[D]")
    died = death <= np.datetime64("2024-12-31")
    tumours = pl.DataFrame(
        {
            "tumour_id": np.arange(1, n + 1),
            "person_id": np.arange(1, n + 1),
            "sex": sex.astype(np.int8),
            "birth_date": birth,
            "age": age.astype(np.int16),
            "incidence_date": incidence,
            "icd10": [SITES[s][0] for s in site],
            "morphology": [SITES[s][1] for s in site],
            "behaviour": np.full(n, 3, dtype=np.int8),
            "basis": np.full(n, 7, dtype=np.int8),
            "iarc_status": ["primary"] * n,
        }
    )
    # hand-checked cell: three eye cancers (310) in men aged 60-64 in 2010, and one duplicate not counted
    extra = pl.DataFrame(
        {
            "tumour_id": [9001, 9002, 9003, 9004],
            "person_id": [9001, 9002, 9003, 9001],
            "sex": [1, 1, 1, 1],
            "birth_date": [dt.date(1948, 1, 1)] * 4,
            "age": [62, 62, 62, 62],
            "incidence_date": [dt.date(2010, 3, 1)] * 4,
            "icd10": ["C69.2"] * 4,
            "morphology": [8720] * 4,
            "behaviour": [3] * 4,
            "basis": [7] * 4,
            "iarc_status": ["primary", "primary", "primary", "duplicate"],
        },
        schema=tumours.schema,
    )
    tumours = pl.concat([tumours, extra])
    persons = tumours.group_by("person_id").agg(pl.col("sex").first(), pl.col("birth_date").first())
    deaths_of = pl.DataFrame({"person_id": np.arange(1, n + 1), "death": death, "died": died})
    persons = persons.join(deaths_of, on="person_id", how="left").select(
        "person_id",
        "sex",
        "birth_date",
        pl.when(pl.col("died")).then(pl.lit("dead")).otherwise(pl.lit("alive")).alias("vital_status"),
        pl.when(pl.col("died")).then(pl.col("death")).alias("death_date"),
        pl.lit(None, pl.Date).alias("emigration_date"),
    )
    deaths = pl.DataFrame(
        {
            "underlying_cause": ["C18.7", "C18.7", "C20", "I21.9"],
            "sex": [1, 1, 2, 1],
            "age": [70, 72, 65, 80],
            "death_year": [2012, 2012, 2012, 2012],
        }
    )
    py = pl.DataFrame(
        {
            "year": np.repeat(np.arange(2005, 2025), 36),
            "sex": np.tile(np.repeat([1, 2], 18), 20),
            "age_group": np.tile(np.arange(1, 19), 40),
            "person_years": np.full(720, POP),
        }
    )
    return {"tumours": tumours, "persons": persons, "deaths": deaths, "person_years": py}


@pytest.fixture(scope="module")
def tables(snapshot: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return standard_tables(
        tumours=snapshot["tumours"],
        persons=snapshot["persons"],
        deaths=snapshot["deaths"],
        person_years=snapshot["person_years"],
        rate_table=_rate_table(),
    )


def test_hand_checked_cell(tables: dict[str, pl.DataFrame]) -> None:
    row = tables["incidence_year"].filter(
        (pl.col("entity") == 310)
        & (pl.col("sex") == 1)
        & (pl.col("year") == 2010)
        & (pl.col("standard") == "world")
    )
    assert row["cases"].item() == 3  # the duplicate is not reportable
    assert row["person_years"].item() == pytest.approx(18 * POP)
    assert row["crude_rate"].item() == pytest.approx(3 / (18 * POP) * 1e5)
    # all three in 60-64, world (Segi) weight 4 000 of 100 000
    assert row["asr"].item() == pytest.approx(0.04 * 3 / POP * 1e5)
    assert row["cum_rate"].item() == pytest.approx(5 * 3 / POP * 100)


def test_counts_by_hand_and_mortality(
    snapshot: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    t = snapshot["tumours"]
    expected = t.filter(
        pl.col("icd10").str.starts_with("C18")
        & (pl.col("sex") == 2)
        & (pl.col("incidence_date").dt.year() == 2015)
    ).height
    got = tables["incidence_year"].filter(
        (pl.col("entity") == 90)
        & (pl.col("sex") == 2)
        & (pl.col("year") == 2015)
        & (pl.col("standard") == "nordic")
    )
    assert got["cases"].item() == expected
    mort = tables["mortality_year"].filter((pl.col("year") == 2012) & (pl.col("standard") == "world"))
    assert mort.filter((pl.col("entity") == 90) & (pl.col("sex") == 1))["deaths"].item() == 2
    assert mort.filter((pl.col("entity") == 520) & (pl.col("sex") == 0))["deaths"].item() == 3
    assert (
        mort.filter((pl.col("entity") == 980) & (pl.col("sex") == 1))["deaths"].item() == 2
    )  # I21.9 is no cancer
    # sex-specific entities only for their sex
    inc = tables["incidence_period"]
    assert set(inc.filter(pl.col("entity") == 240)["sex"].unique().to_list()) == {1}


def test_asr_equals_standardised_rates(
    snapshot: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    units = entity_units(reportable(snapshot["tumours"])).filter(
        (pl.col("entity") == 160) & (pl.col("sex") == 1)
    )
    period_table = periods(first_year=2005, last_year=2024)
    cases = (
        units.with_columns(
            year=pl.col("incidence_date").dt.year().cast(pl.Int32),
            age_group=pl.min_horizontal(pl.col("age").cast(pl.Int32) // 5 + 1, pl.lit(18)),
        )
        .join(period_table, on="year")
        .filter(pl.col("period") == "2015-2019")
        .group_by("age_group")
        .agg(pl.len().alias("cases"))
    )
    py = (
        snapshot["person_years"]
        .filter((pl.col("sex") == 1) & pl.col("year").is_between(2015, 2019))
        .group_by("age_group")
        .agg(pl.col("person_years").sum())
    )
    ref = standardised_rates(cases=cases, person_years=py, weights=standard_population("europe_2013"))
    got = tables["incidence_period"].filter(
        (pl.col("entity") == 160)
        & (pl.col("sex") == 1)
        & (pl.col("period") == "2015-2019")
        & (pl.col("standard") == "europe2013")
    )
    for column in ("cases", "asr", "asr_lower", "asr_upper", "cum_risk", "crude_rate"):
        assert got[column].item() == pytest.approx(ref[column].item(), rel=1e-12)


def test_all_sites_rows_are_sums_of_members(tables: dict[str, pl.DataFrame]) -> None:
    inc = tables["incidence_period"].filter(pl.col("standard") == "world")
    by_sex = inc.filter(pl.col("sex") != 0)  # sex-specific members (prostate) have no both-sexes rows
    for total in (980, 990, 520):
        members = entity_members(total)
        summed = (
            by_sex.filter(pl.col("entity").is_in(members))
            .group_by("sex", "period")
            .agg(pl.col("cases").sum())
            .sort("sex", "period")
        )
        rows = by_sex.filter(pl.col("entity") == total).select("sex", "period", "cases").sort("sex", "period")
        joined = rows.join(summed, on=["sex", "period"], how="left")
        assert joined["cases"].to_list() == joined["cases_right"].fill_null(0).to_list()
        assert rows["cases"].sum() > 0
    both = inc.filter(pl.col("entity") == 980).pivot(on="sex", index="period", values="cases")
    assert (both["0"] == both["1"] + both["2"]).all()


def _stratum_data(
    snapshot: dict[str, pl.DataFrame], entity: int, sex: int, approach: str, period: str
) -> pl.DataFrame:
    period_table = periods(first_year=2005, last_year=2024)
    units = entity_units(reportable(snapshot["tumours"]), use="survival")
    patients = survival_patients(
        units=units, persons=snapshot["persons"], period_table=period_table, last_year=2024
    )
    index = period_table.filter(pl.col("period") == period)["period_index"][0]
    chosen = patients.filter(
        (pl.col("entity") == entity) & (pl.col("approach") == approach) & (pl.col("period_index") == index)
    )
    if sex:
        chosen = chosen.filter(pl.col("sex") == sex)
    return chosen.with_columns(
        status=pl.col("dead").cast(pl.Int8).cast(pl.String),
        diagnosis=pl.from_epoch(pl.col("date_days").cast(pl.Int64), time_unit="d").dt.to_string("%Y-%m-%d"),
    )


@pytest.mark.parametrize(("entity", "sex"), [(90, 1), (160, 0), (980, 2)])
def test_cohort_survival_equals_net_survival_on_the_stratum(
    snapshot: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame], entity: int, sex: int
) -> None:
    frame = _stratum_data(snapshot, entity, sex, "cohort", "2010-2014")
    rate_table = _rate_table()
    data = survival_data(
        frame,
        rate_table=rate_table,
        time="time_days",
        status="status",
        age="age_days",
        age_unit="days",
        diagnosis_date="diagnosis",
    )
    with np.errstate(over="ignore"):  # log-log limits of estimates near 1 overflow in the reference
        ref = net_survival(
            data,
            rate_table=rate_table,
            method="pohar-perme",
            estimator="lifetable",
            breaks_years=parse_breaks("0:5:1/12"),
            times_years=[1, 5],
            weights=standard_population("nordcan_icss_1", age_groups="nordcan5"),
            standardise_age_years=frame["age"].to_numpy().astype(np.float64),
        )
    got = (
        tables["survival"]
        .filter((pl.col("entity") == entity) & (pl.col("sex") == sex) & (pl.col("period") == "2010-2014"))
        .sort("time")
    )
    assert got["approach"].to_list() == ["cohort", "cohort"]
    assert got["n_patients"][0] == frame.height
    for column in ("estimate", "std_err", "lower", "upper"):
        np.testing.assert_allclose(got[column].to_numpy(), ref[column].to_numpy(), rtol=1e-9)


def test_period_survival_equals_lifetable_with_entry(
    snapshot: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    frame = _stratum_data(snapshot, 520, 0, "period", "2020-2024")
    rate_table = _rate_table()
    data = survival_data(
        frame,
        rate_table=rate_table,
        time="time_days",
        status="status",
        age="age_days",
        age_unit="days",
        diagnosis_date="diagnosis",
    )
    groups = age_groups(standard_population("nordcan_icss_1", age_groups="nordcan5"))
    group = assign_age_group(frame["age"].to_numpy().astype(np.float64), groups)
    estimate = np.zeros(2)
    variance = np.zeros(2)
    for g, share in enumerate(groups["share"].to_list()):
        mask = group == g
        with np.errstate(over="ignore"):
            part = lifetable_survival(
                data.subset(mask),
                rate_table=rate_table,
                breaks_years=parse_breaks("0:5:1/12"),
                method="pohar-perme",
                entry_days=frame["entry_days"].to_numpy()[mask],
            )
        at = part.filter(pl.col("time").round(6).is_in([1.0, 5.0]))
        estimate += share * at["estimate"].to_numpy()
        variance += (share * at["std_err"].to_numpy()) ** 2
        age_row = (
            tables["survival_age_specific"]
            .filter(
                (pl.col("entity") == 520)
                & (pl.col("sex") == 0)
                & (pl.col("period") == "2020-2024")
                & (pl.col("age_group") == g + 1)
            )
            .sort("time")
        )
        np.testing.assert_allclose(age_row["estimate"].to_numpy(), at["estimate"].to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(age_row["lower"].to_numpy(), at["lower"].to_numpy(), rtol=1e-9)
    got = (
        tables["survival"]
        .filter((pl.col("entity") == 520) & (pl.col("sex") == 0) & (pl.col("period") == "2020-2024"))
        .sort("time")
    )
    assert got["approach"].to_list() == ["period", "period"]
    np.testing.assert_allclose(got["estimate"].to_numpy(), estimate, rtol=1e-9)
    np.testing.assert_allclose(got["std_err"].to_numpy(), np.sqrt(variance), rtol=1e-9)


def test_survival_exclusions_and_prevalence(
    snapshot: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]
) -> None:
    frame = _stratum_data(snapshot, 980, 0, "cohort", "2010-2014")
    assert frame["age"].max() < 90  # type: ignore[operator]
    assert (frame["time_days"] > 0).all()
    assert 180 not in tables["survival"].filter(pl.col("sex") == 1)["entity"].to_list()
    prev = tables["prevalence"].filter((pl.col("entity") == 980) & (pl.col("sex") == 0))
    counts = dict(zip(prev["duration_years"].to_list(), prev["prevalent"].to_list(), strict=True))
    assert counts[1] <= counts[5] <= counts[10] <= counts[None]
    persons = snapshot["persons"]
    alive = persons.filter(
        pl.col("death_date").is_null() | (pl.col("death_date") > dt.date(2024, 12, 31))
    ).height
    assert counts[None] == alive


def test_compiled_interval_sums_equal_the_numpy_path() -> None:
    """The numba walk (any number of rate-table cuts per interval) and the vectorised NumPy path agree."""
    from oncoreg.stats.ratetable import RateTable
    from oncoreg.stats.standard_survival import interval_sums

    rng = np.random.default_rng(7)
    n = 400
    table = RateTable(
        sexes=("1", "2"),
        ages=np.arange(0, 111),
        years=np.arange(1990, 2030),
        hazard=rng.uniform(1e-6, 5e-4, (2, 111, 40)),
    )
    kwargs = {
        "time_days": rng.uniform(1, 2500, n).round(),
        "dead": rng.random(n) < 0.6,
        "age_days": rng.uniform(20, 89, n) * 365.241,
        "date_days": rng.uniform(7300, 19000, n).round(),
        "sex_index": rng.integers(0, 2, n),
        "entry_days": np.where(rng.random(n) < 0.3, rng.uniform(0, 900, n), 0.0),
        "cell": rng.integers(0, 7, n),
        "n_cells": 7,
        "rate_table": table,
        "breaks_days": np.arange(61) * 365.241 / 12,
    }
    compiled = interval_sums(**kwargs, engine="numba")  # type: ignore[arg-type]
    vectorised = interval_sums(**kwargs, engine="numpy")  # type: ignore[arg-type]
    np.testing.assert_allclose(compiled, vectorised, rtol=1e-12, atol=1e-12)
