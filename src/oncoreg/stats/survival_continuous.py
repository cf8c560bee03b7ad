"""Continuous-time survival estimators as relsurv's ``rs.surv``: Pohar Perme, Ederer II, Ederer I, Hakulinen,
and the observed Kaplan–Meier, evaluated at every distinct follow-up time of one stratum.

Notation (grid t_1 < … < t_J = distinct follow-up times; Y_j at risk with y_i ≥ t_j; D_j deaths at t_j;
S*_i expected survival of person i from diagnosis; z the normal quantile):

* Pohar Perme: dΛ_j = Σ_{deaths at t_j} 1/S*_i(t_j) / Σ_{y_i ≥ t_j} 1/S*_i(t_j) − W_j, where W_j is
  relsurv's integral of the weighted population hazard over (t_{j-1}, t_j] on fine steps of ``precision`` days
  (rate read at the start of each step; each step adds h·(A1/B1 + A2/B2)/2 with A, B running sums of λ_i/S*_i
  and 1/S*_i over the at-risk set at the step's start (1) and end (2) since the start of the interval).
  Variance of the cumulative excess hazard: Σ_j Σ_{deaths} S*_i(t_j)^{-2} / (Σ_{y_i ≥ t_j} 1/S*_i(t_j))².
* Ederer II: dΛ_j = (D_j − H_j)/Y_j with H_j = Σ_{y_i ≥ t_j} ∫_{t_{j-1}}^{t_j} λ*_i (same fine steps);
  variance Σ D_j / Y_j².
* Ederer I: Kaplan–Meier Π(1 − D_j/Y_j) divided by the mean expected survival of the whole cohort (everyone
  followed to t_j), exact integration; variance Σ D_j / Y_j².
* Hakulinen: Kaplan–Meier divided by exp(−Σ_j Σ_{y'_i ≥ t_j} ΔΛ*_ij S*_i(t_j) / Σ_{y'_i ≥ t_j} S*_i(t_j)),
  where y'_i is the potential follow-up (``fin_date`` − diagnosis date for those who died, the censoring
  time otherwise) and the grid is extended by the y'_i; exact integration.
* Net/relative survival = Π_j (1 − dΛ_j) (relsurv's default ``type = "kaplan-meier"``); ``std_err_log`` is
  relsurv's ``fit$std.err`` (standard error of the cumulative hazard), ``std_err`` = S × std_err_log as in
  ``summary()``; confidence limits ``log``: S·exp(∓z·se), ``plain``: S ∓ z·S·se, ``log-log``: as survival.
* Observed: Kaplan–Meier with Greenwood's variance Σ D_j / (Y_j (Y_j − D_j)).

References: Pohar Perme M, Stare J, Estève J. Biometrics 2012;68:113-20; Ederer F, Axtell LM, Cutler SJ.
NCI Monogr 1961;6:101-21; Ederer F, Heise H. 1959; Hakulinen T. Biometrics 1982;38:933-42; relsurv 2.2–2.3
``rs.surv`` (R code) and ``netfastpinter2.c``/``netwei.c`` as described in statistics.md §3.1a. Rows with
zero follow-up are dropped, as relsurv does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from oncoreg.errors import OncoregError
from oncoreg.stats.ratetable import HazardRuns, RateTable, hazard_runs
from oncoreg.stats.survival_data import SurvivalData
from oncoreg.stats.survival_expsum import run_exponential_sums
from oncoreg.stats.survival_stepsums import Engine, step_sums

Method = Literal["pohar-perme", "ederer2", "ederer1", "hakulinen", "observed"]
ConfType = Literal["log", "plain", "log-log"]
METHODS: tuple[str, ...] = ("pohar-perme", "ederer2", "ederer1", "hakulinen", "observed")

FloatArray = NDArray[Any]
IntArray = NDArray[Any]


class SurvivalError(OncoregError):
    """A survival estimate cannot be computed from the input given (unknown method, no patients)."""


@dataclass(frozen=True)
class SurvivalCurve:
    """An estimate at every grid time of one stratum (times in days)."""

    time: FloatArray
    n_at_risk: IntArray
    n_events: IntArray
    estimate: FloatArray
    std_err_log: FloatArray
    lower: FloatArray
    upper: FloatArray

    def std_err(self) -> FloatArray:
        """Standard error on the survival scale (relsurv ``summary``): S × se of the cumulative hazard."""
        with np.errstate(invalid="ignore"):
            return np.asarray(np.where(self.estimate == 0, 0.0, self.estimate * self.std_err_log))

    def at(self, times_days: FloatArray) -> NDArray[np.int64]:
        """Index of the last grid time not after each requested time (−1 before the first)."""
        return np.asarray(np.searchsorted(self.time, times_days, side="right") - 1, dtype=np.int64)


def continuous_survival(
    data: SurvivalData,
    *,
    rate_table: RateTable,
    method: Method = "pohar-perme",
    conf_level: float = 0.95,
    conf_type: ConfType = "log",
    precision: float = 1.0,
    fin_date_days: float | None = None,
    engine: Engine = "auto",
) -> SurvivalCurve:
    """The estimate of ``method`` for all rows of ``data`` (one stratum), as relsurv ``rs.surv``.

    ``fin_date_days`` (Hakulinen only) is the closing date on the data's calendar clock; by default the
    latest end of follow-up in ``data`` (relsurv computes it over all strata: pass it to match).
    ``engine`` chooses how Pohar Perme and Ederer II sum over the fine steps: ``"numba"`` (compiled loop),
    ``"numpy"`` (vectorised) or ``"auto"`` (numba when installed); both give the same numbers to rounding.
    """
    if method not in METHODS:
        raise SurvivalError(f"method {method!r} is not one of {', '.join(METHODS)}")
    keep = data.time_days > 0
    if not keep.any():
        raise SurvivalError("no patient with follow-up time > 0")
    data = data.subset(keep) if not keep.all() else data
    times = np.unique(data.time_days)
    y, dead = data.time_days, data.dead
    if method == "hakulinen":
        fin = float(np.max(y + data.date_days)) if fin_date_days is None else fin_date_days
        potential = np.where(dead, fin - data.date_days, y)
        times = np.unique(np.minimum(times[-1], np.concatenate([times, potential])))
    j_of = np.searchsorted(times, y)
    at_risk = (
        len(y) - np.cumsum(np.bincount(j_of, minlength=len(times))) + np.bincount(j_of, minlength=len(times))
    )
    events = np.bincount(j_of, weights=dead.astype(np.float64), minlength=len(times))
    if method in ("pohar-perme", "ederer2"):
        hazard, variance = _pohar_perme_ederer2(
            data,
            rate_table=rate_table,
            times=times,
            j_of=j_of,
            at_risk=at_risk,
            events=events,
            precision=precision,
            pohar_perme=method == "pohar-perme",
            engine=engine,
        )
        surv = np.cumprod(1.0 - hazard)
    else:
        surv = np.cumprod(1.0 - events / at_risk)
        if method == "observed":
            with np.errstate(divide="ignore", invalid="ignore"):
                variance = np.cumsum(np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0))
        else:
            variance = np.cumsum(events / at_risk**2)
            if method == "ederer1":
                surv = surv / _ederer1_expected(data, rate_table=rate_table, times=times)
            elif method == "hakulinen":
                surv = surv / _hakulinen_expected(
                    data, rate_table=rate_table, times=times, potential=potential
                )
    se = np.sqrt(variance)
    lower, upper = confidence_limits(surv, se, conf_level=conf_level, conf_type=conf_type)
    return SurvivalCurve(
        time=times,
        n_at_risk=at_risk.astype(np.int64),
        n_events=events.astype(np.int64),
        estimate=surv,
        std_err_log=se,
        lower=lower,
        upper=upper,
    )


def confidence_limits(
    surv: FloatArray, se_log: FloatArray, *, conf_level: float, conf_type: ConfType
) -> tuple[FloatArray, FloatArray]:
    """relsurv/survfit confidence limits from S and the se of the cumulative hazard."""
    z = float(norm.ppf(0.5 + conf_level / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            return surv - z * se_log * surv, surv + z * se_log * surv
        if conf_type == "log":
            return np.exp(np.log(surv) - z * se_log), np.exp(np.log(surv) + z * se_log)
        log_s = np.log(surv)
        return (
            np.exp(-np.exp(np.log(-log_s) - z * se_log / log_s)),
            np.exp(-np.exp(np.log(-log_s) + z * se_log / log_s)),
        )


def _pohar_perme_ederer2(
    data: SurvivalData,
    *,
    rate_table: RateTable,
    times: FloatArray,
    j_of: IntArray,
    at_risk: FloatArray,
    events: FloatArray,
    precision: float,
    pohar_perme: bool,
    engine: Engine,
) -> tuple[FloatArray, FloatArray]:
    """Interval hazards and cumulative variances of relsurv's fine-step algorithm (``netfastpinter2``)."""
    previous = np.concatenate([[0.0], times[:-1]])
    width = times - previous
    n_steps = np.maximum(np.ceil(width / precision), 1).astype(np.int64)
    interval = np.repeat(np.arange(len(times)), n_steps)
    step_first = np.cumsum(n_steps) - n_steps
    k = np.arange(len(interval)) - step_first[interval]
    starts = previous[interval] + k * precision
    lengths = np.minimum(precision, times[interval] - starts)
    person_steps = (step_first + n_steps)[j_of]
    computed = step_sums(
        rate_table,
        sex_index=data.sex_index,
        age_days=data.age_days,
        date_days=data.date_days,
        calendar=data.calendar,
        step_starts=starts,
        step_stops=starts + lengths,
        person_steps=person_steps,
        engine=engine,
    )
    inverse_end = np.exp(computed.cumulative_end)  # 1/S*_i(y_i)
    deaths_weighted = np.bincount(j_of, weights=np.where(data.dead, inverse_end, 0.0), minlength=len(times))
    deaths_weighted_sq = np.bincount(
        j_of, weights=np.where(data.dead, inverse_end**2, 0.0), minlength=len(times)
    )
    if not pohar_perme:
        expected = np.bincount(interval, weights=lengths * computed.rate_sum, minlength=len(times))
        return (events - expected) / at_risk, np.cumsum(events / at_risk**2)
    sums = computed.sums
    a1 = _cumsum_within(sums.weighted, step_first)
    b1 = _cumsum_within(sums.plain, step_first)
    a2 = _cumsum_within(sums.weighted_shifted, step_first)
    b2 = _cumsum_within(sums.plain_shifted, step_first)
    integral = np.bincount(interval, weights=lengths * (a1 / b1 + a2 / b2) / 2.0, minlength=len(times))
    weighted_at_risk = sums.plain_shifted[step_first + n_steps - 1]
    hazard = deaths_weighted / weighted_at_risk - integral
    return hazard, np.cumsum(deaths_weighted_sq / weighted_at_risk**2)


def _cumsum_within(values: FloatArray, group_first: IntArray) -> FloatArray:
    """Cumulative sums restarted at each group's first index."""
    total = np.cumsum(values)
    offset = np.repeat(total[group_first] - values[group_first], np.diff(np.append(group_first, len(values))))
    return np.asarray(total - offset)


def _continuous_runs_sums(
    data: SurvivalData, *, rate_table: RateTable, times: FloatArray, horizon: FloatArray
) -> tuple[FloatArray, FloatArray, HazardRuns, IntArray, IntArray]:
    """Σ S*_i(t_j) and Σ λ*_i(t_j−) S*_i(t_j) over persons with horizon_i ≥ t_j (exact integration)."""
    runs = hazard_runs(
        rate_table,
        sex_index=data.sex_index,
        age_days=data.age_days,
        date_days=data.date_days,
        follow_up_days=horizon,
        calendar=data.calendar,
    )
    end = runs.start + runs.duration
    first = np.searchsorted(times, runs.start, side="right").astype(np.int64)
    stop = np.searchsorted(times, end, side="right").astype(np.int64)
    sums = run_exponential_sums(
        eval_times=times,
        first=first,
        stop=stop,
        origin=runs.start,
        amplitude=np.exp(-runs.cumulative),
        rate=-runs.hazard,
    )
    return sums.plain, -sums.weighted, runs, first, stop


def _ederer1_expected(data: SurvivalData, *, rate_table: RateTable, times: FloatArray) -> FloatArray:
    """Mean expected survival of the whole cohort at each grid time (relsurv ``netwei`` ``sis / n``)."""
    horizon = np.full(len(data), times[-1])
    total, *_ = _continuous_runs_sums(data, rate_table=rate_table, times=times, horizon=horizon)
    return total / len(data)


def _hakulinen_expected(
    data: SurvivalData, *, rate_table: RateTable, times: FloatArray, potential: FloatArray
) -> FloatArray:
    """Hakulinen's expected survival: exp(−Σ_j Σ ΔΛ*_ij S*_i(t_j) / Σ S*_i(t_j)) over y'_i ≥ t_j."""
    horizon = np.minimum(potential, times[-1])
    total, rate_weighted, runs, first, stop = _continuous_runs_sums(
        data, rate_table=rate_table, times=times, horizon=horizon
    )
    previous = np.concatenate([[0.0], times[:-1]])
    width = times - previous
    numerator = width * rate_weighted
    # Runs that start strictly inside (t_{j-1}, t_j) and reach t_j: replace λ(t_j−)·Δ_j by the exact ΔΛ*.
    inside = (stop > first) & (runs.start > 0)
    inside &= runs.start > previous[np.minimum(first, len(times) - 1)]
    r = np.flatnonzero(inside)
    j = first[r]
    t_prev = previous[j]
    scale = float(times[-1]) + 1.0
    key = runs.person * scale + runs.start
    before = np.searchsorted(key, runs.person[r] * scale + t_prev, side="left") - 1
    cumulative_prev = np.where(
        t_prev > 0, runs.cumulative[before] + runs.hazard[before] * (t_prev - runs.start[before]), 0.0
    )
    exact = runs.cumulative[r] - cumulative_prev + runs.hazard[r] * (times[j] - runs.start[r])
    surv_at = np.exp(-(runs.cumulative[r] + runs.hazard[r] * (times[j] - runs.start[r])))
    correction = (exact - runs.hazard[r] * width[j]) * surv_at
    numerator = numerator + np.bincount(j, weights=correction, minlength=len(times))
    return np.asarray(np.exp(-np.cumsum(numerator / total)))
