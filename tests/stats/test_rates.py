"""Rates: agreement with popEpi/Epi output stored in tests/data, and hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from oncoreg.errors import ValidationFailed
from oncoreg.stats.rates import (
    age_specific_rates,
    person_years_from_jan1,
    rate_ratios,
    standardised_rates,
)

DATA = Path(__file__).parents[1] / "data" / "stats" / "rates"


def world_weights() -> pl.DataFrame:
    std = pl.read_csv(DATA / "popEpi_stdpop18.csv")
    return pl.DataFrame(
        {
            "age_group": np.arange(1, 19),
            "age_start": np.arange(0, 90, 5),
            "age_end": [*range(4, 85, 5), None],
            "weight": std["world"].cast(pl.Float64),
        }
    )


@pytest.fixture(scope="module")
def nordpred_data() -> tuple[pl.DataFrame, pl.DataFrame]:
    cases = pl.read_csv(DATA / "nordpred_cases.csv")
    pyr = pl.read_csv(DATA / "nordpred_population.csv").rename({"population": "person_years"})
    return cases, pyr.filter(pl.col("period") < 1998)


@pytest.mark.parametrize("ci", ["lognormal", "gamma"])
def test_standardised_rates_match_popepi_and_epi(
    nordpred_data: tuple[pl.DataFrame, pl.DataFrame], ci: str
) -> None:
    cases, pyr = nordpred_data
    ref = pl.read_csv(DATA / "rates_reference_r.csv").sort("period")
    got = standardised_rates(
        cases=cases,
        person_years=pyr,
        weights=world_weights(),
        by=["period"],
        ci=ci,  # type: ignore[arg-type]
    ).sort("period")
    assert got["cases"].to_list() == ref["cases"].to_list()
    for mine, theirs in [
        ("crude_rate", "crude_rate"),
        ("asr", "asr"),
        ("asr_se", "asr_se"),
        ("asr_lower", f"asr_lower_{ci}"),
        ("asr_upper", f"asr_upper_{ci}"),
        ("cum_rate", "cum_rate"),
        ("cum_rate_lower", "cum_rate_lower"),
        ("cum_rate_upper", "cum_rate_upper"),
        ("cum_risk", "cum_risk"),
        ("cum_risk_lower", "cum_risk_lower"),
        ("cum_risk_upper", "cum_risk_upper"),
    ]:
        # popEpi takes z = 1.96 for its log-normal limits, we take the exact normal quantile 1.95996...
        rtol = 2e-6 if ci == "lognormal" and mine in ("asr_lower", "asr_upper") else 1e-9
        np.testing.assert_allclose(got[mine].to_numpy(), ref[theirs].to_numpy(), rtol=rtol, err_msg=mine)
    crude = {"lognormal": "lognormal", "gamma": "exact"}[ci]
    np.testing.assert_allclose(
        got["crude_lower"].to_numpy(), ref[f"crude_lower_{crude}"].to_numpy(), rtol=2e-6
    )
    np.testing.assert_allclose(
        got["crude_upper"].to_numpy(), ref[f"crude_upper_{crude}"].to_numpy(), rtol=2e-6
    )


def test_hand_worked_three_age_groups() -> None:
    # cases 1, 5, 20 over 1000, 2000, 1500 person-years; weights 50/30/20
    cases = pl.DataFrame({"age_group": [1, 2, 3], "cases": [1, 5, 20]})
    pyr = pl.DataFrame({"age_group": [1, 2, 3], "person_years": [1000.0, 2000.0, 1500.0]})
    weights = pl.DataFrame({"age_group": [1, 2, 3], "weight": [50.0, 30.0, 20.0]})
    got = standardised_rates(
        cases=cases, person_years=pyr, weights=weights, ci="normal", per=1.0, cumulative_to=None
    )
    asr = 0.5 * 1 / 1000 + 0.3 * 5 / 2000 + 0.2 * 20 / 1500  # 0.00391667
    var = 0.25 * 1 / 1000**2 + 0.09 * 5 / 2000**2 + 0.04 * 20 / 1500**2
    assert got["asr"][0] == pytest.approx(asr, rel=1e-12)
    assert got["asr_se"][0] == pytest.approx(var**0.5, rel=1e-12)
    assert got["asr_lower"][0] == pytest.approx(asr - 1.959963984540054 * var**0.5, rel=1e-12)
    assert got["crude_rate"][0] == pytest.approx(26 / 4500, rel=1e-12)
    assert got["cases"][0] == 26


def test_gamma_on_one_group_is_exact_poisson() -> None:
    # no cases in 10 000 person-years: exact upper limit -ln(0.025) = 3.6889 events
    cases = pl.DataFrame({"age_group": [1], "cases": [0]})
    pyr = pl.DataFrame({"age_group": [1], "person_years": [10_000.0]})
    got = age_specific_rates(cases=cases, person_years=pyr, ci="gamma", per=10_000)
    assert got["lower"][0] == 0
    assert got["upper"][0] == pytest.approx(-np.log(0.025), rel=1e-9)
    got = age_specific_rates(
        cases=pl.DataFrame({"age_group": [1], "cases": [7]}), person_years=pyr, ci="gamma", per=10_000
    )
    assert got["lower"][0] == pytest.approx(sps.chi2.ppf(0.025, 14) / 2, rel=1e-9)
    assert got["upper"][0] == pytest.approx(sps.chi2.ppf(0.975, 16) / 2, rel=1e-9)


def test_tiwari_upper_limit_is_not_above_fay_feuer(nordpred_data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    cases, pyr = nordpred_data
    common = {"cases": cases, "person_years": pyr, "weights": world_weights(), "by": ["period"]}
    ff = standardised_rates(ci="gamma", **common)  # type: ignore[arg-type]
    tw = standardised_rates(ci="tiwari", **common)  # type: ignore[arg-type]
    assert (tw["asr_upper"] <= ff["asr_upper"]).all()
    assert (tw["asr_upper"] > tw["asr"]).all()
    np.testing.assert_allclose(tw["asr_lower"].to_numpy(), ff["asr_lower"].to_numpy())


def test_cumulative_risk_hand_worked() -> None:
    # 15 age groups 0-74, each with rate 100 per 100 000: cum rate = 75 * 0.001 = 7.5 %, risk 1 - exp(-0.075)
    ages = pl.DataFrame({"age_group": np.arange(1, 19)})
    cases = ages.with_columns(cases=pl.lit(100))
    pyr = ages.with_columns(person_years=pl.lit(100_000.0))
    got = standardised_rates(cases=cases, person_years=pyr, weights=world_weights())
    assert got["cum_rate"][0] == pytest.approx(7.5, rel=1e-12)
    assert got["cum_risk"][0] == pytest.approx(100 * (1 - np.exp(-0.075)), rel=1e-12)
    assert got["asr"][0] == pytest.approx(100.0, rel=1e-12)


def test_person_years_mean_of_consecutive_january_counts() -> None:
    pop = pl.DataFrame(
        {
            "sex": [1, 1, 1, 2, 2],
            "year": [2020, 2021, 2022, 2020, 2021],
            "population": [100, 110, 130, 50, 40],
        }
    )
    got = person_years_from_jan1(population=pop, by=["sex"])
    assert got.to_dicts() == [
        {"sex": 1, "year": 2020, "person_years": 105.0},
        {"sex": 1, "year": 2021, "person_years": 120.0},
        {"sex": 2, "year": 2020, "person_years": 45.0},
    ]


def test_rate_ratio_hand_worked() -> None:
    cases = pl.DataFrame({"sex": [1, 2], "age_group": [1, 1], "cases": [40, 20]})
    pyr = pl.DataFrame({"sex": [1, 2], "age_group": [1, 1], "person_years": [1000.0, 1000.0]})
    weights = pl.DataFrame({"age_group": [1], "weight": [1.0]})
    rates = standardised_rates(cases=cases, person_years=pyr, weights=weights, by=["sex"], cumulative_to=None)
    rr = rate_ratios(rates=rates, compare="sex", reference=2)
    se = (1 / 40 + 1 / 20) ** 0.5
    assert rr["rate_ratio"][0] == pytest.approx(2.0)
    assert rr["lower"][0] == pytest.approx(2 * np.exp(-1.959963984540054 * se), rel=1e-9)


def test_bad_input_names_row_and_field() -> None:
    cases = pl.DataFrame({"age_group": [1, 2], "cases": [3, -1]})
    pyr = pl.DataFrame({"age_group": [1, 2], "person_years": [10.0, 10.0]})
    with pytest.raises(ValidationFailed, match="row 2, cases '-1'"):
        age_specific_rates(cases=cases, person_years=pyr)
    with pytest.raises(ValidationFailed, match="no person-years"):
        age_specific_rates(cases=pl.DataFrame({"age_group": [3], "cases": [1]}), person_years=pyr)
    with pytest.raises(ValidationFailed, match="ci 'poisson'"):
        age_specific_rates(cases=cases.head(1), person_years=pyr, ci="poisson")  # type: ignore[arg-type]
