"""Relative and net survival: the public entry points (a function and an object, agreeing).

:func:`net_survival` estimates observed, relative or net survival by stratum with the continuous-time
estimators of relsurv (:mod:`oncoreg.stats.survival_continuous`) or the life-table estimators of
strs/stnet/popEpi (:mod:`oncoreg.stats.survival_lifetable`), optionally age-standardised
(:mod:`oncoreg.stats.survival_standardise`). :class:`RelativeSurvival` is the same as an estimator object
(``RelativeSurvival(method="pohar-perme").fit(data, rate_table=rt).table(times_years=[1, 5])``).

Output columns: ``stratum`` ("all" or ``col=value`` joined by ``,``), ``time`` (years), ``estimate``,
``std_err`` (on the survival scale), ``lower``, ``upper``, ``n_at_risk``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from oncoreg.stats.ratetable import DAYS_PER_YEAR, RateTable
from oncoreg.stats.survival_continuous import (
    ConfType,
    Method,
    SurvivalCurve,
    SurvivalError,
    continuous_survival,
)
from oncoreg.stats.survival_data import SurvivalData
from oncoreg.stats.survival_lifetable import Weighting, lifetable_survival
from oncoreg.stats.survival_standardise import (
    age_groups,
    assign_age_group,
    brenner_weights,
    calendar_window,
    traditional,
)

Estimator = Literal["continuous", "lifetable"]
Standardisation = Literal["traditional", "brenner"]
OUTPUT_COLUMNS = ("stratum", "time", "estimate", "std_err", "lower", "upper", "n_at_risk")


def net_survival(
    data: SurvivalData,
    *,
    rate_table: RateTable,
    method: Method = "pohar-perme",
    estimator: Estimator = "continuous",
    times_years: Sequence[float] | None = None,
    breaks_years: Sequence[float] | None = None,
    conf_level: float = 0.95,
    conf_type: ConfType | None = None,
    weights: pl.DataFrame | None = None,
    standardisation: Standardisation = "traditional",
    min_at_risk: int = 0,
    standardise_age_years: np.ndarray | None = None,
    period_years: tuple[int, int] | None = None,
    weighting: Weighting = "stnet",
    hybrid_cohort_years: tuple[int, int] | None = None,
) -> pl.DataFrame:
    """Survival by stratum (``data.strata``) at ``times_years`` (default: every grid time or break).

    Continuous estimators follow relsurv ``rs.surv`` (confidence limits ``log`` by default); life-table
    estimators need ``breaks_years`` (e.g. ``parse_breaks("0:5:1/12")``; limits ``log-log`` by default).
    With ``weights`` (ICSS table, see :mod:`oncoreg.stats.survival_standardise`) the result is
    age-standardised, traditionally (both estimators) or by Brenner's individual weights (life table
    only). The continuous
    Hakulinen closing date is the latest end of follow-up over all strata, as in relsurv. Age groups for
    standardisation come from ``standardise_age_years`` (one per row) or else the age at diagnosis.

    ``period_years=(first, last)`` (life table only) is Brenner's period analysis: follow-up restricted to the
    calendar years first..last inclusive (entry max(0, 1 Jan first − diagnosis), closing 1 Jan last+1);
    a patient counts in an interval from the first interval starting at or after the entry. ``weighting``
    is the life-table Pohar Perme weighting (``"stnet"`` or ``"popEpi"``).

    ``hybrid_cohort_years=(c1, c2)`` with ``period_years`` is Brenner & Rachet's hybrid analysis (Eur J Cancer
    2004;40:2494-501): patients diagnosed in the calendar years c1..c2 (the most recent diagnoses, typically
    just before the window when recent incident cases are recorded late) contribute their whole follow-up
    from diagnosis (cohort element), all other patients only their follow-up inside the window (period
    element); every follow-up is closed at 1 Jan last+1. Early intervals are then dominated by the recent
    cohort, later ones by the window. With c1..c2 inside the window it equals period analysis.
    """
    if period_years is not None and estimator != "lifetable":
        raise SurvivalError("period and hybrid analysis are available with the life-table estimator only")
    if hybrid_cohort_years is not None and period_years is None:
        raise SurvivalError("hybrid analysis needs the period window (period_years) as well")
    entry = None
    if period_years is not None:
        data, entry, kept = _period_window(data, period_years, hybrid_cohort_years)
        if standardise_age_years is not None:
            standardise_age_years = standardise_age_years[kept]
    if estimator == "lifetable" and breaks_years is None:
        raise SurvivalError("the life-table estimator needs breaks (START:END:STEP in years)")
    if estimator == "lifetable" and method not in ("ederer2", "pohar-perme", "observed"):
        raise SurvivalError(
            f"method {method!r} has no life-table version; use ederer2, pohar-perme or observed"
        )
    if weights is not None and standardisation == "brenner" and estimator != "lifetable":
        raise SurvivalError("Brenner standardisation is available with the life-table estimator only")
    fin_date = float(np.max(data.time_days + data.date_days)) if len(data) else None
    frames: list[pl.DataFrame] = []
    for label, mask in _strata(data):
        part = data.subset(mask)
        part_entry = None if entry is None else entry[mask]
        if weights is None:
            frames.append(
                _one(
                    part,
                    label,
                    rate_table,
                    method,
                    estimator,
                    times_years,
                    breaks_years,
                    conf_level,
                    conf_type,
                    fin_date,
                    min_at_risk,
                    None,
                    part_entry,
                    weighting,
                )
            )
            continue
        groups = age_groups(weights)
        age_years = (
            part.age_days / DAYS_PER_YEAR if standardise_age_years is None else standardise_age_years[mask]
        )
        if standardisation == "brenner":
            frames.append(
                _one(
                    part,
                    label,
                    rate_table,
                    method,
                    estimator,
                    times_years,
                    breaks_years,
                    conf_level,
                    conf_type,
                    fin_date,
                    min_at_risk,
                    brenner_weights(age_years, groups=groups),
                    part_entry,
                    weighting,
                )
            )
            continue
        group = assign_age_group(age_years, groups)
        by_group = [
            _one(
                part.subset(group == g),
                label,
                rate_table,
                method,
                estimator,
                times_years,
                breaks_years,
                conf_level,
                conf_type,
                fin_date,
                min_at_risk,
                None,
                None if part_entry is None else part_entry[group == g],
                weighting,
            ).with_columns(age_group=pl.lit(g))
            for g in range(len(groups))
            if np.any(group == g)
        ]
        std = traditional(pl.concat(by_group), groups=groups)
        lower, upper = _log_limits(std["estimate"].to_numpy(), std["std_err"].to_numpy(), conf_level)
        frames.append(std.with_columns(lower=pl.Series(lower), upper=pl.Series(upper)).select(OUTPUT_COLUMNS))
    return pl.concat(frames)


def _year_start(data: SurvivalData, year: int) -> float:
    """Day of 1 January of ``year`` on the data's calendar clock."""
    if data.calendar == "date":
        return float(np.datetime64(f"{year}-01-01", "D").astype(np.int64))
    return (year - 1970) * DAYS_PER_YEAR


def _period_window(
    data: SurvivalData, period_years: tuple[int, int], cohort_years: tuple[int, int] | None = None
) -> tuple[SurvivalData, np.ndarray, np.ndarray]:
    """Patients with follow-up inside the calendar years, their exit and death cropped, and their entry.

    ``cohort_years`` (hybrid analysis): patients diagnosed in those years enter at diagnosis (entry 0)."""
    first, last = period_years
    if last < first:
        raise SurvivalError(f"period {first}:{last}: the last year is before the first")
    start_day, end_day = _year_start(data, first), _year_start(data, last + 1)
    if cohort_years is not None:
        c1, c2 = cohort_years
        if c2 < c1 or c2 > last:
            raise SurvivalError(
                f"hybrid cohort years {c1}:{c2}: need FIRST <= LAST <= the window's last year"
            )
        recent = (data.date_days >= _year_start(data, c1)) & (data.date_days < _year_start(data, c2 + 1))
        start = np.where(recent, np.minimum(data.date_days, start_day), start_day)
    else:
        start = np.full(len(data), start_day)
    entry, exit_time, died, keep = calendar_window(
        date_days=data.date_days,
        time_days=data.time_days,
        dead=data.dead,
        start_day=start,
        end_day=end_day,
    )
    if not keep.any():
        raise SurvivalError(f"period {first}:{last}: no patient is followed inside it")
    cropped = dataclasses.replace(data, time_days=exit_time, dead=died).subset(keep)
    return cropped, entry[keep], keep


def _strata(data: SurvivalData) -> list[tuple[str, np.ndarray]]:
    if data.strata.width == 0:
        return [("all", np.ones(len(data), dtype=bool))]
    labels = data.strata.select(
        pl.concat_str(
            [pl.lit(f"{c}=") + pl.col(c).cast(pl.String).fill_null("NA") for c in data.strata.columns],
            separator=",",
        ).alias("label")
    )["label"]
    return [(str(v), (labels == v).to_numpy()) for v in labels.unique().sort().to_list()]


def _one(
    data: SurvivalData,
    label: str,
    rate_table: RateTable,
    method: Method,
    estimator: Estimator,
    times_years: Sequence[float] | None,
    breaks_years: Sequence[float] | None,
    conf_level: float,
    conf_type: ConfType | None,
    fin_date: float | None,
    min_at_risk: int,
    case_weight: np.ndarray | None,
    entry_days: np.ndarray | None = None,
    weighting: Weighting = "stnet",
) -> pl.DataFrame:
    if estimator == "lifetable":
        assert breaks_years is not None
        table = lifetable_survival(
            data,
            rate_table=rate_table,
            breaks_years=np.asarray(breaks_years, dtype=np.float64),
            method=method,
            conf_level=conf_level,
            conf_type=conf_type or "log-log",
            min_at_risk=min_at_risk,
            case_weight=case_weight,
            entry_days=entry_days,
            weighting=weighting,
        )
        if times_years is not None:
            wanted = np.asarray(times_years, dtype=np.float64)
            have = table["time"].to_numpy()
            index = np.searchsorted(have, wanted + 1e-9, side="right") - 1
            table = table[np.clip(index, 0, None).tolist()].with_columns(time=pl.Series(wanted))
        return table.with_columns(stratum=pl.lit(label)).select(OUTPUT_COLUMNS)
    curve = continuous_survival(
        data,
        rate_table=rate_table,
        method=method,
        conf_level=conf_level,
        conf_type=conf_type or "log",
        fin_date_days=fin_date,
    )
    return curve_table(curve, label=label, times_years=times_years, n=len(data), min_at_risk=min_at_risk)


def curve_table(
    curve: SurvivalCurve, *, label: str, times_years: Sequence[float] | None, n: int, min_at_risk: int = 0
) -> pl.DataFrame:
    """A :class:`SurvivalCurve` as output rows at the requested times (relsurv ``summary(times=)``)."""
    if times_years is None:
        time_years = curve.time / DAYS_PER_YEAR
        index = np.arange(len(curve.time))
    else:
        time_years = np.asarray(times_years, dtype=np.float64)
        index = curve.at(time_years * DAYS_PER_YEAR)
    before = index < 0
    safe = np.clip(index, 0, None)
    estimate = np.where(before, 1.0, curve.estimate[safe])
    std_err = np.where(before, 0.0, curve.std_err()[safe])
    lower = np.where(before, 1.0, curve.lower[safe])
    upper = np.where(before, 1.0, curve.upper[safe])
    # number at risk at the requested time: those with follow-up >= it (relsurv n.risk at the grid time)
    following = np.searchsorted(curve.time, time_years * DAYS_PER_YEAR - 1e-9, side="left")
    padded = np.append(curve.n_at_risk, 0)
    n_at_risk = curve.n_at_risk if times_years is None else np.where(time_years <= 0, n, padded[following])
    if min_at_risk > 0:
        # NORDCAN: the curve stops at the first time with fewer than min_at_risk at risk
        small = np.maximum.accumulate(n_at_risk < min_at_risk)
        estimate, std_err, lower, upper = (
            np.where(small, np.nan, a) for a in (estimate, std_err, lower, upper)
        )
    return pl.DataFrame(
        {
            "stratum": [label] * len(time_years),
            "time": time_years,
            "estimate": estimate,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
            "n_at_risk": n_at_risk.astype(np.int64),
        }
    )


def _log_limits(surv: np.ndarray, se: np.ndarray, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + conf_level / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp(z * se / surv)
    return surv / factor, surv * factor


class RelativeSurvival:
    """Estimator object over :func:`net_survival` (scikit-survival style): configure, ``fit``, ``table``."""

    def __init__(
        self,
        *,
        method: Method = "pohar-perme",
        estimator: Estimator = "continuous",
        breaks_years: Sequence[float] | None = None,
        conf_level: float = 0.95,
        conf_type: ConfType | None = None,
    ) -> None:
        self.method: Method = method
        self.estimator: Estimator = estimator
        self.breaks_years = breaks_years
        self.conf_level = conf_level
        self.conf_type: ConfType | None = conf_type
        self.result_: pl.DataFrame | None = None
        self._data: SurvivalData | None = None
        self._rate_table: RateTable | None = None

    def fit(self, data: SurvivalData, *, rate_table: RateTable) -> RelativeSurvival:
        """Estimate at every grid time (continuous) or break (life table); keep the data for :meth:`table`."""
        self._data, self._rate_table = data, rate_table
        self.result_ = self.table()
        return self

    def table(self, *, times_years: Sequence[float] | None = None) -> pl.DataFrame:
        """The fitted estimates at ``times_years`` (default: all), as :func:`net_survival` returns them."""
        if self._data is None or self._rate_table is None:
            raise SurvivalError("RelativeSurvival is not fitted; call fit() first")
        return net_survival(
            self._data,
            rate_table=self._rate_table,
            method=self.method,
            estimator=self.estimator,
            times_years=times_years,
            breaks_years=self.breaks_years,
            conf_level=self.conf_level,
            conf_type=self.conf_type,
        )
