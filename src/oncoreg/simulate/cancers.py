"""The cancer model: incidence by site group × sex × 5-year age group × year, and tumour attributes.

Rates (per person alive on 1 January) are calibrated to the reference-year counts of
``data/site_groups.csv``::

    rate[g, s, k, Y] = cases[g, s] * w[g, k] / sum_k' (w[g, k'] * pop2023[s, k'])
                       * exp(apc[g, s] * (Y - 2023))

with ``w`` the group's age profile (``data/age_profiles.csv``) and ``pop2023`` the published 1 January 2023
population, times an all-sites period multiplier by sex interpolated linearly between the calibration anchors
of ``data/published_figures.csv`` (published / expected cases; held constant outside the anchors). Each
year the expected number per cell (rate × simulated population of the cell) is rounded stochastically
and that many persons are drawn in the sex × age cell, weighted by ``second_primary_rr`` for
persons with an earlier tumour. Attributes come from the tumour mix (``data/tumour_mix.csv``), stage and
basis-of-diagnosis shares. The excess hazard is piecewise constant (see :func:`excess_hazards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.tables import read_csv

REFERENCE_YEAR = 2023
N_AGE_GROUPS = 18
STAGES = ("localised", "regional", "distant", "unknown")
LATERALITY = np.array(["L", "R", "B", "U", "N"])


@dataclass(frozen=True)
class CancerModel:
    """Rule tables of the cancer model as arrays (built once from package data)."""

    groups: pl.DataFrame  # site_groups.csv, row order = group index
    mix: pl.DataFrame  # tumour_mix.csv with group index
    base_rate: npt.NDArray[np.float64]  # [group, sex, age group] at REFERENCE_YEAR
    apc: npt.NDArray[np.float64]  # [group, sex]
    anchors: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]  # sex -> (years, multipliers)
    parameters: dict[str, float]
    excess_age: pl.DataFrame
    basis: pl.DataFrame

    def rates(self, year: int) -> npt.NDArray[np.float64]:
        """Rates ``[group, sex, age group]`` in ``year``."""
        trend = np.exp(self.apc * (year - REFERENCE_YEAR))
        period = np.array([np.interp(year, *self.anchors[s]) for s in (1, 2)])
        rates: npt.NDArray[np.float64] = (
            self.base_rate * trend[:, :, np.newaxis] * period[np.newaxis, :, np.newaxis]
        )
        return rates


def age_group(age: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """5-year age group index 0 (0–4) … 17 (85+)."""
    return np.minimum(age // 5, N_AGE_GROUPS - 1)


def population_by_age_group(population: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``[county, sex, age]`` → ``[sex, age group]``."""
    by_age = population.sum(axis=0)
    out = np.zeros((2, N_AGE_GROUPS))
    groups = age_group(np.arange(by_age.shape[1]))
    for k in range(N_AGE_GROUPS):
        out[:, k] = by_age[:, groups == k].sum(axis=1)
    return out


@lru_cache(maxsize=1)
def cancer_model() -> CancerModel:
    """The packaged cancer model, calibrated to the 2023 population."""
    from oncoreg.simulate.tables import population_targets

    groups = read_csv("site_groups.csv")
    profiles = read_csv("age_profiles.csv")
    index = {name: i for i, name in enumerate(groups["site_group"].to_list())}
    mix = read_csv("tumour_mix.csv").with_columns(
        pl.col("site_group").replace_strict(index, return_dtype=pl.Int64).alias("group")
    )
    pop = population_by_age_group(population_targets(year=REFERENCE_YEAR))
    base = np.zeros((groups.height, 2, N_AGE_GROUPS))
    for g, (profile, cases_m, cases_f) in enumerate(
        groups.select("profile", "cases_m", "cases_f").iter_rows()
    ):
        weights = profiles.filter(pl.col("profile") == profile).sort("age_group")["weight"].to_numpy()
        for s, cases in enumerate((cases_m, cases_f)):
            base[g, s] = cases * weights / float((weights * pop[s]).sum())
    apc = groups.select("apc_m", "apc_f").to_numpy().astype(np.float64)
    parameters = dict(read_csv("model_parameters.csv").select("parameter", "value").iter_rows())
    flat = {
        1: (np.array([REFERENCE_YEAR]), np.array([1.0])),
        2: (np.array([REFERENCE_YEAR]), np.array([1.0])),
    }
    model = CancerModel(
        groups,
        mix,
        base,
        apc,
        flat,
        {k: float(v) for k, v in parameters.items()},
        read_csv("excess_age.csv"),
        read_csv("basis.csv"),
    )
    invasive = groups["site_group"].filter(groups["stage_u"] >= 0).to_list()
    in_situ = set(mix.filter(pl.col("behaviour") < 3)["site_group"].to_list())
    invasive = [name for name in invasive if name not in in_situ]
    anchors = read_csv("published_figures.csv").filter(
        (pl.col("calibrate") == 1) & (pl.col("measure") == "cases")
    )
    calibrated = {}
    for s in (1, 2):
        rows = anchors.filter(pl.col("sex") == s).sort("year_from")
        years = rows["year_from"].to_numpy().astype(np.int64)
        factors = []
        for year, published in zip(years, rows["value"].to_numpy(), strict=True):
            expected = expected_cases(
                model=model, population=population_targets(year=int(year)), year=int(year)
            )
            total = expected.filter(pl.col("site_group").is_in(invasive) & (pl.col("sex") == s))[
                "expected"
            ].sum()
            factors.append(float(published) / float(total))
        calibrated[s] = (years, np.array(factors))
    return CancerModel(groups, mix, base, apc, calibrated, model.parameters, model.excess_age, model.basis)


def expected_cases(*, model: CancerModel, population: npt.NDArray[np.float64], year: int) -> pl.DataFrame:
    """Expected new tumours by site group and sex for a ``[county, sex, age]`` population (no simulation)."""
    expected = (model.rates(year) * population_by_age_group(population)[np.newaxis]).sum(axis=2)
    names = model.groups["site_group"].to_list()
    return pl.DataFrame(
        {
            "site_group": [n for n in names for _ in (1, 2)],
            "sex": [s for _ in names for s in (1, 2)],
            "expected": expected.reshape(-1),
        }
    )


def _choose(cumulative: npt.NDArray[np.float64], u: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.minimum(np.searchsorted(cumulative, u, side="right"), cumulative.size - 1)


def _parse_grades(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    pairs = [item.split(":") for item in text.split(";")]
    grades = np.array([int(g) for g, _ in pairs])
    weights = np.array([float(w) for _, w in pairs])
    return grades, np.cumsum(weights) / weights.sum()


def tumour_attributes(
    *,
    model: CancerModel,
    group: npt.NDArray[np.int64],
    sex: npt.NDArray[np.int8],
    age: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Topography, morphology, behaviour, grade, laterality, icd10, entity, stage, basis, excess hazards."""
    n = group.size
    mix_row = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    mix = model.mix.with_row_index("row")
    for (g, s), rows in mix.group_by(["group", "sex"], maintain_order=True):
        targets = np.flatnonzero((group == g) & ((sex == s) | (s == 0)))
        weights = rows["weight"].to_numpy().astype(np.float64)
        mix_row[targets] = rows["row"].to_numpy()[_choose(np.cumsum(weights) / weights.sum(), u[targets])]
    grade = np.zeros(n, dtype=np.int8)
    u_grade = rng.random(n)
    for row, text in enumerate(model.mix["grades"].to_list()):
        targets = np.flatnonzero(mix_row == row)
        grades, cumulative = _parse_grades(str(text))
        grade[targets] = grades[_choose(cumulative, u_grade[targets])]
    paired = model.mix["paired"].to_numpy()[mix_row] == 1
    side = _choose(np.cumsum([0.49, 0.49, 0.005, 0.015]), rng.random(n))
    laterality = np.where(paired, LATERALITY[side], "N")
    stage_shares = (
        model.groups.select("stage_l", "stage_r", "stage_d", "stage_u").to_numpy().astype(np.float64)
    )
    stage_cum = np.cumsum(stage_shares, axis=1) / stage_shares.sum(axis=1, keepdims=True)
    stage = (rng.random(n)[:, np.newaxis] >= stage_cum[group]).sum(axis=1).clip(0, 3)
    mv = rng.random(n) < model.groups["mv_share"].to_numpy()[group]
    basis = np.zeros(n, dtype=np.int8)
    u_basis = rng.random(n)
    for flag in (0, 1):
        rows = model.basis.filter(pl.col("mv") == flag)
        weights = rows["weight"].to_numpy().astype(np.float64)
        targets = np.flatnonzero(mv == bool(flag))
        basis[targets] = rows["basis"].to_numpy()[
            _choose(np.cumsum(weights) / weights.sum(), u_basis[targets])
        ]
    return {
        "topography": model.mix["topography"].to_numpy()[mix_row],
        "morphology": model.mix["morphology"].to_numpy()[mix_row].astype(np.int16),
        "behaviour": model.mix["behaviour"].to_numpy()[mix_row].astype(np.int8),
        "grade": grade,
        "laterality": laterality,
        "icd10": model.mix["icd10"].to_numpy()[mix_row],
        "entity": model.mix["entity"].to_numpy()[mix_row].astype(np.int32),
        "stage": stage.astype(np.int8),
        "basis": basis,
        **excess_hazards(model=model, group=group, stage=stage, age=age),
    }


def excess_hazards(
    *,
    model: CancerModel,
    group: npt.NDArray[np.int64],
    stage: npt.NDArray[np.int64],
    age: npt.NDArray[np.int64],
) -> dict[str, npt.NDArray[np.float64]]:
    """Piecewise-constant excess hazards per year in [0, 1), [1, 5) and [5, 10) years after diagnosis.

    ``H5 = -ln(ns5[group, stage]) * m(age)``; ``h1 = early_share * H5``; ``h2 = (1 - early_share) * H5 / 4``;
    ``h3 = late_excess_factor * h2``; no excess after 10 years (cure). Net survival ``S(t) = exp(-H(t))``.
    """
    ns5 = model.groups.select("ns5_l", "ns5_r", "ns5_d", "ns5_u").to_numpy().astype(np.float64)
    bands = model.excess_age
    band = np.searchsorted(bands["age_from"].to_numpy(), age, side="right") - 1
    multiplier = bands["multiplier"].to_numpy()[band]
    total = -np.log(np.clip(ns5[group, stage], 1e-9, 1.0)) * multiplier
    early = model.groups["early_share"].to_numpy()[group]
    h2 = (1 - early) * total / 4
    return {"h1": early * total, "h2": h2, "h3": model.parameters["late_excess_factor"] * h2}


def cumulative_excess(*, h1: np.ndarray, h2: np.ndarray, h3: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Cumulative excess hazard ``H(t)`` at ``t`` years (a scalar or one time per tumour; H = 0 for t ≤ 0)."""
    total: np.ndarray = (
        h1 * np.clip(t, 0, 1.0)
        + h2 * np.clip(np.asarray(t) - 1.0, 0, 4.0)
        + h3 * np.clip(np.asarray(t) - 5.0, 0, 5.0)
    )
    return total


def excess_death_times(
    *, h1: np.ndarray, h2: np.ndarray, h3: np.ndarray, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Years from diagnosis to death from the cancer (inf when it never kills), by inverting ``H(t)``."""
    e = rng.exponential(size=h1.size)
    c1, c2 = h1, h1 + 4 * h2
    c3 = c2 + 5 * h3
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(
            e < c1,
            e / h1,
            np.where(e < c2, 1 + (e - c1) / h2, np.where(e < c3, 5 + (e - c2) / h3, np.inf)),
        )
    return np.asarray(t, dtype=np.float64)
