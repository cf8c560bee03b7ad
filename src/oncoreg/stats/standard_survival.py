"""Net survival for every stratum of the standard tables at once: NORDCAN's Pohar Perme, vectorised.

The estimator is the life-table Pohar Perme of :func:`oncoreg.stats.survival_lifetable.lifetable_survival`
(stnet; monthly intervals ``0:5:1/12``): for interval k = (b_k, b_{k+1}] and weights w_ik = 1/S*_i(b_k),

    S(t_K) = Π_k [1 − (d^w_k − d*^w_k) / (n^w_k − c^w_k / 2)],   SE = S √(Σ_k d^{w²}_k / (n_k − c_k/2)²),

with n at risk at b_k, d deaths, c censored, d* expected deaths integrated exactly over the rate table.
Every one of these is a sum over patients, and a patient's contribution does not depend on the stratum, so
each patient's 9 × K interval contributions are computed once (:func:`interval_sums`, in chunks, on a
patients × intervals grid), summed into *cells* (patients with the same entity memberships, sex, period and
fine age band) and the cells into strata by one sparse matrix product. Within an interval of one month a
patient's age and calendar year cross at most one cut point each, so the expected hazard is integrated in at
most three constant pieces (exact; the rate-table cut points must be at least one interval apart).

Age standardisation is traditional (Σ_g W_g S_g(t), SE √Σ W_g² SE_g², NaN unless every age group has an
estimate) with NORDCAN's ICSS weights per entity (``nordcan_icss_standard``), log confidence limits, as
:func:`oncoreg.stats.survival.net_survival` with ``weights=``; age-specific limits are log-log.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import sparse
from scipy.stats import norm

from oncoreg.codes.standard_populations import nordcan_icss_standard, standard_population
from oncoreg.stats.ratetable import DAYS_PER_YEAR, RateTable
from oncoreg.stats.survival_continuous import SurvivalError
from oncoreg.stats.survival_intervals import HAVE_NUMBA, QUANTITIES, cell_interval_sums
from oncoreg.stats.survival_lifetable import _limits as loglog_limits

FloatArray = NDArray[Any]
Engine = Literal["auto", "numba", "numpy"]


def interval_sums(
    *,
    time_days: FloatArray,
    dead: NDArray[np.bool_],
    age_days: FloatArray,
    date_days: FloatArray,
    sex_index: NDArray[np.int64],
    entry_days: FloatArray,
    cell: NDArray[np.int64],
    n_cells: int,
    rate_table: RateTable,
    breaks_days: FloatArray,
    chunk: int = 10_000,
    engine: Engine = "auto",
) -> FloatArray:
    """Per cell and interval the sums ``QUANTITIES`` (array ``n_cells × 9 × K``) of the life table.

    ``entry_days``: left truncation (0 for the cohort approach): a patient counts in interval k only if
    ``b_k >= entry`` (and ``b_k < time``), as ``lifetable_survival``; weights 1/S*(b_k) run from diagnosis.
    ``engine="auto"`` uses the compiled one-pass walk (:mod:`oncoreg.stats.survival_intervals`) when numba
    is installed, else the vectorised NumPy path (patients × intervals arrays in chunks); they agree to
    rounding (tested).
    """
    if engine == "numba" or (engine == "auto" and HAVE_NUMBA):
        return cell_interval_sums(
            time_days=time_days,
            dead=dead,
            age_days=age_days,
            date_days=date_days,
            sex_index=sex_index,
            entry_days=entry_days,
            cell=cell,
            n_cells=n_cells,
            rate_table=rate_table,
            breaks_days=breaks_days,
        )
    age_cuts = rate_table.age_cuts()
    year_cuts = rate_table.year_cuts("date")
    step = float(np.max(np.diff(breaks_days)))
    for name, cuts in (("age", age_cuts), ("year", year_cuts)):
        if len(cuts) > 1 and float(np.min(np.diff(cuts))) < step:
            raise SurvivalError(f"rate-table {name} cut points are closer than one interval ({step:g} days)")
    order = np.argsort(cell, kind="stable")

    def one(rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], FloatArray]:
        return _chunk_sums(
            time_days[rows],
            dead[rows],
            age_days[rows],
            date_days[rows],
            sex_index[rows],
            entry_days[rows],
            cell[rows],
            rate_table=rate_table,
            breaks_days=breaks_days,
        )

    out = np.zeros((n_cells, len(QUANTITIES), len(breaks_days) - 1))
    chunks = [order[first : first + chunk] for first in range(0, len(order), chunk)]
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for cells, sums in pool.map(one, chunks):
            out[cells] += sums
    return out


def _chunk_sums(
    y1: FloatArray,
    dead: NDArray[np.bool_],
    age1: FloatArray,
    date1: FloatArray,
    sex1: NDArray[np.int64],
    entry: FloatArray,
    cells: NDArray[np.int64],
    *,
    rate_table: RateTable,
    breaks_days: FloatArray,
) -> tuple[NDArray[np.int64], FloatArray]:
    """The 9 × K sums of the rows of one chunk (sorted by cell), per run of equal cells."""
    age_cuts = rate_table.age_cuts()
    year_cuts = rate_table.year_cuts("date")
    n_age, n_year = len(age_cuts), len(year_cuts)
    hazard = rate_table.hazard
    b0, b1 = breaks_days[:-1][None, :], breaks_days[1:][None, :]
    y, age, date, sex = y1[:, None], age1[:, None], date1[:, None], sex1[:, None]
    reach = b0 < y
    lo = np.broadcast_to(b0, reach.shape)
    hi = np.where(reach, np.minimum(y, b1), lo)
    ia = np.searchsorted(age_cuts, age + b0, side="right") - 1
    iy = np.searchsorted(year_cuts, date + b0, side="right") - 1
    t_age = np.append(age_cuts, np.inf)[ia + 1] - age
    t_year = np.append(year_cuts, np.inf)[iy + 1] - date
    p1 = np.clip(np.minimum(t_age, t_year), lo, hi)
    p2 = np.clip(np.maximum(t_age, t_year), lo, hi)
    a0, a1 = np.clip(ia, 0, n_age - 1), np.clip(ia + 1, 0, n_age - 1)
    y0, y1c = np.clip(iy, 0, n_year - 1), np.clip(iy + 1, 0, n_year - 1)
    h_mid = np.where(t_age < t_year, hazard[sex, a1, y0], hazard[sex, a0, y1c])
    dstar = hazard[sex, a0, y0] * (p1 - lo)
    dstar += h_mid * (p2 - p1)
    dstar += hazard[sex, a1, y1c] * (hi - p2)
    weight = np.cumsum(dstar, axis=1)
    weight -= dstar
    np.exp(weight, out=weight)
    at_risk = reach & (b0 >= entry[:, None])
    exits = at_risk & (y <= b1)
    died = dead[:, None]
    event = exits & died
    censored = exits & ~died
    risk_f = at_risk.astype(np.float64)
    dstar *= risk_f
    weighted_event = weight * event
    values = (
        risk_f,
        event.astype(np.float64),
        censored.astype(np.float64),
        dstar,
        weight * risk_f,
        weight * censored,
        weighted_event,
        weight * dstar,
        weighted_event * weight,
    )
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    sums = np.stack([np.add.reduceat(v, starts, axis=0) for v in values], axis=1)
    return cells[starts], sums


def estimates_from_sums(
    sums: FloatArray, *, conf_level: float = 0.95, min_at_risk: int = 0
) -> dict[str, FloatArray]:
    """Pohar Perme estimate, SE, log-log limits and n at risk (``strata × K``) from the sums."""
    n, d, c, _xd, nw, cw, dw, xdw, dw2 = (sums[:, q, :] for q in range(len(QUANTITIES)))
    del d
    n_eff = n - c / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.cumprod(1.0 - (dw - xdw) / (nw - cw / 2.0), axis=1)
        std_err = estimate * np.sqrt(np.cumsum(dw2 / n_eff**2, axis=1))
    lower, upper = loglog_limits(estimate, std_err, conf_level=conf_level, conf_type="log-log")
    if min_at_risk > 0:
        small = np.cumsum(n < min_at_risk, axis=1) > 0
        estimate, std_err, lower, upper = (
            np.where(small, np.nan, a) for a in (estimate, std_err, lower, upper)
        )
    return {"estimate": estimate, "std_err": std_err, "lower": lower, "upper": upper, "n_at_risk": n}


def icss_groups(entities: list[int]) -> pl.DataFrame:
    """Per entity its NORDCAN ICSS weight set and groups: ``entity, icss, age_group (1..5), age_start,
    age_end, share``."""
    frames = [
        standard_population(nordcan_icss_standard(e), age_groups="nordcan5").select(
            pl.lit(e, pl.Int32).alias("entity"),
            pl.lit(nordcan_icss_standard(e)).alias("icss"),
            "age_group",
            "age_start",
            "age_end",
            pl.col("weight_share").alias("share"),
        )
        for e in entities
    ]
    return pl.concat(frames)


def fine_age_bands(groups: pl.DataFrame) -> NDArray[np.int64]:
    """Sorted lower bounds of the coarsest age bands that refine every ICSS grouping in ``groups``."""
    return np.unique(groups["age_start"].to_numpy().astype(np.int64))


def stratum_survival(
    *,
    patients: pl.DataFrame,
    rate_table: RateTable,
    breaks_years: FloatArray,
    report_years: tuple[float, ...] = (1.0, 5.0),
    conf_level: float = 0.95,
    min_at_risk: int = 0,
) -> dict[str, pl.DataFrame]:
    """Age-standardised and age-specific net survival per ``entity × sex × period`` (sex 0 = both).

    ``patients``: one row per tumour and variant with ``row_key`` (tumour and approach), ``entities`` (list of
    the entities the tumour counts in), ``sex`` (1/2), ``sex_label`` (the rate table's), ``period_index``,
    ``age`` (completed years, 0-89), ``age_days``, ``date_days``, ``time_days``, ``dead``, ``entry_days``.
    ``both_sexes``: entities whose rows are repeated with sex 0. Returns frames ``standardised``,
    ``age_specific`` (at ``report_years``) and ``curves`` (standardised, every break).
    """
    entities = [int(e) for e in patients["entities"].explode().unique().sort().to_list()]
    groups = icss_groups(entities)
    bands = fine_age_bands(groups)
    work = patients.with_columns(
        pl.Series("band", np.searchsorted(bands, patients["age"].to_numpy(), side="right") - 1),
        pl.col("entities").list.sort().cast(pl.List(pl.String)).list.join(",").alias("set_key"),
    )
    cell_keys = ["set_key", "sex", "period_index", "band"]
    cells = work.select(cell_keys).unique().sort(cell_keys).with_row_index("cell")
    work = work.join(cells, on=cell_keys, how="left")
    breaks_days = np.asarray(breaks_years, dtype=np.float64) * DAYS_PER_YEAR
    sums = interval_sums(
        time_days=work["time_days"].to_numpy().astype(np.float64),
        dead=work["dead"].to_numpy().astype(bool),
        age_days=work["age_days"].to_numpy().astype(np.float64),
        date_days=work["date_days"].to_numpy().astype(np.float64),
        sex_index=rate_table.sex_index(work["sex_label"]),
        entry_days=work["entry_days"].to_numpy().astype(np.float64),
        cell=work["cell"].to_numpy().astype(np.int64),
        n_cells=cells.height,
        rate_table=rate_table,
        breaks_days=breaks_days,
    )
    patients_per_cell = np.bincount(work["cell"].to_numpy(), minlength=cells.height).astype(np.float64)
    # cells -> strata (entity, sex incl. 0, period, ICSS age group)
    band_start = pl.DataFrame({"band": np.arange(len(bands)), "band_start": bands.astype(np.int32)})
    members = (
        cells.with_columns(pl.col("set_key").str.split(",").cast(pl.List(pl.Int32)).alias("entity"))
        .explode("entity")
        .join(band_start, on="band", how="left")
    )
    members = pl.concat([members, members.with_columns(pl.lit(0, members.schema["sex"]).alias("sex"))])
    members = members.join_where(
        groups.select("entity", "age_group", "age_start", "age_end"),
        pl.col("entity") == pl.col("entity_right"),
        pl.col("band_start") >= pl.col("age_start"),
        pl.col("band_start") <= pl.col("age_end"),
    ).drop("entity_right")
    strata_keys = ["entity", "sex", "period_index", "age_group"]
    strata = members.select(strata_keys).unique().sort(strata_keys).with_row_index("stratum")
    members = members.join(strata, on=strata_keys)
    matrix = sparse.csr_matrix(
        (np.ones(members.height), (members["stratum"].to_numpy(), members["cell"].to_numpy())),
        shape=(strata.height, cells.height),
    )
    k_count = len(breaks_days) - 1
    stratum_sums = np.asarray(matrix @ sums.reshape(cells.height, -1)).reshape(strata.height, -1, k_count)
    n_patients = np.asarray(matrix @ patients_per_cell)
    est = estimates_from_sums(stratum_sums, conf_level=conf_level, min_at_risk=min_at_risk)
    times = np.asarray(breaks_years[1:], dtype=np.float64)
    long = pl.DataFrame(
        {
            "stratum": np.repeat(np.arange(strata.height), k_count).astype(np.uint32),
            "time": np.tile(times, strata.height),
            **{k: v.reshape(-1) for k, v in est.items()},
        }
    ).join(strata.with_columns(n_patients=pl.Series(n_patients)), on="stratum")
    long = long.with_columns(pl.col("n_at_risk", "n_patients").round().cast(pl.Int64))
    long = long.join(groups.select("entity", "age_group", "share", "icss"), on=["entity", "age_group"])
    z = float(norm.ppf(0.5 + conf_level / 2.0))
    n_groups = groups.group_by("entity").agg(pl.len().alias("_groups"))
    std = (
        long.group_by("entity", "sex", "period_index", "time", "icss")
        .agg(
            (pl.col("share") * pl.col("estimate")).sum().alias("estimate"),
            ((pl.col("share") * pl.col("std_err")) ** 2).sum().sqrt().alias("std_err"),
            pl.col("n_at_risk").sum().round().cast(pl.Int64),
            pl.col("n_patients").sum().round().cast(pl.Int64),
            pl.len().alias("_present"),
            pl.col("estimate").is_nan().any().alias("_nan"),
            (pl.col("n_patients").min() < 3).alias("_small_group"),
        )
        .join(n_groups, on="entity")
        .with_columns(
            pl.when((pl.col("_present") < pl.col("_groups")) | pl.col("_nan"))
            .then(float("nan"))
            .otherwise(pl.col("estimate"))
            .alias("estimate"),
            (
                (pl.col("_present") < pl.col("_groups"))
                | pl.col("_small_group")
                | (pl.col("n_patients") < 30)
            ).alias("small_n"),
        )
        .with_columns(
            (pl.col("estimate") * (-z * pl.col("std_err") / pl.col("estimate")).exp()).alias("lower"),
            (pl.col("estimate") * (z * pl.col("std_err") / pl.col("estimate")).exp()).alias("upper"),
        )
        .select(
            "entity",
            "sex",
            "period_index",
            "icss",
            "time",
            "estimate",
            "std_err",
            "lower",
            "upper",
            "n_patients",
            "n_at_risk",
            "small_n",
        )
        .sort("entity", "sex", "period_index", "time")
    )
    wanted = pl.col("time").round(9).is_in([round(t, 9) for t in report_years])
    age_specific = (
        long.filter(wanted)
        .join(groups.select("entity", "age_group", "age_start", "age_end"), on=["entity", "age_group"])
        .select(
            "entity",
            "sex",
            "period_index",
            "icss",
            "age_group",
            "age_start",
            "age_end",
            "time",
            "estimate",
            "std_err",
            "lower",
            "upper",
            "n_patients",
            "n_at_risk",
        )
        .sort("entity", "sex", "period_index", "age_group", "time")
    )
    return {"standardised": std.filter(wanted), "age_specific": age_specific, "curves": std}
