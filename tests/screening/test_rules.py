"""The rule data: well-formed, versions contiguous, every decision row reachable by date (§1, §6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from oncoreg.screening import PROGRAMMES, RuleSetError, load_rule_set
from oncoreg.screening.dates import add_duration, add_months, age_at
from oncoreg.screening.rules import ACTIONS


@pytest.mark.parametrize("programme", PROGRAMMES)
def test_versions_are_contiguous(programme: str) -> None:
    rules = load_rule_set(programme=programme)  # type: ignore[arg-type]
    for before, after in zip(rules.versions, rules.versions[1:], strict=False):
        assert before.valid_to + timedelta(days=1) == after.valid_from
    assert rules.versions[-1].valid_to == date(9999, 12, 31)


@pytest.mark.parametrize("programme", PROGRAMMES)
def test_rows_are_well_formed(programme: str) -> None:
    rules = load_rule_set(programme=programme)  # type: ignore[arg-type]
    for row in rules.rows:
        assert row.action in ACTIONS
        assert row.valid_from <= row.valid_to
        assert row.source, row.rule_id
        assert row.explanation, row.rule_id
        if row.overdue_action:
            assert row.letters_max >= 1, row.rule_id
            assert row.letter_every, row.rule_id


def test_cervix_version_chosen_by_index_date() -> None:
    rules = load_rule_set(programme="cervix")
    assert rules.parameters_at(date(2020, 10, 31))["control_lookback_years"] == 2
    assert rules.parameters_at(date(2020, 11, 1))["control_lookback_years"] == 3
    assert rules.parameters_at(date(2024, 4, 15))["extended_chart"] is False
    assert rules.parameters_at(date(2024, 4, 16))["extended_chart"] is True


def test_no_rule_is_one_line_error() -> None:
    rules = load_rule_set(programme="cervix")
    with pytest.raises(RuleSetError, match=r"no cervix rule for state 'sample' .* in force at 1990-01-01"):
        rules.find(state="sample", day=date(1990, 1, 1), age=40, facts={"arm": "hpv"})


def test_unknown_programme() -> None:
    with pytest.raises(RuleSetError, match="programme 'lung' is unknown"):
        load_rule_set(programme="lung")  # type: ignore[arg-type]


def test_date_arithmetic() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_duration(date(2023, 3, 15), "6w") == date(2023, 4, 26)
    assert add_duration(date(2020, 2, 29), "1y") == date(2021, 2, 28)
    assert age_at(birth_date=date(1960, 3, 15), day=date(2010, 3, 14)) == 49
    assert age_at(birth_date=date(1960, 3, 15), day=date(2010, 3, 15)) == 50
