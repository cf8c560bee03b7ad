"""Error-injection helpers and the pathology free text, on hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from oncoreg.simulate.messages import hl7v2, inject

DATA = Path(__file__).parents[1] / "data" / "simulate" / "messages"


def test_free_text_matches_hand_worked_cases() -> None:
    cases = pl.read_csv(
        DATA / "free_text_cases.csv",
        schema_overrides={"morphology": pl.Int16, "behaviour": pl.Int8, "grade": pl.Int8, "basis": pl.Int8},
    )
    assert hl7v2.free_text(cases).to_list() == cases["expected"].to_list()


def test_typo_changes_every_name_by_one_edit() -> None:
    names = pl.Series(["Kari", "Hansen", "Bjørnstad", "Ola", "Aaa", "Li"] * 50)
    changed = inject.typo(names, np.random.default_rng(3))
    assert (changed != names).all()
    length_change = changed.str.len_chars().cast(pl.Int64) - names.str.len_chars().cast(pl.Int64)
    assert length_change.is_in([-1, 0, 1]).all()
    assert (changed.str.slice(0, 1) == names.str.slice(0, 1)).all()


def test_transposition_swaps_two_adjacent_different_digits() -> None:
    ids = pl.Series(["01017012345", "11111111112", "29029912345"] * 20)
    swapped = inject._transpose(ids, np.random.default_rng(4))
    for before, after in zip(ids.to_list(), swapped.to_list(), strict=True):
        diff = [i for i in range(11) if before[i] != after[i]]
        assert len(diff) == 2
        assert diff[1] == diff[0] + 1
        assert before[diff[0]] == after[diff[1]]
        assert before[diff[1]] == after[diff[0]]


def test_wrong_digit_changes_exactly_one_digit() -> None:
    ids = pl.Series(["01017012345"] * 100)
    wrong = inject._wrong_digit(ids, np.random.default_rng(5))
    assert all(sum(a != b for a, b in zip(x, "01017012345", strict=True)) == 1 for x in wrong.to_list())


def test_name_variants_follow_the_rule_table() -> None:
    cases = pl.read_csv(DATA / "name_variant_cases.csv")
    first = pl.Series(np.repeat(cases["first_name"].to_numpy(), 40).tolist())
    last = pl.Series(np.repeat(cases["last_name"].to_numpy(), 40).tolist())
    new_first, new_last, applied = inject._variant(first, last, np.random.default_rng(6))
    assert applied.all()
    allowed = np.repeat(cases["allowed"].to_numpy(), 40)
    seen: dict[str, set[str]] = {}
    for a, b, options in zip(new_first.to_list(), new_last.to_list(), allowed, strict=True):
        assert f"{a}|{b}" in options.split(";")
        seen.setdefault(options, set()).add(f"{a}|{b}")
    assert all(len(spellings) == len(options.split(";")) for options, spellings in seen.items())
