"""New tumours of one year: who gets one, when, what it is, and when it would kill.

See :mod:`oncoreg.simulate.cancers` for the rates and attributes. Persons are drawn per sex × 5-year age
cell without replacement with weight ``second_primary_rr`` for those with an earlier tumour
(Efraimidis–Spirakis keys ``log(u) / w``); a drawn site group equal to the person's previous one is handed
to the next person of the cell in key order (the registry would not count it as a new primary).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from oncoreg.simulate.cancers import (
    N_AGE_GROUPS,
    CancerModel,
    age_group,
    excess_death_times,
    tumour_attributes,
)
from oncoreg.simulate.population import PersonStore, birth_years
from oncoreg.simulate.rng import stochastic_round


def completed_age(birth: np.ndarray, on: np.ndarray) -> npt.NDArray[np.int64]:
    """Completed years of age on the dates ``on`` (days since 1970)."""
    b = birth.astype("datetime64[D]")
    o = on.astype("datetime64[D]")
    years = o.astype("datetime64[Y]").astype(np.int64) - b.astype("datetime64[Y]").astype(np.int64)
    b_in_year = (b - b.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    o_in_year = (o - o.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    age: npt.NDArray[np.int64] = years - (o_in_year < b_in_year)
    return age


def draw_tumours(
    *,
    model: CancerModel,
    store: PersonStore,
    rows: npt.NDArray[np.int64],
    year: int,
    scale_rng: np.random.Generator,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Persons (rows of the store, alive on 1 January) with a new tumour in ``year`` and its site group."""
    sex = store["sex"][rows].astype(np.int64)
    age = year - 1 - birth_years(store["birth"][rows])
    cell = (sex - 1) * N_AGE_GROUPS + age_group(age)
    population = np.bincount(cell, minlength=2 * N_AGE_GROUPS).reshape(2, N_AGE_GROUPS)
    expected = model.rates(year) * population[np.newaxis]
    counts = stochastic_round(expected, rng=scale_rng)  # [group, sex, age group]
    weight = np.where(store["n_tumours"][rows] > 0, model.parameters["second_primary_rr"], 1.0)
    key = np.log(rng.random(rows.size)) / weight
    order = np.lexsort((-key, cell))
    sorted_cell = cell[order]
    rank = np.arange(rows.size) - np.searchsorted(sorted_cell, sorted_cell, side="left")
    wanted = counts.sum(axis=0).reshape(-1)
    selected = rank < wanted[sorted_cell]
    chosen = order[selected]
    chosen = chosen[np.argsort(cell[chosen], kind="stable")]
    groups = np.zeros(chosen.size, dtype=np.int64)
    position = 0
    for c in range(2 * N_AGE_GROUPS):
        n_cell = int(min(wanted[c], population.reshape(-1)[c]))
        if n_cell == 0:
            continue
        labels = np.repeat(np.arange(counts.shape[0]), counts[:, c // N_AGE_GROUPS, c % N_AGE_GROUPS])
        groups[position : position + n_cell] = rng.permutation(labels)[:n_cell]
        position += n_cell
    persons = rows[chosen]
    # a group equal to the person's previous one goes to the next person of the cell in key order instead
    next_rank = wanted.copy()
    cell_start = np.searchsorted(sorted_cell, np.arange(2 * N_AGE_GROUPS), side="left")
    cell_size = np.bincount(sorted_cell, minlength=2 * N_AGE_GROUPS)
    for _ in range(5):
        clash = np.flatnonzero(store["last_group"][persons] == groups)
        if clash.size == 0:
            break
        clash_cell = cell[np.searchsorted(rows, persons[clash])]
        clash = clash[np.argsort(clash_cell, kind="stable")]
        clash_cell = np.sort(clash_cell, kind="stable")
        within = np.arange(clash.size) - np.searchsorted(clash_cell, clash_cell, side="left")
        take = next_rank[clash_cell] + within
        usable = take < cell_size[clash_cell]
        persons[clash[usable]] = rows[order[cell_start[clash_cell[usable]] + take[usable]]]
        next_rank += np.bincount(clash_cell, minlength=next_rank.size)
    keep = store["last_group"][persons] != groups
    return persons[keep], groups[keep]


def new_tumours(
    *,
    model: CancerModel,
    store: PersonStore,
    persons: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    latest_exit: npt.NDArray[np.int64],
    year_start: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Incidence dates (uniform between 1 January and ``latest_exit``), attributes and excess-death dates."""
    span = latest_exit - year_start + 1
    incidence = (year_start + np.floor(rng.random(persons.size) * span)).astype(np.int32)
    birth = store["birth"][persons]
    age = completed_age(birth, incidence)
    sex = store["sex"][persons]
    attributes = tumour_attributes(model=model, group=groups, sex=sex, age=age, rng=rng)
    years_to_death = excess_death_times(
        h1=attributes["h1"], h2=attributes["h2"], h3=attributes["h3"], rng=rng
    )
    death_day = np.where(
        np.isfinite(years_to_death), incidence + np.ceil(np.minimum(years_to_death, 200.0) * 365.25), np.inf
    )
    return {
        "row": persons,
        "group": groups,
        "sex": sex,
        "birth": birth,
        "incidence": incidence,
        "age": age,
        "cancer_death": death_day,
        **attributes,
    }
