"""A small synthetic population with breast, cervical, colorectal and lung tumours, for tests and demos.

This stands in for the simulator's population and cancer stages when the screening stage is exercised
on its own. Births are uniform over a range of years; deaths follow a Gompertz hazard
``h(a) = 3·10⁻⁵·exp(0.095·a)`` per year; a few per cent immigrate or emigrate. Tumours arise from
piecewise-constant age-specific hazards (rough Norwegian levels, Cancer in Norway, [U]) by inversion of
the cumulative hazard: age = H⁻¹(H(age at entry) + E), E ~ Exp(1); those after exit or the period are
dropped. Each person has at most one tumour per site group.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from oncoreg.simulate.schema import PERSONS, TUMOURS, conform
from oncoreg.simulate.screening.timeline import DAYS_PER_YEAR, NO_DATE, age_at, day_of, to_date_series

COUNTIES = ("03", "11", "15", "18", "31", "32", "33", "34", "39", "40", "42", "46", "50", "55", "56")
_COUNTY_WEIGHTS = (13, 9, 5, 4, 6, 13, 5, 7, 5, 3, 6, 12, 9, 3, 1)

# site: (sex or 0 for both, topography, icd10 prefix, behaviour 2 share, hazard per year by age band)
_AGE_BANDS = np.array([0, 25, 30, 40, 50, 60, 70, 120])
_SITES: dict[str, tuple[int, str, int, float, tuple[float, ...]]] = {
    "breast": (2, "C50.9", 200, 0.15, (0, 0, 0.0004, 0.0016, 0.0032, 0.0036, 0.0036)),
    "cervix": (2, "C53.9", 240, 0.0, (0, 0.00015, 0.00015, 0.00012, 0.0001, 0.0001, 0.0001)),
    "colorectal": (0, "C18.7", 160, 0.0, (0, 0, 0, 0.0002, 0.0007, 0.0013, 0.0025)),
    "lung": (0, "C34.1", 160, 0.0, (0, 0, 0, 0.0002, 0.0008, 0.0016, 0.0025)),
}
_ENTITY = {"breast": 200, "cervix": 240, "colorectal": 130, "lung": 160}


def synthetic_population(
    *,
    n_persons: int,
    start_year: int,
    end_year: int,
    rng: np.random.Generator,
    birth_years: tuple[int, int] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PERSONS and TUMOURS frames of ``n_persons`` people living some time in ``start_year..end_year``,
    born uniformly in ``birth_years`` (inclusive; default ``start_year − 80`` to ``end_year − 21``)."""
    period_lo, period_hi = day_of(start_year), day_of(end_year, 12, 31) + 1
    first, last = birth_years or (start_year - 80, end_year - 21)
    birth = rng.integers(day_of(first), day_of(last + 1), n_persons)
    sex = np.where(rng.random(n_persons) < 0.5, 1, 2)
    county = np.array(COUNTIES)[
        rng.choice(len(COUNTIES), n_persons, p=np.array(_COUNTY_WEIGHTS) / sum(_COUNTY_WEIGHTS))
    ]
    immigrant = rng.random(n_persons) < 0.05
    entry = np.where(immigrant, rng.integers(period_lo, period_hi, n_persons), np.maximum(birth, period_lo))
    # Gompertz: H(a) = b/g (e^{ga} - 1); death age = ln(1 + g E / b)/g, conditioned on alive at entry
    b, g = 3e-5, 0.095
    entry_age = (entry - birth) / DAYS_PER_YEAR
    death_age = np.log(np.exp(g * entry_age) + g * rng.exponential(1.0, n_persons) / b) / g
    death = birth + np.rint(death_age * DAYS_PER_YEAR).astype(np.int64)
    emigration = np.where(
        rng.random(n_persons) < 0.03, rng.integers(period_lo, period_hi, n_persons), NO_DATE
    )
    exit_day = np.minimum(death, emigration)
    reason = np.where(exit_day >= period_hi, "", np.where(death <= emigration, "death", "emigration"))
    exit_day = np.where(exit_day >= period_hi, NO_DATE, exit_day)
    keep = (exit_day > entry) & (entry < period_hi) & (birth < period_hi)
    person_id = np.arange(1, n_persons + 1)[keep]
    persons = pl.DataFrame(
        {
            "person_id": person_id,
            "identifier": [f"{i:011d}" for i in person_id],
            "identifier_type": "fnr",
            "first_name": "Kari",
            "last_name": "Nordmann",
            "birth_date": to_date_series("birth_date", birth[keep]),
            "sex": sex[keep],
            "county": county[keep],
            "municipality": pl.Series(county[keep]) + "01",
            "entry_date": to_date_series("entry_date", entry[keep]),
            "entry_reason": np.where(
                immigrant[keep], "immigration", np.where(birth[keep] >= period_lo, "birth", "start")
            ),
            "exit_date": to_date_series("exit_date", exit_day[keep]),
            "exit_reason": pl.Series(reason[keep], dtype=pl.String).replace("", None),
        }
    )
    tumours = _tumours(
        rng=rng,
        person_id=person_id,
        birth=birth[keep],
        sex=sex[keep],
        county=county[keep],
        entry=entry[keep],
        exit_day=np.minimum(exit_day[keep], period_hi),
    )
    return conform(persons, PERSONS), tumours


def _tumours(
    *,
    rng: np.random.Generator,
    person_id: np.ndarray,
    birth: np.ndarray,
    sex: np.ndarray,
    county: np.ndarray,
    entry: np.ndarray,
    exit_day: np.ndarray,
) -> pl.DataFrame:
    frames = []
    ages = np.arange(0, 121)
    for site, (site_sex, topography, _, insitu_share, hazards) in _SITES.items():
        band = np.searchsorted(_AGE_BANDS, ages[:-1], side="right") - 1
        cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(hazards)[band])])
        start_age = (entry - birth) / DAYS_PER_YEAR
        target = np.interp(start_age, ages, cumulative) + rng.exponential(1.0, person_id.size)
        event_age = np.interp(target, cumulative, ages, right=np.inf)
        day = birth + np.rint(np.minimum(event_age, 200) * DAYS_PER_YEAR).astype(np.int64)
        ok = (day < exit_day) & (day >= entry) & (np.isfinite(event_age))
        if site_sex:
            ok &= sex == site_sex
        n = int(ok.sum())
        behaviour = np.where(rng.random(n) < insitu_share, 2, 3)
        icd_prefix = {"breast": "D05", "cervix": "D06"}.get(site, "D0")
        icd10 = np.where(behaviour == 2, icd_prefix + topography[3:], topography)
        frames.append(
            pl.DataFrame(
                {
                    "person_id": person_id[ok],
                    "sex": sex[ok],
                    "birth_date": to_date_series("birth_date", birth[ok]),
                    "incidence_date": to_date_series("incidence_date", day[ok]),
                    "age": age_at(birth[ok], day[ok]),
                    "topography": topography,
                    "morphology": {"breast": 8500, "cervix": 8070}.get(site, 8140),
                    "behaviour": behaviour,
                    "grade": 9,
                    "laterality": "L" if site == "breast" else "N",
                    "basis": 7,
                    "stage": np.array(["localised", "regional", "distant"])[
                        rng.choice(3, n, p=[0.5, 0.35, 0.15])
                    ],
                    "icd10": icd10,
                    "entity": _ENTITY[site],
                    "county": county[ok],
                    "municipality": pl.Series(county[ok], dtype=pl.String) + "01",
                    "dco": False,
                    "screen_detected": False,
                }
            )
        )
    frame = pl.concat(frames, how="vertical_relaxed").sort(["person_id", "incidence_date"])
    frame = frame.with_columns(pl.int_range(1, pl.len() + 1).alias("tumour_id"))
    return conform(frame, TUMOURS)
