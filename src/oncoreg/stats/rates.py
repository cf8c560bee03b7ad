"""Incidence and mortality rates: crude, age-specific, age-standardised (direct), cumulative rate and risk.

Tables in, tables out (Polars); counts may be cases or deaths (``count=``). Conventions
(``reference/statistics.md`` §1.4, §4, §6):

* person-years of calendar year *t* from 1 January populations: ``PY_t = (N_{1 Jan t} + N_{1 Jan t+1}) / 2``
  per stratum and age group (the mean population; NORDCAN's ``pop_midyear``, popEpi's ``meanpop``);
* crude and age-specific rate ``r = d / PY``; age-standardised rate (direct method)
  ``ASR = sum_i w_i d_i / PY_i`` with standard weights ``w_i`` rescaled to sum to 1, variance
  ``V = sum_i w_i^2 d_i / PY_i^2`` (Poisson counts); all rates reported per ``per`` (default 100 000);
* confidence intervals (``ci=``): ``normal`` ``ASR ± z sqrt(V)``; ``lognormal`` ``ASR exp(± z sqrt(V)/ASR)``
  (popEpi's ``rate()``); ``gamma`` (Fay & Feuer, Stat Med 1997;16:791-801)
  ``[V/(2 ASR) chi2_{a/2}(2 ASR^2/V), (V+w_M^2)/(2(ASR+w_M)) chi2_{1-a/2}(2 (ASR+w_M)^2/(V+w_M^2))]``
  with ``w_M = max_i w_i/PY_i``, which for one age group is the exact Poisson (Garwood) interval; ``tiwari``
  (Tiwari, Clegg, Zou, Stat Methods Med Res 2006;15:547-569) the same with ``w_M`` replaced by the mean of
  ``w_i/PY_i`` in the upper limit (SEER*Stat's "modified gamma");
* cumulative rate 0-74 ``CR = sum_{i: age_end_i <= 74} width_i d_i / PY_i`` (per person), its standard
  error ``sqrt(sum width_i^2 d_i/PY_i^2)``, cumulative risk ``1 - exp(-CR)`` with the CI transformed
  from the normal CI of ``CR`` (as Epi's ``ci.cum``) (Day, in Cancer Incidence in Five Continents IV, 1982);
* rate ratio of standardised rates: ``RR = ASR_1/ASR_0``, CI ``RR exp(± z sqrt(V_1/ASR_1^2 + V_0/ASR_0^2))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats as sps

from oncoreg.errors import Problem, ValidationFailed

CiMethod = Literal["normal", "lognormal", "gamma", "tiwari"]
CI_METHODS: tuple[str, ...] = ("normal", "lognormal", "gamma", "tiwari")
FloatArray = npt.NDArray[np.float64]


def _require(frame: pl.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            [Problem(c, "", "rates.columns", f"missing column in {table} table") for c in missing]
        )


def _nonnegative(frame: pl.DataFrame, column: str, table: str) -> None:
    bad = frame.with_row_index("row", offset=1).filter(pl.col(column).is_null() | (pl.col(column) < 0))
    if bad.height:
        raise ValidationFailed(
            [
                Problem(
                    column,
                    str(r[column]),
                    "rates.nonnegative",
                    f"{table}: must be a number >= 0",
                    str(r["row"]),
                )
                for r in bad.head(20).iter_rows(named=True)
            ]
        )


def person_years_from_jan1(
    *, population: pl.DataFrame, by: Sequence[str] = (), year: str = "year", count: str = "population"
) -> pl.DataFrame:
    """Person-years per calendar year as the mean of consecutive 1 January counts.

    ``PY_t = (N_{1 Jan t} + N_{1 Jan t+1}) / 2`` for every stratum of ``by`` (e.g. sex, county, age_group);
    the last year, which has no following 1 January count, is dropped.
    Returns ``by + [year, "person_years"]``.
    """
    keys = [*by, year, count]
    _require(population, keys, "population")
    _nonnegative(population, count, "population")
    nxt = population.select(*by, (pl.col(year) - 1).alias(year), pl.col(count).alias("_next"))
    return (
        population.select(keys)
        .join(nxt, on=[*by, year], how="inner")
        .select(*by, year, ((pl.col(count) + pl.col("_next")) / 2).alias("person_years"))
        .sort([*by, year])
    )


def _join(
    *, cases: pl.DataFrame, person_years: pl.DataFrame, keys: Sequence[str], count: str
) -> pl.DataFrame:
    """Counts joined to person-years; cells without counts count 0, counts without person-years are errors."""
    _require(cases, [*keys, count], "cases")
    _require(person_years, [*keys, "person_years"], "population")
    _nonnegative(cases, count, "cases")
    _nonnegative(person_years, "person_years", "population")
    summed = cases.group_by(keys).agg(pl.col(count).sum())
    orphan = summed.join(person_years, on=list(keys), how="anti").filter(pl.col(count) > 0)
    zero_py = summed.join(person_years, on=list(keys)).filter(
        (pl.col("person_years") <= 0) & (pl.col(count) > 0)
    )
    bad = pl.concat([orphan.select(keys), zero_py.select(keys)])
    if bad.height:
        raise ValidationFailed(
            [
                Problem("person_years", "", "rates.population", f"no person-years for counts in {r}")
                for r in bad.head(20).iter_rows(named=True)
            ]
        )
    return person_years.join(summed, on=list(keys), how="left").with_columns(pl.col(count).fill_null(0))


def _limits(
    *, est: FloatArray, var: FloatArray, w_max: FloatArray, w_mean: FloatArray, method: str, level: float
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper confidence limits of weighted Poisson sums (same units as ``est``)."""
    if method not in CI_METHODS:
        raise ValidationFailed([Problem("ci", method, "rates.ci", f"must be one of {', '.join(CI_METHODS)}")])
    alpha = 1.0 - level
    z = float(sps.norm.ppf(1 - alpha / 2))
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "normal":
            return est - z * se, est + z * se
        if method == "lognormal":
            factor = np.exp(z * se / est)
            return np.where(est > 0, est / factor, 0.0), np.where(est > 0, est * factor, 0.0)
        lower = np.where(est > 0, var / (2 * est) * sps.chi2.ppf(alpha / 2, 2 * est**2 / var), 0.0)
        wk = w_max if method == "gamma" else w_mean
        upper = (
            (var + wk**2)
            / (2 * (est + wk))
            * sps.chi2.ppf(1 - alpha / 2, 2 * (est + wk) ** 2 / (var + wk**2))
        )
    return lower, upper


def age_specific_rates(
    *,
    cases: pl.DataFrame,
    person_years: pl.DataFrame,
    by: Sequence[str] = (),
    age: str = "age_group",
    count: str = "cases",
    ci: CiMethod = "gamma",
    level: float = 0.95,
    per: float = 100_000.0,
) -> pl.DataFrame:
    """Age-specific rates ``d/PY * per`` per stratum and age group with CIs (gamma = exact Poisson)."""
    table = _join(cases=cases, person_years=person_years, keys=[*by, age], count=count).sort([*by, age])
    d = table[count].to_numpy().astype(np.float64)
    py = table["person_years"].to_numpy().astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(py > 0, d / py, 0.0)
        var = np.where(py > 0, d / py**2, 0.0)
        w = np.where(py > 0, 1 / py, 0.0)
    lo, hi = _limits(est=rate, var=var, w_max=w, w_mean=w, method=ci, level=level)
    return table.with_columns(
        rate=pl.Series(rate * per), lower=pl.Series(lo * per), upper=pl.Series(hi * per)
    )


def standardised_rates(
    *,
    cases: pl.DataFrame,
    person_years: pl.DataFrame,
    weights: pl.DataFrame,
    by: Sequence[str] = (),
    age: str = "age_group",
    count: str = "cases",
    ci: CiMethod = "gamma",
    level: float = 0.95,
    per: float = 100_000.0,
    cumulative_to: int | None = 74,
) -> pl.DataFrame:
    """Counts, crude rate and directly age-standardised rate with CIs, cumulative rate and risk, per stratum.

    ``weights``: ``age_group`` (matching ``age``) and ``weight`` (any scale; rescaled to shares), and for the
    cumulative rate ``age_start``/``age_end`` (as ``oncoreg.codes.standard_populations`` gives them).
    Returns ``by`` + ``cases, person_years, crude_rate, crude_lower, crude_upper, asr, asr_se, asr_lower,
    asr_upper`` and, when ``cumulative_to`` is set, ``cum_rate, cum_rate_lower, cum_rate_upper`` (per cent)
    and ``cum_risk, cum_risk_lower, cum_risk_upper`` (per cent), ages 0 to ``cumulative_to``.
    """
    _require(weights, ["age_group", "weight"], "weights")
    _nonnegative(weights, "weight", "weights")
    _require(cases, [age], "cases")
    w = weights.rename({"age_group": age}).with_columns(
        pl.col(age).cast(cases.schema[age]), share=pl.col("weight") / pl.col("weight").sum()
    )
    table = _join(cases=cases, person_years=person_years, keys=[*by, age], count=count)
    unknown = table.join(w, on=age, how="anti")
    if unknown.height:
        r = unknown.row(0, named=True)
        raise ValidationFailed(
            [Problem(age, str(r[age]), "rates.weights", "age group has no standard weight")]
        )
    table = table.join(w, on=age, how="left")
    py = pl.col("person_years")
    safe = py > 0
    parts = [
        pl.col(count).sum().alias(count),
        py.sum().alias("person_years"),
        pl.when(safe).then(pl.col("share") * pl.col(count) / py).otherwise(0).sum().alias("_asr"),
        pl.when(safe).then(pl.col("share") ** 2 * pl.col(count) / py**2).otherwise(0).sum().alias("_var"),
        pl.when(safe).then(pl.col("share") / py).max().alias("_wmax"),
        pl.when(safe).then(pl.col("share") / py).mean().alias("_wmean"),
    ]
    if cumulative_to is not None:
        _require(weights, ["age_start", "age_end"], "weights")
        in_range = pl.col("age_end").is_not_null() & (pl.col("age_end") <= cumulative_to) & safe
        width = pl.col("age_end") - pl.col("age_start") + 1
        parts += [
            pl.when(in_range).then(width * pl.col(count) / py).otherwise(0).sum().alias("_cum"),
            pl.when(in_range).then(width**2 * pl.col(count) / py**2).otherwise(0).sum().alias("_cum_var"),
        ]
    grouped = (table.group_by(list(by)).agg(parts) if by else table.select(parts)).sort(list(by) or [count])
    d = grouped[count].to_numpy().astype(np.float64)
    total_py = grouped["person_years"].to_numpy().astype(np.float64)
    crude = np.where(total_py > 0, d / np.where(total_py > 0, total_py, 1), 0.0)
    crude_var = np.where(total_py > 0, d / np.where(total_py > 0, total_py, 1) ** 2, 0.0)
    inv_py = np.where(total_py > 0, 1 / np.where(total_py > 0, total_py, 1), 0.0)
    c_lo, c_hi = _limits(est=crude, var=crude_var, w_max=inv_py, w_mean=inv_py, method=ci, level=level)
    asr = grouped["_asr"].to_numpy().astype(np.float64)
    var = grouped["_var"].to_numpy().astype(np.float64)
    a_lo, a_hi = _limits(
        est=asr,
        var=var,
        w_max=grouped["_wmax"].fill_null(0).to_numpy().astype(np.float64),
        w_mean=grouped["_wmean"].fill_null(0).to_numpy().astype(np.float64),
        method=ci,
        level=level,
    )
    out = grouped.select(*by, count, "person_years").with_columns(
        crude_rate=pl.Series(crude * per),
        crude_lower=pl.Series(c_lo * per),
        crude_upper=pl.Series(c_hi * per),
        asr=pl.Series(asr * per),
        asr_se=pl.Series(np.sqrt(var) * per),
        asr_lower=pl.Series(a_lo * per),
        asr_upper=pl.Series(a_hi * per),
    )
    if cumulative_to is not None:
        cum = grouped["_cum"].to_numpy().astype(np.float64)
        cum_se = np.sqrt(grouped["_cum_var"].to_numpy().astype(np.float64))
        z = float(sps.norm.ppf(1 - (1 - level) / 2))
        lo, hi = np.maximum(cum - z * cum_se, 0.0), cum + z * cum_se
        out = out.with_columns(
            cum_rate=pl.Series(cum * 100),
            cum_rate_lower=pl.Series(lo * 100),
            cum_rate_upper=pl.Series(hi * 100),
            cum_risk=pl.Series(-np.expm1(-cum) * 100),
            cum_risk_lower=pl.Series(-np.expm1(-lo) * 100),
            cum_risk_upper=pl.Series(-np.expm1(-hi) * 100),
        )
    return out


def rate_ratios(
    *, rates: pl.DataFrame, compare: str, reference: object, by: Sequence[str] = (), level: float = 0.95
) -> pl.DataFrame:
    """Ratios of standardised rates against the ``reference`` level of column ``compare``, within ``by``.

    ``rates`` is the output of :func:`standardised_rates` (``asr``, ``asr_se``). CI on the log scale:
    ``RR exp(± z sqrt((se_1/ASR_1)^2 + (se_0/ASR_0)^2))``.
    """
    _require(rates, [compare, *by, "asr", "asr_se"], "rates")
    ref = rates.filter(pl.col(compare) == reference).select(
        *by, pl.col("asr").alias("_asr0"), pl.col("asr_se").alias("_se0")
    )
    if ref.height == 0:
        raise ValidationFailed(
            [Problem(compare, str(reference), "rates.reference", "reference level not found")]
        )
    z = float(sps.norm.ppf(1 - (1 - level) / 2))
    joined = rates.filter(pl.col(compare) != reference)
    joined = joined.join(ref, on=list(by), how="inner") if by else joined.join(ref, how="cross")
    log_se = ((pl.col("asr_se") / pl.col("asr")) ** 2 + (pl.col("_se0") / pl.col("_asr0")) ** 2).sqrt()
    ratio = pl.col("asr") / pl.col("_asr0")
    return joined.select(
        *by,
        compare,
        ratio.alias("rate_ratio"),
        (ratio * (-z * log_se).exp()).alias("lower"),
        (ratio * (z * log_se).exp()).alias("upper"),
    )
