"""Demographic events of one year that change the population: births, internal moves and migration.

Migration closes the gap between the simulated and the published population of 1 January next year in
every county × sex × age cell: a surplus becomes immigrants (arriving during the year), a deficit emigrants
(persons without a tumour first, leaving after their last recorded event of the year).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.identity import IdentifierIssuer, draw_first_names, name_tables
from oncoreg.simulate.population import (
    MunicipalityIndex,
    PersonStore,
    birth_years,
    cell_counts,
    day_of,
    random_days_in_year,
)
from oncoreg.simulate.tables import N_AGES


def add_persons(
    *,
    store: PersonStore,
    county: npt.NDArray[np.int64],
    sex: npt.NDArray[np.int64],
    birth: npt.NDArray[np.int32],
    entry: npt.NDArray[np.int32],
    entry_reason: int,
    dnr_share: float,
    year: int,
    munis: MunicipalityIndex,
    issuer: IdentifierIssuer,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """Create persons with residence, names and identifiers (a D-number for ``dnr_share`` of them)."""
    sexes = sex.astype(np.int8)
    dnr = rng.random(county.size) < dnr_share
    ident = np.zeros(county.size, dtype=np.int64)
    for kind, mask in (("fnr", ~dnr), ("dnr", dnr)):
        if mask.any():
            ident[mask] = issuer.issue(birth_days=birth[mask], sexes=sexes[mask], kind=kind, rng=rng)
    last_names = name_tables()["last"]
    return store.add(
        birth=birth,
        sex=sexes,
        muni=munis.draw(county=county, year=year, rng=rng),
        entry=entry,
        entry_reason=np.full(county.size, entry_reason, dtype=np.int8),
        ident=ident,
        ident_type=dnr.astype(np.int8),
        first_name=draw_first_names(sexes=sexes, rng=rng),
        last_name=last_names.draw(county.size, rng),
        last_event=np.maximum(entry, birth),
    )


def expand_cells(counts: npt.NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """County, sex (1/2) and age of each unit in a ``[county, sex, age]`` count array."""
    flat = np.repeat(np.arange(counts.size), counts.reshape(-1).clip(0))
    county, rest = np.divmod(flat, 2 * N_AGES)
    sex, age = np.divmod(rest, N_AGES)
    return county, sex + 1, age


def internal_moves(
    *,
    store: PersonStore,
    rows: npt.NDArray[np.int64],
    year: int,
    rate: float,
    munis: MunicipalityIndex,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Move ``rate`` of ``rows`` to another municipality (half within the county); MOVES rows."""
    movers = rows[rng.random(rows.size) < rate]
    county = munis.county_of[store["muni"][movers]].astype(np.int64)
    national = rng.random(movers.size) < 0.5
    target = munis.draw(county=county, year=year, rng=rng)
    target[national] = munis.draw_national(size=int(national.sum()), year=year, rng=rng)
    moved = target != store["muni"][movers]
    movers, target = movers[moved], target[moved]
    start, end = day_of(year), day_of(year + 1) - 1
    earliest = np.maximum(store["last_event"][movers].astype(np.int64) + 1, start)
    when = (earliest + np.floor(rng.random(movers.size) * (end - earliest + 1))).astype(np.int32)
    keep = earliest <= end
    movers, target, when = movers[keep], target[keep], when[keep]
    frame = pl.DataFrame(
        {
            "person_id": movers + 1,
            "move_date": when,
            "from_municipality": munis.codes[store["muni"][movers]],
            "to_municipality": munis.codes[target],
        }
    ).with_columns(pl.col("move_date").cast(pl.Date))
    store.arrays["muni"][movers] = target
    store.arrays["last_event"][movers] = when
    return frame.sort("person_id")


def births(
    *,
    store: PersonStore,
    target: npt.NDArray[np.int64],
    year: int,
    hazards: npt.NDArray[np.float64],
    munis: MunicipalityIndex,
    issuer: IdentifierIssuer,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """Newborns of ``year`` (as many as age 0 next 1 January); infant deaths from the life table."""
    newborns = np.zeros_like(target)
    newborns[:, :, 0] = target[:, :, 0]  # expand_cells needs the full age axis to decode county and sex
    county, sex, _ = expand_cells(newborns)
    birth = random_days_in_year(np.full(county.size, year, dtype=np.int64), rng)
    rows = add_persons(
        store=store,
        county=county,
        sex=sex,
        birth=birth,
        entry=birth,
        entry_reason=1,
        dnr_share=0.0,
        year=year,
        munis=munis,
        issuer=issuer,
        rng=rng,
    )
    end = day_of(year + 1)
    remaining = (end - birth) / 365.25
    t = rng.exponential(size=rows.size) / hazards[sex - 1, 0]
    dies = t < remaining
    store.arrays["exit"][rows[dies]] = (birth[dies] + np.floor(t[dies] * 365.25)).astype(np.int32)
    store.arrays["exit_reason"][rows[dies]] = 1
    return rows


def migration(
    *,
    store: PersonStore,
    target: npt.NDArray[np.int64],
    year: int,
    dnr_share: float,
    munis: MunicipalityIndex,
    issuer: IdentifierIssuer,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Emigrate and immigrate so that 1 January ``year + 1`` matches ``target``.

    Returns the store rows of the emigrants and of the immigrants.
    """
    alive = store.alive()
    current = cell_counts(store=store, rows=alive, year=year + 1, munis=munis)
    gap = target - current
    age = year - birth_years(store["birth"][alive])
    cell = (munis.county_of[store["muni"][alive]].astype(np.int64) * 2 + store["sex"][alive] - 1) * N_AGES + (
        np.minimum(age, N_AGES - 1)
    )
    deficit = np.maximum(-gap, 0).reshape(-1)
    wanted = deficit[cell] > 0
    candidates, cand_cell = alive[wanted], cell[wanted]
    priority = rng.random(candidates.size) + 2.0 * (store["n_tumours"][candidates] > 0)
    order = np.lexsort((priority, cand_cell))
    candidates, cand_cell = candidates[order], cand_cell[order]
    first = np.searchsorted(cand_cell, cand_cell, side="left")
    rank = np.arange(cand_cell.size) - first
    emigrants = candidates[rank < deficit[cand_cell]]
    start, end = day_of(year), day_of(year + 1) - 1
    earliest = np.maximum(store["last_event"][emigrants].astype(np.int64) + 1, start)
    leave = np.minimum(earliest + np.floor(rng.random(emigrants.size) * (end - earliest + 1)), end)
    store.arrays["exit"][emigrants] = leave.astype(np.int32)
    store.arrays["exit_reason"][emigrants] = 2
    county, sex, age_next = expand_cells(np.maximum(gap, 0))
    birth = random_days_in_year((year - age_next).astype(np.int64), rng)
    earliest_in = np.maximum(birth.astype(np.int64) + 1, start)
    arrive = (earliest_in + np.floor(rng.random(county.size) * (end - earliest_in + 1))).astype(np.int32)
    immigrants = add_persons(
        store=store,
        county=county,
        sex=sex,
        birth=birth,
        entry=arrive,
        entry_reason=2,
        dnr_share=dnr_share,
        year=year,
        munis=munis,
        issuer=issuer,
        rng=rng,
    )
    return emigrants, immigrants
