"""Cancer incidence projections by the nordpred method (age-period-cohort Poisson model, power-5 link).

The method of the Cancer Registry of Norway's nordpred package (Møller B, Fekjær H, et al., "Prediction of
cancer incidence in the Nordic countries: empirical comparison of different approaches", Stat Med
2003;22:2751-2766; package 1.1, Fekjær & Møller, GPL-2), reimplemented from its description
(``reference/statistics.md`` §2):

* data: 18 five-year age groups (0-4 ... 85+) by consecutive five-year periods, observed cases and
  person-years, and person-years for 1 to 5 future periods;
* model, on age groups ``a >= start_est_age`` and the last ``n`` observed periods::

      E[cases] = pyr * (A_a + D * p + P_p + C_c)^5          (power-5 link, the default)
      E[cases] = pyr * exp(A_a + D * p + P_p + C_c)          (link "poisson")

  with ``p`` the period number (1 = first observed period), cohort ``c = 18 - a + p``; the period
  effects are zero in the first and the last period of the base (so ``D`` is the average drift between
  them) and the cohort effects are zero for the oldest and the youngest cohort (nordpred's R
  parameterisation, where those coefficients are aliased);
* number of periods ``n``: the widest of the candidates (default 4..6) whose goodness-of-fit p-value
  ``1 - F_chi2(deviance; df)`` is at least 0.01, dropping the oldest period while it is below;
* recent trend: Poisson models ``A_a + D p + C_c`` and ``A_a + D p + Q p^2 + C_c`` compared by a
  likelihood-ratio test; ``p < 0.05`` -> project with the slope of the last ten years
  ``D_recent = D - P_{n-1}`` instead of the average drift ``D``;
* projection ``j = 1..k``: ``rate = (A_a + D * N + D' * sum_{i<=j}(1 - cut_i) + C_c)^5`` with ``N`` the
  number of observed periods, ``D' = D_recent`` (recent) or ``D`` and ``cut = (0, .25, .5, .75, .75)``;
  cohorts younger than those estimated for ``start_use_age`` reuse the effect of the youngest such cohort;
* age groups below ``start_use_age``: the mean of the observed rates of the last two periods.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats as sps

from oncoreg.errors import Problem, ValidationFailed

FloatArray = npt.NDArray[np.float64]
Link = Literal["power5", "poisson"]

N_AGE_GROUPS = 18
PERIOD_LENGTH = 5
DEFAULT_CUT_TREND: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.75)
GOF_THRESHOLD = 0.01
RECENT_THRESHOLD = 0.05


@dataclass(frozen=True)
class NordpredEstimate:
    """A fitted nordpred APC model (``nordpred.estimate``)."""

    link: Link
    periods_used: int
    start_est_age: int
    n_observed: int
    age_effects: FloatArray  # A_a for a = start_est_age..18
    drift: float  # D
    period_effects: FloatArray  # P_p for the n periods of the base (first and last 0)
    cohort_effects: FloatArray  # C_c for relative cohorts 1..C (first and last 0)
    deviance: float
    df_resid: int
    gof_p: float
    recent_suggested: bool
    recent_p: float


@dataclass(frozen=True)
class NordpredResult:
    """Observed and projected cases by age group and period, with the choices nordpred made."""

    table: pl.DataFrame  # age_group, period, cases, population, rate (per person-year), projected
    estimate: NordpredEstimate
    recent: bool
    cut_trend: tuple[float, ...]
    start_use_age: int


def _design(
    *, n_observed: int, periods_used: int, start_est_age: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Design of the APC base: (X_apc, age dummies, period, cohort dummies, age index, period index)."""
    ages = np.arange(start_est_age, N_AGE_GROUPS + 1)
    periods = np.arange(n_observed - periods_used + 1, n_observed + 1)
    age_idx = np.repeat(ages, periods.size)  # age-major is irrelevant to the fit; order kept explicit
    per_idx = np.tile(periods, ages.size)
    n_cohorts = N_AGE_GROUPS - start_est_age + periods_used
    rel_cohort = N_AGE_GROUPS - age_idx + per_idx - (n_observed - periods_used)
    age_d = (age_idx[:, None] == ages[None, :]).astype(np.float64)
    rel_period = per_idx - (n_observed - periods_used)
    per_d = (rel_period[:, None] == np.arange(2, periods_used)[None, :]).astype(np.float64)
    coh_d = (rel_cohort[:, None] == np.arange(2, n_cohorts)[None, :]).astype(np.float64)
    period = per_idx.astype(np.float64)[:, None]
    x_apc = np.hstack([age_d, period, per_d, coh_d])
    return x_apc, age_d, period, coh_d, age_idx, per_idx


def _fit_glm(
    *, x: FloatArray, cases: FloatArray, pyr: FloatArray, link: Link
) -> tuple[FloatArray, float, int]:
    """Poisson GLM of cases on ``x`` with person-years ``pyr``: (coefficients, deviance, residual df).

    The power-5 link ``(mu/pyr)^0.2`` is fitted as a Poisson model of the rate ``cases/pyr`` with variance
    weights ``pyr``, whose likelihood equals that of the counts.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import DomainWarning, PerfectSeparationWarning

    with warnings.catch_warnings():
        # Power link on a Poisson family is deliberate; statsmodels' "perfect prediction" check compares
        # mu - y with an absolute 1e-8, which tiny rates always pass, so it carries no information here.
        warnings.simplefilter("ignore", DomainWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        if link == "power5":
            family = sm.families.Poisson(link=sm.families.links.Power(power=0.2), check_link=False)
            model = sm.GLM(cases / pyr, x, family=family, var_weights=pyr)
            start = np.linalg.lstsq(x, ((cases + 0.1) / pyr) ** 0.2, rcond=None)[0]
            res = model.fit(start_params=start, tol=1e-12, maxiter=200)
        else:
            model = sm.GLM(cases, x, family=sm.families.Poisson(), offset=np.log(pyr))
            res = model.fit(tol=1e-12, maxiter=200)
    return np.asarray(res.params, dtype=np.float64), float(res.deviance), round(res.df_resid)


def nordpred_estimate(
    *, cases: FloatArray, pyr: FloatArray, periods_used: int, start_est_age: int = 5, link: Link = "power5"
) -> NordpredEstimate:
    """Fit nordpred's APC model (``nordpred.estimate``) to 18 x N cases and 18 x (N+k) person-years."""
    cases = np.asarray(cases, dtype=np.float64)
    pyr = np.asarray(pyr, dtype=np.float64)
    n_observed = cases.shape[1]
    if periods_used < 3 or periods_used > n_observed:
        raise ValidationFailed(
            [Problem("periods", str(periods_used), "nordpred.periods", f"must be 3..{n_observed}")]
        )
    x, age_d, period, coh_d, age_idx, per_idx = _design(
        n_observed=n_observed, periods_used=periods_used, start_est_age=start_est_age
    )
    y = cases[age_idx - 1, per_idx - 1]
    w = pyr[age_idx - 1, per_idx - 1]
    beta, deviance, df_resid = _fit_glm(x=x, cases=y, pyr=w, link=link)
    n_age = age_d.shape[1]
    period_effects = np.concatenate([[0.0], beta[n_age + 1 : n_age + periods_used - 1], [0.0]])
    cohort_effects = np.concatenate([[0.0], beta[n_age + periods_used - 1 :], [0.0]])
    gof_p = float(sps.chi2.sf(deviance, df_resid))
    x1 = np.hstack([age_d, period, coh_d])
    x2 = np.hstack([age_d, period, period**2, coh_d])
    _, dev1, _ = _fit_glm(x=x1, cases=y, pyr=w, link="poisson")
    _, dev2, _ = _fit_glm(x=x2, cases=y, pyr=w, link="poisson")
    recent_p = float(sps.chi2.sf(max(dev1 - dev2, 0.0), 1))
    return NordpredEstimate(
        link=link,
        periods_used=periods_used,
        start_est_age=start_est_age,
        n_observed=n_observed,
        age_effects=beta[:n_age],
        drift=float(beta[n_age]),
        period_effects=period_effects,
        cohort_effects=cohort_effects,
        deviance=deviance,
        df_resid=df_resid,
        gof_p=gof_p,
        recent_suggested=recent_p < RECENT_THRESHOLD,
        recent_p=recent_p,
    )


def nordpred_project(
    *,
    estimate: NordpredEstimate,
    cases: FloatArray,
    pyr: FloatArray,
    start_use_age: int = 6,
    recent: bool,
    cut_trend: Sequence[float] = DEFAULT_CUT_TREND,
) -> FloatArray:
    """Projected cases (18 x k) for the k future periods of ``pyr`` (``nordpred.prediction``)."""
    cases = np.asarray(cases, dtype=np.float64)
    pyr = np.asarray(pyr, dtype=np.float64)
    n_obs = estimate.n_observed
    k = pyr.shape[1] - n_obs
    cut = np.asarray(cut_trend, dtype=np.float64)[:k]
    drift_steps = np.cumsum(1.0 - cut)  # sum_{i<=j} (1 - cut_i)
    # Young age groups: mean of the observed rates in the last two periods.
    with np.errstate(divide="ignore", invalid="ignore"):
        last_rates = np.where(
            pyr[:, n_obs - 2 : n_obs] > 0, cases[:, n_obs - 2 :] / pyr[:, n_obs - 2 : n_obs], 0
        )
    out = (last_rates.mean(axis=1)[:, None] * pyr[:, n_obs:]).copy()
    s, n = estimate.start_est_age, estimate.periods_used
    ages = np.arange(start_use_age, N_AGE_GROUPS + 1)
    coh = (N_AGE_GROUPS - ages)[:, None] + n + np.arange(1, k + 1)[None, :]  # relative cohort index
    max_coh = N_AGE_GROUPS - start_use_age + n
    coh_used = np.minimum(coh, max_coh)  # young cohorts reuse the effect of cohort max_coh
    coh_par = estimate.cohort_effects[coh_used - 1]
    age_par = estimate.age_effects[ages - s][:, None]
    if recent:
        slope = estimate.drift - estimate.period_effects[n - 2]
        lin = age_par + estimate.drift * n_obs + slope * drift_steps[None, :] + coh_par
    else:
        lin = age_par + estimate.drift * (n_obs + drift_steps[None, :]) + coh_par
    rate = lin**5 if estimate.link == "power5" else np.exp(lin)
    out[ages - 1, :] = rate * pyr[ages - 1, n_obs:]
    return np.asarray(out, dtype=np.float64)


def _choose_periods(
    *, cases: FloatArray, pyr: FloatArray, candidates: Sequence[int], start_est_age: int
) -> int:
    """nordpred's choice: the widest candidate base with power-5 GOF p >= 0.01, else the narrowest."""
    options = sorted(set(candidates))
    while len(options) > 1:
        widest = options[-1]
        est = nordpred_estimate(cases=cases, pyr=pyr, periods_used=widest, start_est_age=start_est_age)
        if est.gof_p < GOF_THRESHOLD:
            options = options[:-1]
        else:
            return widest
    return options[0]


def _to_matrices(
    *, cases: pl.DataFrame, population: pl.DataFrame
) -> tuple[FloatArray, FloatArray, list[int]]:
    """Validate the long tables and return (cases 18 x N, pyr 18 x (N+k), first years of all periods)."""
    problems: list[Problem] = []
    for name, frame, value in (("cases", cases, "cases"), ("population", population, "population")):
        for col in ("age_group", "period", value):
            if col not in frame.columns:
                problems.append(Problem(col, "", "nordpred.columns", f"missing column in {name} table"))
    if problems:
        raise ValidationFailed(problems)
    for name, frame, value in (("cases", cases, "cases"), ("population", population, "population")):
        bad_age = frame.with_row_index("row").filter(~pl.col("age_group").is_between(1, N_AGE_GROUPS))
        problems += [
            Problem(
                "age_group",
                str(r["age_group"]),
                "nordpred.age_group",
                f"{name}: must be 1..18",
                str(r["row"]),
            )
            for r in bad_age.head(5).iter_rows(named=True)
        ]
        bad_val = frame.with_row_index("row").filter(pl.col(value).is_null() | (pl.col(value) < 0))
        problems += [
            Problem(value, str(r[value]), "nordpred.value", f"{name}: must be a number >= 0", str(r["row"]))
            for r in bad_val.head(5).iter_rows(named=True)
        ]
        dup = frame.filter(pl.struct("age_group", "period").is_duplicated())
        problems += [
            Problem(
                "period", str(r["period"]), "nordpred.unique", f"{name}: age group {r['age_group']} twice"
            )
            for r in dup.head(5).iter_rows(named=True)
        ]
    if problems:
        raise ValidationFailed(problems)
    obs_periods = sorted(cases["period"].unique().to_list())
    all_periods = sorted(population["period"].unique().to_list())
    steps = np.diff(all_periods)
    if len(all_periods) > 1 and not np.all(steps == PERIOD_LENGTH):
        problems.append(
            Problem(
                "period", str(all_periods), "nordpred.periods", "periods must be consecutive 5-year starts"
            )
        )
    missing = [p for p in obs_periods if p not in all_periods]
    if missing:
        problems.append(
            Problem("period", str(missing[0]), "nordpred.population", "no population for this period")
        )
    future = [p for p in all_periods if p > max(obs_periods)]
    if not 1 <= len(future) <= 5:
        problems.append(
            Problem("period", str(len(future)), "nordpred.future", "population must have 1-5 future periods")
        )
    if obs_periods != all_periods[: len(obs_periods)]:
        problems.append(
            Problem("period", str(obs_periods[0]), "nordpred.periods", "population must start with cases")
        )
    if len(obs_periods) < 3:
        problems.append(
            Problem("period", str(len(obs_periods)), "nordpred.periods", "need >= 3 observed periods")
        )
    if problems:
        raise ValidationFailed(problems)
    grid = pl.DataFrame({"age_group": list(range(1, N_AGE_GROUPS + 1))}).join(
        pl.DataFrame({"period": all_periods}), how="cross"
    )
    full = grid.join(
        cases.select("age_group", "period", "cases"), on=["age_group", "period"], how="left"
    ).join(population.select("age_group", "period", "population"), on=["age_group", "period"], how="left")
    no_pop = full.filter(pl.col("population").is_null() | (pl.col("population") <= 0))
    if no_pop.height:
        r = no_pop.row(0, named=True)
        raise ValidationFailed(
            [
                Problem(
                    "population",
                    "",
                    "nordpred.population",
                    f"missing or 0 for age group {r['age_group']}, period {r['period']}",
                )
            ]
        )
    full = full.with_columns(pl.col("cases").fill_null(0)).sort("period", "age_group")
    n_all = len(all_periods)
    pyr = full["population"].to_numpy().astype(np.float64).reshape(n_all, N_AGE_GROUPS).T
    case_m = full["cases"].to_numpy().astype(np.float64).reshape(n_all, N_AGE_GROUPS).T[:, : len(obs_periods)]
    return case_m, pyr, [int(p) for p in all_periods]


def nordpred(
    *,
    cases: pl.DataFrame,
    population: pl.DataFrame,
    start_est_age: int = 5,
    start_use_age: int = 6,
    periods: int | Sequence[int] | None = None,
    recent: bool | None = None,
    cut_trend: Sequence[float] = DEFAULT_CUT_TREND,
    link: Link = "power5",
) -> NordpredResult:
    """Project cancer cases with nordpred (``nordpred()`` of the R package, same defaults).

    ``cases``: long table ``age_group`` (1-18 for 0-4 ... 85+), ``period`` (first calendar year of the
    five-year period), ``cases``; ``population``: ``age_group, period, population`` (person-years) for the
    observed periods and 1-5 future ones. ``periods``: a fixed number of periods in the base or a list of
    candidates (default ``min(N,4)..min(N,6)``). ``recent=None`` lets the trend test decide.
    Returns observed and projected cases with rates per person-year.
    """
    if not 1 <= start_est_age <= start_use_age <= N_AGE_GROUPS:
        raise ValidationFailed(
            [
                Problem(
                    "start_use_age",
                    str(start_use_age),
                    "nordpred.ages",
                    "need 1 <= start_est_age <= start_use_age <= 18",
                )
            ]
        )
    case_m, pyr, years = _to_matrices(cases=cases, population=population)
    n_obs = case_m.shape[1]
    if len(cut_trend) < pyr.shape[1] - n_obs:
        raise ValidationFailed(
            [
                Problem(
                    "cut_trend",
                    str(list(cut_trend)),
                    "nordpred.cut_trend",
                    "one value per future period needed",
                )
            ]
        )
    if periods is None:
        candidates: Sequence[int] = range(min(n_obs, 4), min(n_obs, 6) + 1)
    elif isinstance(periods, int):
        candidates = [periods]
    else:
        candidates = periods
    n_used = _choose_periods(cases=case_m, pyr=pyr, candidates=candidates, start_est_age=start_est_age)
    est = nordpred_estimate(
        cases=case_m, pyr=pyr, periods_used=n_used, start_est_age=start_est_age, link=link
    )
    use_recent = est.recent_suggested if recent is None else recent
    projected = nordpred_project(
        estimate=est,
        cases=case_m,
        pyr=pyr,
        start_use_age=start_use_age,
        recent=use_recent,
        cut_trend=cut_trend,
    )
    all_cases = np.hstack([case_m, projected])
    table = pl.DataFrame(
        {
            "age_group": np.tile(np.arange(1, N_AGE_GROUPS + 1), len(years)),
            "period": np.repeat(years, N_AGE_GROUPS),
            "cases": all_cases.T.ravel(),
            "population": pyr.T.ravel(),
            "projected": np.repeat(np.arange(len(years)) >= n_obs, N_AGE_GROUPS),
        }
    ).with_columns(rate=pl.col("cases") / pl.col("population"))
    k = pyr.shape[1] - n_obs
    return NordpredResult(
        table=table,
        estimate=est,
        recent=use_recent,
        cut_trend=tuple(float(c) for c in cut_trend[:k]),
        start_use_age=start_use_age,
    )


def nordpred_asr(*, result: NordpredResult, weights: FloatArray | Sequence[float]) -> pl.DataFrame:
    """Age-standardised rate per 100 000 by period (``nordpred.getpred(standpop=w)``).

    ``ASR_p = 10^5 * sum_a w_a * cases_ap / pyr_ap`` with the 18 weights rescaled to sum to 1.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (N_AGE_GROUPS,) or not np.all(w >= 0) or w.sum() <= 0:
        raise ValidationFailed([Problem("weights", str(w.size), "nordpred.weights", "need 18 weights >= 0")])
    share = pl.DataFrame({"age_group": np.arange(1, N_AGE_GROUPS + 1), "w": w / w.sum()})
    return (
        result.table.join(share, on="age_group")
        .group_by("period")
        .agg((pl.col("rate") * pl.col("w")).sum().mul(1e5).alias("rate"))
        .sort("period")
    )
