"""nordpred: reproduce the package's published example output; recover noise-free APC trends exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.stats.nordpred import nordpred, nordpred_asr

DATA = Path(__file__).parents[1] / "data" / "stats" / "nordpred"
SEGI_SHARES = [0.12, 0.1, 0.09, 0.09, 0.08, 0.08, 0.06, 0.06, 0.06, 0.06, 0.05, 0.04, 0.04, 0.03, 0.02, 0.01]
SEGI_SHARES += [0.005, 0.005]


@pytest.fixture(scope="module")
def example() -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.read_csv(DATA / "cases.csv"), pl.read_csv(DATA / "population.csv")


@pytest.fixture(scope="module")
def published_fit(example: tuple[pl.DataFrame, pl.DataFrame]) -> object:
    cases, population = example
    return nordpred(cases=cases, population=population, start_est_age=5, start_use_age=6)


def test_model_choices_match_published_summary(published_fit: object) -> None:
    summary = json.loads((DATA / "published_summary.json").read_text())
    est = published_fit.estimate  # type: ignore[attr-defined]
    assert est.periods_used == summary["periods_used"]
    assert round(est.gof_p, 4) == summary["gof_p"]
    assert published_fit.recent is summary["recent"]  # type: ignore[attr-defined]
    assert round(est.recent_p, 4) == summary["recent_p"]


def test_rates_match_published_getpred(published_fit: object) -> None:
    published = pl.read_csv(DATA / "published_rates.csv")
    table = published_fit.table.join(published, on=["age_group", "period"])  # type: ignore[attr-defined]
    assert table.height == 18 * 13
    mine = table["rate"].to_numpy() * 1e5
    ref = table["rate_per_100000"].to_numpy()
    # printed with 7 decimals; R's glm stops at a relative deviance change of 1e-8
    np.testing.assert_allclose(mine, ref, rtol=1e-6, atol=6e-8)


def test_cases_match_published_print(published_fit: object) -> None:
    published = pl.read_csv(DATA / "published_cases.csv").rename({"cases": "published"})
    table = published_fit.table.join(published, on=["age_group", "period"])  # type: ignore[attr-defined]
    np.testing.assert_allclose(table["cases"].to_numpy(), table["published"].to_numpy(), atol=0.05 + 1e-9)


def test_world_asr_matches_published(published_fit: object) -> None:
    summary = json.loads((DATA / "published_summary.json").read_text())
    asr = nordpred_asr(result=published_fit, weights=SEGI_SHARES)  # type: ignore[arg-type]
    ref = pl.DataFrame(summary["asr_world"])
    np.testing.assert_allclose(asr["rate"].to_numpy(), ref["rate"].to_numpy(), atol=0.005 + 1e-9)
    assert asr["period"].to_list() == ref["period"].to_list()


def _synthetic(rate: np.ndarray, n_obs: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Noise-free cases (expected counts) for an 18 x P rate matrix and a flat population of 1e6."""
    n_all = rate.shape[1]
    ages = np.tile(np.arange(1, 19), n_all)
    periods = np.repeat(1970 + 5 * np.arange(n_all), 18)
    pop = np.full(18 * n_all, 1e6)
    cases = rate.T.ravel() * pop
    population = pl.DataFrame({"age_group": ages, "period": periods, "population": pop})
    case_frame = pl.DataFrame({"age_group": ages, "period": periods, "cases": cases}).filter(
        pl.col("period") < 1970 + 5 * n_obs
    )
    return case_frame, population


@pytest.mark.parametrize("link", ["power5", "poisson"])
def test_noise_free_trend_is_continued_exactly(link: str) -> None:
    age = np.linspace(-1.0, 1.0, 18)[:, None]
    period = np.arange(1, 10)[None, :]
    cohort = 18 - np.arange(1, 19)[:, None] + period
    if link == "power5":
        rate = (0.05 + 0.01 * (age + 1) + 0.002 * period + 0.0005 * np.sin(cohort)) ** 5
    else:
        rate = np.exp(-9 + 2 * age + 0.03 * period + 0.05 * np.cos(cohort))
    cases, population = _synthetic(rate, n_obs=6)
    res = nordpred(
        cases=cases,
        population=population,
        start_est_age=1,
        start_use_age=1,
        periods=6,
        recent=False,
        cut_trend=[0, 0, 0],
        link=link,  # type: ignore[arg-type]
    )
    assert res.estimate.gof_p > 0.999
    got = (
        res.table.filter(pl.col("projected")).sort("period", "age_group")["rate"].to_numpy().reshape(3, 18).T
    )
    # cohorts born after the youngest estimated one (age group a < j + 2 in future period j) reuse its effect
    estimated = np.arange(1, 19)[:, None] >= np.arange(1, 4)[None, :] + 2
    np.testing.assert_allclose(got[estimated], rate[:, 6:][estimated], rtol=1e-6)


def test_cut_trend_removes_drift() -> None:
    period = np.arange(1, 9)[None, :]
    rate = np.repeat((0.04 + 0.003 * period) ** 5, 18, axis=0)
    cases, population = _synthetic(rate, n_obs=6)
    res = nordpred(
        cases=cases,
        population=population,
        start_est_age=1,
        start_use_age=1,
        periods=6,
        recent=False,
        cut_trend=[1, 1],
    )
    got = res.table.filter(pl.col("projected") & (pl.col("age_group") == 10))["rate"].to_numpy()
    np.testing.assert_allclose(
        got, [rate[0, 5], rate[0, 5]], rtol=1e-6
    )  # drift fully cut: stays at last level


def test_young_age_groups_use_mean_of_last_two_periods(example: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    cases, population = example
    res = nordpred(cases=cases, population=population)
    obs = cases.join(population, on=["age_group", "period"]).filter(
        (pl.col("age_group") == 4) & (pl.col("period") >= 1988)
    )
    mean_rate = (obs["cases"] / obs["population"]).mean()
    got = res.table.filter(pl.col("projected") & (pl.col("age_group") == 4))["rate"].to_numpy()
    np.testing.assert_allclose(got, mean_rate, rtol=1e-12)


def test_bad_input_names_the_problem(example: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    cases, population = example
    with pytest.raises(ValidationFailed, match="age_group '19'"):
        nordpred(cases=cases.with_columns(pl.col("age_group").replace(18, 19)), population=population)
    with pytest.raises(ValidationFailed, match="future"):
        nordpred(cases=cases, population=population.filter(pl.col("period") < 1998))
    with pytest.raises(ValidationFailed, match="missing column"):
        nordpred(cases=cases.rename({"cases": "n"}), population=population)
