"""National identifiers: classification against hand-worked cases, stdnum agreement, generators."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from stdnum.no import fodselsnummer

from oncoreg.errors import ValidationFailed
from oncoreg.registry.identifiers import (
    classify_identifier,
    generate_identifiers,
    identifier_schemes,
    is_valid_identifier,
)

DATA = Path(__file__).parents[1] / "data" / "registry"
CASES = list(csv.DictReader((DATA / "identifiers.csv").read_text(encoding="utf-8").splitlines()))


@pytest.mark.parametrize("case", CASES, ids=[f"{c['value']}@{c['as_of']}" for c in CASES])
def test_classification_matches_hand_worked_cases(case: dict[str, str]) -> None:
    info = classify_identifier(case["value"], as_of=date.fromisoformat(case["as_of"]))
    assert info.type == case["type"]
    assert info.valid is (case["valid"] == "true")
    assert info.birth_date == (date.fromisoformat(case["birth_date"]) if case["birth_date"] else None)
    assert info.sex == (int(case["sex"]) if case["sex"] else None)
    assert (info.scheme or "") == case["scheme"]
    assert bool(info.reason) is not info.valid


@pytest.mark.parametrize("case", [c for c in CASES if c["scheme"] != "pid2032"], ids=lambda c: c["value"])
def test_classic_validity_agrees_with_stdnum(case: dict[str, str]) -> None:
    assert is_valid_identifier(case["value"], as_of=date(2026, 1, 1)) is fodselsnummer.is_valid(case["value"])


def test_2032_scheme_is_rule_data_and_can_be_moved() -> None:
    schemes = identifier_schemes()
    pid = next(s for s in schemes if s.scheme == "pid2032")
    assert pid.valid_from == date(2032, 1, 1)
    assert (pid.encodes_sex, pid.encodes_birth_date) == (False, False)
    earlier = tuple(replace(s, valid_from=date(2020, 1, 1)) if s is pid else s for s in schemes)
    info = classify_identifier("15108695096", as_of=date(2026, 1, 1), schemes=earlier)
    assert (info.valid, info.scheme, info.sex, info.birth_date) == (True, "pid2032", None, None)


def _sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    births = np.datetime64("1880-01-01") + rng.integers(0, 365 * 140, n)
    return births.astype("datetime64[D]"), rng.integers(1, 3, n), rng


@pytest.mark.parametrize("kind", ["fnr", "dnr", "hnr"])
def test_generated_numbers_are_valid_unique_and_carry_birth_date_and_sex(kind: str) -> None:
    births, sexes, rng = _sample(3000, seed=7)
    numbers = generate_identifiers(birth_dates=births, sexes=sexes, kind=kind, rng=rng)
    assert len(set(numbers)) == len(numbers) == 3000
    assert all(fodselsnummer.is_valid(n) for n in numbers)
    assert [fodselsnummer.get_birth_date(n) for n in numbers] == births.tolist()
    assert [1 if fodselsnummer.get_gender(n) == "M" else 2 for n in numbers] == sexes.tolist()
    day_offset = {"fnr": 0, "dnr": 40, "hnr": 0}[kind]
    month_offset = {"fnr": 0, "dnr": 0, "hnr": 40}[kind]
    days = np.array([int(n[:2]) for n in numbers])
    months = np.array([int(n[2:4]) for n in numbers])
    assert (days - day_offset == [d.day for d in births.tolist()]).all()
    assert (months - month_offset == [d.month for d in births.tolist()]).all()
    assert {classify_identifier(n).type for n in numbers[:200]} == {kind}


def test_many_people_born_the_same_day_get_distinct_numbers() -> None:
    births = np.full(200, np.datetime64("1990-05-05"))
    numbers = generate_identifiers(
        birth_dates=births, sexes=np.full(200, 2), rng=np.random.default_rng(1)
    )  # 300 even individual numbers exist for 1990 (000-499, 900-999); about 5 in 6 have usable check digits
    assert len(set(numbers)) == 200
    assert all(fodselsnummer.is_valid(n) for n in numbers)


def test_exhausted_date_is_a_clear_error() -> None:
    births = np.full(301, np.datetime64("1990-05-05"))  # more than the 300 odd individual numbers
    with pytest.raises(ValidationFailed, match=r"identifier.capacity"):
        generate_identifiers(birth_dates=births, sexes=np.full(301, 1), rng=np.random.default_rng(1))


def test_generated_2032_numbers_carry_no_birth_date_or_sex() -> None:
    births, sexes, rng = _sample(500, seed=3)
    numbers = generate_identifiers(birth_dates=births, sexes=sexes, rng=rng, scheme="pid2032")
    assert not any(fodselsnummer.is_valid(n) for n in numbers)  # the classic check rejects them
    infos = [classify_identifier(n, as_of=date(2032, 1, 1)) for n in numbers]
    assert all(i.valid and i.scheme == "pid2032" for i in infos)
    assert all(i.birth_date is None and i.sex is None for i in infos)
    assert not any(is_valid_identifier(n, as_of=date(2031, 12, 31)) for n in numbers)


def test_bad_generator_input_names_row_and_rule() -> None:
    with pytest.raises(ValidationFailed, match=r"row 1, birth_dates '1850-01-01'.*identifier.century"):
        generate_identifiers(
            birth_dates=np.array(["1950-01-01", "1850-01-01"], dtype="datetime64[D]"),
            sexes=np.array([1, 2]),
            rng=np.random.default_rng(0),
        )
    with pytest.raises(ValidationFailed, match=r"identifier.sex"):
        generate_identifiers(
            birth_dates=np.array(["1950-01-01"], dtype="datetime64[D]"),
            sexes=np.array([9]),
            rng=np.random.default_rng(0),
        )
