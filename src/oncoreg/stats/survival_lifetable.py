"""Life-table (interval) relative and net survival, as popEpi ``survtab(surv.method = "lifetable")`` and
strs/stnet: actuarial Ederer II and Pohar Perme on given breaks (e.g. monthly, ``0:5:1/12`` years).

For interval k = (b_k, b_{k+1}] with n_k at risk at b_k, d_k deaths and w_k withdrawals (censored) in it:

* effective number at risk n'_k = n_k − w_k/2 (actuarial adjustment);
* expected deaths d*_k = Σ_{y_i > b_k} ∫_{b_k}^{min(y_i, b_{k+1})} λ*_i (exact integration over the rate
  table's cells), expected interval survival p*_k = 1 − d*_k / n_k;
* Ederer II: interval relative survival 1 − (d_k − d*_k)/n'_k, cumulated by product; standard error
  SE(S_obs)/S* with Greenwood's SE(S_obs) = S_obs √(Σ d/(n'(n' − d))) (popEpi ``comp.st.r.e2.lif``);
* Pohar Perme: the same with every person weighted by w_ik = 1/S*_i(b_k), the inverse expected survival at
  the start of the interval (stnet): 1 − (d^w_k − d*^w_k)/(n^w_k − w^w_k/2), SE = S √(Σ d^{w²}_k/n'_k²)
  (popEpi ``comp.st.r.pp.lif``).

Confidence limits by default on the log-log scale (popEpi default; strs's default for the observed
survival), or ``log``/``plain``. Intervals after the first one with fewer than ``min_at_risk`` at its start
are left empty (NaN), the NORDCAN rule (25). References: Ederer F, Heise H 1959; Dickman PW, Coviello E.
Stata J
2015;15:186-215 (strs); Coviello E, Seppä K, Dickman PW, Pokhrel A. Stata J 2015;15:173-85 (stnet);
popEpi 0.4 ``survtab_ag``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.stats import norm

from oncoreg.stats.ratetable import DAYS_PER_YEAR, HazardRuns, RateTable, hazard_runs
from oncoreg.stats.survival_continuous import ConfType, SurvivalError
from oncoreg.stats.survival_data import SurvivalData

FloatArray = NDArray[Any]
Weighting = Literal["stnet", "popEpi"]
_MIN_ROW_DAYS = 1e-6


def parse_breaks(spec: str) -> FloatArray:
    """Breaks in years from ``START:END:STEP`` (STEP may be a fraction ``1/12``) or a list ``0,1,3,5``."""
    try:
        if ":" in spec:
            start_s, end_s, step_s = spec.split(":")
            step = _number(step_s)
            start, end = _number(start_s), _number(end_s)
            if step <= 0 or end <= start:
                raise ValueError
            count = int(np.floor((end - start) / step + 1e-9))
            return np.asarray(start + step * np.arange(count + 1), dtype=np.float64)
        values = np.asarray([_number(v) for v in spec.split(",")], dtype=np.float64)
    except ValueError:
        raise SurvivalError(
            f"breaks {spec!r}: expected START:END:STEP (years, e.g. 0:5:1/12) or 0,1,5"
        ) from None
    if len(values) < 2 or np.any(np.diff(values) <= 0):
        raise SurvivalError(f"breaks {spec!r}: need at least two increasing values")
    return values


def _number(text: str) -> float:
    if "/" in text:
        num, den = text.split("/")
        return float(num) / float(den)
    return float(text)


def lifetable_survival(
    data: SurvivalData,
    *,
    rate_table: RateTable,
    breaks_years: FloatArray,
    method: str = "ederer2",
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
    min_at_risk: int = 0,
    entry_days: FloatArray | None = None,
    case_weight: FloatArray | None = None,
    weighting: Weighting = "stnet",
) -> pl.DataFrame:
    """Interval estimates at every break after the first: columns ``time`` (years), ``estimate``, ``std_err``,
    ``lower``, ``upper``, ``n_at_risk`` (at the interval's start), ``n_events``, ``n_censored``,
    ``expected`` (cumulative expected survival, Ederer II).

    ``entry_days`` (left truncation, period analysis): a patient counts in an interval only if observed at its
    start. ``case_weight`` multiplies every count (Brenner standardisation); the SEs then use weighted counts.
    ``weighting`` (Pohar Perme): ``"stnet"`` (default) weights by 1/S*_i(b_k); ``"popEpi"`` reproduces popEpi
    0.4.10 ``survtab`` with its default weight style ``"delta"`` (see :func:`_popepi_weights`).
    """
    if method not in ("ederer2", "pohar-perme", "observed"):
        raise SurvivalError(f"life-table method {method!r} is not one of ederer2, pohar-perme, observed")
    if len(data) == 0:
        raise SurvivalError("no patients")
    breaks = np.asarray(breaks_years, dtype=np.float64) * DAYS_PER_YEAR
    y, dead = data.time_days, data.dead
    runs = hazard_runs(
        rate_table,
        sex_index=data.sex_index,
        age_days=data.age_days,
        date_days=data.date_days,
        follow_up_days=y,
        calendar=data.calendar,
    )
    n_int = len(breaks) - 1
    # (person, interval) pairs at risk at the interval's start: b_k < y_i (b_0 <= y_i for the first)
    reach = np.clip(np.searchsorted(breaks, y, side="left"), 0, n_int)
    entered = np.zeros(len(y), dtype=np.int64) if entry_days is None else np.searchsorted(breaks, entry_days)
    count = np.maximum(reach - entered, 0)
    person = np.repeat(np.arange(len(y)), count)
    offsets = np.cumsum(count) - count
    k = np.arange(int(count.sum())) - np.repeat(offsets, count) + np.repeat(entered, count)
    case = np.ones(len(y)) if case_weight is None else np.asarray(case_weight, dtype=np.float64)
    start = breaks[k]
    end = np.minimum(y[person], breaks[k + 1])
    exits = y[person] <= breaks[k + 1]
    event = exits & dead[person]
    censored = exits & ~dead[person]
    cum_start = _cumulative_at(runs, person, start)
    cum_end = _cumulative_at(runs, person, end)
    expected_deaths = cum_end - cum_start
    weight = np.exp(cum_start) if method == "pohar-perme" else np.ones_like(start)
    rows_per_pair = np.ones_like(start)
    if method == "pohar-perme" and weighting == "popEpi":
        weight, rows_per_pair = _popepi_weights(
            runs, breaks=breaks, entered=entered, reach=reach, offsets=offsets, n_pairs=len(person)
        )
    elif weighting not in ("stnet", "popEpi"):
        raise SurvivalError(f"weighting {weighting!r} is not one of stnet, popEpi")
    pair_case = case[person]

    def total(values: FloatArray) -> FloatArray:
        return np.bincount(k, weights=values * pair_case, minlength=n_int)

    n = total(np.ones_like(start))
    d, w = total(event.astype(np.float64)), total(censored.astype(np.float64))
    n_eff = n - w / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        surv_obs = np.cumprod(1.0 - d / n_eff)
        se_obs = surv_obs * np.sqrt(np.cumsum(d / (n_eff * (n_eff - d))))
        expected = np.cumprod(1.0 - total(expected_deaths) / n)
        if method == "observed":
            estimate, std_err = surv_obs, se_obs
        elif method == "ederer2":
            estimate = np.cumprod(1.0 - (d - total(expected_deaths)) / n_eff)
            std_err = se_obs / expected
        else:
            n_w = total(weight * rows_per_pair) - total(weight * censored) / 2.0
            interval = 1.0 - (total(weight * event) - total(weight * expected_deaths)) / n_w
            estimate = np.cumprod(interval)
            std_err = estimate * np.sqrt(np.cumsum(total(weight**2 * event) / n_eff**2))
    lower, upper = _limits(estimate, std_err, conf_level=conf_level, conf_type=conf_type)
    if min_at_risk > 0:
        small = np.flatnonzero(n < min_at_risk)
        if len(small):
            cut = small[0]
            for array in (estimate, std_err, lower, upper):
                array[cut:] = np.nan
    return pl.DataFrame(
        {
            "time": breaks_years[1:],
            "estimate": estimate,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
            "n_at_risk": n.astype(np.int64),
            "n_events": d.astype(np.int64),
            "n_censored": w.astype(np.int64),
            "expected": expected,
        }
    )


def _popepi_weights(
    runs: HazardRuns,
    *,
    breaks: FloatArray,
    entered: NDArray[np.int64],
    reach: NDArray[np.int64],
    offsets: NDArray[np.int64],
    n_pairs: int,
) -> tuple[FloatArray, FloatArray]:
    """popEpi 0.4.10 ``comp_pp_weights(style = "delta")`` weights per (person, interval) and its row count.

    popEpi splits follow-up into rows at the interval breaks and the rate-table cells (here: the runs of
    constant hazard) and, for interval (b_k, b_{k+1}] of width h with rows r = 1..R starting at s_r:

    * R = 1: w = exp(Λ*(s_1)) · exp(−λ_1 (b_{k+1} − s_1)/2) (popEpi multiplies S*(s_1) by
      exp(+λ (b_{k+1} − s_1)/2) before inverting);
    * R > 1: w = exp(Λ*(s_1)) · exp(Σ_r λ_r δ_r), δ_r = min(duration_r, h/2) for r < R and
      δ_R = (b_{k+1} − s_R)/2.

    Its ``at.risk.pp`` sums w over rows, i.e. R · w (returned as the row count R).
    """
    n_int = len(breaks) - 1
    run_end = runs.start + runs.duration
    k_lo = np.maximum(np.searchsorted(breaks, runs.start, side="right") - 1, 0)
    k_hi = np.searchsorted(breaks, run_end, side="left") - 1
    k_lo = np.maximum(k_lo, entered[runs.person])
    k_hi = np.minimum(np.minimum(k_hi, reach[runs.person] - 1), n_int - 1)
    count = np.where(runs.duration > 0, np.maximum(k_hi - k_lo + 1, 0), 0)
    run = np.repeat(np.arange(len(count)), count)
    within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    k = k_lo[run] + within
    person = runs.person[run]
    pair = offsets[person] + k - entered[person]
    seg_start = np.maximum(runs.start[run], breaks[k])
    seg_end = np.minimum(run_end[run], breaks[k + 1])
    # rows shorter than a microsecond arise where a cut equals a break up to rounding; popEpi has none
    alone = np.ones(len(pair), dtype=bool)
    alone[1:] &= pair[1:] != pair[:-1]
    alone[:-1] &= pair[1:] != pair[:-1]
    keep = (seg_end - seg_start > _MIN_ROW_DAYS) | alone
    run, k, pair, seg_start, seg_end = run[keep], k[keep], pair[keep], seg_start[keep], seg_end[keep]
    hazard = runs.hazard[run]
    is_first = np.ones(len(pair), dtype=bool)
    is_first[1:] = pair[1:] != pair[:-1]
    is_last = np.ones(len(pair), dtype=bool)
    is_last[:-1] = pair[1:] != pair[:-1]
    rows = np.bincount(pair, minlength=n_pairs).astype(np.float64)
    half = (breaks[k + 1] - breaks[k]) / 2.0
    dist = np.where(
        is_last, np.maximum((breaks[k + 1] - seg_start) / 2.0, 0.0), np.minimum(seg_end - seg_start, half)
    )
    delta_sum = np.bincount(pair, weights=hazard * dist, minlength=n_pairs)
    first = np.flatnonzero(is_first)
    cum_first = np.zeros(n_pairs)
    cum_first[pair[first]] = runs.cumulative[run[first]] + hazard[first] * (
        seg_start[first] - runs.start[run[first]]
    )
    single = np.zeros(n_pairs)
    single[pair[first]] = hazard[first] * (breaks[k[first] + 1] - seg_start[first]) / 2.0
    log_weight = np.where(rows == 1, cum_first - single, cum_first + delta_sum)
    return np.exp(log_weight), rows


def _cumulative_at(runs: HazardRuns, person: NDArray[np.int64], time: FloatArray) -> FloatArray:
    """Λ*_i(t) for (person, time) pairs with 0 ≤ t ≤ the person's follow-up."""
    scale = float(np.max(runs.start + runs.duration)) + 1.0
    key = runs.person * scale + runs.start
    index = np.searchsorted(key, person * scale + time, side="right") - 1
    index = np.maximum(index, runs.first[person])
    return np.asarray(runs.cumulative[index] + runs.hazard[index] * (time - runs.start[index]))


def _limits(
    surv: FloatArray, se: FloatArray, *, conf_level: float, conf_type: ConfType
) -> tuple[FloatArray, FloatArray]:
    """popEpi ``comp.st.conf.ints``: limits from S and the SE of S.

    log-log: θ = log(−log S), SE(θ) = SE/(S |log S|), limits exp(−exp(θ ± z SE(θ))), computed on that scale
    so that S near 1 (SE(θ) huge) gives finite limits in [0, 1] instead of overflowing ``S ** exp(…)``.
    Where log-log is undefined (S ≥ 1, possible for net survival, or S ≤ 0) the log limits are used; where
    SE = 0 both limits are S. NaN estimates give NaN limits.
    """
    surv = np.asarray(surv, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    z = float(norm.ppf(0.5 + conf_level / 2.0))
    known = np.isfinite(surv) & np.isfinite(se)
    positive = known & (surv > 0)
    safe = np.where(positive, surv, 1.0)
    safe_se = np.where(known, se, 0.0)
    if conf_type == "plain":
        lower, upper = surv - z * se, surv + z * se
    else:
        log_lower = safe * np.exp(-z * safe_se / safe)
        log_upper = safe * np.exp(np.minimum(z * safe_se / safe, _MAX_EXPONENT))
        lower = np.where(positive, log_lower, np.where(known, 0.0, np.nan))
        upper = np.where(positive, log_upper, np.where(known, 0.0, np.nan))
        if conf_type == "log-log":
            inside = positive & (surv < 1.0) & (safe_se > 0)
            s_in = np.where(inside, surv, 0.5)
            minus_log = -np.log(s_in)
            theta = np.log(minus_log)
            sigma = np.where(inside, safe_se, 0.0) / (s_in * minus_log)
            high = np.minimum(theta + z * sigma, _MAX_EXPONENT)
            low = np.maximum(theta - z * sigma, -_MAX_EXPONENT)
            lower = np.where(inside, np.exp(-np.exp(high)), lower)
            upper = np.where(inside, np.exp(-np.exp(low)), upper)
    same = known & (se == 0)
    return np.where(same, surv, lower), np.where(same, surv, upper)


_MAX_EXPONENT = 700.0
"""Cap of an exponent so that ``exp`` stays finite (exp(700) ≈ 1e304)."""
