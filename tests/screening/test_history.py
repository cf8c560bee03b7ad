"""HISTORY.json validation: one line per problem, naming field, value and rule (STYLE.md §5)."""

from __future__ import annotations

import pytest

from oncoreg.screening import HistoryInvalid, parse_history

PERSON = {"birth_date": "1960-03-15", "sex": "female"}


def _problems(events: list[dict[str, object]], person: dict[str, object] = PERSON) -> list[str]:
    with pytest.raises(HistoryInvalid) as caught:
        parse_history(data={"person": person, "as_of": "2024-01-01", "events": events})
    assert "\n" not in str(caught.value)
    return [str(problem) for problem in caught.value.problems]


def test_bad_date_is_named() -> None:
    assert _problems([{"date": "2020-02-30", "type": "attendance"}])[0].startswith(
        "events[0].date '2020-02-30'"
    )


def test_unknown_event_type_is_named() -> None:
    (problem,) = _problems([{"date": "2020-02-01", "type": "xray"}])
    assert problem.startswith("events[0] 'xray': unknown event type")


def test_reader_score_out_of_range() -> None:
    (problem,) = _problems([{"date": "2020-02-01", "type": "mammogram", "reader1": 6, "reader2": 1}])
    assert problem.startswith("events[0].reader1 '6'")


def test_all_problems_reported_at_once() -> None:
    problems = _problems(
        [{"date": "2020-02-01", "type": "cytology", "result": "weird"}, {"date": "x", "type": "death"}],
        person={"birth_date": "1960-03-15", "sex": "female", "shoe_size": 40},
    )
    assert len(problems) == 3


def test_event_after_as_of_is_refused() -> None:
    (problem,) = _problems([{"date": "2025-01-01", "type": "attendance"}])
    assert "after as_of 2024-01-01" in problem


def test_fit_needs_a_reading() -> None:
    (problem,) = _problems([{"date": "2020-02-01", "type": "fit"}])
    assert "needs value, below_limit or above_limit" in problem


def test_json_text_events_sorted_and_sex_codes() -> None:
    history = parse_history(
        data='{"person": {"birth_date": "1960-03-15", "sex": 2}, "as_of": "2024-01-01", "events": ['
        '{"date": "2021-01-01", "type": "reminder"}, {"date": "2020-01-01", "type": "invitation"}]}'
    )
    assert history.person.sex == "female"
    assert [event.type for event in history.events] == ["invitation", "reminder"]
