"""Persons from population-register events: names, vital status, residence periods, deaths."""

from __future__ import annotations

from datetime import date

import polars as pl

from oncoreg.pipeline import population
from oncoreg.pipeline.derive import final_person_ids, relabel


def _events(rows: list[tuple[int, int, str, date, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "notification_id": nid,
                "person_id": pid,
                "event_kind": kind,
                "event_date": day,
                "death_date": day if kind == "death" else None,
                "given_municipality": municipality,
                "given_first_name": "Kari",
                "given_last_name": last,
                "given_birth_date": date(1950, 5, 1),
                "given_sex": 2,
            }
            for nid, pid, kind, day, municipality, last in rows
        ]
    )


def test_a_life_in_the_register() -> None:
    events = _events(
        [
            (1, 7, "immigration", date(2015, 1, 10), "0301", "Olsen"),
            (2, 7, "name_change", date(2016, 3, 1), None, "Berg"),
            (3, 7, "move", date(2017, 6, 1), "4601", "Berg"),
            (4, 7, "emigration", date(2019, 2, 1), None, "Berg"),
            (5, 7, "immigration", date(2020, 2, 1), "5001", "Berg"),
            (6, 7, "death", date(2023, 9, 9), None, "Berg"),
        ]
    )
    state = population.person_states(events).row(0, named=True)
    assert state["last_name"] == "Berg"
    assert state["vital_status"] == "dead"
    assert state["death_date"] == date(2023, 9, 9)
    assert state["emigration_date"] is None
    periods = population.residence_periods(events).sort("valid_from")
    assert periods.select("municipality", "county", "valid_from", "valid_to").rows() == [
        ("0301", "03", date(2015, 1, 10), date(2017, 6, 1)),
        ("4601", "46", date(2017, 6, 1), date(2019, 2, 1)),
        ("5001", "50", date(2020, 2, 1), date(2023, 9, 9)),
    ]
    assert population.register_deaths(events).rows() == [(7, date(2023, 9, 9), 6)]


def test_emigrated_when_the_last_migration_is_an_emigration() -> None:
    events = _events(
        [
            (1, 3, "birth", date(2001, 1, 1), "0301", "Lie"),
            (2, 3, "emigration", date(2010, 1, 1), None, "Lie"),
        ]
    )
    state = population.person_states(events).row(0, named=True)
    assert (state["vital_status"], state["emigration_date"]) == ("emigrated", date(2010, 1, 1))
    assert population.residence_periods(events)["valid_to"].to_list() == [date(2010, 1, 1)]


def test_new_persons_get_the_lowest_notification_id_unless_taken() -> None:
    links = pl.DataFrame(
        {"notification_id": [10, 4, 12, 13, 20], "person_id": [-1, -1, -2, 99, -3]},
        schema={"notification_id": pl.Int64, "person_id": pl.Int64},
    )
    ids = final_person_ids(links=links, taken=pl.Series([12, 99], dtype=pl.Int64))
    mapping = dict(ids.iter_rows())
    assert mapping[-1] == 4
    assert mapping[-3] == 20
    assert mapping[-2] not in (4, 12, 20, 99)
    assert relabel(links, ids)["person_id"].to_list() == [4, 4, mapping[-2], 99, 20]
