"""Identifier issuance, calendar lookups and births of the simulated population."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from oncoreg.errors import ValidationFailed
from oncoreg.registry.identifiers import (
    classify_identifier,
    generate_identifier_numbers,
    generate_identifiers,
)
from oncoreg.simulate.events import births
from oncoreg.simulate.identity import IdentifierIssuer
from oncoreg.simulate.lifetable import hazard_array
from oncoreg.simulate.population import MunicipalityIndex, PersonStore, birth_years, day_of
from oncoreg.simulate.tables import N_AGES, counties


def test_identifier_numbers_equal_the_strings() -> None:
    births_ = np.array(["1950-03-04", "2001-12-31", "1899-07-01"] * 50, dtype="datetime64[D]")
    sexes = np.tile([1, 2, 1], 50)
    as_text = generate_identifiers(birth_dates=births_, sexes=sexes, rng=np.random.default_rng(3))
    as_int = generate_identifier_numbers(birth_dates=births_, sexes=sexes, rng=np.random.default_rng(3))
    assert as_text == [str(n).zfill(11) for n in as_int.tolist()]


def test_issuer_keeps_numbers_unique_across_calls_until_the_date_is_full() -> None:
    issuer = IdentifierIssuer()
    rng = np.random.default_rng(1)
    day = day_of(1989, 6, 29)
    issued: list[int] = []
    for _ in range(4):
        issued += issuer.issue(
            birth_days=np.full(50, day, np.int32), sexes=np.full(50, 1, np.int8), kind="fnr", rng=rng
        ).tolist()
    assert len(set(issued)) == 200
    info = [classify_identifier(str(n).zfill(11), as_of=date(2024, 1, 1)) for n in issued]
    assert all(i.valid and i.type == "fnr" and i.birth_date == date(1989, 6, 29) and i.sex == 1 for i in info)
    with pytest.raises(
        ValidationFailed, match=r"identifier\.capacity"
    ):  # about 245 usable male numbers a day
        issuer.issue(
            birth_days=np.full(100, day, np.int32), sexes=np.full(100, 1, np.int8), kind="fnr", rng=rng
        )


def test_birth_years_match_the_calendar() -> None:
    days = np.array([day_of(1880, 1, 1), day_of(1999, 12, 31), day_of(2000, 1, 1), day_of(2024, 2, 29)])
    expected = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    assert birth_years(days.astype(np.int32)).tolist() == expected.tolist()


def test_newborns_have_the_target_county_and_sex() -> None:
    target = np.zeros((len(counties()), 2, N_AGES), dtype=np.int64)
    target[:, :, 0] = 40
    target[:, :, 1:] = 7  # other ages must not leak into births
    store = PersonStore()
    rows = births(
        store=store,
        target=target,
        year=2020,
        hazards=hazard_array(years=range(2020, 2021))[0],
        munis=MunicipalityIndex.load(),
        issuer=IdentifierIssuer(),
        rng=np.random.default_rng(2),
    )
    munis = MunicipalityIndex.load()
    cells = np.zeros((len(counties()), 2), dtype=np.int64)
    np.add.at(cells, (munis.county_of[store["muni"][rows]], store["sex"][rows] - 1), 1)
    assert (cells == 40).all()
