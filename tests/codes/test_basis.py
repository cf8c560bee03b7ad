"""Basis of diagnosis: versions by incidence date (reference/registration.md §3.3), ranks, mapping, lists."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from oncoreg.codes.basis import (
    basis_codes,
    basis_rank,
    basis_version,
    behaviour_codes,
    check_basis,
    grade_codes,
    is_microscopically_verified,
    laterality_codes,
    map_basis,
    most_valid_basis,
    validate_basis,
)
from oncoreg.errors import CodeError

CASES = pl.read_csv(
    Path(__file__).parents[1] / "data" / "codes" / "basis_cases.csv",
    schema_overrides={"code": pl.String},
    try_parse_dates=True,
)


@pytest.mark.parametrize("case", CASES.to_dicts(), ids=lambda c: f"{c['code']}@{c['incidence_date']}")
def test_case(case: dict[str, object]) -> None:
    when = case["incidence_date"]
    assert isinstance(when, date)
    assert basis_version(when) == case["version"]
    problem = validate_basis(str(case["code"]), incidence_date=when, row="r1")
    assert (problem is None) == case["valid"], case["why"]
    if problem is not None:
        assert problem.row == "r1"
        assert problem.field == "basis"
        assert problem.rule == case["version"]
    else:
        assert is_microscopically_verified(str(case["code"]), version=str(case["version"])) == case["mv"]


def test_vectorised_agrees_with_cases() -> None:
    out = check_basis(CASES.rename({"code": "basis"}))
    assert out["basis_version"].to_list() == CASES["version"].to_list()
    assert out["basis_valid"].to_list() == CASES["valid"].to_list()
    assert out["basis_mv"].to_list() == CASES["mv"].to_list()


def test_code_lists_by_date() -> None:
    assert basis_codes(on=date(2022, 12, 31))["code"].to_list() == ["0", "1", "2", "4", "5", "6", "7", "9"]
    new = basis_codes(on=date(2023, 1, 1))["code"].to_list()
    assert new == ["0", "1", "2", "4", "5", "7", "7.1", "7.2", "7.3", "8", "9"]


def test_ranking_for_consolidation() -> None:
    assert most_valid_basis([1, 7, 5], version="encr_1999") == "7"
    assert most_valid_basis([6, 2], version="encr_1999") == "6"
    assert most_valid_basis(["9", "0"], version="encr_1999") == "0"  # DCO beats unknown
    assert most_valid_basis(["7.2", "7.1", "8"], version="encr_2022") == "7.1"
    assert (
        basis_rank(7, version="encr_1999")
        > basis_rank(6, version="encr_1999")
        > basis_rank(5, version="encr_1999")
    )
    with pytest.raises(CodeError):
        most_valid_basis([], version="encr_1999")


def test_mapping_between_versions() -> None:
    assert map_basis(6, from_version="encr_1999", to_version="encr_2022") == ("7.2", True)
    assert map_basis("7.2", from_version="encr_2022", to_version="encr_1999") == ("6", True)
    assert map_basis("8", from_version="encr_2022", to_version="encr_1999") == ("5", False)
    for code in ["0", "1", "2", "4", "5", "6", "7", "9"]:  # every old code maps and comes back
        new, _ = map_basis(code, from_version="encr_1999", to_version="encr_2022")
        assert map_basis(new, from_version="encr_2022", to_version="encr_1999")[0] == code
    with pytest.raises(CodeError, match="not a code of encr_1999"):
        map_basis("8", from_version="encr_1999", to_version="encr_2022")


def test_small_lists() -> None:
    assert behaviour_codes()["code"].to_list() == [0, 1, 2, 3, 6, 9]
    assert grade_codes()["code"].to_list() == list(range(1, 10))
    assert laterality_codes()["code"].to_list() == [0, 1, 2, 3, 4, 9]
