"""Age standardisation of survival with ICSS (or any) weights, and calendar windows for period analysis.

* Traditional (direct) standardisation: S_std(t) = Σ_g W_g S_g(t), SE = √(Σ_g W_g² SE_g(t)²), the weighted
  average of age-group estimates (NORDCAN as coded, statistics.md §1.5; relsurv ``weight.table``).
* Brenner: every patient gets the weight w_i = W_g / (n_g / n) (standard share over observed share of the
  age group, Brenner H, Arndt V, Gefeller O, Hakulinen T. Eur J Cancer 2004;40:326-35) and a single
  weighted estimate is computed (:func:`brenner_weights`).
* Period window (Brenner H, Gefeller O. Cancer 1996;78:2004-10): follow-up restricted to calendar time
  [start, end): entry at max(0, start − diagnosis), censoring at end − diagnosis (:func:`calendar_window`).

Weights are a table ``age_start, age_end`` (completed years, inclusive; ``age_end`` null = open) and
``weight`` or ``weight_share`` (normalised to sum 1), e.g. ``standard_population("icss_1")``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

from oncoreg.errors import Problem, ValidationFailed


def age_groups(weights: pl.DataFrame) -> pl.DataFrame:
    """Validated groups ``age_start, age_end, share`` (shares sum to 1), sorted by age."""
    problems = [
        Problem(name, "", "standardise.columns", "column missing from the weights")
        for name in ("age_start",)
        if name not in weights.columns
    ]
    share_column = "weight_share" if "weight_share" in weights.columns else "weight"
    if share_column not in weights.columns:
        problems.append(Problem("weight", "", "standardise.columns", "need a weight or weight_share column"))
    if problems:
        raise ValidationFailed(problems)
    end = pl.col("age_end").cast(pl.Float64) if "age_end" in weights.columns else pl.lit(None, pl.Float64)
    table = weights.select(
        pl.col("age_start").cast(pl.Float64).alias("age_start"),
        end.alias("age_end"),
        pl.col(share_column).cast(pl.Float64).alias("weight"),
    ).sort("age_start")
    total = float(table["weight"].sum())
    if not total > 0:
        raise ValidationFailed(
            [Problem("weight", str(total), "standardise.weights", "weights must sum to > 0")]
        )
    starts = table["age_start"].to_numpy()
    next_start = np.append(starts[1:], np.inf)
    table = table.with_columns(
        pl.Series("age_stop", next_start),  # exclusive upper bound in completed years
        (pl.col("weight") / total).alias("share"),
    )
    return table.filter(pl.col("share") > 0).select("age_start", "age_stop", "share")


def assign_age_group(age_years: NDArray[np.float64], groups: pl.DataFrame) -> NDArray[np.int64]:
    """Index of each completed age (floor of years) in ``groups``; −1 where no group holds it."""
    completed = np.floor(age_years + 1e-9)
    starts = groups["age_start"].to_numpy()
    stops = groups["age_stop"].to_numpy()
    index = np.searchsorted(starts, completed, side="right") - 1
    ok = (index >= 0) & (completed < stops[np.clip(index, 0, None)])
    return np.where(ok, index, -1).astype(np.int64)


def traditional(
    estimates: pl.DataFrame, *, groups: pl.DataFrame, group_column: str = "age_group"
) -> pl.DataFrame:
    """Weighted average over age groups of ``estimate`` (and SE) by ``stratum, time``.

    ``estimates`` has one row per stratum × time × age group (index into ``groups``). A missing or NaN
    age-group estimate makes the standardised value NaN (no silent renormalisation).
    """
    shares = groups.with_row_index(group_column).select(pl.col(group_column).cast(pl.Int64), "share")
    joined = estimates.with_columns(pl.col(group_column).cast(pl.Int64)).join(shares, on=group_column)
    present = pl.col(group_column).n_unique()
    return (
        joined.group_by("stratum", "time", maintain_order=True)
        .agg(
            (pl.col("share") * pl.col("estimate")).sum().alias("estimate"),
            ((pl.col("share") * pl.col("std_err")) ** 2).sum().sqrt().alias("std_err"),
            pl.col("n_at_risk").sum().alias("n_at_risk"),
            present.alias("groups"),
            pl.col("estimate").is_nan().any().alias("has_nan"),
        )
        .with_columns(
            pl.when((pl.col("groups") < len(groups)) | pl.col("has_nan"))
            .then(float("nan"))
            .otherwise(pl.col("estimate"))
            .alias("estimate")
        )
        .drop("groups", "has_nan")
    )


def brenner_weights(age_years: NDArray[np.float64], *, groups: pl.DataFrame) -> NDArray[np.float64]:
    """w_i = W_g / (n_g / n): the standard share of the patient's age group over its observed share."""
    index = assign_age_group(age_years, groups)
    if np.any(index < 0):
        bad = float(age_years[np.flatnonzero(index < 0)[0]])
        raise ValidationFailed(
            [Problem("age", f"{bad:g}", "standardise.age", "age outside every weight group")]
        )
    counts = np.bincount(index, minlength=len(groups)).astype(np.float64)
    observed = counts / len(index)
    share = groups["share"].to_numpy()
    with np.errstate(divide="ignore"):
        ratio = np.where(observed > 0, share / observed, 0.0)
    return np.asarray(ratio[index], dtype=np.float64)


def calendar_window(
    *,
    date_days: NDArray[np.float64],
    time_days: NDArray[np.float64],
    dead: NDArray[np.bool_],
    start_day: float | NDArray[np.float64],
    end_day: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
    """Period window: (entry, exit, dead, keep) with follow-up restricted to calendar days [start, end).

    ``start_day`` may be one value per patient (hybrid analysis: the diagnosis day for the cohort element).

    ``keep`` is false for patients with no follow-up inside the window (diagnosed after ``end`` or exit
    on or before ``start``), who are dropped as NORDCAN's period file does.
    """
    entry = np.maximum(0.0, start_day - date_days)
    exit_time = np.minimum(time_days, end_day - date_days)
    died = dead & (time_days <= end_day - date_days)
    keep = exit_time > entry
    return entry, exit_time, died, keep
