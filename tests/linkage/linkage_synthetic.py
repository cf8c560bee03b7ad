"""A seeded synthetic population with noisy notifications, for the linkage tests.

The notification errors follow the simulator's error model (``oncoreg.simulate.messages.inject``: typos by
swap/drop/double, spelling variants from ``name_variants.csv``, transposed and wrong identifier digits,
missing identifiers, H-numbers) at about three times its default rates, plus wrong birth-date components,
moves between municipalities and persons unknown to the population register. Twins (same birth date, last
name, sex and municipality; different first names) are planted on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.registry.identifiers import generate_identifiers
from oncoreg.simulate.identity import name_tables
from oncoreg.simulate.messages.inject import typo
from oncoreg.simulate.messages.reference import name_variants

DATA = Path(__file__).parents[1] / "data" / "linkage"
SOURCES = ("pathology", "clinical", "patient_admin", "death_certificate", "radiotherapy")


@dataclass(frozen=True)
class Synthetic:
    persons: pl.DataFrame  # the population register's persons
    notifications: pl.DataFrame  # with column true_person_id (the truth; not used by linkage)


def _names(sex: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    tables = name_tables()
    male = np.array(tables["male"].names)[tables["male"].draw(sex.size, rng)]
    female = np.array(tables["female"].names)[tables["female"].draw(sex.size, rng)]
    last = np.array(tables["last"].names)[tables["last"].draw(sex.size, rng)]
    return np.where(sex == 1, male, female), last


def _variant(names: list[str], rng: np.random.Generator) -> list[str]:
    rules = name_variants().rows(named=True)
    out = []
    for name in names:
        usable = [
            r
            for r in rules
            if (r["kind"] == "whole" and name == r["from"]) or (r["kind"] != "whole" and r["from"] in name)
        ]
        if not usable:
            out.append(typo(pl.Series([name]), rng)[0])
            continue
        rule = usable[int(rng.integers(0, len(usable)))]
        out.append(rule["to"] if rule["kind"] == "whole" else name.replace(rule["from"], rule["to"], 1))
    return out


def _corrupt_digits(ids: list[str], rng: np.random.Generator, *, transpose: bool) -> list[str]:
    out = []
    for number in ids:
        digits = list(number)
        if transpose:
            spots = [i for i in range(10) if digits[i] != digits[i + 1]]
            i = spots[int(rng.integers(0, len(spots)))]
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        else:
            i = int(rng.integers(0, 11))
            digits[i] = str((int(digits[i]) + int(rng.integers(1, 10))) % 10)
        out.append("".join(digits))
    return out


def synthetic_population(
    *, seed: int, n_registered: int = 3000, n_unregistered: int = 60, twins: int = 40
) -> Synthetic:
    """Persons of the register plus unregistered ones, and 1–5 noisy notifications for most of them."""
    rng = np.random.default_rng(seed)
    n = n_registered + n_unregistered
    sex = rng.integers(1, 3, n)
    birth = np.datetime64("1925-01-01") + rng.integers(0, 27_000, n)
    first, last = _names(sex, rng)
    municipality = np.array([f"{code:04d}" for code in rng.zipf(1.6, n) % 400 + 301])
    for k in range(twins):  # persons 2k and 2k+1 are twins
        a, b = 2 * k, 2 * k + 1
        birth[b], last[b], municipality[b], sex[b] = birth[a], last[a], municipality[a], sex[a]
        while first[b] == first[a]:
            first[b] = _names(sex[b : b + 1], rng)[0][0]
    ids = generate_identifiers(birth_dates=birth.astype("datetime64[D]"), sexes=sex, kind="fnr", rng=rng)
    hnr = generate_identifiers(birth_dates=birth.astype("datetime64[D]"), sexes=sex, kind="hnr", rng=rng)
    people = pl.DataFrame(
        {
            "person_id": np.arange(1000, 1000 + n),
            "identifier": ids,
            "hnr": hnr,
            "identifier_type": ["fnr"] * n,
            "first_name": first,
            "last_name": last,
            "birth_date": birth.astype("datetime64[D]"),
            "sex": sex.astype(np.int8),
            "municipality": municipality,
        }
    )
    counts = np.where(rng.random(n) < 0.7, 1 + rng.poisson(1.2, n), 0).clip(0, 5)
    counts[n_registered:] = 1 + rng.integers(0, 3, n_unregistered)
    counts[: 2 * twins] = np.maximum(counts[: 2 * twins], 1)
    rows = people.gather(np.repeat(np.arange(n), counts)).with_row_index("notification_id", offset=1)
    m = rows.height
    u_id, u_name, u_field, u_other = rng.random(m), rng.random(m), rng.random(m), rng.random((m, 3))
    given_id = rows["identifier"].to_list()
    given_first, given_last = rows["first_name"].to_list(), rows["last_name"].to_list()
    for i in np.flatnonzero(u_id < 0.03):  # H-number instead of fnr
        given_id[i] = rows["hnr"][int(i)]
    for mask, transpose in (((u_id >= 0.03) & (u_id < 0.05), True), ((u_id >= 0.05) & (u_id < 0.07), False)):
        picked = np.flatnonzero(mask)
        for i, value in zip(
            picked, _corrupt_digits([given_id[i] for i in picked], rng, transpose=transpose), strict=True
        ):
            given_id[i] = value
    for i in np.flatnonzero((u_id >= 0.07) & (u_id < 0.13)):  # missing
        given_id[i] = None
    for i in np.flatnonzero(u_name < 0.06):  # typo (first half) or variant (second half), first or last name
        target = given_first if u_field[i] < 0.5 else given_last
        target[i] = (
            typo(pl.Series([target[i]]), rng)[0] if u_name[i] < 0.03 else _variant([target[i]], rng)[0]
        )
    birth_given = rows["birth_date"].to_numpy().copy()
    wrong_birth = np.flatnonzero(u_other[:, 0] < 0.005)
    birth_given[wrong_birth] = birth_given[wrong_birth] + rng.integers(1, 28, wrong_birth.size)
    moved = u_other[:, 1] < 0.05
    municipality_given = np.where(
        moved, np.array([f"{c:04d}" for c in rng.integers(301, 701, m)]), rows["municipality"].to_numpy()
    )
    sex_given = np.where(u_other[:, 2] < 0.01, 9, rows["sex"].to_numpy())
    notifications = pl.DataFrame(
        {
            "notification_id": rows["notification_id"].cast(pl.Int64),
            "source_type": np.array(SOURCES)[rng.integers(0, len(SOURCES), m)],
            "event_date": np.datetime64("2020-01-01") + rng.integers(0, 1500, m),
            "given_identifier": pl.Series(given_id, dtype=pl.String),
            "given_first_name": given_first,
            "given_last_name": given_last,
            "given_birth_date": birth_given.astype("datetime64[D]"),
            "given_sex": sex_given.astype(np.int8),
            "given_municipality": municipality_given,
            "true_person_id": rows["person_id"],
        }
    ).with_columns(pl.col("event_date").cast(pl.Date))
    persons = people.head(n_registered).drop("hnr")
    return Synthetic(persons=persons, notifications=notifications)
