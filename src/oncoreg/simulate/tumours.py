"""New tumours of one year: who gets one, when, what it is, and when it would kill.

See :mod:`oncoreg.simulate.cancers` for the rates and attributes. Persons are drawn per sex × 5-year age
cell without replacement with weight ``second_primary_rr`` for those with an earlier tumour
(Efraimidis–Spirakis keys ``log(u) / w``) among those still at risk on a candidate day drawn uniformly over
the year, which becomes the incidence day; a drawn site group equal to the person's previous one is handed
to the next person of the cell in key order (the registry would not count it as a new primary).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from oncoreg.simulate.cancers import (
    N_AGE_GROUPS,
    CancerModel,
    age_group,
    excess_death_times,
    tumour_attributes,
)
from oncoreg.simulate.population import PersonStore, birth_years, day_of
from oncoreg.simulate.rng import stochastic_round

#: Rounds in which a drawn site group equal to the person's previous one is handed to the next person.
CLASH_ROUNDS = 5


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
    at_risk_until: npt.NDArray[np.int64],
    year: int,
    scale_rng: np.random.Generator,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Persons (rows of the store, alive on 1 January) with a new tumour in ``year``, its site group and
    its incidence day.

    Every person gets a candidate day uniform over the year; only persons still at risk that day
    (candidate < ``at_risk_until``, the already drawn day of death) can be chosen. The chosen (person,
    day) pairs are thus uniform over the at-risk person-time, independent of the person's death after
    the candidate day, so mortality after diagnosis follows the life table (rejection sampling).
    """
    year_start = day_of(year)
    n_days = day_of(year + 1) - year_start
    candidate = year_start + np.floor(rng.random(rows.size) * n_days).astype(np.int64)
    at_risk = candidate < at_risk_until
    sex = store["sex"][rows].astype(np.int64)
    age = year - 1 - birth_years(store["birth"][rows])
    cell = (sex - 1) * N_AGE_GROUPS + age_group(age)
    population = np.bincount(cell, minlength=2 * N_AGE_GROUPS).reshape(2, N_AGE_GROUPS)
    expected = model.rates(year) * population[np.newaxis]
    counts = stochastic_round(expected, rng=scale_rng)  # [group, sex, age group]
    weight = np.where(store["n_tumours"][rows] > 0, model.parameters["second_primary_rr"], 1.0)
    key = np.log(rng.random(rows.size)) / weight
    wanted = counts.sum(axis=0).reshape(-1)
    cell_size = np.bincount(cell[at_risk], minlength=2 * N_AGE_GROUPS)  # at-risk persons per cell
    # the at-risk persons of each cell in key order, only as far as the draw and its replacements can reach
    order, cell_start, reach = _leading_keys(cell=cell, at_risk=at_risk, key=key, wanted=wanted)
    sorted_cell = np.repeat(np.arange(2 * N_AGE_GROUPS), reach)
    rank = np.arange(order.size) - cell_start[sorted_cell]
    selected = rank < np.minimum(wanted, cell_size)[sorted_cell]
    chosen = order[selected]
    chosen = chosen[np.argsort(cell[chosen], kind="stable")]
    groups = np.zeros(chosen.size, dtype=np.int64)
    position = 0
    for c in range(2 * N_AGE_GROUPS):
        n_cell = int(min(wanted[c], cell_size[c]))
        if n_cell == 0:
            continue
        labels = np.repeat(np.arange(counts.shape[0]), counts[:, c // N_AGE_GROUPS, c % N_AGE_GROUPS])
        groups[position : position + n_cell] = rng.permutation(labels)[:n_cell]
        position += n_cell
    persons = rows[chosen]
    incidence = candidate[chosen]
    # a group equal to the person's previous one goes to the next person of the cell in key order instead
    next_rank = wanted.copy()
    for _ in range(CLASH_ROUNDS):
        clash = np.flatnonzero(store["last_group"][persons] == groups)
        if clash.size == 0:
            break
        clash_cell = cell[np.searchsorted(rows, persons[clash])]
        clash = clash[np.argsort(clash_cell, kind="stable")]
        clash_cell = np.sort(clash_cell, kind="stable")
        within = np.arange(clash.size) - np.searchsorted(clash_cell, clash_cell, side="left")
        take = next_rank[clash_cell] + within
        usable = take < reach[clash_cell]
        replacement = order[cell_start[clash_cell[usable]] + take[usable]]
        persons[clash[usable]] = rows[replacement]
        incidence[clash[usable]] = candidate[replacement]
        next_rank += np.bincount(clash_cell, minlength=next_rank.size)
    keep = store["last_group"][persons] != groups
    return persons[keep], groups[keep], incidence[keep]


def _leading_keys(
    *,
    cell: npt.NDArray[np.int64],
    at_risk: npt.NDArray[np.bool_],
    key: npt.NDArray[np.float64],
    wanted: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The at-risk positions of each cell by descending key (ties by position), cells in order.

    Only the first ``reach[c] = min(at-risk persons, (1 + CLASH_ROUNDS) · wanted[c])`` of cell ``c`` are
    returned: the draw takes ``wanted[c]`` and each of the ``CLASH_ROUNDS`` replacement rounds at most as
    many again, so the result equals a full sort of all persons (``lexsort((-key, cell))``) wherever
    :func:`draw_tumours` looks, at O(n) cost instead of O(n log n) over everyone alive.
    Returns (positions, start of each cell in them, reach).
    """
    candidates = np.flatnonzero(at_risk)
    by_cell = candidates[np.argsort(cell[candidates].astype(np.int16), kind="stable")]  # radix sort
    size = np.bincount(cell[candidates], minlength=wanted.size)
    reach = np.minimum(size, (1 + CLASH_ROUNDS) * wanted)
    bounds = np.concatenate([[0], np.cumsum(size)])
    parts = []
    for c in np.flatnonzero(reach):
        members = by_cell[bounds[c] : bounds[c + 1]]
        if reach[c] < members.size:
            members = members[np.argpartition(-key[members], reach[c] - 1)[: reach[c]]]
        parts.append(members[np.lexsort((members, -key[members]))])
    order = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    cell_start = np.concatenate([[0], np.cumsum(reach)[:-1]])
    return order.astype(np.int64), cell_start, reach


def new_tumours(
    *,
    model: CancerModel,
    store: PersonStore,
    persons: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64],
    incidence: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Attributes and excess-death dates of tumours with the incidence days of :func:`draw_tumours`."""
    incidence = incidence.astype(np.int32)
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


def death_certificate_tumours(
    *,
    model: CancerModel,
    store: PersonStore,
    dead_rows: npt.NDArray[np.int64],
    dead_day: npt.NDArray[np.int64],
    year: int,
    n: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """``n`` malignant tumours known only from the death certificate, among the persons dying in ``year``.

    A person is drawn with weight equal to their malignant incidence rate (sex × 5-year age at death), the
    site group in proportion to the group rates of that cell; incidence = death date, basis 0, ``dco``
    true. They are extra tumours, so choosing them does not depend on the outcome of any diagnosed patient
    (turning diagnosed patients who then die into DCO cases would bias their survival upwards).
    """
    in_situ = set(model.mix.filter(pl.col("behaviour") < 3)["site_group"].to_list())
    malignant = np.array([name not in in_situ for name in model.groups["site_group"].to_list()])
    rates = model.rates(year) * malignant[:, np.newaxis, np.newaxis]  # [group, sex, age group]
    sex = store["sex"][dead_rows].astype(np.int64) - 1
    age = completed_age(store["birth"][dead_rows], dead_day)
    cell_rates = rates[:, sex, age_group(age)]  # [group, person]
    total = cell_rates.sum(axis=0)
    with np.errstate(divide="ignore"):
        key = np.log(rng.random(dead_rows.size)) / total
    chosen = np.sort(np.argsort(-key, kind="stable")[: min(n, int((total > 0).sum()))])
    cumulative = np.cumsum(cell_rates[:, chosen], axis=0) / total[chosen]
    groups = (rng.random(chosen.size) >= cumulative).sum(axis=0).clip(0, malignant.size - 1)
    keep = store["last_group"][dead_rows[chosen]] != groups
    chosen, groups = chosen[keep], groups[keep]
    tumours = new_tumours(
        model=model,
        store=store,
        persons=dead_rows[chosen],
        groups=groups.astype(np.int64),
        incidence=dead_day[chosen],
        rng=rng,
    )
    tumours["cancer_death"] = np.full(chosen.size, np.inf)
    tumours["basis"] = np.zeros(chosen.size, dtype=np.int8)
    tumours["dco"] = np.ones(chosen.size, dtype=bool)
    return tumours
